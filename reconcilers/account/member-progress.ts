/**
 * Where one member stands and what its next step is, for every role (infrastructure, WRS,
 * device): reports the desired version with no restart pending → Updated; reports a NEWER
 * version and Git did not roll it back (`rolled-back-by-git`) → Ahead, never downgraded;
 * reports a version that does not read → held (`observed-version-readable`); otherwise an
 * `apply`, then a `restart` (WRS, and devices with `Immediate`).
 *
 * A command whose result (by its deterministic id) is `failed` makes the member Failed and is
 * not re-sent — until a commit sets or bumps `spec.rollout.retryFailed` past the failure (a
 * new id, `attempt` in command-id.ts); `running` → Updating, not re-sent.
 */
import { attempt, commandId } from '../command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { Blocker, Delivery, MemberState, MemberStatus } from '../contract.ts';
import type { Pass } from '../engine/index.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation } from '../observed.ts';
import { waitingMember } from '../governance/held-shapes.ts';
import {
  blocker,
  INFRASTRUCTURE,
  listStep,
  listWithheldStep,
  sendCommand,
  type Ctx,
  type Desire,
  type Role,
  type Stage,
} from './context.ts';
import { checkVersionReadable, isRollback } from './preconditions.ts';

/**
 * `restarts`: the member is restarted to finalise (WRS, devices; not the infrastructure);
 * `restartFromResults` (WRS): our succeeded `apply` without a succeeded `restart` also means
 * "restart due", even without `pendingRestart`. Devices signal a pending restart with
 * `pendingRestart` only: checking results costs two hashes per device, which a converged
 * fleet of a million devices cannot afford on every pass.
 */
export function stageOf(
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
      if (
        applied?.status === 'succeeded' &&
        attempt(obs, ctx.target, name, 'restart', desire.version, ctx.retryFailed).result?.status !== 'succeeded'
      )
        return 'restart';
    }
    return 'updated';
  }
  if (Number.isNaN(c)) return 'unreadable';
  return c > 0 && !isRollback(previousMember(ctx, name), desire.version) ? 'ahead' : 'install';
}

function previousMember(ctx: Ctx, name: string): MemberStatus | undefined {
  if (!ctx.previous) return undefined;
  if (!ctx.previousMembers) {
    ctx.previousMembers = new Map();
    for (const m of ctx.previous.members) ctx.previousMembers.set(m.name, m);
  }
  return ctx.previousMembers.get(name);
}

/** compareVersions(observed, desired), memoised per observed string; NaN when the observed version does not read. */
export function compare(observed: string, desire: Desire): number {
  if (observed === desire.version) return 0;
  let c = desire.compared.get(observed);
  if (c === undefined) {
    c = isValidVersion(observed) ? compareVersions(observed, desire.version) : Number.NaN;
    desire.compared.set(observed, c);
  }
  return c;
}

/** The blocker of a member whose version does not read (`observed-version-readable`). */
export function unreadableBlocker(name: string, comp: ComponentReport | undefined): Blocker {
  const a = checkVersionReadable(name, comp?.version ?? '');
  return blocker('ObservationMissing', a.status === 'satisfied' ? '' : a.message);
}

/**
 * One controller-run step on `pass`: its command is sent, or the step is listed blocked.
 * Returns what blocks it (undefined: sent). Order: our earlier command failed / is running
 * (judged on the current attempt), production held by the test ring (`hold`), the package not
 * verified, an ordering rule (`before`: the WRS), the member offline.
 */
