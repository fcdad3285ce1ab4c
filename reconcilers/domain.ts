/**
 * Domain reconciler — seed 000, Watchdoc WSC: "propager la mise à jour du serveur master vers
 * les serveurs slaves". A pure function of (desired, observed, previous status, now).
 *
 * Steps, in order. Each is a named function below. A step that finds a domain-wide obstacle
 * raises a *halt*: later steps still list the plan steps they would run, blocked by it, but
 * send nothing (the first halt wins). The phase is the first Blocked/Failed outcome of any step,
 * else the first outcome in step order, else Converged. The soonest requeue of any step wins
 * (none when the phase is Blocked: a person must change something, which triggers a pass).
 *
 *  1. reconcileRelease       `spec.release` names a declared Release (with a valid version).
 *                            Else: phase Blocked, Stalled, reason `ReleaseNotFound` (`ReleaseInvalid`).
 *                            STOPS: no plan, no commands, members listed with `desired: ''`.
 *  2. reconcilePackage       The controller's check of the package (download, sha256, Ed25519 signature),
 *                            asked only while some server still needs the release.
 *                            Not checked yet / `pending`: Waiting, `VerifyingPackage`, requeue 10 s.
 *                            `failed`: Blocked, Stalled, `PackageNotSecure`, "package not secure: <reason>".
 *                            Either halts: nothing is staged, nothing at all is sent.
 *  3. reconcileReachability  Before the rollout has started (no server runs or holds the release, no
 *                            command result for it), every server must be online.
 *                            Else: Waiting, `ServerUnreachable` naming every unreachable server, requeue 30 s; halts.
 *                            After the start, an offline server only waits itself (`SlaveOffline`, `MasterOffline`).
 *  4. reconcileMaster        The master first.
 *                            `Manual` (default): never sent a command; one plan step `performedBy: 'operator'`;
 *                            Waiting, `WaitingForMaster` ("waiting for master M to be updated by hand to V"),
 *                            requeue 60 s, the same status on every pass for as long as it takes.
 *                            `Controller`: `stage`, then `apply` (push), then wait for it to report V
 *                            (Progressing, `UpdatingMaster`, requeue 30 s).
 *                            A master newer than V (not a rollback): Waiting, `MemberAhead`, not downgraded.
 *                            Halts until the master reports V (slaves: "waiting for master M to reach V").
 *  5. reconcilePropagation   `stage` (with the artifact) to every slave that neither runs V nor holds it
 *                            staged and verified: Progressing, `Propagating`, requeue 30 s.
 *                            Halts apply until every slave that needs V holds it ("waiting for propagation
 *                            to finish on S…").
 *  6. reconcileApply         `apply` to every slave that needs V: Progressing, `Applying`, requeue 30 s.
 *  7. reconcileVerification  Every server reports V: Converged, Ready=True, `Converged`, empty plan.
 *                            A slave newer than V (not a rollback): member `Ahead`, Waiting, `MemberAhead`.
 *
 * In steps 4–6, per server: a command the agent reported `failed` (or a staged package it reported
 * not verified) makes the member Failed and the phase Failed (Stalled) with the agent's message, and is
 * never re-sent — until a commit sets or bumps `spec.rollout.retryFailed` past the failure: that step
 * alone is then tried again under a new id (`attempt` in command-id.ts; a retried stage also sets
 * aside the staged package that did not verify, which the agent downloads and checks again). A
 * command reported `running` makes it Updating and is not re-sent. An apply reported `succeeded`
 * by a server that, not installing, still reports another version contradicts itself (an agent
 * that misreports, an install rolled back by hand): member Failed, phase Failed (Stalled),
 * `ReportContradictsResult`, naming both versions; never re-sent. An offline server after the
 * start waits (`SlaveOffline`/`MasterOffline`, requeue 60 s). Every other needed command is sent
 * again on every pass: ids are deterministic (`commandId`), so that is harmless.
 *
 * Rollback: a server newer than V is downgraded (stage, then apply) only when Git moved the
 * version down — its `desired` in the previous status is newer than V — and, on later passes, while
 * the previous status shows it being moved down (same V, newer, not `Ahead`). See `rollbackUnderWay`.
 *
 * Apply waits for propagation on EVERY slave that needs V, offline ones included (seed 000 propagates,
 * then applies): one offline slave without the package holds every apply back, and the plan says so.
 *
 * Delivery: the master and `bidirectional` slaves get `push`; `mailbox` slaves get `mailbox`.
 * Members, plan and commands follow declaration order: master, then slaves (stages, then applies).
 */
