/**
 * Promotion to production (seed 001, "Étape 1 : Phase de test" before "Étape 3 : migration de
 * la production"): when an account declares a test ring, a version reaches its production
 * members (everyone on `defaultTag` outside the ring) only after it converged on the test
 * ring — unless `spec.promotion.override` names that version, with a reason.
 *
 * Safety facts come from observations or from Git, never from the process: convergence is
 * seen in the test ring's reports on this pass, or read from the previous status committed in
 * Git (`details.promotion.tested`), which `run` and `plan` read alike. Without either,
 * production is HELD. What status writes, in `details.promotion`:
 *
 *   testRing    { version, converged, of }   the test ring now: its version and how many of its
 *                                             members report it (installed, restarted)
 *   tested      [{ version, at }]            versions that converged on the test ring, each once,
 *                                             newest last, the last TESTED_LIMIT kept
 *   production  { version, via, at, reason? } the version production was let to run, and how:
 *                                             `test-ring`, `override` (with its reason), `rollback`
 *   held        { version, message, steps }  production's version while it may not run yet, and how
 *                                            many production steps wait for it (0: none needs it)
 *
 * Precondition `production-admitted`: the production version V is admitted, first that applies:
 *   1. V converged on the test ring: every declared test-ring member reports V installed and
 *      restarted on this pass (observed), or `tested` in the previous status lists it (Git);
 *   2. the previous status admitted V already (`production.version`, Git) — a device added
 *      later gets it too, and removing an override afterwards does not take it back out;
 *   3. `spec.promotion.override.version` names V (status says so, with the reason);
 *   4. V is OLDER than what production ran before, by Git: the previous status's
 *      `production.version`, or, when the previous status had no test ring, the newest version
 *      its production members desired — a rollback (seeds 001, 003) is a way back, not forward.
 * Otherwise production is HELD (`AwaitingTestRing`): its members get no command. There is no
 * "baseline" admission: a first pass, a restarted controller and `plan` without an earlier
 * status hold V like any untested version, and say what is missing. The production members
 * never held are those already running V (nothing to do). A `production` record `via:
 * baseline` written by an earlier versiond is not trusted (it was admitted without evidence).
 *
 * Without a test ring nothing is held; remembered `tested` versions are kept (a ring declared
 * again later still knows them). Pure: `now` is a parameter.
 */
import type { Blocker, TargetStatus } from '../contract.ts';
import type { Precondition } from '../engine/index.ts';
import { SATISFIED, unsatisfied } from '../engine/index.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import { sameVersion } from './preconditions.ts';

/** How many tested versions status remembers (a test ring sees a few versions a year). */
export const TESTED_LIMIT = 20;
/** The blocker reason of production steps held by the gate. */
export const AWAITING_TEST_RING = 'AwaitingTestRing';

export type Admission = 'test-ring' | 'override' | 'rollback';
const ADMISSIONS: readonly string[] = ['test-ring', 'override', 'rollback'] satisfies Admission[];

export interface TestedVersion {
  readonly version: string;
  /** ISO-8601: the pass that saw every test-ring member report it. */
  readonly at: string;
}

export interface ProductionAdmission {
  readonly version: string;
  readonly via: Admission;
  /** ISO-8601: the pass that admitted it. */
  readonly at: string;
  /** The override's reason, when `via` is `override`. */
  readonly reason?: string;
}

export interface TestRingProgress {
  /** The version the test ring runs (its tag's release). */
  readonly version: string;
  /** Test-ring members reporting it, installed and restarted. */
  readonly converged: number;
  /** Test-ring members declared in the account. */
  readonly of: number;
}

/** `status.details.promotion`. Plain JSON. */
export interface PromotionDetails {
  readonly testRing?: TestRingProgress;
  readonly tested: readonly TestedVersion[];
  readonly production?: ProductionAdmission;
  readonly held?: { readonly version: string; readonly message: string; readonly steps?: number };
}

/** What the previous status (Git) tells the gate. */
export interface Remembered {
  readonly details: PromotionDetails | undefined;
  /** The previous status declared a test ring (it carried `details.promotion.testRing`). */
  readonly ringThen: boolean;
}

export interface PromotionInput {
  /** The version of `defaultTag`'s release: what production members desire. */
  readonly version: string;
  /** The test ring's progress; undefined when the account declares no test ring. */
  readonly ring: TestRingProgress | undefined;
  /** Test-ring members not (yet) at the ring's version, restarted: the first few, for the message. */
  readonly ringPending: readonly string[];
  readonly override: { readonly version: string; readonly reason: string } | undefined;
  /** `readPromotion(previous)`; undefined: no previous status. */
  readonly remembered: Remembered | undefined;
  /** The newest version production members desired in the previous status (Git), asked only for rule 4. */
  readonly productionDesiredBefore: () => string | undefined;
  readonly now: number;
}

export interface PromotionDecision {
  /** What to write to `status.details.promotion`; undefined when there is nothing to show or remember. */
  readonly details: PromotionDetails | undefined;
  /** Set while production may not take its version: every production step waits on it. */
  readonly hold: Blocker | undefined;
  readonly reminders: readonly string[];
}

/** The gate as a precondition, for README and status: see the rules above. */
export const productionAdmitted: Precondition<PromotionInput> = {
  name: 'production-admitted',
  reads: [
    'every test-ring member: component version, pendingRestart, state (and, for a WRS, our command results)',
    'previous status (Git): details.promotion.tested, details.promotion.production, members[].desired',
    'spec.promotion.override',
  ],
  check: (input) => {
    const d = decidePromotion(input);
    return d.hold === undefined ? SATISFIED : unsatisfied(d.hold.reason, d.hold.message);
  },
};

