/**
 * HACluster reconciler — seed 004, IGEL UMS HA: "Aktualisieren einer UMS HA-Installation: Ohne
 * Ausfallzeit der Server". A pure function of (desired, observed, previous status, now), on the
 * shared engine (reconcilers/engine): ordered named steps, tri-state preconditions
 * (preconditions.ts: unknown holds, and says what is missing and from whom), one fold.
 *
 * Steps, in order (README.md lists the preconditions, the observations each reads, and the reasons):
 *  1. reconcileRelease          the release is declared, with a valid version; else Blocked, no plan (STOPS)
 *  2. reconcileVersionPolicy    no-schema-downgrade: Blocked SchemaDowngrade / MemberAhead, Waiting
 *                               ObservationMissing (a server reports no version); halts
 *  3. reconcilePackage          the controller's package check: Waiting VerifyingPackage, Blocked
 *                               PackageNotSecure; halts — nothing at all is sent, not even migrate
 *  4. reconcileServerHealth     a crashed server: Failed ApplyFailed / ServerCrashed; halts
 *  5. reconcileInstaller        `stage` to every component lacking the installer (DistributingInstaller)
 *  6. reconcilePreflight        installer-distributed, no-orphans, fresh-backup (`backup`), clock-skew,
 *                               until the rollout visibly started; any not satisfied holds every server apply
 *  7. reconcileServers          `apply`, one server at a time, in update order (UpdatingServer)
 *  8. reconcileSchemaMigration  `migrate` to the server updated LAST (installedAt), once all run the release
 *  9. reconcileNormalMode       `end-update-mode` to servers left in update mode; StuckInUpdateMode
 * 10. reconcileLoadBalancers    `apply` once every server runs the release in normal mode
 * 11. reconcileConsoles         `apply` after the servers and the load balancers
 * 12. reconcileVerification     Converged, or Progressing Verifying
 * The phase and requeue come from the engine's fold over the outcomes (reasons.ts catalogue).
 *
 * Memory between passes is the previous status (read from Git), kept while the desired version is
 * unchanged, and never decides a safety question on its own:
 *  - `rolloutStartedAt`: the time a backup must follow. Absent → now (a backup must be newer: the
 *    controller asks for one, or waits) — fail closed; unless the agents report results of our own
 *    commands of this release (within ROLLOUT_EVIDENCE_MAX_AGE_MS): the rollout started no later than
 *    the first of them, so a controller killed between its backup and its first status commit does
 *    not find its own backup stale.
 *  - `details.preflightPassedAt`: a record only. Whether the rollout started (so the preflight is
 *    done) is read from the agents: a server has a result of OUR apply of the release.
 *    A server updated by hand does not count: the preflight holds the next server until it passes.
 *  - `details.configDigest`, `details.rolloutMembers`: the configuration freeze. Absent → the file is
 *    taken as it is; the ordering rules are all read from the agents' reports, so this can hide a
 *    held-back change but not send a step out of order.
 *  - `details.rollbackFrom`: Git moved the release down within one major.minor from this version, so
 *    servers up to it are rolled back, not `MemberAhead`. Absent → newer servers are MemberAhead
 *    (Blocked: a person decides) — fail closed.
 *
 * Per member: a failed command is never re-sent until `spec.rollout.retryFailed` is set or bumped
 * past it (command-id.ts `attempt`). Delivery: `push` with an `endpoint`, else `mailbox`. Summary:
 * "n of m servers updated to V" (the installer's "n of m servers updated").
 */