import { artifactRef } from './artifact-ref.ts';
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
import { agentIdOf, type Domain, type Release } from './model/desired.ts';
import { targetId, type TargetId } from './model/identity.ts';
import { isValidVersion } from './model/version.ts';
import type { ArtifactCheck } from './observed.ts';
import { needsUpdate, sameVersion, serversOf, type Server } from './domain/servers.ts';

/** Requeue delays (ms) by situation. Waiting for a person is polled slowly and never escalates. */
export const DOMAIN_REQUEUE = {
  verifyingPackage: 10_000,
  serverUnreachable: 30_000,
  progressing: 30_000,
  waitingForMaster: 60_000,
  offline: 60_000,
} as const;

/** The reasons this reconciler sets, on the phase (conditions) or on plan blockers. */
export const DOMAIN_REASONS = [
  'ReleaseNotFound',
  'ReleaseInvalid',
  'VerifyingPackage',
  'PackageNotSecure',
  'ServerUnreachable',
  'WaitingForMaster',
  'MasterOffline',
  'UpdatingMaster',
  'SlaveOffline',
  'Propagating',
  'WaitingForPropagation',
  'Applying',
  'CommandRunning',
  'StageFailed',
  'ApplyFailed',
  'ReportContradictsResult',
  'PackageNotVerified',
  'MemberAhead',
  'Verifying',
  'Converged',
] as const;
export type DomainReason = (typeof DOMAIN_REASONS)[number];

// ------------------------------------------------------------------ pass state

interface Outcome {
  readonly phase: Phase;
  readonly reason: DomainReason;
  readonly message: string;
  readonly requeueAfter?: number;
}

interface MemberNote {
  readonly state: MemberState;
  readonly message?: string;
}

/** What one pass builds up. Local to the pass: nothing survives it but the result. */
interface Pass {
  readonly target: TargetId;
  readonly release: Release;
  readonly version: string;
  readonly artifact: ArtifactRef;
  readonly artifactCheck: ArtifactCheck | undefined;
  readonly master: Server;
  readonly slaves: readonly Server[];
  /** Some server runs or holds the release, or some command of this rollout has a result. */
  readonly started: boolean;
  /** The first domain-wide obstacle: later steps list their plan steps blocked by it and send nothing. */
  halt: Blocker | undefined;
  readonly plan: PlanStep[];
  readonly commands: Command[];
  readonly outcomes: Outcome[];
  /** First note per member wins (its earliest step says most about it). */
  readonly notes: Map<string, MemberNote>;
}

const BEFORE_START: ReadonlySet<string> = new Set<DomainReason>(['VerifyingPackage', 'PackageNotSecure', 'ServerUnreachable']);

function haltWith(pass: Pass, blocker: Blocker): void {
  pass.halt ??= blocker;
}

function note(pass: Pass, s: Server, state: MemberState, message?: string): void {
  if (!pass.notes.has(s.name)) pass.notes.set(s.name, message === undefined ? { state } : { state, message });
}

function step(pass: Pass, s: Server, action: Action, runnable: boolean, blockedBy?: Blocker, performedBy?: 'operator'): void {
  pass.plan.push({
    target: pass.target,
    member: s.name,
    action,
    version: pass.version,
    runnable,
    ...(blockedBy ? { blockedBy } : {}),
    ...(performedBy ? { performedBy } : {}),
  });
}

function send(pass: Pass, s: Server, action: 'stage' | 'apply'): void {
  step(pass, s, action, true);
  pass.commands.push({
    id: action === 'stage' ? s.stageId : s.applyId,
    target: pass.target,
    member: s.name,
    agent: s.agent,
    action,
    delivery: s.delivery,
    product: pass.release.spec.product,
    version: pass.version,
    artifact: pass.artifact,
  });
  note(pass, s, 'Updating', action === 'stage' ? `staging ${pass.version} (download and verify, nothing installed)` : `applying ${pass.version}`);
}

