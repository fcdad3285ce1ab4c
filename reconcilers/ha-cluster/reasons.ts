/**
 * The reasons the HACluster reconciler (seed 004, IGEL UMS HA) sets beyond the common ones, each
 * mapped once to its category and phase. Common reasons it uses as they are: ReleaseNotFound,
 * ReleaseInvalid, VerifyingPackage, PackageNotSecure, PackageNotVerified, StageFailed, ApplyFailed,
 * CommandRunning, MemberAhead, MemberOffline, ObservationMissing (a precondition is unknown),
 * Verifying, Converged.
 */
import {
  COMMON_REASONS,
  defineReasons,
  mergeCatalogues,
  progressReason as progress,
  REQUEUE,
  stalledReason as stalled,
  waitingReason as waiting,
  type ReasonCatalogue,
} from '../engine/index.ts';

export const HA_CLUSTER_OWN_REASONS = defineReasons({
  // a rule stops the rollout until a person acts
  SchemaDowngrade: stalled('Blocked', 'a server runs a higher major.minor: the database schema cannot go back'),
  OrphanMembers: stalled('Blocked', 'the cluster registers servers or load balancers the file does not declare'),
  ClockSkew: stalled('Blocked', 'the clocks of the HA network differ by more than preflight.maxClockSkewSeconds'),
  BackupStale: stalled('Blocked', 'the backup command of this release ran before the rollout started'),
  StuckInUpdateMode: stalled('Blocked', 'a server stays in update mode after the migration and end-update-mode'),
  LastServerAmbiguous: stalled('Blocked', 'two servers report the same install time: which was last is unclear'),
  RolloutStopped: stalled('Blocked', 'a server crashed during its update: nothing is sent until a person repairs it'),
  // a command ran and failed
  ServerCrashed: stalled('Failed', 'a server stopped or failed during its update: the rollout stops there'),
  BackupFailed: stalled('Failed', 'the database backup command failed'),
  MigrationFailed: stalled('Failed', 'the schema migration on the server updated last failed'),
  EndUpdateModeFailed: stalled('Failed', 'the end-update-mode command failed: the server stays in update mode'),
  LoadBalancerFailed: stalled('Failed', 'a load balancer reported its install failed', 'member'),
  ConsoleFailed: stalled('Failed', 'a console reported its install failed', 'member'),
  // work under way
  DistributingInstaller: progress('the installer is staged on every server, load balancer and console'),
  TakingBackup: progress('a database backup is being taken before the first server is updated'),
  UpdatingServer: progress('one server is being updated; it runs in update mode on a local copy of the database'),
  MigratingSchema: progress('the server updated last migrates the production database schema'),
  EndingUpdateMode: progress('a server is told to leave update mode after the migration'),
  UpdatingLoadBalancers: progress('the load balancers are being updated'),
  UpdatingConsoles: progress('the consoles are being updated'),
  // clears by itself
  WaitingForInstaller: waiting('a server waits for the installer to be staged and verified on every component'),
  WaitingForBackup: waiting('waits for a backup made with the DBMS\'s own method (preflight.backup: External)'),
  ServerUpdating: waiting('a server waits while another one is being updated by this rollout'),
  ServerInUpdateMode: waiting('a server is in update mode without an apply of this rollout: finish or end that update'),
  ServerNotRunning: waiting('a server must run before its update'),
  WaitingForServer: waiting('one server at a time: the next waits for the one being updated'),
  WaitingForServers: waiting('waits for every server to run the release (in normal mode: load balancers, consoles)'),
  WaitingForLoadBalancers: waiting('consoles wait for the load balancers'),
  MemberNotRunning: waiting('a load balancer runs the release but is not running'),
  HeldBack: waiting('added to the file during the rollout: held back until it finishes', undefined),
});

export type HAClusterReason = keyof typeof HA_CLUSTER_OWN_REASONS | keyof typeof COMMON_REASONS;

export const HA_CLUSTER_CATALOGUE: ReasonCatalogue = mergeCatalogues(COMMON_REASONS, HA_CLUSTER_OWN_REASONS);

/** Every reason this reconciler may set, on the phase or on plan blockers. */
export const HA_CLUSTER_REASONS: readonly HAClusterReason[] = [
  'ReleaseNotFound',
  'ReleaseInvalid',
  'SchemaDowngrade',
  'MemberAhead',
  'VerifyingPackage',
  'PackageNotSecure',
  'ServerCrashed',
  'ApplyFailed',
  'RolloutStopped',
  'DistributingInstaller',
  'PackageNotVerified',
  'StageFailed',
  'MemberOffline',
  'ObservationMissing',
  'WaitingForInstaller',
  'OrphanMembers',
  'TakingBackup',
  'BackupFailed',
  'BackupStale',
  'WaitingForBackup',
  'ClockSkew',
  'UpdatingServer',
  'ServerUpdating',
  'ServerInUpdateMode',
  'ServerNotRunning',
  'WaitingForServer',
  'WaitingForServers',
  'LastServerAmbiguous',
  'MigratingSchema',
  'MigrationFailed',
  'EndingUpdateMode',
  'EndUpdateModeFailed',
  'StuckInUpdateMode',
  'CommandRunning',
  'UpdatingLoadBalancers',
  'LoadBalancerFailed',
  'UpdatingConsoles',
  'ConsoleFailed',
  'WaitingForLoadBalancers',
  'MemberNotRunning',
  'HeldBack',
  'Verifying',
  'Converged',
];

/** Requeue delays (ms), the engine's. */
export const HA_CLUSTER_REQUEUE = {
  verifyingPackage: REQUEUE.verifyingPackage,
  progressing: REQUEUE.progressing,
  waiting: REQUEUE.waiting,
} as const;
