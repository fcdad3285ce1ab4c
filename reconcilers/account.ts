/**
 * The Account reconciler (seeds 001 W360 Core workstations, 003 ceBox): one customer
 * account — its cloud infrastructure, its repository servers (WRS) and its devices — moved
 * to the versions its tags name, in the vendor's order.
 *
 * Ordered steps (named functions below; each appends its members, plan steps and commands
 * in plan order, so `commands` is exactly the runnable steps of `plan`, in the same order):
 *
 *   1. reconcileTags — resolve `defaultTag` (everyone) and `testRing.tag` (the WRS and
 *      devices listed in the test ring) among the Releases of `spec.product`, and the
 *      infrastructure release by name. An unresolvable or ambiguous TAG STOPS HERE: phase
 *      Blocked, reason `TagNotResolved` (Stalled), no commands, no plan; members are listed
 *      with what they run. (A missing infrastructure release only blocks the infrastructure.)
 *   2. reconcilePackages — a release is installed only once the controller verified its
 *      package (`observed.artifacts`): absent/`pending` → its steps wait (`VerifyingPackage`,
 *      requeue 10 s); `failed` → its steps are stalled (`PackageNotSecure`). This gates every
 *      command of that release (apply and restart), never the members already at it.
 *   3. reconcilePromotion (issue 8) — with a test ring, production (every WRS and device outside
 *      it, on `defaultTag`) takes its version only once that version CONVERGED ON THE TEST RING
 *      (every declared test-ring member reports it, installed and restarted), or
 *      `spec.promotion.override.version` names it (its reason goes to `reminders`; `audit`
 *      shows the field). Convergence is remembered in `status.details.promotion.tested`
 *      (newest last, bounded), carried from `previous`, the only memory; rollbacks and the
 *      version production already ran when the gate first saw the account are not held (rules
 *      in account/promotion.ts). Otherwise production is HELD: its members get no command,
 *      state Waiting, their steps blocked by `AwaitingTestRing` ("4.3.0 has not converged on
 *      the test ring yet (0/3 test members)"). A WRS of the test ring serves its production
 *      devices too and follows the ring; a production WRS is held with production (it would
 *      hand the version to its devices, which with auto-update take it themselves). Test-ring
 *      members and the infrastructure are never held.
 *   4. reconcileInfrastructure — the `infrastructure` member (seed 003: console and APIs as one
 *      unit) gets one `apply` of `spec.infrastructure.release` when it does not report that
 *      version. Independent: it never waits for WRS or devices and they never wait for it.
 *      Rolling back = pointing at the previous release: same apply.
 *   5. reconcileRepositoryServers — WRS first: `apply`, then once the WRS reports the version
 *      installed, always a `restart` (seeds: "redémarrer le WRS pour appliquer les
 *      modifications"). Indexes, per WRS, the versions it serves to its devices.
 *   6. reconcileDevices — a device behind a WRS is never sent a version its WRS does not serve
 *      (`WaitingForRepositoryServer`: `WRS wrs-paris does not serve 4.3.0 yet`, or the WRS is
 *      offline); remote (`cloud`) devices never wait for a WRS. Offline devices wait
 *      (`DeviceOffline`). `apply`, then `restart` when the device reports the version installed
 *      and `restartPolicy: Immediate`; `LeaveToUser` → no restart command, state
 *      `PendingRestart`. `autoUpdate: true` → no device command at all: device steps are
 *      `performedBy: 'device'`, never runnable, and progress is only observed.
 *   7. reconcileInstallMedia — a reminder while install media (USB keys) were not generated
 *      for the production version.
 *   8. summarise — phase, conditions, summary, details (`promotion`), rolloutStartedAt, requeue.
 *
 * Member progress (every role): reports the desired version and no restart pending → Updated;
 * reports a NEWER version while its desired version did not go down (see `isRollback`) →
 * Ahead, reported, never downgraded; otherwise an `apply`, then a `restart` (WRS, and devices
 * with `Immediate`). The install counts as reported when the component reports the version;
 * the restart is still due while it reports `pendingRestart: true` or, for a WRS (always
 * restarted), while our `apply` of that version succeeded and our `restart` did not. Devices
 * signal a pending restart with `pendingRestart` only: checking results costs two hashes per
 * device, which a converged fleet of a million devices cannot afford on every pass.
 * A command whose result (by its deterministic id) is `failed` makes the member Failed and is
 * not re-sent — until a commit sets or bumps `spec.rollout.retryFailed` past the failure: that
 * member's step alone is then sent again under a new id and judged by it (`attempt` in
 * command-id.ts); `running` → Updating, not re-sent; `succeeded` is otherwise ignored (a
 * re-sent command is harmless).
 *
 * Phase, first that applies:
 *   Failed       a WRS failed (its devices cannot proceed)                 RepositoryServerFailed
 *   Blocked      a step stalled on configuration (a person must act)       PackageNotSecure, ReleaseNotFound, UnknownRepositoryServer
 *   Progressing  a command is sent or running                              RollingOut (failed devices/infrastructure listed in the message,
 *                                                                          and "production waits: …" while production is held)
 *   Waiting      a step waits for something that clears by itself         AwaitingTestRing when production is held, else the first
 *                                                                          such blocker in plan order (VerifyingPackage,
 *                                                                          WaitingForRepositoryServer, DeviceOffline, RepositoryServerOffline,
 *                                                                          InfrastructureOffline, AutoUpdate, PendingRestart)
 *   Blocked      only failed devices/infrastructure remain                 MemberFailed (a failed device does not stop the others)
 *   Blocked      only members ahead of their desired version remain        MemberAhead (a person decides: move the tag or roll back)
 *   Converged    every member runs its desired version, no restart pending UpToDate
 * Requeue (soonest wins): 10 s while a package is being verified, 30 s while commands are in
 * flight; otherwise none (offline members are picked up when they report again, and a held
 * production when the test ring's reports change the status).
 * When a tag does not resolve (step 1) nothing is decided: `details.promotion` is carried as is.
 *
 * Performance: every input is indexed once (agents by Map, WRS by name, one serve-check per
 * WRS and desired release, version comparisons memoised per distinct observed string); per
 * device the work is O(1) and allocates only what the output holds (blockers and messages
 * that do not name the device are shared).
 */