function blocked(pass: Pass, s: Server, action: Action, blocker: Blocker): void {
  step(pass, s, action, false, blocker);
  const state: MemberState = s.stagedOk ? 'Staged' : BEFORE_START.has(blocker.reason) ? 'Pending' : 'Waiting';
  note(pass, s, state, blocker.message);
}

function fail(pass: Pass, s: Server, action: Action, reason: DomainReason, message: string): void {
  step(pass, s, action, false, { category: 'stalled', reason, message });
  note(pass, s, 'Failed', message);
  pass.outcomes.push({ phase: 'Failed', reason, message });
}

function running(pass: Pass, s: Server, action: 'stage' | 'apply'): void {
  const message = `${action} of ${pass.version} running on ${s.name}`;
  step(pass, s, action, false, { category: 'waiting', reason: 'CommandRunning', message });
  note(pass, s, 'Updating', message);
}

type StepResult = 'sent' | 'running' | 'offline' | 'failed' | 'blocked';

/** The `stage` step of one server that does not hold the package yet. */
function stageServer(pass: Pass, s: Server, gate: Blocker | undefined): StepResult {
  const { version } = pass;
  if (s.stagedBad !== undefined && !s.stageRetrying) {
    fail(pass, s, 'stage', 'PackageNotVerified', `package ${version} staged on ${s.name} did not verify: ${s.stagedBad}`);
    return 'failed';
  }
  if (s.stageResult?.status === 'failed') {
    fail(pass, s, 'stage', 'StageFailed', `stage of ${version} failed on ${s.name}: ${s.stageResult.message ?? 'no message from the agent'}`);
    return 'failed';
  }
  if (s.stageResult?.status === 'running') {
    running(pass, s, 'stage');
    return 'running';
  }
  if (gate) {
    blocked(pass, s, 'stage', gate);
    return 'blocked';
  }
  if (s.offlineMessage !== undefined) {
    blocked(pass, s, 'stage', offlineBlocker(s));
    return 'offline';
  }
  send(pass, s, 'stage');
  return 'sent';
}

/** The `apply` step of one server that does not run the release yet. */
function applyServer(pass: Pass, s: Server, gate: Blocker | undefined): StepResult {
  if (s.applyResult?.status === 'failed') {
    fail(pass, s, 'apply', 'ApplyFailed', `apply of ${pass.version} failed on ${s.name}: ${s.applyResult.message ?? 'no message from the agent'}`);
    return 'failed';
  }
  if (s.applyResult?.status === 'running') {
    running(pass, s, 'apply');
    return 'running';
  }
  if (s.applyResult?.status === 'succeeded' && !s.installing) {
    // The agent says the install succeeded, and its reports since say another version: one of
    // the two is wrong (an agent that misreports, an install rolled back by hand). Sending the
    // apply again would do nothing (the agent ran that id); a person must look.
    const reported = s.observedVersion === undefined ? 'no version' : s.observedVersion;
    fail(pass, s, 'apply', 'ReportContradictsResult', `apply of ${pass.version} succeeded on ${s.name}, yet it reports ${reported}: its reports contradict its command results; check the server`);
    return 'failed';
  }
  if (gate) {
    blocked(pass, s, 'apply', gate);
    return 'blocked';
  }
  if (s.offlineMessage !== undefined) {
    blocked(pass, s, 'apply', offlineBlocker(s));
    return 'offline';
  }
  send(pass, s, 'apply');
  return 'sent';
}

function offlineBlocker(s: Server): Blocker {
  return { category: 'waiting', reason: s.role === 'master' ? 'MasterOffline' : 'SlaveOffline', message: s.offlineMessage ?? `${s.role} ${s.name} offline` };
}

function propagationBlocker(pending: readonly Server[], failed: ReadonlySet<string>): Blocker {
  return {
    category: pending.some((s) => failed.has(s.name)) ? 'stalled' : 'waiting',
    reason: 'WaitingForPropagation',
    message: `waiting for propagation to finish on ${pending.map((s) => s.name).join(', ')}`,
  };
}

