/**
 * The reason catalogue: every reason a reconciler or a governance step sets, mapped once to
 * what it means for the rollout, so the same situation reads the same in every kind.
 *
 *   category   stalled    a person must act (Flux's Stalled): no retry, no requeue
 *              waiting    clears by itself (an agent reports, a window opens): requeue
 *              retryable  a transient error: retried with backoff
 *              progress   work is under way
 *              done       nothing left to do
 *   phase      the target phase the reason gives when it is the deciding outcome
 *   requeueMs  when to look again without an event (absent: an event will come — a report,
 *              a commit — or, for stalled reasons, a person must act)
 *   scope      `member`: the reason concerns one member and does not stop the others (a
 *              failed workstation); it decides the phase only when nothing else is going on
 *
 * Phases: Failed = a command ran and failed; Blocked = a rule or the configuration stops
 * the rollout until a person acts; Waiting = something that clears by itself.
 */
import type { Phase } from '../contract.ts';

export type ReasonCategory = 'stalled' | 'waiting' | 'retryable' | 'progress' | 'done';

export interface ReasonDef {
  readonly category: ReasonCategory;
  readonly phase: Phase;
  readonly requeueMs?: number;
  readonly scope?: 'target' | 'member';
  /** One line for the README and for people reading status: what the reason means. */
  readonly meaning: string;
}

export type ReasonCatalogue = Readonly<Record<string, ReasonDef>>;

/** Requeue delays shared by every kind (ms). */
export const REQUEUE = {
  /** The controller's own package check is under way. */
  verifyingPackage: 10_000,
  /** Commands are in flight: a safety net besides the agents' reports. */
  progressing: 30_000,
  /** A fact an agent should report is missing, or a person is expected to act outside Git. */
  waiting: 60_000,
  /** A fact kept outside Git (the credential store): a fix raises no event. */
  external: 300_000,
} as const;

const stalled = (phase: 'Blocked' | 'Failed', meaning: string, scope?: 'member'): ReasonDef =>
  scope ? { category: 'stalled', phase, meaning, scope } : { category: 'stalled', phase, meaning };
/** `null`: no requeue — an event (an agent's report) brings the next pass. */
const waiting = (meaning: string, requeueMs: number | null = REQUEUE.waiting): ReasonDef =>
  requeueMs === null
    ? { category: 'waiting', phase: 'Waiting', meaning }
    : { category: 'waiting', phase: 'Waiting', meaning, requeueMs };
const progress = (meaning: string): ReasonDef =>
  ({ category: 'progress', phase: 'Progressing', meaning, requeueMs: REQUEUE.progressing });

/** Defines a kind's reasons; `mergeCatalogues` refuses a reason defined twice differently. */
export function defineReasons<const T extends Record<string, ReasonDef>>(defs: T): T {
  return defs;
}

export { stalled as stalledReason, waiting as waitingReason, progress as progressReason };

/** Reasons every kind uses with the same meaning. A kind never redefines one of these. */
export const COMMON_REASONS = defineReasons({
  ReleaseNotFound: stalled('Blocked', 'the release the target names is not declared'),
  ReleaseInvalid: stalled('Blocked', 'the release the target names has no valid version'),
  VerifyingPackage: waiting(
    'the controller is checking the package (sha256, signature); nothing is sent until it passes',
    REQUEUE.verifyingPackage,
  ),
  PackageNotSecure: stalled(
    'Blocked',
    'the package failed the controller\'s check (sha256 or signature): nothing is sent',
  ),
  PackageNotVerified: stalled('Failed', 'a member holds the package but its own verification failed'),
  StageFailed: stalled('Failed', 'a member reported its download (stage) failed'),
  ApplyFailed: stalled('Failed', 'a member reported its install (apply) failed'),
  ReportContradictsResult: stalled('Failed', 'a member reports a version its own command results contradict'),
  CommandRunning: progress('a command is running on a member'),
  MemberAhead: stalled(
    'Blocked',
    'a member runs a newer version than desired and Git did not roll it back: left alone',
  ),
  MemberOffline: waiting('a member does not report: it waits, and is picked up when it reports again', null),
  ObservationMissing: waiting('a fact a rule needs was not reported: the step is held until it is'),
  Verifying: progress('commands are done; waiting for every member to report the version'),
  Converged: { category: 'done', phase: 'Converged', meaning: 'every member runs its desired version' },
});

/**
 * Merges catalogues into one. A reason defined twice must be defined identically: the
 * same reason means the same thing in every kind (a test asserts the merged catalogue).
 */
export function mergeCatalogues(...catalogues: readonly ReasonCatalogue[]): ReasonCatalogue {
  const out: Record<string, ReasonDef> = {};
  for (const c of catalogues) {
    for (const [reason, def] of Object.entries(c)) {
      const before = out[reason];
      if (before !== undefined && JSON.stringify(before) !== JSON.stringify(def)) {
        throw new Error(`reason ${reason} is defined twice with different meanings`);
      }
      out[reason] = def;
    }
  }
  return out;
}

export function reasonDef(catalogue: ReasonCatalogue, reason: string): ReasonDef {
  const def = catalogue[reason];
  if (def === undefined) throw new Error(`reason ${reason} is not in the catalogue`);
  return def;
}