import { artifactRef } from './artifact-ref.ts';
import { attempt, commandId } from './command-id.ts';
import { decidePromotion, readPromotion, type PromotionDetails, type TestRingProgress } from './account/promotion.ts';
import { conditionsFor } from './conditions.ts';
import type {
  Action,
  ArtifactRef,
  Blocker,
  Command,
  Delivery,
  MemberState,
  MemberStatus,
  Phase,
  PlanStep,
  ReconcileResult,
  Reconciler,
  TargetStatus,
} from './contract.ts';
import { CLOUD, type AccountSpec, type Device, type Release } from './model/desired.ts';
import { messageOf } from './model/errors.ts';
import { targetId, type TargetId } from './model/identity.ts';
import type { ReleaseIndex } from './model/release-index.ts';
import { compareVersions, isValidVersion, versionKey, versionsEqual } from './model/version.ts';
import type { AgentObservation, CommandResult, ComponentReport, Observed } from './observed.ts';

/** Requeue while a package is being verified (rule: verify before installing). */
export const VERIFY_REQUEUE_MS = 10_000;
/** Requeue while commands are sent or running, as a safety net besides agent reports. */
export const IN_FLIGHT_REQUEUE_MS = 30_000;
/** The member name of the cloud infrastructure (console and APIs, seed 003). */
export const INFRASTRUCTURE = 'infrastructure';

export const reconcileAccount: Reconciler<'Account'> = (desired, observed, previous, now) => {
  const ctx = newContext(desired.object.metadata.name, desired.object.spec, desired.releases, desired.revision, observed, previous, now);
  const tagProblems = reconcileTags(ctx);
  if (tagProblems.length > 0) return blockedOnTags(ctx, tagProblems);
  reconcilePackages(ctx);
  reconcilePromotion(ctx);
  reconcileInfrastructure(ctx);
  reconcileRepositoryServers(ctx);
  reconcileDevices(ctx);
  reconcileInstallMedia(ctx);
  return summarise(ctx);
};

// ------------------------------------------------------------------ context

type Stage = 'updated' | 'ahead' | 'install' | 'restart';
type Role = 'infrastructure' | 'wrs' | 'device';

/** One desired release and everything members heading for it share (blockers, artifact, comparisons). */
interface Desire {
  readonly release: Release;
  readonly product: string;
  readonly version: string;
  readonly key: string;
  readonly artifact: ArtifactRef;
  /** Set by reconcilePackages: why nothing of this release may run yet, undefined once verified. */
  gate: Blocker | undefined;
  /** Used by at least one member (for the summary and rolloutStartedAt). */
  used: boolean;
  /** compareVersions(observed, version) by observed string; NaN for an invalid observed version. */
  readonly compared: Map<string, number>;
  readonly awaitInstall: Blocker;
  readonly applyRunning: Blocker;
  readonly restartRunning: Blocker;
  readonly pendingRestart: Blocker;
  readonly selfUpdate: Blocker;
}

/** What devices need of their WRS, computed once per WRS. */
interface WrsEntry {
  readonly name: string;
  /** Set when the WRS is offline: its devices wait for it. */
  readonly offline: Blocker | undefined;
  /** versionKey of the version it runs, installed and restarted. */
  readonly runsKey: string | undefined;
  readonly servesKeys: ReadonlySet<string>;
  /** Gate by desire, memoised (at most two desires: account tag and test tag). */
  readonly gates: Map<Desire, Blocker | null>;
}

interface Tally {
  wrs: number;
  wrsUpdated: number;
  devices: number;
  devicesUpdated: number;
  infra: number;
  infraUpdated: number;
  updating: number;
  ahead: number;
  /** `device ws-004: apply 4.3.0 failed: …`, the first few only (with `failedCount`). */
  readonly failed: string[];
  failedCount: number;
  readonly wrsFailed: string[];
}

interface Ctx {
  readonly target: TargetId;
  readonly name: string;
  readonly spec: AccountSpec;
  readonly releases: ReleaseIndex;
  readonly revision: string | null;
  readonly observed: Observed;
  readonly previous: TargetStatus | undefined;
  readonly now: number;
  /** `spec.rollout.retryFailed`: commands that failed before it are sent again under a new id (`attempt`). */
  readonly retryFailed: string | undefined;
  prod: Desire | undefined;
  test: Desire | undefined;
  infra: Desire | undefined;
  readonly members: MemberStatus[];
  readonly plan: PlanStep[];
  readonly commands: Command[];
  readonly reminders: string[];
  readonly wrs: Map<string, WrsEntry>;
  readonly tally: Tally;
  /** previous.members by name, built on first need (only members reporting a newer version need it). */
  previousMembers: Map<string, MemberStatus> | undefined;
  /** `status.details.promotion` (set by reconcilePromotion, or carried by blockedOnTags). */
  promotion: PromotionDetails | undefined;
  /** Set while production may not take its version (AwaitingTestRing): every production step waits on it. */
  hold: Blocker | undefined;
}