function aheadMessage(s: Server, version: string): string {
  return `${s.role} ${s.name} runs ${s.observedVersion ?? '?'}, newer than ${version}; not downgraded (commit a rollback in Git to downgrade it)`;
}

const names = (list: readonly Server[]): string => list.map((s) => s.name).join(', ');

// ------------------------------------------------------------------ steps

/** 1. The release must be declared (and, defensively, carry a valid version). */
function reconcileRelease(desired: DesiredInput<'Domain'>): { release: Release } | Outcome {
  const name = desired.object.spec.release;
  const release = desired.releases.get(name);
  if (release === undefined) return { phase: 'Blocked', reason: 'ReleaseNotFound', message: `release ${JSON.stringify(name)} is not declared` };
  if (!isValidVersion(release.spec.version)) {
    return { phase: 'Blocked', reason: 'ReleaseInvalid', message: `release ${JSON.stringify(name)} has an invalid version ${JSON.stringify(release.spec.version)}` };
  }
  return { release };
}

/**
 * 2. The package must be verified by the controller (sha256 + signature) before anything is sent.
 * Not asked when no server needs the release any more (all run it, or run a newer one): there is
 * nothing to send, and a converged domain must not flap to Waiting while a restarted controller
 * re-checks the package.
 */
function reconcilePackage(pass: Pass): void {
  const check = pass.artifactCheck;
  const name = pass.release.metadata.name;
  if (check?.status === 'verified') return;
  if (![pass.master, ...pass.slaves].some(needsUpdate)) return;
  if (check?.status === 'failed') {
    const message = `package not secure: ${check.reason ?? `the package of ${name} failed verification`}`;
    pass.outcomes.push({ phase: 'Blocked', reason: 'PackageNotSecure', message });
    haltWith(pass, { category: 'stalled', reason: 'PackageNotSecure', message });
    return;
  }
  const message = `verifying the package of ${name} (sha256 and signature) before anything is propagated`;
  pass.outcomes.push({ phase: 'Waiting', reason: 'VerifyingPackage', message, requeueAfter: DOMAIN_REQUEUE.verifyingPackage });
  haltWith(pass, { category: 'waiting', reason: 'VerifyingPackage', message });
}

/** 3. Before the start, every server must be reachable. */
function reconcileReachability(pass: Pass): void {
  if (pass.started) return;
  const unreachable = [pass.master, ...pass.slaves].filter((s) => s.offlineMessage !== undefined);
  if (unreachable.length === 0) return;
  const message = `every server must be reachable before the update starts: ${unreachable.map((s) => s.offlineMessage).join('; ')}`;
  pass.outcomes.push({ phase: 'Waiting', reason: 'ServerUnreachable', message, requeueAfter: DOMAIN_REQUEUE.serverUnreachable });
  haltWith(pass, { category: 'waiting', reason: 'ServerUnreachable', message });
}

/** 4. The master first: by hand (the controller waits and says so) or by the controller. */
function reconcileMaster(pass: Pass): void {
  const m = pass.master;
  const { version } = pass;
  if (m.runsDesired) return;
  const reach = (category: Blocker['category']): Blocker => ({ category, reason: 'WaitingForMaster', message: `waiting for master ${m.name} to reach ${version}` });

  if (m.ahead) {
    const message = aheadMessage(m, version);
    step(pass, m, 'apply', false, pass.halt ?? { category: 'waiting', reason: 'MemberAhead', message }, m.manual ? 'operator' : undefined);
    note(pass, m, 'Ahead', message);
    pass.outcomes.push({ phase: 'Waiting', reason: 'MemberAhead', message });
    haltWith(pass, reach('waiting'));
    return;
  }

  if (m.manual) {
    const message = `waiting for master ${m.name} to be updated by hand to ${version}`;
    step(pass, m, 'apply', false, pass.halt ?? { category: 'waiting', reason: 'WaitingForMaster', message }, 'operator');
    note(pass, m, 'Waiting', message);
    pass.outcomes.push({ phase: 'Waiting', reason: 'WaitingForMaster', message, requeueAfter: DOMAIN_REQUEUE.waitingForMaster });
    haltWith(pass, reach('waiting'));
    return;
  }

  const results: StepResult[] = [];
  if (!m.propagated) results.push(stageServer(pass, m, pass.halt));
  const failed = results.includes('failed') ? new Set([m.name]) : new Set<string>();
  results.push(applyServer(pass, m, pass.halt ?? (m.propagated ? undefined : propagationBlocker([m], failed))));
  if (results.includes('failed')) {
    haltWith(pass, reach('stalled'));
    return;
  }
  if (results.includes('offline')) {
    pass.outcomes.push({ phase: 'Waiting', reason: 'MasterOffline', message: m.offlineMessage ?? `master ${m.name} offline`, requeueAfter: DOMAIN_REQUEUE.offline });
  } else if (results.includes('sent') || results.includes('running')) {
    pass.outcomes.push({ phase: 'Progressing', reason: 'UpdatingMaster', message: `updating master ${m.name} to ${version}`, requeueAfter: DOMAIN_REQUEUE.progressing });
  }
  haltWith(pass, reach('waiting'));
}