import { artifactRef } from '../artifact-ref.ts';
import { commandId } from '../command-id.ts';
import { conditionsFor } from '../conditions.ts';
import type { DesiredInput, MemberStatus, ReconcileResult, Reconciler, TargetStatus } from '../contract.ts';
import { foldOutcomes, reasonDef, runSteps, stepNames, type Outcome, type Step } from '../engine/index.ts';
import { reconcileRelease } from '../engine/release.ts';
import { agentIdOf, type HACluster } from '../model/desired.ts';
import { targetId, type TargetId } from '../model/identity.ts';
import { compareVersions, isValidVersion, reportsVersion, sameSchemaLevel } from '../../protocol/version.ts';
import { reconcileConsoles, reconcileLoadBalancers, reconcileVerification } from './components.ts';
import { configDigest, HELD_BACK_MESSAGE, readRolloutMembers, rolloutMembersOf } from './config.ts';
import type { RolloutMembers } from './config.ts';
import { inUpdateOrder, settledServer, umsMember, updatedComponent } from './members.ts';
import type { Role, UmsMember } from './members.ts';
import { reconcileNormalMode, reconcileSchemaMigration } from './migration.ts';
import { HAPass, type HeldBack } from './pass.ts';
import { PREFLIGHT_CHECKS, type PreflightCheck, type PreflightName } from './preconditions.ts';
import { reconcileInstaller, reconcilePreflight } from './preflight.ts';
import { HA_CLUSTER_CATALOGUE, type HAClusterReason } from './reasons.ts';
import { reconcilePackage, reconcileVersionPolicy } from './release.ts';
import { END_UPDATE_MODE_ACTION, reconcileServerHealth, reconcileServers } from './servers.ts';

export { configDigest, END_UPDATE_MODE_ACTION, HELD_BACK_MESSAGE, PREFLIGHT_CHECKS };
export type { PreflightCheck };
export { HA_CLUSTER_CATALOGUE, HA_CLUSTER_REASONS, HA_CLUSTER_REQUEUE, type HAClusterReason } from './reasons.ts';

