/**
 * The reasons a DistributionServer sets (seed 002), each with its category and phase; the
 * common ones (`CommandRunning`, `ObservationMissing`) come from the engine and are never
 * redefined here.
 */
import {
  COMMON_REASONS,
  defineReasons,
  mergeCatalogues,
  progressReason,
  REQUEUE,
  stalledReason,
  waitingReason,
  type ReasonCatalogue,
} from '../engine/reasons.ts';

export const DISTRIBUTION_SERVER_REASONS = defineReasons({
  // The credential store is outside Git: a fix raises no event, so these are polled.
  CredentialUnavailable: {
    category: 'stalled',
    phase: 'Blocked',
    requeueMs: REQUEUE.external,
    meaning: 'the credential the console uses for the server is in the credential store but cannot be used',
  },
  CredentialUnknown: waitingReason(
    'the credential store reported nothing for the credential the server names: no sync is sent',
    REQUEUE.external,
  ),
  DownloadSourceDestination: stalledReason(
    'Blocked',
    'the server is the download source of the console that owns a sync: it cannot be its destination',
  ),
  InvalidSchedule: stalledReason('Blocked', 'a sync owned by this console has a schedule that cannot be computed'),
  // A person restarts the controller with --console-id: no event to wait for, no requeue.
  NoConsoleIdentity: {
    category: 'waiting',
    phase: 'Waiting',
    meaning: 'this controller has no console identity (--console-id): it runs no sync, it only reports',
  },
  NotOwned: {
    category: 'done',
    phase: 'Converged',
    meaning: 'the sync is owned by another console: reported here, run only by its owner',
  },
  SyncFailed: stalledReason('Failed', 'the console reported a sync run failed: that run is not sent again'),
  Syncing: progressReason('a sync is sent to the console or running there'),
  WaitingForDownload: waitingReason('the console is downloading new content: a due sync runs once it is done'),
  ConsoleNotReporting: waitingReason('the console that owns a due sync is offline or never reported'),
  ServerNotReporting: waitingReason('the distribution server is offline or never reported: its content is not known'),
  Scheduled: {
    category: 'done',
    phase: 'Converged',
    meaning: 'no sync owned by this console is due; the next runs are scheduled',
  },
});

export type DistributionServerReason =
  | keyof typeof DISTRIBUTION_SERVER_REASONS
  | 'CommandRunning'
  | 'ObservationMissing';

export const DISTRIBUTION_SERVER_CATALOGUE: ReasonCatalogue = mergeCatalogues(
  COMMON_REASONS,
  DISTRIBUTION_SERVER_REASONS,
);

/** Requeue delays (ms), kept for callers of the old module: the catalogue decides them. */
export const DISTRIBUTION_SERVER_REQUEUE = {
  syncing: REQUEUE.progressing,
  waiting: REQUEUE.waiting,
  credential: REQUEUE.external,
} as const;