export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { version, ring, override, remembered, now } = input;
  const before = remembered?.details;
  if (ring === undefined) {
    const reminders =
      override === undefined
        ? []
        : [`spec.promotion.override (${override.version}) has no effect: the account declares no test ring`];
    const details = before !== undefined && before.tested.length > 0 ? { tested: before.tested } : undefined;
    return { details, hold: undefined, reminders };
  }
  const at = new Date(now).toISOString();
  const tested = [...(before?.tested ?? [])];
  if (ring.of > 0 && ring.converged === ring.of && !tested.some((t) => sameVersion(t.version, ring.version))) {
    tested.push({ version: ring.version, at });
    if (tested.length > TESTED_LIMIT) tested.splice(0, tested.length - TESTED_LIMIT);
  }
  const admitted = before?.production;
  const overridden = override !== undefined && sameVersion(override.version, version);

  let production: ProductionAdmission | undefined;
  if (tested.some((t) => sameVersion(t.version, version))) {
    production =
      admitted !== undefined && admitted.via === 'test-ring' && sameVersion(admitted.version, version)
        ? admitted
        : { version, via: 'test-ring', at };
  } else if (admitted !== undefined && sameVersion(admitted.version, version)) {
    production = admitted;
  } else if (overridden) {
    production = { version, via: 'override', at, reason: override.reason };
  } else if (isOlder(version, ranBefore(input))) {
    production = { version, via: 'rollback', at };
  }

  const reminders: string[] = [];
  if (override !== undefined) {
    if (!overridden) {
      reminders.push(
        `spec.promotion.override names ${override.version}, not the production version ${version}: ` +
          'it has no effect (remove it)',
      );
    } else if (production?.via === 'override') {
      reminders.push(
        `${version} was let into production without converging on the test ring, ` +
          `by spec.promotion.override: ${override.reason}`,
      );
    } else if (production?.via === 'test-ring') {
      reminders.push(`spec.promotion.override is not needed: ${version} converged on the test ring (remove it)`);
    }
  }

  if (production !== undefined) return { details: { testRing: ring, tested, production }, hold: undefined, reminders };
  const message = heldMessage(version, ring, input.ringPending, remembered !== undefined);
  const details: PromotionDetails = {
    testRing: ring,
    tested,
    ...(admitted !== undefined ? { production: admitted } : {}),
    held: { version, message },
  };
  return { details, hold: { category: 'waiting', reason: AWAITING_TEST_RING, message }, reminders };
}

/** Rule 4: what production ran before, by Git — its admitted version, or (no ring then) what its members desired. */
function ranBefore(input: PromotionInput): string | undefined {
  const r = input.remembered;
  if (r === undefined) return undefined;
  if (r.details?.production !== undefined) return r.details.production.version;
  return r.ringThen ? undefined : input.productionDesiredBefore();
}

function heldMessage(version: string, ring: TestRingProgress, pending: readonly string[], hadStatus: boolean): string {
  const noStatus = hadStatus ? '' : '; no earlier status in Git records it as tested';
  if (ring.of === 0)
    return (
      `${version} cannot converge on the test ring: it has no members ` +
      '(declare testRing members, or spec.promotion.override with a reason)'
    );
  if (!sameVersion(ring.version, version)) {
    return (
      `${version} has not converged on the test ring, which runs ${ring.version}: ` +
      `production waits until it has, or until spec.promotion.override lets it through${noStatus}`
    );
  }
  const rest = ring.of - ring.converged - pending.length;
  const who =
    pending.length > 0
      ? `; not yet at ${version}, restarted: ${pending.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`
      : '';
  const progress = `${ring.converged}/${ring.of} test members`;
  return `${version} has not converged on the test ring yet (${progress})${who}${noStatus}`;
}

/**
 * What the previous status remembers (`details.promotion`), read back from Git: malformed
 * entries are dropped rather than trusted, so a hand-edited status cannot promote anything
 * it does not spell out; a `baseline` admission (earlier versiond) is dropped too.
 * Undefined when there is no previous status.
 */
export function readPromotion(previous: TargetStatus | undefined): Remembered | undefined {
  if (previous === undefined) return undefined;
  const raw = previous.details?.['promotion'];
  if (!isRecord(raw)) return { details: undefined, ringThen: false };
  const tested: TestedVersion[] = [];
  if (Array.isArray(raw['tested'])) {
    for (const t of raw['tested'] as unknown[]) {
      if (isRecord(t) && isVersion(t['version']) && typeof t['at'] === 'string')
        tested.push({ version: t['version'], at: t['at'] });
    }
  }
  const p = raw['production'];
  const production =
    isRecord(p) &&
    isVersion(p['version']) &&
    typeof p['via'] === 'string' &&
    ADMISSIONS.includes(p['via']) &&
    typeof p['at'] === 'string'
      ? {
          version: p['version'],
          via: p['via'] as Admission,
          at: p['at'],
          ...(typeof p['reason'] === 'string' ? { reason: p['reason'] } : {}),
        }
      : undefined;
  const h = raw['held'];
  const held =
    isRecord(h) && isVersion(h['version']) && typeof h['message'] === 'string'
      ? { version: h['version'], message: h['message'] }
      : undefined;
  const ringThen = isRecord(raw['testRing']) || held !== undefined || production !== undefined;
  return {
    details: { tested: tested.slice(-TESTED_LIMIT), ...(production ? { production } : {}), ...(held ? { held } : {}) },
    ringThen,
  };
}

function isOlder(a: string, b: string | undefined): boolean {
  return b !== undefined && isValidVersion(a) && isValidVersion(b) && compareVersions(a, b) < 0;
}

function isVersion(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