function newContext(
  name: string,
  spec: AccountSpec,
  releases: ReleaseIndex,
  revision: string | null,
  observed: Observed,
  previous: TargetStatus | undefined,
  now: number,
): Ctx {
  return {
    target: targetId('Account', name),
    name,
    spec,
    releases,
    revision,
    observed,
    previous,
    now,
    retryFailed: spec.rollout?.retryFailed,
    prod: undefined,
    test: undefined,
    infra: undefined,
    members: [],
    plan: [],
    commands: [],
    reminders: [],
    wrs: new Map(),
    tally: { wrs: 0, wrsUpdated: 0, devices: 0, devicesUpdated: 0, infra: 0, infraUpdated: 0, updating: 0, ahead: 0, failed: [], failedCount: 0, wrsFailed: [] },
    previousMembers: undefined,
    promotion: undefined,
    hold: undefined,
  };
}

function newDesire(release: Release): Desire {
  const { product, version } = release.spec;
  const waiting = (reason: string, message: string): Blocker => ({ category: 'waiting', reason, message });
  return {
    release,
    product,
    version,
    key: versionKey(version),
    artifact: artifactRef(release),
    gate: undefined,
    used: false,
    compared: new Map(),
    awaitInstall: waiting('WaitingForInstall', `restarts once ${version} is reported installed`),
    applyRunning: waiting('InProgress', `apply ${version} in progress`),
    restartRunning: waiting('InProgress', `restart to finalise ${version} in progress`),
    pendingRestart: waiting('PendingRestart', `${version} installed; the device finalises it at its next restart or shutdown`),
    selfUpdate: waiting('AutoUpdate', `the device updates itself to ${version} (auto-update); waiting for it to report it`),
  };
}

// ------------------------------------------------------------------ 1. tags

/** Resolves the account tag, the test tag and the infrastructure release; returns the tag problems (empty: go on). */
function reconcileTags(ctx: Ctx): string[] {
  const { spec, releases } = ctx;
  const problems: string[] = [];
  const resolve = (tag: string): Release | undefined => {
    const r = releases.resolveTag(spec.product, tag);
    if (r.ok) return r.release;
    problems.push(
      r.reason === 'ambiguous'
        ? messageOf('AMBIGUOUS_TAG', { tag, product: spec.product, releases: r.candidates.map((c) => c.metadata.name) })
        : messageOf('UNRESOLVED_TAG', { tag, product: spec.product }),
    );
    return undefined;
  };
  const prod = resolve(spec.defaultTag);
  if (prod) ctx.prod = newDesire(prod);
  if (spec.testRing) {
    const test = resolve(spec.testRing.tag);
    if (test) ctx.test = prod && test.metadata.name === prod.metadata.name ? ctx.prod : newDesire(test);
  }
  if (spec.infrastructure) {
    const infra = releases.get(spec.infrastructure.release);
    if (infra) ctx.infra = newDesire(infra);
  }
  return problems;
}

/** Step 1 failed: Blocked, Stalled, no commands and no plan; members are listed with what they run. */
function blockedOnTags(ctx: Ctx, problems: readonly string[]): ReconcileResult {
  const { spec } = ctx;
  const message = problems.join('; ');
  const list = (name: string, agent: string, role: Role, desire: Desire | undefined, unresolved: string): void => {
    const obs = ctx.observed.agents.get(agent);
    const comp = findComponent(obs, desire?.product ?? spec.product);
    if (!desire) {
      ctx.members.push(memberStatus(name, agent, role, unresolved, role === 'infrastructure' ? undefined : comp?.version, 'Waiting', message));
      return;
    }
    desire.used = true;
    const stage = stageOf(ctx, name, obs, comp, desire, false, role !== 'infrastructure');
    const state: MemberState = stage === 'updated' ? 'Updated' : stage === 'ahead' ? 'Ahead' : 'Waiting';
    ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, state, state === 'Waiting' ? message : state === 'Ahead' ? aheadMessage(comp, desire) : undefined));
  };
  if (spec.infrastructure) {
    list(INFRASTRUCTURE, infrastructureAgent(ctx), 'infrastructure', ctx.infra, spec.infrastructure.release);
  }
  const ringWrs = new Set(spec.testRing?.repositoryServers);
  const ringDevices = new Set(spec.testRing?.devices);
  const testTag = `unresolved tag ${spec.testRing?.tag ?? ''}`;
  const defaultTag = `unresolved tag ${spec.defaultTag}`;
  for (const w of spec.repositoryServers) {
    const inRing = ringWrs.has(w.name);
    list(w.name, w.agent ?? w.name, 'wrs', inRing ? ctx.test : ctx.prod, inRing ? testTag : defaultTag);
  }
  for (const d of spec.devices) {
    const inRing = ringDevices.has(d.name);
    list(d.name, d.agent ?? d.name, 'device', inRing ? ctx.test : ctx.prod, inRing ? testTag : defaultTag);
  }
  if (ctx.prod) reconcileInstallMedia(ctx);
  // Nothing is decided on this pass: keep what the previous status remembers of promotion.
  ctx.promotion = readPromotion(ctx.previous);
  return {
    commands: [],
    plan: [],
    status: statusOf(ctx, 'Blocked', 'TagNotResolved', message, message),
  };
}

