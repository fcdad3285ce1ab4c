/**
 * Every reason a governance step sets, on the target's conditions or on a held plan step,
 * with its category and phase (reconcilers/engine/reasons.ts). The merge in governed.ts takes
 * a verdict's phase from here: the reason decides the phase, as it does in every kind.
 *
 * Requeue is left to the steps (a window asks for a pass at its opening, a freeze at its
 * end): the delay comes from the calendar, not from the reason.
 */
import type { Blocker } from '../contract.ts';
import { COMMON_REASONS, defineReasons, mergeCatalogues, reasonDef, stalledReason } from '../engine/reasons.ts';
import type { ReasonCatalogue, ReasonDef } from '../engine/reasons.ts';

const waitingFor = (meaning: string): ReasonDef => ({ category: 'waiting', phase: 'Waiting', meaning });

export const GOVERNANCE_REASONS = defineReasons({
  // maintenance windows and change freezes (maintenance-window.ts, change-freeze.ts)
  OutsideMaintenanceWindow: waitingFor('outside every maintenance window: what disrupts waits for the next opening'),
  NoMaintenanceWindow: stalledReason('Blocked', 'no maintenance window opens again: a person must declare one'),
  ChangeFreeze: waitingFor('inside a change freeze: nothing starts, not even downloads, until it ends'),
  InvalidWindow: stalledReason('Blocked', 'a window or freeze cannot be evaluated: held until the file is fixed'),
  // pause (pause.ts): resuming is a commit, which raises an event
  Paused: { category: 'waiting', phase: 'Paused', meaning: 'nothing new starts until spec.rollout.paused is false' },
  // version policy (version-policy.ts)
  MandatoryVersionSkipped: stalledReason('Blocked', 'a member would skip a mandatory release: install it first'),
  SchemaFence: stalledReason('Blocked', 'the UMS schema was migrated past the desired version'),
  // waves and approval gates (waves.ts)
  WaitingForWave: waitingFor('the member is in a later wave: it starts once the waves before it are done'),
  MaxUnavailable: waitingFor('the wave already has maxUnavailable members being updated: it starts when one finishes'),
  WaveFailed: stalledReason('Failed', 'more members of a wave failed than failureThreshold tolerates: halted'),
  AwaitingApproval: waitingFor('a gated wave waits for an approval of its plan digest in spec.rollout.approvals'),
  ApprovalOutdated: waitingFor('the approval of a gated wave names another digest: its plan changed since'),
  ApprovalUnverified: waitingFor(
    'the approval of a gated wave cannot be traced to its reviewer: not signed by their key, or they authored the change',
  ),
});

export type GovernanceReason = keyof typeof GOVERNANCE_REASONS;

/** Governance reasons and the common ones they share (`ObservationMissing`). */
export const GOVERNANCE_CATALOGUE: ReasonCatalogue = mergeCatalogues(COMMON_REASONS, GOVERNANCE_REASONS);

/** A blocker for a catalogued reason: stalled when a person must act, else waiting. */
export function blocker(reason: GovernanceReason | 'ObservationMissing', message: string): Blocker {
  const category = reasonDef(GOVERNANCE_CATALOGUE, reason).category === 'stalled' ? 'stalled' : 'waiting';
  return { category, reason, message };
}