const STEPS: readonly Step<HAPass>[] = [
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

/** The step names, in the order they run (taken from the functions, so they cannot drift). */
export const HA_CLUSTER_STEPS: readonly string[] = [reconcileRelease.name, ...stepNames(STEPS)];

interface Members {
  readonly servers: readonly UmsMember[];
  readonly loadBalancers: readonly UmsMember[];
  readonly consoles: readonly UmsMember[];
}

/** How far back a result of our own command still tells when this rollout started. */
export const ROLLOUT_EVIDENCE_MAX_AGE_MS = 6 * 60 * 60 * 1000;

/**
 * The earliest time an agent reported a result of one of our commands of this release (stage,
 * backup, apply: deterministic ids), no older than ROLLOUT_EVIDENCE_MAX_AGE_MS; NaN when none.
 */
function earliestResultOfRelease(target: TargetId, version: string, members: Members, now: number): number {
  let earliest = Number.NaN;
  for (const m of [...members.servers, ...members.loadBalancers, ...members.consoles]) {
    const ids = new Set((['stage', 'backup', 'apply'] as const).map((a) => commandId(target, m.name, a, version)));
    for (const r of m.obs?.results ?? []) {
      if (!ids.has(r.id)) continue;
      const at = Date.parse(r.at);
      if (Number.isNaN(at) || at > now || now - at > ROLLOUT_EVIDENCE_MAX_AGE_MS) continue;
      if (Number.isNaN(earliest) || at < earliest) earliest = at;
    }
  }
  return earliest;
}

export const reconcileHACluster: Reconciler<'HACluster'> = (desired, observed, previous, now): ReconcileResult => {
  const cluster = desired.object;
  const target = targetId('HACluster', cluster.metadata.name);
  const resolved = reconcileRelease(desired);
  if (!('release' in resolved)) return unresolved(desired, cluster, target, resolved, previous, now);

  const { release } = resolved;
  const version = release.spec.version;
  const spec = cluster.spec;
  const retryFailed = spec.rollout?.retryFailed;
  const input = {
    target,
    product: release.spec.product,
    version,
    agents: observed.agents,
    ...(retryFailed !== undefined ? { retryFailed } : {}),
  };
  const current: Members = {
    servers: inUpdateOrder(spec).map((m) => umsMember(input, m, 'server')),
    loadBalancers: (spec.loadBalancers ?? []).map((m) => umsMember(input, m, 'load-balancer')),
    consoles: (spec.consoles ?? []).map((m) => umsMember(input, m, 'console')),
  };

  // Memory from the previous status (Git), kept while the desired version is unchanged.
  const previousDesired = previous?.members.find(
    (m) => m.role === 'server' && typeof m.desired === 'string' && isValidVersion(m.desired),
  )?.desired;
  const sameRollout = previousDesired !== undefined && reportsVersion(previousDesired, version);
  const before = sameRollout ? previous?.details : undefined;
  const recordedStart =
    sameRollout && previous?.rolloutStartedAt !== undefined ? Date.parse(previous.rolloutStartedAt) : Number.NaN;
  // No record in Git (a restart before the first status commit, or plan): the agents' results of our
  // own commands of this release say the rollout started no later than the first of them.
  const startedAt = Number.isNaN(recordedStart)
    ? earliestResultOfRelease(target, version, current, now)
    : recordedStart;
  const rolloutStartedAt = new Date(Number.isNaN(startedAt) ? now : startedAt).toISOString();
  const rollbackFrom = sameRollout
    ? readVersion(before?.['rollbackFrom'])
    : rollbackOf(previousDesired, readVersion(previous?.details?.['rollbackFrom']), version);
  const previousPassedAt = typeof before?.['preflightPassedAt'] === 'string' ? before['preflightPassedAt'] : undefined;
  // Started, read from the agents: a server has a result of our apply of the release (any attempt),
  // which is only ever sent once the preflight passed. Hand updates and migrations do not count.
  const started = current.servers.some((s) => s.applyTried);

  // The configuration freeze.
  const digestNow = configDigest(spec);
  const frozen = frozenConfig(current, started, before);
  const running = frozen !== undefined;
  const effective = frozen?.members ?? current;
  const recorded: RolloutMembers = running ? frozen.recorded : rolloutMembersOf(spec);
  const digest = running ? frozen.digest : digestNow;
  const everyone = [...current.servers, ...current.loadBalancers, ...current.consoles];
  const added = running ? everyone.filter((m) => !roleList(recorded, m.role).includes(m.name)) : [];
  const currentNames = new Set(everyone.map((m) => m.name));
  const recordedNames = [...recorded.servers, ...recorded.loadBalancers, ...recorded.consoles];
  const removed = running ? recordedNames.filter((n) => !currentNames.has(n)) : [];
  const heldBack: HeldBack | undefined =
    running && digest !== digestNow
      ? { message: HELD_BACK_MESSAGE, added: added.map((m) => m.name), removed }
      : undefined;

  const pass = new HAPass({
    target,
    release,
    artifact: artifactRef(release),
    spec,
    observed,
    retryFailed,
    servers: effective.servers,
    loadBalancers: effective.loadBalancers,
    consoles: effective.consoles,
    added,
    heldBack,
    rolloutStart: Date.parse(rolloutStartedAt),
    started,
    previousPreflight: readPreflight(before?.['preflight']),
    rollbackFrom,
  });
  runSteps(pass, STEPS);

  const folded = foldOutcomes(pass.outcomes, HA_CLUSTER_CATALOGUE, { reason: 'Verifying', message: `waiting for ` +
    `every ` +
    `server to report ${version}` });
  const phase = folded.phase;

  const key = (role: Role) => (role === 'server' ? 'servers' : role === 'load-balancer' ? 'loadBalancers' : 'consoles');
  const byRole = (role: Role) => [...effective[key(role)], ...added.filter((m) => m.role === role)];
  const listed = [...byRole('server'), ...byRole('load-balancer'), ...byRole('console')];
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

  // A record for people: when the preflight first passed for this rollout (dropped while it fails again).
  const preflightPassedAt = pass.preflightPassedNow
    ? (previousPassedAt ?? new Date(now).toISOString())
    : started
      ? previousPassedAt
      : undefined;
  const details: Record<string, unknown> = {
    ...(pass.preflight !== undefined ? { preflight: pass.preflight } : {}),
    ...(preflightPassedAt !== undefined ? { preflightPassedAt } : {}),
    configDigest: digest,
    rolloutMembers: {
      servers: [...recorded.servers],
      loadBalancers: [...recorded.loadBalancers],
      consoles: [...recorded.consoles],
    },
    ...(heldBack !== undefined
      ? { heldBack: { message: heldBack.message, added: [...heldBack.added], removed: [...heldBack.removed] } }
      : {}),
    ...(rollbackFrom !== undefined ? { rollbackFrom } : {}),
  };
  const reminders =
    heldBack !== undefined ? [`${HELD_BACK_MESSAGE} (changed during the rollout)`, ...pass.reminders] : pass.reminders;
  const status: TargetStatus = {
    target,
    phase,
    conditions: conditionsFor(phase, folded.reason, folded.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `${pass.servers.filter((s) => s.runsDesired && s.state === 'running').length} of ${pass.servers.length} ` +
      `servers updated to ${version}`,
    members,
    ...(reminders.length > 0 ? { reminders } : {}),
    rolloutStartedAt,
    details,
  };
  const requeue = folded.requeueAfter !== undefined ? { requeueAfter: folded.requeueAfter } : {};
  return { commands: pass.commands, status, plan: pass.plan, ...requeue };
};

/** The default state of a member no step said anything about. */
function defaultNote(m: UmsMember): { state: MemberStatus['state']; message?: string } {
  if (m.role === 'server' ? settledServer(m) : updatedComponent(m)) return { state: 'Updated' };
  return { state: m.stagedOk ? 'Staged' : 'Pending' };
}

function readVersion(v: unknown): string | undefined {
  return typeof v === 'string' && isValidVersion(v) ? v : undefined;
}

/**
 * Git moved the release down within one major.minor: from the previous desired version (or the
 * rollback that one was part of, whichever is higher). Across major.minor there is no rollback.
 */
function rollbackOf(
  previousDesired: string | undefined,
  previousFrom: string | undefined,
  version: string,
): string | undefined {
  if (previousDesired === undefined || compareVersions(previousDesired, version) <= 0) return undefined;
  if (!sameSchemaLevel(previousDesired, version)) return undefined;
  const further = previousFrom !== undefined && sameSchemaLevel(previousFrom, version);
  if (further && compareVersions(previousFrom, previousDesired) > 0) return previousFrom;
  return previousDesired;
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
  const done =
    members.servers.every(settledServer) &&
    members.loadBalancers.every(updatedComponent) &&
    members.consoles.every((c) => c.runsDesired);
  return done ? undefined : { members, recorded, digest };
}

/** The preflight checks of a previous status (data read back from Git), if well-formed. */
function readPreflight(value: unknown): PreflightCheck[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const checks: PreflightCheck[] = [];
  for (const v of value as unknown[]) {
    if (v === null || typeof v !== 'object') return undefined;
    const { name, passed, message, status } = v as Record<string, unknown>;
    if (!(PREFLIGHT_CHECKS as readonly unknown[]).includes(name)) return undefined;
    if (typeof passed !== 'boolean' || typeof message !== 'string') return undefined;
    const known = status === 'satisfied' || status === 'unsatisfied' || status === 'unknown';
    const s = known ? status : passed ? 'satisfied' : 'unsatisfied';
    checks.push({ name: name as PreflightName, status: s, passed, message });
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
  const phase = reasonDef(HA_CLUSTER_CATALOGUE, result.reason).phase;
  const member = (m: { name: string; agent?: string }, role: Role): MemberStatus => ({
    name: m.name,
    agent: agentIdOf(m),
    role,
    desired: '',
    state: 'Pending',
    message: result.message,
  });
  const status: TargetStatus = {
    target,
    phase,
    conditions: conditionsFor(phase, result.reason, result.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `release ${spec.release} ${result.reason === 'ReleaseNotFound' ? 'not found' : 'invalid'}; ` +
      `${spec.servers.length} servers wait`,
    members: [
      ...inUpdateOrder(spec).map((m) => member(m, 'server')),
      ...(spec.loadBalancers ?? []).map((m) => member(m, 'load-balancer')),
      ...(spec.consoles ?? []).map((m) => member(m, 'console')),
    ],
  };
  return { commands: [], status, plan: [] };
}