// ------------------------------------------------------------------ 2. packages

/** Gates each desired release on the controller's verification of its package. */
function reconcilePackages(ctx: Ctx): void {
  for (const desire of [ctx.infra, ctx.prod, ctx.test]) {
    if (!desire || desire.gate) continue;
    const name = desire.release.metadata.name;
    const check = ctx.observed.artifacts.get(name);
    if (check?.status === 'verified') continue;
    desire.gate =
      check?.status === 'failed'
        ? { category: 'stalled', reason: 'PackageNotSecure', message: `package ${name} is not secure: ${check.reason ?? 'verification failed'}` }
        : { category: 'waiting', reason: 'VerifyingPackage', message: `waiting for package ${name} to be verified (sha256 and signature)` };
  }
}

// ------------------------------------------------------------------ 3. promotion

/**
 * Issue 8: with a test ring, production (everyone on `defaultTag`) takes a version only once
 * it converged on the test ring, or `spec.promotion.override` lets it through (the rules are
 * in account/promotion.ts). Sets `ctx.hold` when production must wait, and the memory and
 * progress written to `status.details.promotion`.
 */
function reconcilePromotion(ctx: Ctx): void {
  const { spec } = ctx;
  const prod = ctx.prod!;
  const decision = decidePromotion({
    version: prod.version,
    ring: spec.testRing !== undefined && ctx.test !== undefined ? testRingProgress(ctx, ctx.test) : undefined,
    override: spec.promotion?.override,
    remembered: readPromotion(ctx.previous),
    productionHad: () => productionHad(ctx, prod.version),
    now: ctx.now,
  });
  ctx.promotion = decision.details;
  ctx.hold = decision.hold;
  appendAll(ctx.reminders, decision.reminders);
}

/** How many declared test-ring members report the test version, installed and restarted (state Updated). */
function testRingProgress(ctx: Ctx, test: Desire): TestRingProgress {
  const ring = ctx.spec.testRing!;
  const agents = ctx.observed.agents;
  let of = 0;
  let converged = 0;
  const count = (name: string, agent: string, wrs: boolean): void => {
    of++;
    const obs = agents.get(agent);
    if (stageOf(ctx, name, obs, findComponent(obs, test.product), test, wrs, true) === 'updated') converged++;
  };
  if (ring.repositoryServers !== undefined && ring.repositoryServers.length > 0) {
    const names = new Set(ring.repositoryServers);
    for (const w of ctx.spec.repositoryServers) if (names.has(w.name)) count(w.name, w.agent ?? w.name, true);
  }
  if (ring.devices !== undefined && ring.devices.length > 0) {
    const names = new Set(ring.devices);
    for (const d of ctx.spec.devices) if (names.has(d.name)) count(d.name, d.agent ?? d.name, false);
  }
  return { version: test.version, converged, of };
}

/** Promotion rule 5: no previous status, or a member that is production now desired `version` in it. */
function productionHad(ctx: Ctx, version: string): boolean {
  const { previous } = ctx;
  if (previous === undefined) return true;
  const ringWrs = new Set(ctx.spec.testRing?.repositoryServers);
  const ringDevices = new Set(ctx.spec.testRing?.devices);
  return previous.members.some(
    (m) => ((m.role === 'wrs' && !ringWrs.has(m.name)) || (m.role === 'device' && !ringDevices.has(m.name))) && sameVersionString(m.desired, version),
  );
}

// ------------------------------------------------------------------ 4. infrastructure

/** The cloud console and APIs: one apply of the infrastructure release, independent of WRS and devices (seed 003). */
function reconcileInfrastructure(ctx: Ctx): void {
  const infra = ctx.spec.infrastructure;
  if (!infra) return;
  const agent = infrastructureAgent(ctx);
  const obs = ctx.observed.agents.get(agent);
  const desire = ctx.infra;
  ctx.tally.infra++;
  if (!desire) {
    const blocker: Blocker = { category: 'stalled', reason: 'ReleaseNotFound', message: `release ${infra.release} of the infrastructure is not declared` };
    ctx.plan.push(planStep(ctx.target, INFRASTRUCTURE, 'apply', undefined, blocker, undefined));
    ctx.members.push(memberStatus(INFRASTRUCTURE, agent, 'infrastructure', infra.release, undefined, 'Waiting', blocker.message));
    return;
  }
  desire.used = true;
  const comp = findComponent(obs, desire.product);
  const stage = stageOf(ctx, INFRASTRUCTURE, obs, comp, desire, false, false);
  if (stage === 'updated' || stage === 'ahead') {
    settle(ctx, INFRASTRUCTURE, agent, 'infrastructure', desire, comp, stage);
    return;
  }
  const offline = obs?.online === true ? undefined : offlineBlocker('InfrastructureOffline', `infrastructure agent ${agent}`, obs);
  const b = runStep(ctx, ctx.commands, INFRASTRUCTURE, agent, 'mailbox', obs, 'apply', desire, undefined, undefined, offline);
  ctx.plan.push(planStep(ctx.target, INFRASTRUCTURE, 'apply', desire.version, b, undefined));
  progress(ctx, INFRASTRUCTURE, agent, 'infrastructure', desire, comp, b);
}

