/**
 * HACluster reconciler — seed 004, IGEL UMS HA: "Aktualisieren einer UMS HA-Installation: Ohne
 * Ausfallzeit der Server". A pure function of (desired, observed, previous status, now).
 *
 * Steps, in order. Each is a named function below. A step that finds a cluster-wide obstacle
 * raises a *halt*: later steps still list the plan steps they would run, blocked by it, but send
 * nothing (the first halt wins). The phase is the first Blocked/Failed outcome of any step, else
 * the first outcome in step order, else Converged. The soonest requeue wins (none when the phase
 * is Blocked or Failed: a person must act, which triggers a pass).
 *
 *  1. reconcileRelease          `spec.release` names a declared Release with a valid version.
 *                               Else Blocked (Stalled) `ReleaseNotFound` / `ReleaseInvalid`; STOPS: no plan, no commands.
 *  2. reconcileVersionPolicy    No downgrade across major.minor (the database schema): a server reporting a
 *                               version of a higher major.minor than the release → Blocked (Stalled)
 *                               `SchemaDowngrade` ("12.08.110 -> 12.07.100 lowers the database schema 12.8 -> 12.7: …");
 *                               halts: nothing is sent. Within one major.minor a downgrade proceeds like an update.
 *  3. reconcilePackage          The controller's check of the package, while some member does not run the release:
 *                               absent/`pending` → Waiting `VerifyingPackage` (requeue 10 s); `failed` → Blocked
 *                               `PackageNotSecure`. Either halts: nothing at all is sent, not even `stage`.
 *  4. reconcileServerHealth     A server that crashed during the update (our `apply` failed, or it is stopped/failed
 *                               while in update mode or after our apply) STOPS THE ROLLOUT: Failed `ServerCrashed` /
 *                               `ApplyFailed`; halts, nothing further is sent, never the next server.
 *  5. reconcileInstaller        Seed step 1, "distribute the installer to every system": `stage` (with the artifact)
 *                               to every server, load balancer and console that neither runs the release nor holds it
 *                               staged and verified (Progressing `DistributingInstaller`). Allowed during preflight.
 *                               A staged package that does not verify: Blocked `PackageNotVerified`; a failed stage:
 *                               Blocked `StageFailed`; an offline member: Waiting `MemberOffline`.
 *  6. reconcilePreflight        Before the first server is updated (only while some server needs the release and the
 *                               rollout has not started), four NAMED CHECKS, reported in `details.preflight`:
 *                               `installer-distributed` (step 5 done everywhere), `no-orphans` (the registered
 *                               servers/LBs an online server reports are all in the file; else Blocked `OrphanMembers`),
 *                               `fresh-backup` (a `facts.lastBackup` at or after `rolloutStartedAt`; `backup: Command` →
 *                               one `backup` to the first server in update order, Progressing `TakingBackup`, its result
 *                               tracked by id, `BackupFailed`; `External` → Waiting `WaitingForBackup`), `clock-skew`
 *                               (max − min of `facts.clock − lastSeen` ≤ `maxClockSkewSeconds`, else Blocked `ClockSkew`).
 *                               Any failing check halts every server apply (its reason is the blocker's); when all pass,
 *                               `details.preflightPassedAt` records it and the rollout has STARTED.
 *  7. reconcileServers          ONE AT A TIME, in `updateOrder` then declaration order. `apply` goes to the first server
 *                               that has not installed the release only while no other server is being updated (in update
 *                               mode, installing, or our apply running, without reporting the release running): else
 *                               Waiting `ServerInUpdateMode`. A server finished its install when it reports the release
 *                               with `state: running` (in update mode, it keeps serving devices on its local copy).
 *                               Progressing `UpdatingServer`; `ServerOffline`, `ServerNotRunning` wait. A server in update
 *                               mode that no apply of this rollout put there (by hand, or an earlier release) holds
 *                               everything back: Waiting `ServerInUpdateMode`, its message names the action that ends it.
 *  8. reconcileSchemaMigration  When every server runs the release and the LAST server in update order is in update mode:
 *                               `migrate` to it (Progressing `MigratingSchema`); a failed migrate: Failed `MigrationFailed`.
 *                               Migrated = our migrate succeeded, or every server runs the release and the last one is in
 *                               normal mode (it renewed the schema itself).
 *  9. reconcileNormalMode       After the migration every server must be in normal mode. A server still in update mode is
 *                               STUCK: its member message names the action that ends it ("End update mode for local UMS
 *                               Server" in UMS Administrator > Distributed UMS) and it gets `end-update-mode` once (while
 *                               that id has no result: Progressing `EndingUpdateMode`); still stuck after a result:
 *                               Blocked `StuckInUpdateMode`.
 * 10. reconcileLoadBalancers    Once every server runs the release in normal mode: `apply` to every load balancer that needs
 *                               it, all together (Progressing `UpdatingLoadBalancers`). A load balancer left at another
 *                               version (offline, failed) is reported in `reminders`: it works but should match.
 * 11. reconcileConsoles         Never before every server runs the release in normal mode (an older console cannot connect
 *                               to a newer server; a newer console is not used before the servers are done), and after
 *                               every load balancer in progress is done: `apply` (Progressing `UpdatingConsoles`).
 * 12. reconcileVerification     Converged when every server runs the release, running, in normal mode, every load balancer
 *                               runs it, running, and every console runs it; members added during the rollout are listed
 *                               held back. Else Progressing `Verifying`.
 *
 * Configuration freeze (seed 004: changes made in update mode are lost): at rollout start the digest of the spec without
 * `release` (`details.configDigest`) and the member names in update order (`details.rolloutMembers`) are recorded. While the
 * rollout runs (started, and the recorded members not all done) a different digest is HELD BACK: `details.heldBack` says so
 * and lists added/removed members; the rollout continues with the recorded members still in the file, in the recorded
 * order; added members wait (`HeldBack`) until the recorded ones are done, then join; removed ones are no longer waited for.
 * Agents and endpoints are always read from the current file. Preflight settings only matter before the start.
 *
 * Memory between passes is `previous` only: `rolloutStartedAt`, `details.preflightPassedAt`, `details.configDigest` and
 * `details.rolloutMembers` are kept while the desired version is unchanged. The rollout also counts as started, without a
 * previous status, when a server has a result of our apply/migrate of the release or runs it in update mode. Command ids
 * are deterministic (`commandId`): a step re-sent after a restart is harmless, and a server that reports the release is never
 * applied again, so no server is updated twice and none is skipped.
 *
 * Per member: a command reported `failed` is never re-sent — until a commit sets or bumps `spec.rollout.retryFailed`
 * past the failure: that step alone (stage, apply, backup, migrate, end-update-mode) is tried again under a new id
 * (`attempt` in command-id.ts), and a server whose failed apply is retried no longer counts as crashed. `running` is
 * not re-sent. Delivery: `push` for members with an
 * `endpoint`, else `mailbox`. Members: servers in update order, load balancers, consoles (roles `server`, `load-balancer`,
 * `console`). Summary: "n of m servers updated to V" (the installer's "n of m servers updated").
 */
