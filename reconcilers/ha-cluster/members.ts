/**
 * What the HACluster reconciler knows of one component of an IGEL UMS HA network (seed 004) in
 * one pass: a UMS server, a load balancer or a console — its declaration, its last report, and
 * the facts the ordering rules ask about. Pure: built from (desired, observed) only.
 */
import { attempt } from '../command-id.ts';
import type { Delivery } from '../contract.ts';
import { agentIdOf, type HAClusterSpec, type Member } from '../model/desired.ts';
import type { TargetId } from '../model/identity.ts';
import { reportsVersion } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import { componentOf, type AgentObservation } from '../observed.ts';

export type Role = 'server' | 'load-balancer' | 'console';

export const ROLE_LABEL: Readonly<Record<Role, string>> = {
  server: 'server',
  'load-balancer': 'load balancer',
  console: 'console',
};

export interface UmsMember {
  readonly name: string;
  readonly agent: string;
  readonly role: Role;
  /** A member with an `endpoint` may be pushed to; others get their commands when they call in. */
  readonly delivery: Delivery;
  readonly obs: AgentObservation | undefined;
  readonly online: boolean;
  /** `server ums-1 offline since <lastSeen>` / `... has never reported`; undefined when online. */
  readonly offlineMessage: string | undefined;
  /** Reports the product at all (a component for it). */
  readonly reported: boolean;
  readonly observedVersion: string | undefined;
  /** Reports the desired version (any spelling: `12.8.110` equals `12.08.110`). */
  readonly runsDesired: boolean;
  readonly state: ComponentReport['state'];
  /** `update` while the server runs on a local copy of the database (seed 004). Absent: unknown, never `normal`. */
  readonly mode: 'normal' | 'update' | undefined;
  /**
   * When it was updated to the desired version, epoch ms: its `installedAt` when it runs the desired
   * version, else the time our apply of it succeeded. Undefined: unknown (seed 004, "updated last").
   */
  readonly updatedAt: number | undefined;
  /** Where `updatedAt` comes from, for messages. */
  readonly updatedAtFrom: 'installedAt' | 'apply result' | undefined;
  /** Holds the desired version staged and verified (the installer is distributed to it). */
  readonly stagedOk: boolean;
  /** Holds the desired version staged but its verification failed: the agent's reason. */
  readonly stagedBad: string | undefined;
  /** Ids of the current attempts (`attempt`: the base id, or a retry id once `retryFailed` retries a failed step). */
  readonly stageId: string;
  readonly applyId: string;
  /** Results of the current attempts: a retried step has none until the agent reports the retry. */
  readonly stageResult: CommandResult | undefined;
  readonly applyResult: CommandResult | undefined;
  /** The stage is being retried and the retry has no final result yet: a bad staged package is what is retried. */
  readonly stageRetrying: boolean;
  /** Some apply of this version has a result, in any attempt (a retry exists only after a failed base apply). */
  readonly applyTried: boolean;
  /** The installer is on the machine: staged and verified, already installed, or our apply of it ran (any attempt). */
  readonly hasPackage: boolean;
}

export interface MemberInput {
  readonly target: TargetId;
  readonly product: string;
  readonly version: string;
  readonly agents: ReadonlyMap<string, AgentObservation>;
  /** `spec.rollout.retryFailed`: steps that failed before it are tried again under a new id. */
  readonly retryFailed?: string;
}