function infrastructureAgent(ctx: Ctx): string {
  return infrastructureAgentOf(ctx.name, ctx.spec);
}

/** The agent of an account's cloud infrastructure (seed 003): `infrastructure.agent`, else `<account>-infrastructure`. */
export function infrastructureAgentOf(account: string, spec: Pick<AccountSpec, 'infrastructure'>): string {
  return spec.infrastructure?.agent ?? `${account}-infrastructure`;
}

// ------------------------------------------------------------------ 5. repository servers

/** WRS first: apply, then always restart; records what each WRS serves for step 6. */
function reconcileRepositoryServers(ctx: Ctx): void {
  const { spec, target } = ctx;
  const ring = new Set(spec.testRing?.repositoryServers);
  const restartSteps: PlanStep[] = [];
  const restartCommands: Command[] = [];
  for (const w of spec.repositoryServers) {
    const inRing = ring.has(w.name);
    const desire = (inRing ? ctx.test : ctx.prod)!;
    // A WRS of the test ring serves its production devices too and follows the ring; a
    // production WRS waits with production: it would hand the version to its devices.
    const hold = inRing ? undefined : ctx.hold;
    desire.used = true;
    ctx.tally.wrs++;
    const agent = w.agent ?? w.name;
    const delivery: Delivery = w.endpoint ? 'push' : 'mailbox';
    const obs = ctx.observed.agents.get(agent);
    const comp = findComponent(obs, spec.product);
    const stage = stageOf(ctx, w.name, obs, comp, desire, true, true);
    const offline = obs?.online === true ? undefined : offlineBlocker('RepositoryServerOffline', `WRS ${w.name}`, obs);
    ctx.wrs.set(w.name, wrsEntry(w.name, comp, stage, offline));
    if (stage === 'updated' || stage === 'ahead') {
      settle(ctx, w.name, agent, 'wrs', desire, comp, stage);
      continue;
    }
    let b: Blocker | undefined;
    if (stage === 'install') {
      b = runStep(ctx, ctx.commands, w.name, agent, delivery, obs, 'apply', desire, hold, undefined, offline);
      ctx.plan.push(planStep(target, w.name, 'apply', desire.version, b, undefined));
      restartSteps.push(planStep(target, w.name, 'restart', desire.version, desire.awaitInstall, undefined));
    } else {
      b = runStep(ctx, restartCommands, w.name, agent, delivery, obs, 'restart', desire, hold, undefined, offline);
      restartSteps.push(planStep(target, w.name, 'restart', desire.version, b, undefined));
    }
    progress(ctx, w.name, agent, 'wrs', desire, comp, b);
  }
  appendAll(ctx.plan, restartSteps);
  appendAll(ctx.commands, restartCommands);
}

function wrsEntry(name: string, comp: ComponentReport | undefined, stage: Stage, offline: Blocker | undefined): WrsEntry {
  const v = comp?.version;
  // Runs v, installed and restarted: reported without pendingRestart and no restart of ours still due.
  const runsKey = v !== undefined && isValidVersion(v) && comp?.pendingRestart !== true && stage !== 'restart' ? versionKey(v) : undefined;
  const servesKeys = new Set<string>();
  for (const s of comp?.serves ?? []) if (isValidVersion(s)) servesKeys.add(versionKey(s));
  return { name, offline, runsKey, servesKeys, gates: new Map() };
}

/** Why a device behind `wrs` cannot get `desire` yet, or null: the WRS is online and serves it (rule: WRS first). */
function wrsGate(w: WrsEntry, desire: Desire): Blocker | null {
  let gate = w.gates.get(desire);
  if (gate !== undefined) return gate;
  if (w.offline) {
    gate = { category: 'waiting', reason: 'WaitingForRepositoryServer', message: w.offline.message };
  } else if (w.runsKey === desire.key || w.servesKeys.has(desire.key)) {
    gate = null;
  } else {
    gate = { category: 'waiting', reason: 'WaitingForRepositoryServer', message: `WRS ${w.name} does not serve ${desire.version} yet` };
  }
  w.gates.set(desire, gate);
  return gate;
}

// ------------------------------------------------------------------ 6. devices

