/**
 * The reviewers' controls (issue 8) are steps that run after a kind's reconciler, on what
 * it wants to do: each may hold commands back (with the reason people read), halt or pause
 * the target, and ask to be run again at a given time. They never invent a command: the
 * kind's reconciler alone knows the vendor's order (seeds), governance only decides *when*.
 * Like reconcilers they are pure: `now` is a parameter.
 */
import type { Blocker, DesiredInput, ReconcileResult, TargetStatus } from '../contract.ts';
import type { Kind, RolloutPolicy } from '../model/desired.ts';
import type { Observed } from '../observed.ts';
import type { GovernanceReason } from './reasons.ts';
import type { Withheld } from './wave-hold.ts';

export interface GovernanceContext<K extends Kind = Kind> {
  readonly desired: DesiredInput<K>;
  readonly observed: Observed;
  readonly previous: TargetStatus | undefined;
  readonly now: number;
  /** What the kind's reconciler wants, before any governance step. */
  readonly inner: ReconcileResult;
  /** `spec.rollout`, if the kind has one. */
  readonly policy: RolloutPolicy | undefined;
  /**
   * Members at a safe point to stop: every member but those being updated right now
   * (`Updating`). Pause and windows let the latter finish — never half a UMS server update.
   */
  readonly inProgress: ReadonlySet<string>;
  /** Wave members the reconciler withheld under a wave hold (wave-hold.ts): listed held already. */
  readonly withheld?: Withheld;
}

export interface GovernanceVerdict {
  /** Commands held back, by command id, with why. */
  readonly holds?: ReadonlyMap<string, Blocker>;
  /**
   * Members held back that have no command yet (a later wave), by member name, so status and
   * plan show why they wait.
   */
  readonly heldMembers?: ReadonlyMap<string, Blocker>;
  /**
   * Condition reason and message the target takes when this verdict decides its phase. The
   * reason's phase comes from the catalogue (reasons.ts): `Paused` (pause), `Waiting` (a window
   * is closed, a wave awaits approval), `Blocked`/`Failed` (a person must act: a wave failed, a
   * mandatory version would be skipped). The most severe of all steps and of the reconciler wins.
   */
  readonly reason?: GovernanceReason | 'ObservationMissing';
  readonly message?: string;
  /** A short note appended to the summary (`paused`, `wave 2/4 awaits approval`). */
  readonly note?: string;
  /** Run again after this many ms (a window opens, a freeze ends). The soonest of all wins. */
  readonly requeueAfter?: number;
  /** Plain data for `status.details.rollout.<step>` and `plan`: waves, digests, windows. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface GovernanceStep {
  /** Stable name, also the key of its details in status (`status.details.rollout.<name>`). */
  readonly name: string;
  /** The kinds it applies to. */
  readonly kinds: readonly Kind[];
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined;
  /**
   * When this step decides nothing for the target whatever commands the reconciler wants: the
   * precondition of the wave hold's shortcut (governed.ts). `byPolicy` answers from
   * `spec.rollout` alone (nothing declared), before the reconciler runs; `byResult` from its
   * result (the members' versions). Each given must say true. Absent: never assumed idle.
   */
  readonly idle?: {
    byPolicy?(policy: RolloutPolicy | undefined): boolean;
    byResult?(ctx: GovernanceContext): boolean;
  };
}
