/**
 * What the Domain reconciler knows of one server of a domain (the master or a slave) in one
 * pass: its declaration, its last report, and the facts the rules of seed 000 ask about.
 * Pure: built from (desired, observed, previous status) only. Facts an agent did not report
 * are kept as "unknown" (`versionKnown`, `stagedUnverified`, `state`), never as yes.
 */
import type { CommandResult } from '../../protocol/command-result.ts';
import type { Delivery, TargetStatus } from '../contract.ts';
import { attempt } from '../command-id.ts';
import { agentIdOf, type Domain } from '../model/desired.ts';
import type { TargetId } from '../model/identity.ts';
import { isOlder, isValidVersion, reportsNewerVersion, reportsVersion } from '../../protocol/version.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import { componentOf, type AgentObservation } from '../observed.ts';
import { RollbackContext } from './rollback.ts';


export type Role = 'master' | 'slave';

/** Seed 000: "A partir de la version 6.1 … WSC permet de propager la mise à jour". */
export const PROPAGATION_SINCE = '6.1';

/** A valid version below 6.1, which WSC cannot propagate to (or propagate at all). */
export function belowPropagation(version: string): boolean {
  return isOlder(version, PROPAGATION_SINCE);
}

export interface Server {
  readonly name: string;
  readonly agent: string;
  readonly role: Role;
  /** Slaves in mailbox mode are never dialled: they get their commands when they call in. */
  readonly delivery: Delivery;
  /** The master is updated by hand (`update: Manual`); always false for slaves. */
  readonly manual: boolean;
  /** Reported within the heartbeat timeout. Never reported, or `online` absent: not online. */
  readonly online: boolean;
  /** `slave wd-lille offline since <lastSeen>` / `... has never reported`; undefined when online. */
  readonly offlineMessage: string | undefined;
  /** The version the server last reported running, as reported (free text). */
  readonly observedVersion: string | undefined;
  /** `observedVersion` is present and a version: nothing is decided from an unknown version. */
  readonly versionKnown: boolean;
  /** The process state it reports (`state`); undefined when not reported. */
  readonly state: ComponentReport['state'];
  /** Reports the desired version (whatever its spelling: `6.01.4` equals `6.1.4`). */
  readonly runsDesired: boolean;
  /** Reports a newer version than desired and Git did not roll it back: left alone, `MemberAhead`. */
  readonly ahead: boolean;
  /** Reports a newer version than desired and Git moved the version down: it is downgraded. */
  readonly rollingBack: boolean;
  /**
   * Reports a valid version below 6.1 while the release is 6.1 or later: it cannot be propagated
   * to, an operator updates it by hand. (A release below 6.1 is refused as a whole instead.)
   */
  readonly belowPropagation: boolean;
  /** Holds the desired version staged, `verified: true`. */
  readonly stagedOk: boolean;
  /** Holds the desired version staged, `verified: false`: the agent's reason. */
  readonly stagedBad: string | undefined;
  /** Holds the desired version staged without saying whether it verified: unknown, held. */
  readonly stagedUnverified: boolean;
  /** Ids of the current attempts (`attempt`: the base id, or a retry id once `retryFailed` retries a failed step). */
  readonly stageId: string;
  readonly applyId: string;
  /** Results of the current attempts: a retried step has none until the agent reports the retry. */
  readonly stageResult: CommandResult | undefined;
  readonly applyResult: CommandResult | undefined;
  /** The stage is being retried (`retryFailed` after its failure) and the retry has no final result yet. */
  readonly stageRetrying: boolean;
  /**
   * The verified package is on the server: it runs the release, holds it staged and verified,
   * or an apply of it already ran (agents may drop the staged report once they install) and it
   * reports no staged package of it that failed or did not say. Propagation is done for it.
   */
  readonly propagated: boolean;
}

/** Still needs the release: neither runs it nor is left alone because it runs a newer one. Unknown needs it. */
export function needsUpdate(s: Server): boolean {
  return !s.runsDesired && !s.ahead;
}

export function offlineMessage(role: Role, name: string, obs: AgentObservation | undefined): string | undefined {
  if (obs?.online === true) return undefined;
  if (obs?.lastSeen !== undefined) return `${role} ${name} offline since ${obs.lastSeen}`;
  return `${role} ${name} has never reported`;
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
  rollback: RollbackContext,
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
  const versionKnown = typeof observedVersion === 'string' && isValidVersion(observedVersion);
  const runsDesired = reportsVersion(observedVersion, version);
  const newer = reportsNewerVersion(observedVersion, version);
  const rollingBack = newer && rollback.rolledBack(member.name, observedVersion);
  const reported = component?.staged;
  const staged = reported !== undefined && reportsVersion(reported.version, version) ? reported : undefined;
  const verified: unknown = staged?.verified;
  const stagedOk = verified === true;
  const stagedBad = verified === false ? (staged?.reason ?? 'verification failed') : undefined;
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
    versionKnown,
    state: component?.state,
    runsDesired,
    ahead: newer && !rollingBack,
    rollingBack,
    belowPropagation: versionKnown && belowPropagation(observedVersion) && !belowPropagation(version),
    stagedOk,
    stagedBad,
    stagedUnverified: staged !== undefined && typeof verified !== 'boolean',
    stageId: stage.id,
    applyId: apply.id,
    stageResult: stage.result,
    applyResult: apply.result,
    stageRetrying: stage.retryOf !== undefined && (stage.result === undefined || stage.result.status === 'running'),
    propagated: runsDesired || stagedOk || (applied && staged === undefined),
  };
}

/** The master and the slaves, in declaration order, and the rollback record to write in status. */
export function serversOf(
  domain: Domain,
  input: ServerInput,
): { master: Server; slaves: Server[]; rollback: RollbackContext } {
  const { master, slaves } = domain.spec;
  const rollback = new RollbackContext(input.previous, input.version);
  return {
    // The schema defaults `update` to Manual; a document built without the loader may lack it.
    master: server(input, rollback, master, 'master', 'push', (master.update ?? 'Manual') === 'Manual'),
    slaves: slaves.map((s) => server(input, rollback, s, 'slave', s.sync === 'mailbox' ? 'mailbox' : 'push', false)),
    rollback,
  };
}