/** Devices after their WRS: apply, then restart (Immediate) or leave it to the user; with auto-update, observe only. */
function reconcileDevices(ctx: Ctx): void {
  const { spec, target, tally } = ctx;
  const agents = ctx.observed.agents;
  const ring = new Set(spec.testRing?.devices);
  const selfUpdating = spec.autoUpdate === true;
  const userRestarts = spec.restartPolicy === 'LeaveToUser';
  const deviceRestarts = selfUpdating || userRestarts ? 'device' : undefined;
  const unknownWrs = new Map<string, Blocker>();
  const restartSteps: PlanStep[] = [];
  const restartCommands: Command[] = [];
  const prod = ctx.prod!;
  const test = ctx.test;
  const prodHold = ctx.hold;
  for (const d of spec.devices) {
    const inRing = test !== undefined && ring.has(d.name);
    const desire = inRing ? test : prod;
    const hold = inRing ? undefined : prodHold;
    desire.used = true;
    tally.devices++;
    const agent = d.agent ?? d.name;
    const obs = agents.get(agent);
    const comp = findComponent(obs, spec.product);
    const stage = stageOf(ctx, d.name, obs, comp, desire, false, true);
    if (stage === 'updated' || stage === 'ahead') {
      settle(ctx, d.name, agent, 'device', desire, comp, stage);
      continue;
    }
    let b: Blocker | undefined;
    if (stage === 'install') {
      const gate = d.repositoryServer === CLOUD ? undefined : deviceWrsGate(ctx, d, desire, unknownWrs);
      const offline = obs?.online === true ? undefined : offlineBlocker('DeviceOffline', `device ${d.name}`, obs);
      if (selfUpdating) {
        b = hold ?? desire.gate ?? gate ?? offline ?? desire.selfUpdate;
        ctx.plan.push(planStep(target, d.name, 'apply', desire.version, b, 'device'));
      } else {
        b = runStep(ctx, ctx.commands, d.name, agent, 'mailbox', obs, 'apply', desire, hold, gate, offline);
        ctx.plan.push(planStep(target, d.name, 'apply', desire.version, b, undefined));
      }
      restartSteps.push(planStep(target, d.name, 'restart', desire.version, desire.awaitInstall, deviceRestarts));
    } else if (deviceRestarts) {
      b = desire.pendingRestart;
      restartSteps.push(planStep(target, d.name, 'restart', desire.version, b, 'device'));
    } else {
      const offline = obs?.online === true ? undefined : offlineBlocker('DeviceOffline', `device ${d.name}`, obs);
      b = runStep(ctx, restartCommands, d.name, agent, 'mailbox', obs, 'restart', desire, hold, undefined, offline);
      restartSteps.push(planStep(target, d.name, 'restart', desire.version, b, undefined));
    }
    progress(ctx, d.name, agent, 'device', desire, comp, b);
  }
  appendAll(ctx.plan, restartSteps);
  appendAll(ctx.commands, restartCommands);
}

function deviceWrsGate(ctx: Ctx, d: Device, desire: Desire, unknown: Map<string, Blocker>): Blocker | undefined {
  const w = ctx.wrs.get(d.repositoryServer);
  if (w) return wrsGate(w, desire) ?? undefined;
  let b = unknown.get(d.repositoryServer);
  if (!b) {
    b = { category: 'stalled', reason: 'UnknownRepositoryServer', message: `WRS ${d.repositoryServer} is not declared in account ${ctx.name}` };
    unknown.set(d.repositoryServer, b);
  }
  return b;
}

// ------------------------------------------------------------------ 7. install media

/** Seeds 001/003: "N'oubliez pas de générer de nouvelles clés USB" once the account moves. */
function reconcileInstallMedia(ctx: Ctx): void {
  const version = ctx.prod?.version;
  if (version === undefined) return;
  const generatedFor = ctx.spec.installMedia?.generatedFor;
  if (generatedFor === undefined) {
    ctx.reminders.push(`regenerate install media (USB keys) for ${version}: none recorded in spec.installMedia.generatedFor`);
  } else if (!sameVersionString(generatedFor, version)) {
    ctx.reminders.push(`regenerate install media (USB keys) for ${version}: they were generated for ${generatedFor}`);
  }
}

// ------------------------------------------------------------------ 8. summarise

function summarise(ctx: Ctx): ReconcileResult {
  const { tally, plan, commands } = ctx;
  let stall: Blocker | undefined;
  let wait: Blocker | undefined;
  let waiting = 0;
  let verifying = false;
  let held = false;
  for (const s of plan) {
    const b = s.blockedBy;
    if (b === undefined) continue;
    if (b.category === 'stalled') {
      if (stall === undefined && b.reason !== 'CommandFailed') stall = b;
    } else if (b.reason !== 'InProgress' && b.reason !== 'WaitingForInstall') {
      waiting++;
      wait ??= b;
      if (b.reason === 'VerifyingPackage') verifying = true;
      else if (b === ctx.hold) held = true;
    }
  }
  // Production held by the test ring is what a person reads first among the waits.
  if (held) wait = ctx.hold;
  const production = held ? `; production waits: ${ctx.hold!.message}` : '';
  const summary = summaryOf(ctx);
  const more = (n: number): string => (n > 1 ? ` (and ${n - 1} more waiting)` : '');
  const inFlight = commands.length > 0 || tally.updating > 0;
  const [phase, reason, message] = ((): [Phase, string, string] => {
    if (tally.wrsFailed.length > 0) return ['Failed', 'RepositoryServerFailed', `${tally.wrsFailed.join('; ')}; ${summary}`];
    if (stall) return ['Blocked', stall.reason, `${stall.message}; ${summary}`];
    if (inFlight) return ['Progressing', 'RollingOut', `${summary}${failures(tally)}${production}`];
    if (wait) return ['Waiting', wait.reason, `${wait.message}${more(waiting)}; ${summary}${failures(tally)}`];
    if (tally.failedCount > 0) return ['Blocked', 'MemberFailed', `${summary}${failures(tally)}`];
    if (tally.ahead > 0) {
      const who = tally.ahead === 1 ? '1 member runs' : `${tally.ahead} members run`;
      return ['Blocked', 'MemberAhead', `${who} a newer version than desired, left alone; ${summary}`];
    }
    return ['Converged', 'UpToDate', summary];
  })();
  let requeueAfter: number | undefined;
  if (verifying) requeueAfter = VERIFY_REQUEUE_MS;
  if (inFlight) requeueAfter = Math.min(requeueAfter ?? Infinity, IN_FLIGHT_REQUEUE_MS);
  const result: ReconcileResult = { commands, status: statusOf(ctx, phase, reason, message, summary), plan };
  return requeueAfter === undefined ? result : { ...result, requeueAfter };
}