export function umsMember(input: MemberInput, member: Member, role: Role): UmsMember {
  const { target, product, version } = input;
  const agent = agentIdOf(member);
  const obs = input.agents.get(agent);
  const component = componentOf(obs, product);
  const observedVersion = component?.version;
  const runsDesired = reportsVersion(observedVersion, version);
  const staged =
    component?.staged !== undefined && reportsVersion(component.staged.version, version) ? component.staged : undefined;
  const stagedOk = staged?.verified === true;
  const stage = attempt(obs, target, member.name, 'stage', version, input.retryFailed);
  const apply = attempt(obs, target, member.name, 'apply', version, input.retryFailed);
  const applyTried = apply.result !== undefined || apply.retryOf !== undefined;
  const online = obs?.online === true;
  const label = ROLE_LABEL[role];
  const installedAt =
    runsDesired && component?.installedAt !== undefined ? Date.parse(component.installedAt) : Number.NaN;
  const appliedAt = runsDesired && apply.result?.status === 'succeeded' ? Date.parse(apply.result.at) : Number.NaN;
  return {
    name: member.name,
    agent,
    role,
    delivery: member.endpoint !== undefined ? 'push' : 'mailbox',
    obs,
    online,
    offlineMessage: online
      ? undefined
      : obs?.lastSeen !== undefined
        ? `${label} ${member.name} offline since ${obs.lastSeen}`
        : `${label} ${member.name} has never reported`,
    reported: component !== undefined,
    observedVersion,
    runsDesired,
    state: component?.state,
    mode: component?.mode,
    updatedAt: !Number.isNaN(installedAt) ? installedAt : !Number.isNaN(appliedAt) ? appliedAt : undefined,
    updatedAtFrom: !Number.isNaN(installedAt) ? 'installedAt' : !Number.isNaN(appliedAt) ? 'apply result' : undefined,
    stagedOk,
    stagedBad: staged !== undefined && !staged.verified ? (staged.reason ?? 'verification failed') : undefined,
    stageId: stage.id,
    applyId: apply.id,
    stageResult: stage.result,
    applyResult: apply.result,
    stageRetrying: stage.retryOf !== undefined && (stage.result === undefined || stage.result.status === 'running'),
    applyTried,
    hasPackage: runsDesired || stagedOk || applyTried,
  };
}

/** Servers in update order: the names of `updateOrder` (unknown names ignored), then the rest in declaration order. */
export function inUpdateOrder(spec: Pick<HAClusterSpec, 'servers' | 'updateOrder'>): Member[] {
  const byName = new Map(spec.servers.map((s) => [s.name, s]));
  const ordered: Member[] = [];
  for (const name of spec.updateOrder ?? []) {
    const s = byName.get(name);
    if (s !== undefined && !ordered.includes(s)) ordered.push(s);
  }
  for (const s of spec.servers) if (!ordered.includes(s)) ordered.push(s);
  return ordered;
}

// ------------------------------------------------------------------ server facts (seed 004)

/** Finished its install: reports the desired version and runs (in update or normal mode). */
export function installed(s: UmsMember): boolean {
  return s.runsDesired && s.state === 'running';
}

/**
 * Crashed during the update: our apply failed, or it is stopped/failed after the update touched
 * it (it is in update mode, or our apply of this version has a result) — and it is not simply
 * a finished server (desired version, normal mode) that was stopped later. Judged on the current
 * attempt: once `retryFailed` retries a failed apply, that failure no longer counts (a person
 * repaired the server and asked for the retry); a server still stopped then waits to run.
 */
export function crashed(s: UmsMember): boolean {
  if (s.applyResult?.status === 'failed') return true;
  if (s.state !== 'failed' && s.state !== 'stopped') return false;
  if (s.runsDesired && s.mode === 'normal') return false;
  return s.mode === 'update' || s.applyResult !== undefined;
}

/**
 * Being updated right now, by us or by anyone: not finished, not crashed, and in update mode,
 * installing, or our apply of it is running (or succeeded while it does not report the version yet).
 * While a server is being updated, no other server may be. A server whose mode or state is not
 * reported is not "not being updated": `preconditions.ts` (one-at-a-time) treats it as unknown.
 */
export function beingUpdated(s: UmsMember): boolean {
  if (installed(s) || crashed(s)) return false;
  const applying = s.applyResult?.status === 'running' || s.applyResult?.status === 'succeeded';
  return s.mode === 'update' || s.state === 'installing' || applying;
}

/** Runs the version in normal mode, running: done (seed 004: "aktualisiert, laufend, im normalen Modus"). */
export function settledServer(s: UmsMember): boolean {
  return installed(s) && s.mode === 'normal';
}

/** A load balancer or console that runs the desired version (a load balancer must also be running). */
export function updatedComponent(m: UmsMember): boolean {
  return m.runsDesired && (m.role === 'console' || m.state === 'running');
}
