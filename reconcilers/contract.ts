/**
 * The reconciler contract. A reconciler is a pure function
 *
 *   (desired, observed, previousStatus, now) -> { commands, status, plan, requeueAfter }
 *
 * with no I/O, no clock (`now` is a parameter, epoch milliseconds) and no randomness, so the
 * same input always gives the same output, byte for byte. Killing the controller at any
 * moment and calling the reconciler again on the same (desired, observed, status) continues
 * the rollout at the same step: there is no workflow state anywhere else.
 */
import type { Action } from '../protocol/action.ts';
import type { AgentCommand } from '../protocol/command.ts';
import type { ApprovalTrust } from './model/approval-trust.ts';
import type { DesiredObject, Kind } from './model/desired.ts';
import type { ErrorCategory } from './model/errors.ts';
import type { TargetId } from './model/identity.ts';
import type { ReleaseIndex } from './model/release-index.ts';
import type { Observed } from './observed.ts';

/** What a reconciler is given of the desired state: its target and the releases to resolve names and tags. */
export interface DesiredInput<K extends Kind = Kind> {
  readonly object: DesiredObject<K>;
  readonly releases: ReleaseIndex;
  /** The commit the desired state was read at (`null` for a folder), recorded in status. */
  readonly revision: string | null;
  /**
   * The console this controller instance is (`--console-id`, seed 002): it runs and changes
   * only the schedules it owns; schedules of other consoles are reported, never run.
   */
  readonly consoleId?: string;
  /**
   * Who really added each approval of the target, from Git history and the approvers file
   * (issue 13). Absent: no approval counts — nothing vouches for who typed it.
   */
  readonly approvalTrust?: ApprovalTrust;
}

// ------------------------------------------------------------------ commands

/** How the agent gets the command: it calls in and gets it in the answer, or the controller may also push it. */
export type Delivery = 'mailbox' | 'push';

/**
 * A command as a reconciler sends it: the protocol's command (`protocol/command.ts`, what the
 * agent receives) plus what stays with the controller — which agent runs it, and how it gets it.
 */
export interface Command extends AgentCommand {
  readonly target: TargetId;
  readonly agent: string;
  readonly delivery: Delivery;
}

// ------------------------------------------------------------------ plan

/** Why a step cannot run now: `waiting` clears by itself (requeue), `stalled` needs a person. */
export interface Blocker {
  readonly category: Extract<ErrorCategory, 'waiting' | 'stalled'>;
  /** Stable reason, PascalCase (`WaitingForMaster`, `PackageNotSecure`, `DeviceOffline`). */
  readonly reason: string;
  /** For people: `waiting for master wd-master-1 to reach 6.1.4`. */
  readonly message: string;
}

/** One step the rollout still needs, in the order it will happen. */
export interface PlanStep {
  readonly target: TargetId;
  readonly member: string;
  readonly action: Action;
  readonly version?: string;
  /** True when the step's command is sent now (it is in `commands`). */
  readonly runnable: boolean;
  readonly blockedBy?: Blocker;
  /** Set when the step is done by a person or by the device itself, not by a command (a manual master, auto-update). */
  readonly performedBy?: 'operator' | 'device';
}

// ------------------------------------------------------------------ status

export type Phase = 'Progressing' | 'Converged' | 'Waiting' | 'Blocked' | 'Failed' | 'Paused';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';

/** Like Kubernetes conditions: the transition time changes only when `status` changes. */
export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  /** ISO-8601. */
  readonly lastTransitionTime: string;
}

export type MemberState =
  | 'Pending' // nothing done yet
  | 'Waiting' // blocked by an ordering rule or offline
  | 'Staged' // package downloaded and verified
  | 'Updating' // command sent, not finished
  | 'PendingRestart' // installed, restart left to the user
  | 'Updated' // reports the desired version
  | 'Ahead' // reports a newer version than desired, left alone and reported
  | 'Failed';

export interface MemberStatus {
  readonly name: string;
  readonly agent: string;
  /** `master`, `slave`, `wrs`, `device`, `infrastructure`, `server`, `load-balancer`, `console`. */
  readonly role: string;
  readonly desired: string;
  readonly observed?: string;
  readonly state: MemberState;
  readonly message?: string;
}

export interface TargetStatus {
  readonly target: TargetId;
  readonly phase: Phase;
  readonly conditions: readonly Condition[];
  /** The desired commit this status reconciled. */
  readonly observedRevision: string | null;
  /** One line for people and for the status commit subject: `7/10 devices at 4.3.0`. */
  readonly summary: string;
  readonly members: readonly MemberStatus[];
  /** Things a person should do that the controller cannot (regenerate install media, seed 001/003). */
  readonly reminders?: readonly string[];
  /** ISO-8601 time the current rollout started (the desired version last changed), for rules that need it. */
  readonly rolloutStartedAt?: string;
  /**
   * What a kind reports beyond members (plain JSON data, rendered into the status file):
   * a distribution server's missing or outdated content and its last and next syncs, a
   * cluster's preflight checks. It is also the reconciler's memory between passes (the
   * last on-demand sync run), since previous status is the only state it may keep.
   */
  readonly details?: Readonly<Record<string, unknown>>;
}

// ------------------------------------------------------------------ result

export interface ReconcileResult {
  readonly commands: readonly Command[];
  readonly status: TargetStatus;
  /** Every step still needed, in order, runnable or not. Empty when converged. */
  readonly plan: readonly PlanStep[];
  /** Milliseconds until the reconciler should run again even if nothing changes; absent: only on change. */
  readonly requeueAfter?: number;
}

export type Reconciler<K extends Kind> = (
  desired: DesiredInput<K>,
  observed: Observed,
  previous: TargetStatus | undefined,
  now: number,
) => ReconcileResult;

export type AnyReconciler = Reconciler<Kind>;