function failures(t: Tally): string {
  if (t.failedCount === 0) return '';
  const rest = t.failedCount - t.failed.length;
  return `; ${t.failedCount} failed: ${t.failed.join('; ')}${rest > 0 ? `; and ${rest} more` : ''}`;
}

/** `7/10 devices at 4.3.0, 2/2 WRS`; with a test ring on another version, `8/10 devices updated, 2/2 WRS`. */
function summaryOf(ctx: Ctx): string {
  const t = ctx.tally;
  const { prod, test } = ctx;
  const oneVersion = !(prod?.used && test?.used && prod !== test && prod.key !== test.key);
  const version = (prod?.used || !test?.used ? prod : test)?.version;
  const parts = [oneVersion && version !== undefined ? `${t.devicesUpdated}/${t.devices} devices at ${version}` : `${t.devicesUpdated}/${t.devices} devices updated`];
  if (t.wrs > 0) parts.push(`${t.wrsUpdated}/${t.wrs} WRS`);
  if (t.infra > 0) parts.push(`${t.infraUpdated}/${t.infra} infrastructure`);
  return parts.join(', ');
}

function statusOf(ctx: Ctx, phase: Phase, reason: string, message: string, summary: string): TargetStatus {
  const { previous, now } = ctx;
  return {
    target: ctx.target,
    phase,
    conditions: conditionsFor(phase, reason, message, previous?.conditions, now),
    observedRevision: ctx.revision,
    summary,
    members: ctx.members,
    ...(ctx.reminders.length > 0 ? { reminders: ctx.reminders } : {}),
    ...(ctx.promotion !== undefined ? { details: { promotion: ctx.promotion } } : {}),
    rolloutStartedAt: rolloutStartedAt(ctx),
  };
}

/** Kept while the set of desired versions is the previous one; a new set starts a new rollout now. */
function rolloutStartedAt(ctx: Ctx): string {
  const { previous } = ctx;
  const current = new Set<string>();
  for (const m of ctx.members) current.add(m.desired);
  if (previous?.rolloutStartedAt !== undefined) {
    const before = new Set<string>();
    for (const m of previous.members) before.add(m.desired);
    if (before.size === current.size && [...current].every((v) => before.has(v))) return previous.rolloutStartedAt;
  }
  return new Date(ctx.now).toISOString();
}

// ------------------------------------------------------------------ member progress (all roles)

/**
 * Where a member stands against its desired release. `restarts`: the member is restarted to
 * finalise (WRS, devices; not the infrastructure); `restartFromResults` (WRS): our succeeded
 * `apply` without a succeeded `restart` also means "restart due", even without `pendingRestart`.
 */
function stageOf(
  ctx: Ctx,
  name: string,
  obs: AgentObservation | undefined,
  comp: ComponentReport | undefined,
  desire: Desire,
  restartFromResults: boolean,
  restarts: boolean,
): Stage {
  const v = comp?.version;
  if (v === undefined) return 'install';
  const c = compare(v, desire);
  if (c === 0) {
    if (!restarts) return 'updated';
    if (comp!.pendingRestart === true) return 'restart';
    if (restartFromResults && obs !== undefined && obs.results.length > 0) {
      const applied = attempt(obs, ctx.target, name, 'apply', desire.version, ctx.retryFailed).result;
      if (applied?.status === 'succeeded' && attempt(obs, ctx.target, name, 'restart', desire.version, ctx.retryFailed).result?.status !== 'succeeded') return 'restart';
    }
    return 'updated';
  }
  return c > 0 && !isRollback(ctx, name, desire) ? 'ahead' : 'install';
}

/**
 * The member's desired version went down on purpose (a rollback: seeds 001, 003 allow it):
 * its previous desired version was newer, or the previous pass was already downgrading it
 * (same desired, observed newer, and not left alone as Ahead). Without a previous status a
 * newer version is never downgraded.
 */
function isRollback(ctx: Ctx, name: string, desire: Desire): boolean {
  const prev = previousMember(ctx, name);
  if (prev === undefined || !isValidVersion(prev.desired)) return false;
  const c = compareVersions(prev.desired, desire.version);
  if (c !== 0) return c > 0;
  return prev.state !== 'Ahead' && prev.observed !== undefined && isValidVersion(prev.observed) && compareVersions(prev.observed, prev.desired) > 0;
}

function previousMember(ctx: Ctx, name: string): MemberStatus | undefined {
  if (!ctx.previous) return undefined;
  if (!ctx.previousMembers) {
    ctx.previousMembers = new Map();
    for (const m of ctx.previous.members) ctx.previousMembers.set(m.name, m);
  }
  return ctx.previousMembers.get(name);
}

/** compareVersions(observed, desired), memoised per observed string; NaN when the observed version is invalid. */
function compare(observed: string, desire: Desire): number {
  if (observed === desire.version) return 0;
  let c = desire.compared.get(observed);
  if (c === undefined) {
    c = isValidVersion(observed) ? compareVersions(observed, desire.version) : Number.NaN;
    desire.compared.set(observed, c);
  }
  return c;
}