import { artifactRef } from './artifact-ref.ts';
import { attempt, commandId } from './command-id.ts';
import { conditionsFor } from './conditions.ts';
import type {
  Action,
  ArtifactRef,
  Blocker,
  Command,
  DesiredInput,
  MemberState,
  MemberStatus,
  Phase,
  PlanStep,
  ReconcileResult,
  Reconciler,
  TargetStatus,
} from './contract.ts';
import { agentIdOf, type HACluster, type HAClusterSpec, type Release } from './model/desired.ts';
import { targetId, type TargetId } from './model/identity.ts';
import { compareVersions, crossesSchemaDowngrade, isValidVersion, schemaLevel } from './model/version.ts';
import { resultOf, type CommandResult, type Observed } from './observed.ts';
import { HELD_BACK_MESSAGE, configDigest, readRolloutMembers, rolloutMembersOf, type RolloutMembers } from './ha-cluster/config.ts';
import {
  ROLE_LABEL,
  beingUpdated,
  crashed,
  inUpdateOrder,
  installed,
  sameVersion,
  settledServer,
  umsMember,
  updatedComponent,
  type Role,
  type UmsMember,
} from './ha-cluster/members.ts';
import { PREFLIGHT_CHECKS, checkClockSkew, checkOrphans, latestBackup, type PreflightCheck, type PreflightName, type Verdict } from './ha-cluster/preflight.ts';

export { PREFLIGHT_CHECKS, configDigest, HELD_BACK_MESSAGE };
export type { PreflightCheck };

/** Requeue delays (ms). Waiting for a person is polled slowly. */
export const HA_CLUSTER_REQUEUE = {
  verifyingPackage: 10_000,
  progressing: 30_000,
  waiting: 60_000,
} as const;

/** The reasons this reconciler sets, on the phase (conditions) or on plan blockers. */
export const HA_CLUSTER_REASONS = [
  'ReleaseNotFound',
  'ReleaseInvalid',
  'SchemaDowngrade',
  'VerifyingPackage',
  'PackageNotSecure',
  'ServerCrashed',
  'ApplyFailed',
  'RolloutStopped',
  'DistributingInstaller',
  'PackageNotVerified',
  'StageFailed',
  'MemberOffline',
  'WaitingForInstaller',
  'WaitingForRegisteredMembers',
  'OrphanMembers',
  'TakingBackup',
  'BackupFailed',
  'BackupStale',
  'WaitingForBackup',
  'ClockSkew',
  'UpdatingServer',
  'ServerUpdating',
  'ServerInUpdateMode',
  'ServerOffline',
  'ServerNotRunning',
  'WaitingForServer',
  'WaitingForServers',
  'MigratingSchema',
  'MigrationFailed',
  'EndingUpdateMode',
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
] as const;
export type HAClusterReason = (typeof HA_CLUSTER_REASONS)[number];

/** The action that ends update mode by hand (seed 004, "Überprüfen der Installation"). */
export const END_UPDATE_MODE_ACTION = '"End update mode for local UMS Server" in UMS Administrator > Distributed UMS';

// ------------------------------------------------------------------ pass state

interface Outcome {
  readonly phase: Phase;
  readonly reason: HAClusterReason;
  readonly message: string;
  readonly requeueAfter?: number;
}

interface MemberNote {
  readonly state: MemberState;
  readonly message?: string;
}

