/**
 * Promotion to production (issue 8, item 3): when an account declares a test ring, a version
 * reaches its production members (everyone on `defaultTag`) only after it converged on the
 * test ring — unless `spec.promotion.override` names that version, with a reason.
 *
 * The reconciler's only memory is its previous status (committed to Git), so what it must
 * remember lives in `status.details.promotion`, read back on the next pass:
 *
 *   testRing    { version, converged, of }   the test ring now: its version and how many of its
 *                                             members report it (installed, restart done)
 *   tested      [{ version, at }]            versions that converged on the test ring, each once,
 *                                             newest last, the last TESTED_LIMIT kept
 *   production  { version, via, at, reason? } the version production was let to run, and how:
 *                                             `test-ring`, `override` (with its reason),
 *                                             `rollback`, `baseline`
 *   held        { version, message }         production's version while it may not run yet
 *
 * The production version V is admitted, first that applies:
 *   1. V is in `tested` (it converged on the test ring, on this pass or an earlier one);
 *   2. V is already `production`'s version: admitted on an earlier pass — a device added later
 *      gets it too, and removing an override afterwards does not take it back out;
 *   3. `spec.promotion.override.version` names V (status says so, with the reason);
 *   4. V is older than `production`'s version: a rollback (seeds 001, 003) is never held — the
 *      gate guards versions going forward into production, not a way back;
 *   5. nothing is remembered yet (`production` absent: the first status of the account, or a
 *      test ring just declared on an account already in production) and V is what production
 *      already had — no previous status, or production members desired V in it — and V was not
 *      held there: the gate starts from what production runs (`baseline`).
 * Otherwise production is HELD: its members get no command and wait (`AwaitingTestRing`).
 *
 * Without a test ring nothing is held; remembered `tested` versions are kept (a ring declared
 * again later still knows them), `production` is dropped (the baseline is taken again).
 * Pure: `now` is a parameter; times are written with `new Date(now).toISOString()`.
 */
import type { Blocker, TargetStatus } from '../contract.ts';
import { compareVersions, isValidVersion, versionsEqual } from '../model/version.ts';

/** How many tested versions status remembers (a test ring sees a few versions a year). */
export const TESTED_LIMIT = 20;
/** The blocker reason of production steps held by the gate. */
export const AWAITING_TEST_RING = 'AwaitingTestRing';

export type Admission = 'test-ring' | 'override' | 'rollback' | 'baseline';
const ADMISSIONS: readonly string[] = ['test-ring', 'override', 'rollback', 'baseline'] satisfies Admission[];

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
  readonly held?: { readonly version: string; readonly message: string };
}

export interface PromotionInput {
  /** The version of `defaultTag`'s release: what production members desire. */
  readonly version: string;
  /** The test ring's progress; undefined when the account declares no test ring. */
  readonly ring: TestRingProgress | undefined;
  readonly override: { readonly version: string; readonly reason: string } | undefined;
  /** `readPromotion(previous)`. */
  readonly remembered: PromotionDetails | undefined;
  /** Rule 5's "V is what production already had": asked only when nothing is remembered of production. */
  readonly productionHad: () => boolean;
  readonly now: number;
}

export interface PromotionDecision {
  /** What to write to `status.details.promotion`; undefined when there is nothing to show or remember. */
  readonly details: PromotionDetails | undefined;
  /** Set while production may not take its version: every production step waits on it. */
  readonly hold: Blocker | undefined;
  readonly reminders: readonly string[];
}