function sameVersionString(a: string, b: string): boolean {
  return a === b || (isValidVersion(a) && isValidVersion(b) && versionsEqual(a, b));
}

/**
 * One controller-run step: returns what blocks it, or sends its command (appended to `out`)
 * and returns undefined. Order: our earlier command failed / is running (judged on the current
 * attempt: `retryFailed` replaces a failure before it by a new id), production is held by the
 * test ring (`hold`), the package is not verified, the WRS does not serve it (`before`), the
 * member is offline.
 */
function runStep(
  ctx: Ctx,
  out: Command[],
  member: string,
  agent: string,
  delivery: Delivery,
  obs: AgentObservation | undefined,
  action: 'apply' | 'restart',
  desire: Desire,
  hold: Blocker | undefined,
  before: Blocker | undefined,
  offline: Blocker | undefined,
): Blocker | undefined {
  let id: string | undefined;
  if (obs !== undefined && obs.results.length > 0) {
    const a = attempt(obs, ctx.target, member, action, desire.version, ctx.retryFailed);
    id = a.id;
    const r = a.result;
    if (r?.status === 'failed') return failedBlocker(action, desire, r);
    if (r?.status === 'running') return action === 'apply' ? desire.applyRunning : desire.restartRunning;
  }
  const b = hold ?? desire.gate ?? before ?? offline;
  if (b) return b;
  // An agent with no results has no failure to retry: the base id.
  id ??= commandId(ctx.target, member, action, desire.version);
  out.push(
    action === 'apply'
      ? { id, target: ctx.target, member, agent, action, delivery, product: desire.product, version: desire.version, artifact: desire.artifact }
      : { id, target: ctx.target, member, agent, action, delivery, product: desire.product, version: desire.version },
  );
  return undefined;
}

function failedBlocker(action: Action, desire: Desire, r: CommandResult): Blocker {
  return { category: 'stalled', reason: 'CommandFailed', message: `${action} ${desire.version} failed${r.message ? `: ${r.message}` : ''}` };
}

function offlineBlocker(reason: string, who: string, obs: AgentObservation | undefined): Blocker {
  const message = obs?.lastSeen !== undefined ? `${who} offline since ${obs.lastSeen}` : `${who} has never reported`;
  return { category: 'waiting', reason, message };
}

/** A member with no step left (Updated) or left alone (Ahead). */
function settle(ctx: Ctx, name: string, agent: string, role: Role, desire: Desire, comp: ComponentReport | undefined, stage: 'updated' | 'ahead'): void {
  const t = ctx.tally;
  if (stage === 'updated') {
    if (role === 'device') t.devicesUpdated++;
    else if (role === 'wrs') t.wrsUpdated++;
    else t.infraUpdated++;
    ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, 'Updated', undefined));
  } else {
    t.ahead++;
    ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, 'Ahead', aheadMessage(comp, desire)));
  }
}

function aheadMessage(comp: ComponentReport | undefined, desire: Desire): string {
  return `runs ${comp?.version ?? '?'}, newer than desired ${desire.version}; not downgraded (the desired version did not go down)`;
}

/** A member with steps left; `b` blocks its next step (undefined: its command is sent now). */
function progress(ctx: Ctx, name: string, agent: string, role: Role, desire: Desire, comp: ComponentReport | undefined, b: Blocker | undefined): void {
  const state = stateOf(b);
  const t = ctx.tally;
  if (state === 'Updating') t.updating++;
  else if (state === 'Failed') {
    const line = `${role === 'wrs' ? `WRS ${name}` : role === 'device' ? `device ${name}` : INFRASTRUCTURE}: ${b!.message}`;
    if (role === 'wrs') t.wrsFailed.push(line);
    else if (t.failed.push(line) > 3) t.failed.pop();
    if (role !== 'wrs') t.failedCount++;
  }
  ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, state, b?.message));
}

function stateOf(b: Blocker | undefined): MemberState {
  if (b === undefined) return 'Updating';
  switch (b.reason) {
    case 'CommandFailed':
      return 'Failed';
    case 'InProgress':
      return 'Updating';
    case 'PendingRestart':
      return 'PendingRestart';
    case 'AutoUpdate':
      return 'Pending';
    default:
      return 'Waiting';
  }
}

// ------------------------------------------------------------------ small constructors

function memberStatus(name: string, agent: string, role: Role, desired: string, observed: string | undefined, state: MemberState, message: string | undefined): MemberStatus {
  if (observed === undefined) {
    return message === undefined ? { name, agent, role, desired, state } : { name, agent, role, desired, state, message };
  }
  return message === undefined ? { name, agent, role, desired, observed, state } : { name, agent, role, desired, observed, state, message };
}

function planStep(target: TargetId, member: string, action: Action, version: string | undefined, blockedBy: Blocker | undefined, performedBy: 'device' | undefined): PlanStep {
  const runnable = blockedBy === undefined;
  if (version === undefined) return runnable ? { target, member, action, runnable } : { target, member, action, runnable, blockedBy: blockedBy! };
  if (runnable) return { target, member, action, version, runnable };
  return performedBy === undefined ? { target, member, action, version, runnable, blockedBy } : { target, member, action, version, runnable, blockedBy, performedBy };
}

function findComponent(obs: AgentObservation | undefined, product: string): ComponentReport | undefined {
  if (obs === undefined) return undefined;
  for (const c of obs.components) if (c.product === product) return c;
  return undefined;
}

function appendAll<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}