/** 5. Propagate: stage the package on every slave that neither runs it nor holds it verified. */
function reconcilePropagation(pass: Pass): void {
  const needing = pass.slaves.filter(needsUpdate);
  const sent: Server[] = [];
  const offline: Server[] = [];
  const failed = new Set<string>();
  for (const s of needing) {
    if (s.propagated) continue;
    const r = stageServer(pass, s, pass.halt);
    if (r === 'sent' || r === 'running') sent.push(s);
    else if (r === 'offline') offline.push(s);
    else if (r === 'failed') failed.add(s.name);
  }
  if (sent.length > 0) {
    pass.outcomes.push({ phase: 'Progressing', reason: 'Propagating', message: `propagating ${pass.version} to ${names(sent)}`, requeueAfter: DOMAIN_REQUEUE.progressing });
  }
  if (offline.length > 0) {
    pass.outcomes.push({ phase: 'Waiting', reason: 'SlaveOffline', message: offline.map((s) => s.offlineMessage).join('; '), requeueAfter: DOMAIN_REQUEUE.offline });
  }
  const pending = needing.filter((s) => !s.propagated);
  if (pending.length > 0) haltWith(pass, propagationBlocker(pending, failed));
}

/** 6. Apply: install the staged package on every slave that needs it, once propagation finished everywhere. */
function reconcileApply(pass: Pass): void {
  const sent: Server[] = [];
  const offline: Server[] = [];
  for (const s of pass.slaves.filter(needsUpdate)) {
    const r = applyServer(pass, s, pass.halt);
    if (r === 'sent' || r === 'running') sent.push(s);
    else if (r === 'offline') offline.push(s);
  }
  if (sent.length > 0) {
    pass.outcomes.push({ phase: 'Progressing', reason: 'Applying', message: `applying ${pass.version} on ${names(sent)}`, requeueAfter: DOMAIN_REQUEUE.progressing });
  }
  if (offline.length > 0) {
    pass.outcomes.push({ phase: 'Waiting', reason: 'SlaveOffline', message: offline.map((s) => s.offlineMessage).join('; '), requeueAfter: DOMAIN_REQUEUE.offline });
  }
}

/** 7. Verify: done when every server reports the release's version; newer slaves are reported, not touched. */
function reconcileVerification(pass: Pass): void {
  const { version } = pass;
  const ahead = pass.slaves.filter((s) => s.ahead);
  for (const s of ahead) note(pass, s, 'Ahead', aheadMessage(s, version));
  if (ahead.length > 0) {
    pass.outcomes.push({ phase: 'Waiting', reason: 'MemberAhead', message: ahead.map((s) => aheadMessage(s, version)).join('; ') });
  }
  const all = [pass.master, ...pass.slaves];
  if (all.every((s) => s.runsDesired)) {
    pass.outcomes.push({ phase: 'Converged', reason: 'Converged', message: `all ${all.length} servers run ${version}` });
  } else if (pass.outcomes.length === 0) {
    pass.outcomes.push({ phase: 'Progressing', reason: 'Verifying', message: `waiting for every server to report ${version}`, requeueAfter: DOMAIN_REQUEUE.progressing });
  }
}

const STEPS: readonly ((pass: Pass) => void)[] = [
  reconcilePackage,
  reconcileReachability,
  reconcileMaster,
  reconcilePropagation,
  reconcileApply,
  reconcileVerification,
];