export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { version, ring, override, remembered, now } = input;
  if (ring === undefined) {
    const reminders = override === undefined ? [] : [`spec.promotion.override (${override.version}) has no effect: the account declares no test ring`];
    const details = remembered !== undefined && remembered.tested.length > 0 ? { tested: remembered.tested } : undefined;
    return { details, hold: undefined, reminders };
  }
  const at = new Date(now).toISOString();
  const tested = [...(remembered?.tested ?? [])];
  if (ring.of > 0 && ring.converged === ring.of && !tested.some((t) => sameVersion(t.version, ring.version))) {
    tested.push({ version: ring.version, at });
    if (tested.length > TESTED_LIMIT) tested.splice(0, tested.length - TESTED_LIMIT);
  }
  const before = remembered?.production;
  const overridden = override !== undefined && sameVersion(override.version, version);

  let production: ProductionAdmission | undefined;
  if (tested.some((t) => sameVersion(t.version, version))) {
    production = before !== undefined && before.via === 'test-ring' && sameVersion(before.version, version) ? before : { version, via: 'test-ring', at };
  } else if (before !== undefined && sameVersion(before.version, version)) {
    production = before;
  } else if (overridden) {
    production = { version, via: 'override', at, reason: override.reason };
  } else if (before !== undefined && isOlder(version, before.version)) {
    production = { version, via: 'rollback', at };
  } else if (before === undefined && !(remembered?.held !== undefined && sameVersion(remembered.held.version, version)) && input.productionHad()) {
    production = { version, via: 'baseline', at };
  }

  const reminders: string[] = [];
  if (override !== undefined) {
    if (!overridden) {
      reminders.push(`spec.promotion.override names ${override.version}, not the production version ${version}: it has no effect (remove it)`);
    } else if (production?.via === 'override') {
      reminders.push(`${version} was let into production without converging on the test ring, by spec.promotion.override: ${override.reason}`);
    } else if (production?.via === 'test-ring') {
      reminders.push(`spec.promotion.override is not needed: ${version} converged on the test ring (remove it)`);
    }
  }

  if (production !== undefined && sameVersion(production.version, version)) {
    return { details: { testRing: ring, tested, production }, hold: undefined, reminders };
  }
  const message = heldMessage(version, ring);
  const details: PromotionDetails = { testRing: ring, tested, ...(before !== undefined ? { production: before } : {}), held: { version, message } };
  return { details, hold: { category: 'waiting', reason: AWAITING_TEST_RING, message }, reminders };
}

function heldMessage(version: string, ring: TestRingProgress): string {
  if (ring.of === 0) return `${version} cannot converge on the test ring: it has no members (declare testRing members, or spec.promotion.override with a reason)`;
  if (!sameVersion(ring.version, version)) {
    return `${version} has not converged on the test ring, which runs ${ring.version}: production waits until it has, or until spec.promotion.override lets it through`;
  }
  return `${version} has not converged on the test ring yet (${ring.converged}/${ring.of} test members)`;
}

/**
 * What the previous status remembers (`details.promotion`), read back from Git: malformed
 * entries are dropped rather than trusted, so a hand-edited status cannot promote anything
 * it does not spell out.
 */
export function readPromotion(previous: TargetStatus | undefined): PromotionDetails | undefined {
  const raw = previous?.details?.['promotion'];
  if (!isRecord(raw)) return undefined;
  const tested: TestedVersion[] = [];
  if (Array.isArray(raw['tested'])) {
    for (const t of raw['tested'] as unknown[]) {
      if (isRecord(t) && isVersion(t['version']) && typeof t['at'] === 'string') tested.push({ version: t['version'], at: t['at'] });
    }
  }
  const p = raw['production'];
  const production =
    isRecord(p) && isVersion(p['version']) && typeof p['via'] === 'string' && ADMISSIONS.includes(p['via']) && typeof p['at'] === 'string'
      ? { version: p['version'], via: p['via'] as Admission, at: p['at'], ...(typeof p['reason'] === 'string' ? { reason: p['reason'] } : {}) }
      : undefined;
  const h = raw['held'];
  const held = isRecord(h) && isVersion(h['version']) && typeof h['message'] === 'string' ? { version: h['version'], message: h['message'] } : undefined;
  return { tested: tested.slice(-TESTED_LIMIT), ...(production ? { production } : {}), ...(held ? { held } : {}) };
}

function sameVersion(a: string, b: string): boolean {
  return a === b || (isValidVersion(a) && isValidVersion(b) && versionsEqual(a, b));
}

function isOlder(a: string, b: string): boolean {
  return isValidVersion(a) && isValidVersion(b) && compareVersions(a, b) < 0;
}

function isVersion(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
