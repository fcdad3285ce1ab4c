/**
 * What the Domain reconciler knows of one server of a domain (the master or a slave) in one
 * pass: its declaration, its last report, and the facts the ordering rules of seed 000 ask
 * about (runs the release? holds the verified package? newer than desired? a command result?).
 * Pure: built from (desired, observed, previous status) only.
 */
import type { Delivery, TargetStatus } from '../contract.ts';
import { attempt } from '../command-id.ts';
import { agentIdOf, type Domain } from '../model/desired.ts';
import type { TargetId } from '../model/identity.ts';
import { isNewer, isOlder, isValidVersion, versionsEqual } from '../model/version.ts';
import { componentOf, type AgentObservation, type CommandResult } from '../observed.ts';

export type Role = 'master' | 'slave';

export interface Server {
  readonly name: string;
  readonly agent: string;
  readonly role: Role;
  /** Slaves in mailbox mode are never dialled: they get their commands when they call in. */
  readonly delivery: Delivery;
  /** The master is updated by hand (`update: Manual`); always false for slaves. */
  readonly manual: boolean;
  readonly online: boolean;
  /** `slave wd-lille offline since <lastSeen>` / `... has never reported`; undefined when online. */
  readonly offlineMessage: string | undefined;
  /** The version the server last reported running, as reported (may be invalid: it is then simply not the desired one). */
  readonly observedVersion: string | undefined;
  /** Reports an install under way (`state: installing`): a version not yet reported is no contradiction. */
  readonly installing: boolean;
  /** Reports the desired version (whatever its spelling: `6.01.4` equals `6.1.4`). */
  readonly runsDesired: boolean;
  /** Reports a newer version than desired and is not being rolled back: left alone, reported. */
  readonly ahead: boolean;
  /** Holds the desired version staged, verified. */
  readonly stagedOk: boolean;
  /** Holds the desired version staged but the agent's verification failed: the reason. */
  readonly stagedBad: string | undefined;
  /** Reports any staged package of the desired version (verified or not). */
  readonly stagedAny: boolean;
  /** Ids of the current attempts (`attempt`: the base id, or a retry id once `retryFailed` retries a failed step). */
  readonly stageId: string;
  readonly applyId: string;
  /** Results of the current attempts: a retried step has none until the agent reports the retry. */
  readonly stageResult: CommandResult | undefined;
  readonly applyResult: CommandResult | undefined;
  /** The stage is being retried (`retryFailed` after its failure) and the retry has no final result yet: a bad staged package is what is retried. */
  readonly stageRetrying: boolean;
  /** Some stage or apply of this version has a result, in any attempt: the rollout touched this server. */
  readonly tried: boolean;
  /**
   * The package is on the server: staged and verified, or an apply of it was already run, in
   * any attempt (agents may drop the staged report once they install). Propagation is done for it.
   */
  readonly propagated: boolean;
}

/** Still needs the release: neither runs it nor is left alone because it runs a newer one. */
export function needsUpdate(s: Server): boolean {
  return !s.runsDesired && !s.ahead;
}

/** `a` is a valid version equal to `b`. Agents report free text; an invalid version is never "equal". */
export function sameVersion(a: unknown, b: string): boolean {
  return typeof a === 'string' && isValidVersion(a) && versionsEqual(a, b);
}

/** `a` is a valid version newer than `b`. */
export function newerVersion(a: unknown, b: string): boolean {
  return typeof a === 'string' && isValidVersion(a) && isNewer(a, b);
}

/**
 * Seed 000 rule 7: a server newer than desired is not downgraded, unless Git explicitly moved
 * the desired version down. The reconciler has no memory but the previous status, so:
 *  - the member's previous `desired` is newer than the current one: Git moved it down (rollback);
 *  - or the previous status already had this desired version, the member was already newer
 *    then and was not reported `Ahead`: a rollback decided on an earlier pass is still under
 *    way (without this, the second pass of a rollback would forget it and call the rest Ahead).
 */
export function rollbackUnderWay(previous: TargetStatus | undefined, name: string, version: string): boolean {
  const before = previous?.members.find((m) => m.name === name);
  if (before === undefined || !isValidVersion(before.desired)) return false;
  if (isOlder(version, before.desired)) return true;
  return versionsEqual(version, before.desired) && before.state !== 'Ahead' && newerVersion(before.observed, version);
}

export function offlineMessage(role: Role, name: string, obs: AgentObservation | undefined): string | undefined {
  if (obs?.online === true) return undefined;
  return obs?.lastSeen !== undefined ? `${role} ${name} offline since ${obs.lastSeen}` : `${role} ${name} has never reported`;
}

export interface ServerInput {
  readonly target: TargetId;
  readonly product: string;
  readonly version: string;
  readonly agents: ReadonlyMap<string, AgentObservation>;
  readonly previous: TargetStatus | undefined;
  /** `spec.rollout.retryFailed`: steps that failed before it are tried again under a new id. */
  readonly retryFailed?: string;
}

function server(
  input: ServerInput,
  member: { readonly name: string; readonly agent?: string },
  role: Role,
  delivery: Delivery,
  manual: boolean,
): Server {
  const { target, product, version } = input;
  const agent = agentIdOf(member);
  const obs = input.agents.get(agent);
  const component = componentOf(obs, product);
  const observedVersion = component?.version;
  const runsDesired = sameVersion(observedVersion, version);
  const ahead = newerVersion(observedVersion, version) && !rollbackUnderWay(input.previous, member.name, version);
  const staged = component?.staged !== undefined && sameVersion(component.staged.version, version) ? component.staged : undefined;
  const stagedOk = staged?.verified === true;
  const stagedBad = staged !== undefined && !staged.verified ? (staged.reason ?? 'verification failed') : undefined;
  const stage = attempt(obs, target, member.name, 'stage', version, input.retryFailed);
  const apply = attempt(obs, target, member.name, 'apply', version, input.retryFailed);
  // A retry exists only for a failed base result, so "the base id has a result" is "some attempt has".
  const applied = apply.result !== undefined || apply.retryOf !== undefined;
  return {
    name: member.name,
    agent,
    role,
    delivery,
    manual,
    online: obs?.online === true,
    offlineMessage: offlineMessage(role, member.name, obs),
    observedVersion,
    installing: component?.state === 'installing',
    runsDesired,
    ahead,
    stagedOk,
    stagedBad,
    stagedAny: staged !== undefined,
    stageId: stage.id,
    applyId: apply.id,
    stageResult: stage.result,
    applyResult: apply.result,
    stageRetrying: stage.retryOf !== undefined && (stage.result === undefined || stage.result.status === 'running'),
    tried: applied || stage.result !== undefined || stage.retryOf !== undefined,
    propagated: runsDesired || stagedOk || applied,
  };
}

/** The master and the slaves, in declaration order. */
export function serversOf(domain: Domain, input: ServerInput): { master: Server; slaves: Server[] } {
  const { master, slaves } = domain.spec;
  return {
    // The schema defaults `update` to Manual; a document built without the loader may lack it.
    master: server(input, master, 'master', 'push', (master.update ?? 'Manual') === 'Manual'),
    slaves: slaves.map((s) => server(input, s, 'slave', s.sync === 'mailbox' ? 'mailbox' : 'push', false)),
  };
}