/** The step names, in the order they run (taken from the functions themselves, so they cannot drift). */
export const DOMAIN_STEPS: readonly string[] = [reconcileRelease.name, ...STEPS.map((f) => f.name)];

// ------------------------------------------------------------------ the reconciler

export const reconcileDomain: Reconciler<'Domain'> = (desired, observed, previous, now): ReconcileResult => {
  const domain = desired.object;
  const target = targetId('Domain', domain.metadata.name);

  const resolved = reconcileRelease(desired);
  if (!('release' in resolved)) return unresolved(desired, domain, target, resolved, previous, now);

  const { release } = resolved;
  const version = release.spec.version;
  const retryFailed = domain.spec.rollout?.retryFailed;
  const { master, slaves } = serversOf(domain, { target, product: release.spec.product, version, agents: observed.agents, previous, ...(retryFailed !== undefined ? { retryFailed } : {}) });
  const all = [master, ...slaves];
  const pass: Pass = {
    target,
    release,
    version,
    artifact: artifactRef(release),
    artifactCheck: observed.artifacts.get(release.metadata.name),
    master,
    slaves,
    started: all.some((s) => s.runsDesired || s.stagedAny || s.tried),
    halt: undefined,
    plan: [],
    commands: [],
    outcomes: [],
    notes: new Map(),
  };
  for (const run of STEPS) run(pass);

  const outcome =
    pass.outcomes.find((o) => o.phase === 'Blocked' || o.phase === 'Failed') ??
    pass.outcomes[0] ??
    ({ phase: 'Progressing', reason: 'Verifying', message: `waiting for every server to report ${version}` } satisfies Outcome);
  const requeues = pass.outcomes.flatMap((o) => (o.requeueAfter === undefined ? [] : [o.requeueAfter]));
  const requeueAfter = outcome.phase === 'Blocked' || requeues.length === 0 ? undefined : Math.min(...requeues);

  const members: MemberStatus[] = all.map((s) => {
    const n: MemberNote = pass.notes.get(s.name) ?? (s.runsDesired ? { state: 'Updated' } : { state: 'Pending' });
    return {
      name: s.name,
      agent: s.agent,
      role: s.role,
      desired: version,
      ...(s.observedVersion !== undefined ? { observed: s.observedVersion } : {}),
      state: n.state,
      ...(n.message !== undefined ? { message: n.message } : {}),
    };
  });

  const previousMaster = previous?.members.find((m) => m.role === 'master');
  const sameRollout = previousMaster !== undefined && sameVersion(previousMaster.desired, version);
  const status: TargetStatus = {
    target,
    phase: outcome.phase,
    conditions: conditionsFor(outcome.phase, outcome.reason, outcome.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `${all.filter((s) => s.runsDesired).length}/${all.length} servers at ${version}`,
    members,
    rolloutStartedAt: sameRollout && previous?.rolloutStartedAt !== undefined ? previous.rolloutStartedAt : new Date(now).toISOString(),
  };
  return {
    commands: pass.commands,
    status,
    plan: pass.plan,
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
  };
};

/** The release cannot be resolved: no version to compare with, so no plan and no commands. */
function unresolved(
  desired: DesiredInput<'Domain'>,
  domain: Domain,
  target: TargetId,
  outcome: Outcome,
  previous: TargetStatus | undefined,
  now: number,
): ReconcileResult {
  const { master, slaves } = domain.spec;
  const member = (m: { name: string; agent?: string }, role: 'master' | 'slave'): MemberStatus => ({
    name: m.name,
    agent: agentIdOf(m),
    role,
    desired: '',
    state: 'Pending',
    message: outcome.message,
  });
  const status: TargetStatus = {
    target,
    phase: outcome.phase,
    conditions: conditionsFor(outcome.phase, outcome.reason, outcome.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `release ${domain.spec.release} ${outcome.reason === 'ReleaseNotFound' ? 'not found' : 'invalid'}; ${1 + slaves.length} servers wait`,
    members: [member(master, 'master'), ...slaves.map((s) => member(s, 'slave'))],
  };
  return { commands: [], status, plan: [] };
}
