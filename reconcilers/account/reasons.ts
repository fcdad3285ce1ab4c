/**
 * The reasons an Account sets (seeds 001, 003), beside the common ones (engine/reasons.ts).
 * Step blockers and phase reasons share one catalogue, so a plan step's `blockedBy.category`
 * and the phase it gives agree.
 */
import {
  COMMON_REASONS,
  defineReasons,
  mergeCatalogues,
  progressReason,
  stalledReason,
  waitingReason,
} from '../engine/index.ts';

export const ACCOUNT_REASONS = defineReasons({
  TagNotResolved: stalledReason(
    'Blocked',
    'the account tag or the test tag names no release, or more than one: nothing is decided',
  ),
  UnknownRepositoryServer: stalledReason('Blocked', 'a device names a WRS the account does not declare'),
  RepositoryServerFailed: stalledReason('Failed', 'a command on a WRS failed: its devices cannot proceed'),
  MemberFailed: stalledReason(
    'Failed',
    'a command on a device or the infrastructure failed; the other members go on',
    'member',
  ),
  CommandFailed: stalledReason(
    'Failed',
    "this member's command failed: not re-sent until spec.rollout.retryFailed is bumped",
    'member',
  ),
  RollingOut: progressReason('commands are sent or running'),
  InProgress: progressReason("the member's command is running"),
  WaitingForInstall: {
    category: 'waiting',
    phase: 'Waiting',
    meaning: 'the restart waits for the install to be reported',
  },
  WaitingForRepositoryServer: waitingReason(
    'the device waits for its WRS to run and serve the version, restarted', null),
  AwaitingTestRing: waitingReason(
    'production waits until the version converged on the test ring (or an override names it)', null),
  DeviceOffline: waitingReason(
    'the device is not powered on (no report): it is picked up when it reports again', null),
  RepositoryServerOffline: waitingReason('the WRS does not report: it, and the devices behind it, wait', null),
  InfrastructureOffline: waitingReason('the infrastructure agent does not report', null),
  PendingRestart: waitingReason('installed; the device finalises it at its next restart or shutdown', null),
  AutoUpdate: waitingReason('the device updates itself (auto-update); the controller only observes', null),
});

export type AccountReason = keyof typeof ACCOUNT_REASONS | keyof typeof COMMON_REASONS;

export const ACCOUNT_CATALOGUE = mergeCatalogues(COMMON_REASONS, ACCOUNT_REASONS);