export function runStep(
  ctx: Ctx,
  pass: Pass,
  member: string,
  agent: string,
  delivery: Delivery,
  obs: AgentObservation | undefined,
  action: 'apply' | 'restart',
  desire: Desire,
  hold: Blocker | undefined,
  before: Blocker | undefined,
  offline: Blocker | undefined,
  withheldBy?: Blocker,
): Blocker | undefined {
  let id: string | undefined;
  let b: Blocker | undefined;
  if (obs !== undefined && obs.results.length > 0) {
    const a = attempt(obs, ctx.target, member, action, desire.version, ctx.retryFailed);
    id = a.id;
    const r = a.result;
    if (r?.status === 'failed') b = failedBlocker(action, desire, r);
    else if (r?.status === 'running') b = action === 'apply' ? desire.applyRunning : desire.restartRunning;
  }
  b ??= hold ?? desire.gate ?? before ?? offline ?? pass.halt;
  if (b !== undefined) {
    listStep(pass, member, action, desire.version, b);
    return b;
  }
  // A later wave's apply under the wave hold: listed held, no command (nor its id) built.
  if (withheldBy !== undefined && action === 'apply') {
    listWithheldStep(pass, member, action, desire.version, withheldBy);
    return withheldBy;
  }
  // An agent with no results has no failure to retry: the base id.
  id ??= commandId(ctx.target, member, action, desire.version);
  sendCommand(
    pass,
    action === 'apply'
      ? {
          id,
          target: ctx.target,
          member,
          agent,
          action,
          delivery,
          product: desire.product,
          version: desire.version,
          artifact: desire.artifact,
        }
      : { id, target: ctx.target, member, agent, action, delivery, product: desire.product, version: desire.version },
  );
  return undefined;
}

function failedBlocker(action: Action, desire: Desire, r: CommandResult): Blocker {
  return blocker('CommandFailed', `${action} ${desire.version} failed${r.message ? `: ${r.message}` : ''}`);
}

/** A member with no step left (Updated) or left alone (Ahead). */
export function settle(
  ctx: Ctx,
  name: string,
  agent: string,
  role: Role,
  desire: Desire,
  comp: ComponentReport | undefined,
  stage: 'updated' | 'ahead',
): void {
  const t = ctx.tally;
  if (stage === 'updated') {
    if (role === 'device') t.devicesUpdated++;
    else if (role === 'wrs') t.wrsUpdated++;
    else t.infraUpdated++;
    ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, 'Updated', undefined));
  } else {
    t.ahead++;
    ctx.members.push(
      memberStatus(name, agent, role, desire.version, comp?.version, 'Ahead', aheadMessage(comp, desire)),
    );
  }
}

export function aheadMessage(comp: ComponentReport | undefined, desire: Desire): string {
  const runs = `runs ${comp?.version ?? '?'}, newer than desired ${desire.version}`;
  return `${runs}; not downgraded (Git did not roll it back: no earlier status desired a newer version for it)`;
}

/** A member with steps left; `b` blocks its next step (undefined: its command is sent now). */
export function progress(
  ctx: Ctx,
  name: string,
  agent: string,
  role: Role,
  desire: Desire,
  comp: ComponentReport | undefined,
  b: Blocker | undefined,
): void {
  const state = stateOf(b);
  const t = ctx.tally;
  if (state === 'Updating') t.updating++;
  else if (state === 'Failed') {
    const who = role === 'wrs' ? `WRS ${name}` : role === 'device' ? `device ${name}` : INFRASTRUCTURE;
    const line = `${who}: ${b!.message}`;
    if (role === 'wrs') t.wrsFailed.push(line);
    else if (t.failed.push(line) > 3) t.failed.pop();
    if (role !== 'wrs') t.failedCount++;
  }
  ctx.members.push(memberStatus(name, agent, role, desire.version, comp?.version, state, b?.message));
}

/**
 * A member whose apply was withheld for a later wave: counted as updating (its command would
 * have been sent), in the shape governance gives a member it holds (held-shapes.ts).
 */
export function withheldMember(
  ctx: Ctx,
  name: string,
  agent: string,
  role: Role,
  desire: Desire,
  comp: ComponentReport | undefined,
  b: Blocker,
): void {
  ctx.tally.updating++;
  ctx.members.push(waitingMember(name, agent, role, desire.version, comp?.version, b.message));
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

export function memberStatus(
  name: string,
  agent: string,
  role: Role,
  desired: string,
  observed: string | undefined,
  state: MemberState,
  message: string | undefined,
): MemberStatus {
  if (observed === undefined) {
    return message === undefined
      ? { name, agent, role, desired, state }
      : { name, agent, role, desired, state, message };
  }
  return message === undefined
    ? { name, agent, role, desired, observed, state }
    : { name, agent, role, desired, observed, state, message };
}

export function findComponent(obs: AgentObservation | undefined, product: string): ComponentReport | undefined {
  if (obs === undefined) return undefined;
  for (const c of obs.components) if (c.product === product) return c;
  return undefined;
}