interface HeldBack {
  readonly message: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** What one pass builds up. Local to the pass: nothing survives it but the result. */
interface Pass {
  readonly target: TargetId;
  readonly release: Release;
  readonly version: string;
  readonly artifact: ArtifactRef;
  readonly spec: HAClusterSpec;
  readonly observed: Observed;
  readonly now: number;
  /** `spec.rollout.retryFailed`: steps that failed before it are tried again under a new id (`attempt`). */
  readonly retryFailed: string | undefined;
  /** The members the rollout manages: servers in update order, load balancers, consoles. */
  readonly servers: readonly UmsMember[];
  readonly loadBalancers: readonly UmsMember[];
  readonly consoles: readonly UmsMember[];
  /** Members added to the file while the rollout runs: held back until it finishes. */
  readonly added: readonly UmsMember[];
  readonly heldBack: HeldBack | undefined;
  /** Epoch ms of `rolloutStartedAt`. */
  readonly rolloutStart: number;
  /** The preflight passed on an earlier pass (or the rollout is visibly under way). */
  readonly started: boolean;
  readonly previousPreflight: readonly PreflightCheck[] | undefined;
  halt: Blocker | undefined;
  preflight: PreflightCheck[] | undefined;
  /** Set when the preflight passes on this pass. */
  preflightPassedNow: boolean;
  migrated: boolean;
  serversSettled: boolean;
  loadBalancersSettled: boolean;
  readonly plan: PlanStep[];
  readonly commands: Command[];
  readonly outcomes: Outcome[];
  readonly reminders: string[];
  /** First note per member wins (its earliest step says most about it). */
  readonly notes: Map<string, MemberNote>;
}

const all = (pass: Pass): UmsMember[] => [...pass.servers, ...pass.loadBalancers, ...pass.consoles];
const names = (list: readonly UmsMember[]): string => list.map((m) => m.name).join(', ');
const label = (m: UmsMember): string => `${ROLE_LABEL[m.role]} ${m.name}`;

function haltWith(pass: Pass, blocker: Blocker): void {
  pass.halt ??= blocker;
}

function note(pass: Pass, m: UmsMember, state: MemberState, message?: string): void {
  if (!pass.notes.has(m.name)) pass.notes.set(m.name, message === undefined ? { state } : { state, message });
}

function outcome(pass: Pass, phase: Phase, reason: HAClusterReason, message: string): void {
  const requeueAfter =
    phase === 'Progressing' ? HA_CLUSTER_REQUEUE.progressing : phase === 'Waiting' ? (reason === 'VerifyingPackage' ? HA_CLUSTER_REQUEUE.verifyingPackage : HA_CLUSTER_REQUEUE.waiting) : undefined;
  pass.outcomes.push(requeueAfter === undefined ? { phase, reason, message } : { phase, reason, message, requeueAfter });
}

function step(pass: Pass, m: UmsMember, action: Action, blockedBy?: Blocker, performedBy?: 'operator'): void {
  pass.plan.push({
    target: pass.target,
    member: m.name,
    action,
    version: pass.version,
    runnable: blockedBy === undefined,
    ...(blockedBy ? { blockedBy } : {}),
    ...(performedBy ? { performedBy } : {}),
  });
}

function send(pass: Pass, m: UmsMember, action: Action, id: string): void {
  step(pass, m, action);
  const withArtifact = action === 'stage' || action === 'apply';
  pass.commands.push({
    id,
    target: pass.target,
    member: m.name,
    agent: m.agent,
    action,
    delivery: m.delivery,
    product: pass.release.spec.product,
    version: pass.version,
    ...(withArtifact ? { artifact: pass.artifact } : {}),
  });
}

const waiting = (reason: HAClusterReason, message: string): Blocker => ({ category: 'waiting', reason, message });
const stalled = (reason: HAClusterReason, message: string): Blocker => ({ category: 'stalled', reason, message });

function agentSays(r: CommandResult | undefined): string {
  return r?.message ?? 'no message from the agent';
}

/** The default state of a member no step said anything about. */
function defaultNote(m: UmsMember): MemberNote {
  if (m.role === 'server') {
    if (settledServer(m)) return { state: 'Updated' };
  } else if (updatedComponent(m)) return { state: 'Updated' };
  return { state: m.stagedOk ? 'Staged' : 'Pending' };
}

// ------------------------------------------------------------------ steps

/** 1. The release must be declared (and carry a valid version). */
function reconcileRelease(desired: DesiredInput<'HACluster'>): { release: Release } | Outcome {
  const name = desired.object.spec.release;
  const release = desired.releases.get(name);
  if (release === undefined) return { phase: 'Blocked', reason: 'ReleaseNotFound', message: `release ${JSON.stringify(name)} is not declared` };
  if (!isValidVersion(release.spec.version)) {
    return { phase: 'Blocked', reason: 'ReleaseInvalid', message: `release ${JSON.stringify(name)} has an invalid version ${JSON.stringify(release.spec.version)}` };
  }
  return { release };
}

/** 2. No server may be moved to a lower major.minor: the production schema cannot go back. */
function reconcileVersionPolicy(pass: Pass): void {
  const { version } = pass;
  const higher = [...pass.servers, ...pass.added.filter((m) => m.role === 'server')].filter(
    (s) => s.observedVersion !== undefined && isValidVersion(s.observedVersion) && crossesSchemaDowngrade(s.observedVersion, version),
  );
  if (higher.length === 0) return;
  const from = higher.map((s) => s.observedVersion!).reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
  const message = `${from} -> ${version} lowers the database schema ${schemaLevel(from)} -> ${schemaLevel(version)}: UMS can only downgrade within one major.minor (install a separate HA network and restore a backup of that schema)`;
  for (const s of higher) note(pass, s, 'Waiting', `runs ${s.observedVersion}: ${message}`);
  outcome(pass, 'Blocked', 'SchemaDowngrade', message);
  haltWith(pass, stalled('SchemaDowngrade', message));
}

/**
 * 3. The package must be verified by the controller (sha256 + signature) before anything is sent.
 * Not asked once every member runs the release: a converged cluster must not flap to Waiting
 * while a restarted controller re-checks the package.
 */
function reconcilePackage(pass: Pass): void {
  const check = pass.observed.artifacts.get(pass.release.metadata.name);
  if (check?.status === 'verified') return;
  if (all(pass).every((m) => m.runsDesired)) return;
  const name = pass.release.metadata.name;
  if (check?.status === 'failed') {
    const message = `package not secure: ${check.reason ?? `the package of ${name} failed verification`}`;
    outcome(pass, 'Blocked', 'PackageNotSecure', message);
    haltWith(pass, stalled('PackageNotSecure', message));
    return;
  }
  const message = `verifying the package of ${name} (sha256 and signature) before anything is distributed`;
  outcome(pass, 'Waiting', 'VerifyingPackage', message);
  haltWith(pass, waiting('VerifyingPackage', message));
}

/** 4. A server that crashed during its update stops the rollout: nothing further, never the next server. */
function reconcileServerHealth(pass: Pass): void {
  const down = pass.servers.filter(crashed);
  if (down.length === 0) return;
  for (const s of down) {
    const failedApply = s.applyResult?.status === 'failed';
    const message = failedApply
      ? `apply of ${pass.version} failed on server ${s.name}: ${agentSays(s.applyResult)}; the rollout stops here (no other server is updated)`
      : `server ${s.name} crashed during the update (state ${s.state}, ${s.mode} mode, version ${s.observedVersion ?? 'unknown'}); the rollout stops here (no other server is updated)`;
    note(pass, s, 'Failed', message);
    step(pass, s, 'apply', stalled(failedApply ? 'ApplyFailed' : 'ServerCrashed', message));
    outcome(pass, 'Failed', failedApply ? 'ApplyFailed' : 'ServerCrashed', message);
  }
  haltWith(pass, stalled('RolloutStopped', `the rollout stopped: ${names(down)} crashed during the update; a person must repair ${down.length === 1 ? 'it' : 'them'}`));
}

/** 5. The installer on every component (seed 004, step 1): `stage` wherever it is missing. */
function reconcileInstaller(pass: Pass): void {
  const sent: UmsMember[] = [];
  const offline: UmsMember[] = [];
  for (const m of all(pass)) {
    if (m.hasPackage) continue;
    if (m.stagedBad !== undefined && !m.stageRetrying) {
      const message = `the installer ${pass.version} staged on ${label(m)} did not verify: ${m.stagedBad}`;
      step(pass, m, 'stage', stalled('PackageNotVerified', message));
      note(pass, m, 'Failed', message);
      outcome(pass, 'Blocked', 'PackageNotVerified', message);
    } else if (m.stageResult?.status === 'failed') {
      const message = `stage of ${pass.version} failed on ${label(m)}: ${agentSays(m.stageResult)}`;
      step(pass, m, 'stage', stalled('StageFailed', message));
      note(pass, m, 'Failed', message);
      outcome(pass, 'Blocked', 'StageFailed', message);
    } else if (m.stageResult?.status === 'running') {
      const message = `staging ${pass.version} on ${label(m)}`;
      step(pass, m, 'stage', waiting('CommandRunning', message));
      note(pass, m, 'Updating', message);
      sent.push(m);
    } else if (pass.halt) {
      step(pass, m, 'stage', pass.halt);
    } else if (!m.online) {
      step(pass, m, 'stage', waiting('MemberOffline', m.offlineMessage ?? `${label(m)} offline`));
      note(pass, m, 'Waiting', m.offlineMessage);
      offline.push(m);
    } else {
      send(pass, m, 'stage', m.stageId);
      note(pass, m, 'Updating', `staging the installer ${pass.version} (download and verify, nothing installed)`);
      sent.push(m);
    }
  }
  if (sent.length > 0) outcome(pass, 'Progressing', 'DistributingInstaller', `distributing the installer ${pass.version} to ${names(sent)}`);
  if (offline.length > 0) outcome(pass, 'Waiting', 'MemberOffline', offline.map((m) => m.offlineMessage).join('; '));
}

/** 6. The four named checks before the first server is updated. */
function reconcilePreflight(pass: Pass): void {
  if (pass.started) {
    pass.preflight = pass.previousPreflight ? [...pass.previousPreflight] : undefined;
    return;
  }
  if (pass.servers.every(installed)) return; // no server to update: nothing to prepare
  const { spec, version } = pass;
  const verdicts: [PreflightName, Verdict][] = [];

  // (a) installer-distributed
  const missing = all(pass).filter((m) => !m.hasPackage);
  verdicts.push([
    'installer-distributed',
    missing.length === 0
      ? { passed: true, message: `the installer ${version} is staged and verified on all ${all(pass).length} components` }
      : { passed: false, message: `the installer ${version} is not staged and verified yet on ${names(missing)}`, blocker: waiting('WaitingForInstaller', `the installer ${version} is not staged and verified yet on ${names(missing)}`) },
  ]);

  // (b) no-orphans
  const declared = new Set([...spec.servers, ...(spec.loadBalancers ?? [])].map((m) => m.name));
  const orphans = checkOrphans(spec.preflight?.orphanCheck ?? true, pass.servers, declared);
  verdicts.push(['no-orphans', orphans]);
  if (orphans.blocker) outcome(pass, orphans.blocker.category === 'stalled' ? 'Blocked' : 'Waiting', orphans.blocker.reason as HAClusterReason, orphans.message);

  // (c) fresh-backup
  const backup = preflightBackup(pass);
  verdicts.push(['fresh-backup', backup]);

  // (d) clock-skew
  const clocks = checkClockSkew(all(pass), spec.preflight?.maxClockSkewSeconds ?? 60);
  verdicts.push(['clock-skew', clocks]);
  if (clocks.blocker) outcome(pass, 'Blocked', 'ClockSkew', clocks.message);

  pass.preflight = verdicts.map(([name, v]) => ({ name, passed: v.passed, message: v.message }));
  const failing = verdicts.filter(([, v]) => !v.passed);
  const first = failing[0];
  if (first === undefined) {
    if (pass.halt === undefined) pass.preflightPassedNow = true;
    return;
  }
  haltWith(pass, {
    category: failing.some(([, v]) => v.blocker?.category === 'stalled') ? 'stalled' : 'waiting',
    reason: first[1].blocker?.reason ?? 'Preflight',
    message: `preflight: ${failing.map(([name, v]) => `${name}: ${v.message}`).join('; ')}`,
  });
}

/** (c) of the preflight: a backup at or after the rollout start; with `backup: Command` the controller asks for one, once. */
function preflightBackup(pass: Pass): Verdict {
  const since = new Date(pass.rolloutStart).toISOString();
  const latest = latestBackup(pass.servers);
  if (latest !== undefined && latest.at >= pass.rolloutStart) return { passed: true, message: `database backup of ${latest.iso}, taken after the rollout started (${since})` };
  const was = latest === undefined ? 'no database backup reported' : `the last database backup (${latest.iso}) is older than the rollout start (${since})`;
  const first = pass.servers[0];
  if ((pass.spec.preflight?.backup ?? 'Command') === 'External' || first === undefined) {
    const message = `${was}; waiting for a backup made with the DBMS's own method (preflight.backup: External) to be reported`;
    if (first !== undefined) step(pass, first, 'backup', pass.halt ?? waiting('WaitingForBackup', message), 'operator');
    outcome(pass, 'Waiting', 'WaitingForBackup', message);
    return { passed: false, message, blocker: waiting('WaitingForBackup', message) };
  }
  const { id, result } = attempt(first.obs, pass.target, first.name, 'backup', pass.version, pass.retryFailed);
  if (result?.status === 'succeeded') {
    const at = Date.parse(result.at);
    if (!Number.isNaN(at) && at >= pass.rolloutStart) return { passed: true, message: `database backup taken by server ${first.name} at ${result.at}` };
    const message = `${was}; the backup command on server ${first.name} ran at ${result.at}, before the rollout started: take a backup by other means and report it`;
    outcome(pass, 'Blocked', 'BackupStale', message);
    return { passed: false, message, blocker: stalled('BackupStale', message) };
  }
  if (result?.status === 'failed') {
    const message = `${was}; the backup on server ${first.name} failed: ${agentSays(result)}`;
    step(pass, first, 'backup', stalled('BackupFailed', message));
    outcome(pass, 'Blocked', 'BackupFailed', message);
    return { passed: false, message, blocker: stalled('BackupFailed', message) };
  }
  const message = `${was}; taking a database backup on server ${first.name}`;
  if (result?.status === 'running') {
    step(pass, first, 'backup', waiting('CommandRunning', message));
    outcome(pass, 'Progressing', 'TakingBackup', message);
  } else if (pass.halt) {
    step(pass, first, 'backup', pass.halt);
  } else if (!first.online) {
    step(pass, first, 'backup', waiting('ServerOffline', first.offlineMessage ?? `server ${first.name} offline`));
    outcome(pass, 'Waiting', 'ServerOffline', `${was}; the backup waits for ${first.offlineMessage ?? `server ${first.name}`}`);
  } else {
    send(pass, first, 'backup', id);
    outcome(pass, 'Progressing', 'TakingBackup', message);
  }
  return { passed: false, message, blocker: waiting('TakingBackup', message) };
}

/** 7. Servers one at a time: `apply` to the next one only while no other server is being updated. */
function reconcileServers(pass: Pass): void {
  const { version, servers } = pass;
  const done = servers.filter(installed).length;
  const next = servers.find((s) => !installed(s) && !crashed(s));
  if (next === undefined) return;
  const progress = `${done} of ${servers.length} servers updated`;
  for (const s of servers) {
    if (installed(s) || crashed(s)) continue;
    if (beingUpdated(s)) {
      // In update mode and running, without any apply of ours: an update this rollout did not start
      // (by hand, or of another release). It holds every other server back until a person ends it.
      const foreign = !s.applyTried && s.state === 'running';
      const message = foreign
        ? `server ${s.name} is in update mode at ${s.observedVersion ?? 'an unknown version'}, not started by this rollout: finish that update or end it with ${END_UPDATE_MODE_ACTION}`
        : `server ${s.name} is being updated to ${version} (${s.mode} mode, ${s.state ?? 'state unknown'}, version ${s.observedVersion ?? 'unknown'}); ${progress}`;
      step(pass, s, 'apply', pass.halt ?? waiting(foreign ? 'ServerInUpdateMode' : 'ServerUpdating', message));
      note(pass, s, foreign ? 'Waiting' : 'Updating', message);
      if (!pass.halt) outcome(pass, foreign ? 'Waiting' : 'Progressing', foreign ? 'ServerInUpdateMode' : 'UpdatingServer', message);
      continue;
    }
    if (s !== next) {
      const message = `waiting for server ${next.name} to finish its update: one server at a time`;
      step(pass, s, 'apply', pass.halt ?? waiting('WaitingForServer', message));
      note(pass, s, s.stagedOk ? 'Staged' : 'Pending', pass.halt?.message ?? message);
      continue;
    }
    const other = servers.find((o) => o !== s && beingUpdated(o));
    let blocker: Blocker | undefined = pass.halt;
    if (blocker === undefined && other !== undefined) {
      blocker = waiting('ServerInUpdateMode', `server ${other.name} is being updated (${other.mode} mode, version ${other.observedVersion ?? 'unknown'}): one server at a time`);
      if (!other.applyTried && other.state !== 'installing') outcome(pass, 'Waiting', 'ServerInUpdateMode', blocker.message);
    } else if (blocker === undefined && !s.online) {
      blocker = waiting('ServerOffline', s.offlineMessage ?? `server ${s.name} offline`);
      outcome(pass, 'Waiting', 'ServerOffline', blocker.message);
    } else if (blocker === undefined && s.state !== 'running') {
      blocker = waiting('ServerNotRunning', `server ${s.name} is ${s.state ?? 'not reporting UMS'}: it must be running before its update`);
      outcome(pass, 'Waiting', 'ServerNotRunning', blocker.message);
    } else if (blocker === undefined && !s.hasPackage) {
      blocker = waiting('WaitingForInstaller', `waiting for the installer ${version} to be staged and verified on server ${s.name}`);
    }
    if (blocker !== undefined) {
      step(pass, s, 'apply', blocker);
      note(pass, s, s.stagedOk ? 'Staged' : blocker.reason === 'ServerOffline' || blocker.reason === 'ServerNotRunning' ? 'Waiting' : 'Pending', blocker.message);
      continue;
    }
    const message = `updating server ${s.name} to ${version}; it runs in update mode on a local copy of the database meanwhile (${progress})`;
    send(pass, s, 'apply', s.applyId);
    note(pass, s, 'Updating', message);
    outcome(pass, 'Progressing', 'UpdatingServer', message);
  }
}

/** 8. The last server migrates the production schema once every server runs the release. */
function reconcileSchemaMigration(pass: Pass): void {
  const { servers, version } = pass;
  const last = servers[servers.length - 1];
  if (last === undefined) return;
  const allInstalled = servers.every(installed);
  const { id, result } = attempt(last.obs, pass.target, last.name, 'migrate', version, pass.retryFailed);
  pass.migrated = result?.status === 'succeeded' || (allInstalled && last.mode !== 'update');
  if (pass.migrated) return;
  const level = schemaLevel(version);
  const waitNote = `runs ${version} in update mode on a local copy of the database and keeps serving devices; back to normal mode once the last server (${last.name}) migrated the schema to ${level}`;
  for (const s of servers) if (installed(s) && s.mode === 'update' && s !== last) note(pass, s, 'Updating', waitNote);
  if (result?.status === 'failed') {
    const message = `migration of the production schema to ${level} failed on server ${last.name}: ${agentSays(result)}`;
    step(pass, last, 'migrate', stalled('MigrationFailed', message));
    note(pass, last, 'Failed', message);
    outcome(pass, 'Failed', 'MigrationFailed', message);
    haltWith(pass, stalled('MigrationFailed', message));
    return;
  }
  if (!allInstalled) {
    step(pass, last, 'migrate', pass.halt ?? waiting('WaitingForServers', `the last server ${last.name} migrates the production schema to ${level} once every server runs ${version} in update mode`));
    return;
  }
  const message = `server ${last.name}, the last one, migrates the production database schema to ${level}`;
  if (result?.status === 'running') {
    step(pass, last, 'migrate', pass.halt ?? waiting('CommandRunning', message));
    note(pass, last, 'Updating', message);
    if (!pass.halt) outcome(pass, 'Progressing', 'MigratingSchema', message);
  } else if (pass.halt) {
    step(pass, last, 'migrate', pass.halt);
  } else if (!last.online) {
    step(pass, last, 'migrate', waiting('ServerOffline', last.offlineMessage ?? `server ${last.name} offline`));
    note(pass, last, 'Waiting', last.offlineMessage);
    outcome(pass, 'Waiting', 'ServerOffline', last.offlineMessage ?? `server ${last.name} offline`);
  } else {
    send(pass, last, 'migrate', id);
    note(pass, last, 'Updating', message);
    outcome(pass, 'Progressing', 'MigratingSchema', message);
  }
}

/** 9. After the migration every server returns to normal mode; one still in update mode is stuck. */
function reconcileNormalMode(pass: Pass): void {
  const { servers, version } = pass;
  pass.serversSettled = servers.length > 0 && pass.migrated && servers.every(settledServer);
  if (!pass.migrated) return;
  for (const s of servers) {
    if (!installed(s) || s.mode !== 'update') continue;
    const stuck = `still in update mode after the schema migration: end it with ${END_UPDATE_MODE_ACTION}`;
    const { id, result } = attempt(s.obs, pass.target, s.name, 'end-update-mode', version, pass.retryFailed);
    if (result?.status === 'running') {
      step(pass, s, 'end-update-mode', pass.halt ?? waiting('CommandRunning', `${stuck} (end-update-mode running)`));
      note(pass, s, 'Updating', `${stuck} (end-update-mode running)`);
      if (!pass.halt) outcome(pass, 'Progressing', 'EndingUpdateMode', `ending update mode on server ${s.name}`);
    } else if (result !== undefined) {
      const message = `server ${s.name} is ${stuck} (the controller's end-update-mode ${result.status === 'failed' ? `failed: ${agentSays(result)}` : 'did not end it'})`;
      step(pass, s, 'end-update-mode', stalled('StuckInUpdateMode', message));
      note(pass, s, 'Waiting', message);
      outcome(pass, 'Blocked', 'StuckInUpdateMode', message);
    } else if (pass.halt) {
      step(pass, s, 'end-update-mode', pass.halt);
      note(pass, s, 'Waiting', stuck);
    } else if (!s.online) {
      step(pass, s, 'end-update-mode', waiting('ServerOffline', s.offlineMessage ?? `server ${s.name} offline`));
      note(pass, s, 'Waiting', `${stuck} (${s.offlineMessage})`);
      outcome(pass, 'Waiting', 'ServerOffline', `server ${s.name} is ${stuck} (${s.offlineMessage})`);
    } else {
      send(pass, s, 'end-update-mode', id);
      note(pass, s, 'Waiting', `${stuck} (end-update-mode sent)`);
      outcome(pass, 'Progressing', 'EndingUpdateMode', `server ${s.name} is ${stuck} (end-update-mode sent)`);
    }
  }
}

type ComponentStep = 'updated' | 'sent' | 'running' | 'failed' | 'offline' | 'blocked';

/** The `apply` of one load balancer or console, behind `gate`. */
function applyComponent(pass: Pass, m: UmsMember, gate: Blocker | undefined): ComponentStep {
  if (updatedComponent(m)) return 'updated';
  if (m.applyResult?.status === 'failed') {
    const reason = m.role === 'console' ? 'ConsoleFailed' : 'LoadBalancerFailed';
    const message = `apply of ${pass.version} failed on ${label(m)}: ${agentSays(m.applyResult)}`;
    step(pass, m, 'apply', stalled(reason, message));
    note(pass, m, 'Failed', message);
    outcome(pass, 'Failed', reason, message);
    return 'failed';
  }
  if (m.applyResult?.status === 'running' || m.state === 'installing') {
    const message = `updating ${label(m)} to ${pass.version}`;
    step(pass, m, 'apply', pass.halt ?? waiting('CommandRunning', message));
    note(pass, m, 'Updating', message);
    return 'running';
  }
  if (gate) {
    step(pass, m, 'apply', gate);
    note(pass, m, m.stagedOk ? 'Staged' : 'Pending', gate.message);
    return 'blocked';
  }
  if (!m.online) {
    step(pass, m, 'apply', waiting('MemberOffline', m.offlineMessage ?? `${label(m)} offline`));
    note(pass, m, 'Waiting', m.offlineMessage);
    outcome(pass, 'Waiting', 'MemberOffline', m.offlineMessage ?? `${label(m)} offline`);
    return 'offline';
  }
  if (m.runsDesired) {
    const message = `${label(m)} runs ${pass.version} but is ${m.state ?? 'not reporting its state'}`;
    step(pass, m, 'apply', waiting('MemberNotRunning', message));
    note(pass, m, 'Waiting', message);
    outcome(pass, 'Waiting', 'MemberNotRunning', message);
    return 'offline';
  }
  if (!m.hasPackage) {
    const message = `waiting for the installer ${pass.version} to be staged and verified on ${label(m)}`;
    step(pass, m, 'apply', waiting('WaitingForInstaller', message));
    note(pass, m, 'Pending', message);
    return 'blocked';
  }
  send(pass, m, 'apply', m.applyId);
  note(pass, m, 'Updating', `updating ${label(m)} to ${pass.version}`);
  return 'sent';
}

/** 10. Load balancers, all together, once every server runs the release in normal mode. */
function reconcileLoadBalancers(pass: Pass): void {
  const { version } = pass;
  const gate = pass.halt ?? (pass.serversSettled ? undefined : waiting('WaitingForServers', `load balancers are updated after every server runs ${version} in normal mode`));
  const busy: UmsMember[] = [];
  const stuck: UmsMember[] = [];
  for (const lb of pass.loadBalancers) {
    const r = applyComponent(pass, lb, gate);
    if (r === 'sent' || r === 'running') busy.push(lb);
    if (r === 'blocked' && gate === undefined) busy.push(lb);
    if ((r === 'failed' || r === 'offline') && pass.serversSettled) stuck.push(lb);
  }
  if (busy.length > 0 && gate === undefined) outcome(pass, 'Progressing', 'UpdatingLoadBalancers', `updating load balancers ${names(busy)} to ${version}`);
  for (const lb of stuck) {
    pass.reminders.push(`load balancer ${lb.name} runs ${lb.observedVersion ?? 'an unknown version'} while the servers run ${version}: it works with newer servers but should run the same version`);
  }
  pass.loadBalancersSettled = busy.length === 0 && pass.loadBalancers.every((lb) => updatedComponent(lb) || stuck.includes(lb));
}

/** 11. Consoles last: never before every server runs the release in normal mode, and after the load balancers. */
function reconcileConsoles(pass: Pass): void {
  const { version } = pass;
  const gate =
    pass.halt ??
    (!pass.serversSettled
      ? waiting(
          'WaitingForServers',
          `consoles are updated after every server runs ${version} in normal mode: an older console cannot connect to a newer server, and a newer console is not used before the servers are done`,
        )
      : !pass.loadBalancersSettled
        ? waiting('WaitingForLoadBalancers', `consoles are updated after the load balancers (${names(pass.loadBalancers.filter((lb) => !updatedComponent(lb)))})`)
        : undefined);
  const busy: UmsMember[] = [];
  for (const c of pass.consoles) {
    const r = applyComponent(pass, c, gate);
    if (r === 'sent' || r === 'running') busy.push(c);
  }
  if (busy.length > 0) outcome(pass, 'Progressing', 'UpdatingConsoles', `updating consoles ${names(busy)} to ${version}`);
}

/** 12. Done when every server and load balancer runs the release, running (servers in normal mode), and every console runs it. */
function reconcileVerification(pass: Pass): void {
  for (const m of pass.added) {
    const message = `added to the file during the rollout: held back until the rollout finishes (${HELD_BACK_MESSAGE})`;
    step(pass, m, 'apply', waiting('HeldBack', message));
    note(pass, m, 'Waiting', message);
  }
  const converged =
    pass.added.length === 0 &&
    pass.servers.length > 0 &&
    pass.servers.every(settledServer) &&
    pass.loadBalancers.every(updatedComponent) &&
    pass.consoles.every((c) => c.runsDesired);
  if (converged) {
    outcome(pass, 'Converged', 'Converged', `all ${pass.servers.length} servers and ${pass.loadBalancers.length} load balancers run ${pass.version} in normal mode; ${pass.consoles.length} consoles updated`);
  } else if (pass.outcomes.length === 0) {
    outcome(pass, 'Progressing', 'Verifying', `waiting for every server and load balancer to report ${pass.version} running in normal mode`);
  }
}

const STEPS: readonly ((pass: Pass) => void)[] = [
  reconcileVersionPolicy,
  reconcilePackage,
  reconcileServerHealth,
  reconcileInstaller,
  reconcilePreflight,
  reconcileServers,
  reconcileSchemaMigration,
  reconcileNormalMode,
  reconcileLoadBalancers,
  reconcileConsoles,
  reconcileVerification,
];

/** The step names, in the order they run (taken from the functions themselves, so they cannot drift). */
export const HA_CLUSTER_STEPS: readonly string[] = [reconcileRelease.name, ...STEPS.map((f) => f.name)];

// ------------------------------------------------------------------ the reconciler

export const reconcileHACluster: Reconciler<'HACluster'> = (desired, observed, previous, now): ReconcileResult => {
  const cluster = desired.object;
  const target = targetId('HACluster', cluster.metadata.name);
  const resolved = reconcileRelease(desired);
  if (!('release' in resolved)) return unresolved(desired, cluster, target, resolved, previous, now);

  const { release } = resolved;
  const version = release.spec.version;
  const spec = cluster.spec;
  const retryFailed = spec.rollout?.retryFailed;
  const input = { target, product: release.spec.product, version, agents: observed.agents, ...(retryFailed !== undefined ? { retryFailed } : {}) };
  const current = {
    servers: inUpdateOrder(spec).map((m) => umsMember(input, m, 'server')),
    loadBalancers: (spec.loadBalancers ?? []).map((m) => umsMember(input, m, 'load-balancer')),
    consoles: (spec.consoles ?? []).map((m) => umsMember(input, m, 'console')),
  };

  // Memory from the previous status, kept while the desired version is unchanged.
  const sameRollout = previous?.members.some((m) => m.role === 'server' && sameVersion(m.desired, version)) === true;
  const before = sameRollout ? previous?.details : undefined;
  const rolloutStartedAt = sameRollout && previous?.rolloutStartedAt !== undefined ? previous.rolloutStartedAt : new Date(now).toISOString();
  const previousPassedAt = typeof before?.['preflightPassedAt'] === 'string' ? before['preflightPassedAt'] : undefined;
  // Any attempt counts: a retry id exists only after the base id failed, so the base id's result says it.
  const underWay = current.servers.some(
    (s) => s.applyTried || resultOf(s.obs, commandId(target, s.name, 'migrate', version)) !== undefined || (s.runsDesired && s.mode === 'update'),
  );
  const started = previousPassedAt !== undefined || underWay;

  // The configuration freeze.
  const digestNow = configDigest(spec);
  const frozen = frozenConfig(current, started, before);
  const running = frozen !== undefined;
  const effective = frozen?.members ?? current;
  const recorded: RolloutMembers = running ? frozen.recorded : rolloutMembersOf(spec);
  const digest = running ? frozen.digest : digestNow;
  const added = running ? [...current.servers, ...current.loadBalancers, ...current.consoles].filter((m) => !roleList(recorded, m.role).includes(m.name)) : [];
  const currentNames = new Set([...current.servers, ...current.loadBalancers, ...current.consoles].map((m) => m.name));
  const removed = running ? [...recorded.servers, ...recorded.loadBalancers, ...recorded.consoles].filter((n) => !currentNames.has(n)) : [];
  const heldBack: HeldBack | undefined = running && digest !== digestNow ? { message: HELD_BACK_MESSAGE, added: added.map((m) => m.name), removed } : undefined;

  const pass: Pass = {
    target,
    release,
    version,
    artifact: artifactRef(release),
    spec,
    observed,
    now,
    retryFailed,
    servers: effective.servers,
    loadBalancers: effective.loadBalancers,
    consoles: effective.consoles,
    added,
    heldBack,
    rolloutStart: Date.parse(rolloutStartedAt),
    started,
    previousPreflight: readPreflight(before?.['preflight']),
    halt: undefined,
    preflight: undefined,
    preflightPassedNow: false,
    migrated: false,
    serversSettled: false,
    loadBalancersSettled: false,
    plan: [],
    commands: [],
    outcomes: [],
    reminders: [],
    notes: new Map(),
  };
  for (const run of STEPS) run(pass);

  const result =
    pass.outcomes.find((o) => o.phase === 'Blocked' || o.phase === 'Failed') ??
    pass.outcomes[0] ??
    ({ phase: 'Progressing', reason: 'Verifying', message: `waiting for every server to report ${version}` } satisfies Outcome);
  const requeues = pass.outcomes.flatMap((o) => (o.requeueAfter === undefined ? [] : [o.requeueAfter]));
  const requeueAfter = result.phase === 'Blocked' || result.phase === 'Failed' || requeues.length === 0 ? undefined : Math.min(...requeues);

  const listed = [...pass.servers, ...pass.added.filter((m) => m.role === 'server'), ...pass.loadBalancers, ...pass.added.filter((m) => m.role === 'load-balancer'), ...pass.consoles, ...pass.added.filter((m) => m.role === 'console')];
  const members: MemberStatus[] = listed.map((m) => {
    const n = pass.notes.get(m.name) ?? defaultNote(m);
    return {
      name: m.name,
      agent: m.agent,
      role: m.role,
      desired: version,
      ...(m.observedVersion !== undefined ? { observed: m.observedVersion } : {}),
      state: n.state,
      ...(n.message !== undefined ? { message: n.message } : {}),
    };
  });

  const preflightPassedAt = previousPassedAt ?? (underWay || pass.preflightPassedNow ? new Date(now).toISOString() : undefined);
  const details: Record<string, unknown> = {
    ...(pass.preflight !== undefined ? { preflight: pass.preflight } : {}),
    ...(preflightPassedAt !== undefined ? { preflightPassedAt } : {}),
    configDigest: digest,
    rolloutMembers: { servers: [...recorded.servers], loadBalancers: [...recorded.loadBalancers], consoles: [...recorded.consoles] },
    ...(heldBack !== undefined ? { heldBack: { message: heldBack.message, added: [...heldBack.added], removed: [...heldBack.removed] } } : {}),
  };
  const reminders = heldBack !== undefined ? [`${HELD_BACK_MESSAGE} (changed during the rollout)`, ...pass.reminders] : pass.reminders;
  const status: TargetStatus = {
    target,
    phase: result.phase,
    conditions: conditionsFor(result.phase, result.reason, result.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `${pass.servers.filter(installed).length} of ${pass.servers.length} servers updated to ${version}`,
    members,
    ...(reminders.length > 0 ? { reminders } : {}),
    rolloutStartedAt,
    details,
  };
  return { commands: pass.commands, status, plan: pass.plan, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
};

interface Members {
  readonly servers: readonly UmsMember[];
  readonly loadBalancers: readonly UmsMember[];
  readonly consoles: readonly UmsMember[];
}

function roleList(recorded: RolloutMembers, role: Role): readonly string[] {
  return role === 'server' ? recorded.servers : role === 'load-balancer' ? recorded.loadBalancers : recorded.consoles;
}

/**
 * The frozen configuration, while the rollout runs: it started, the previous status recorded the
 * configuration at its start, and the recorded members still in the file are not all done.
 * Undefined otherwise (the current file is used and recorded).
 */
function frozenConfig(
  current: Members,
  started: boolean,
  before: Readonly<Record<string, unknown>> | undefined,
): { members: Members; recorded: RolloutMembers; digest: string } | undefined {
  if (!started) return undefined;
  const digest = before?.['configDigest'];
  const recorded = readRolloutMembers(before?.['rolloutMembers']);
  if (typeof digest !== 'string' || recorded === undefined) return undefined;
  const pick = (names: readonly string[], list: readonly UmsMember[]): UmsMember[] =>
    names.flatMap((n) => {
      const m = list.find((x) => x.name === n);
      return m === undefined ? [] : [m];
    });
  const members: Members = {
    servers: pick(recorded.servers, current.servers),
    loadBalancers: pick(recorded.loadBalancers, current.loadBalancers),
    consoles: pick(recorded.consoles, current.consoles),
  };
  if (members.servers.length === 0) return undefined;
  const done = members.servers.every(settledServer) && members.loadBalancers.every(updatedComponent) && members.consoles.every((c) => c.runsDesired);
  return done ? undefined : { members, recorded, digest };
}

/** The preflight checks of a previous status (data read back from Git), if well-formed. */
function readPreflight(value: unknown): PreflightCheck[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const checks: PreflightCheck[] = [];
  for (const v of value as unknown[]) {
    if (v === null || typeof v !== 'object') return undefined;
    const { name, passed, message } = v as Record<string, unknown>;
    if (!(PREFLIGHT_CHECKS as readonly unknown[]).includes(name) || typeof passed !== 'boolean' || typeof message !== 'string') return undefined;
    checks.push({ name: name as PreflightName, passed, message });
  }
  return checks;
}

/** The release cannot be resolved: no version to compare with, so no plan and no commands. */
function unresolved(
  desired: DesiredInput<'HACluster'>,
  cluster: HACluster,
  target: TargetId,
  result: Outcome,
  previous: TargetStatus | undefined,
  now: number,
): ReconcileResult {
  const { spec } = cluster;
  const member = (m: { name: string; agent?: string }, role: Role): MemberStatus => ({ name: m.name, agent: agentIdOf(m), role, desired: '', state: 'Pending', message: result.message });
  const status: TargetStatus = {
    target,
    phase: result.phase,
    conditions: conditionsFor(result.phase, result.reason, result.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `release ${spec.release} ${result.reason === 'ReleaseNotFound' ? 'not found' : 'invalid'}; ${spec.servers.length} servers wait`,
    members: [
      ...inUpdateOrder(spec).map((m) => member(m, 'server')),
      ...(spec.loadBalancers ?? []).map((m) => member(m, 'load-balancer')),
      ...(spec.consoles ?? []).map((m) => member(m, 'console')),
    ],
  };
  return { commands: [], status, plan: [] };
}
