/**
 * Fixtures shared by the Domain tests (seed 000): a domain of a master and three slaves,
 * agents described compactly, and helpers to read a result.
 */
import { commandId } from '../../reconcilers/command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { ConditionType, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import type { MasterUpdate, SyncMode } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, observed, release, type AgentSpec } from '../helpers/observed.ts';

export const PRODUCT = 'watchdoc';
export const RELEASES = ['6.0.5', '6.1.0', '6.1.3', '6.1.4', '6.1.5', '6.1.6'].map((v) => release(`watchdoc-${v}`, PRODUCT, v));
export const TARGET = 'domain/print-paris' as const;
export const MASTER = 'wd-master-1';
export const SLAVES: readonly (readonly [string, SyncMode])[] = [
  ['wd-lille', 'mailbox'],
  ['wd-nantes', 'mailbox'],
  ['wd-paris-s1', 'bidirectional'],
];
export const LAST_SEEN = '2026-11-21T18:30:00.000Z';

export function domain(opts: { version?: string; update?: MasterUpdate; slaves?: readonly (readonly [string, SyncMode])[]; retryFailed?: string } = {}) {
  return input(
    desired('Domain', 'print-paris', {
      release: `watchdoc-${opts.version ?? '6.1.4'}`,
      master: { name: MASTER, update: opts.update ?? 'Manual' },
      slaves: (opts.slaves ?? SLAVES).map(([name, sync]) => ({ name, sync })),
      ...(opts.retryFailed !== undefined ? { rollout: { retryFailed: opts.retryFailed } } : {}),
    }),
    RELEASES,
  );
}

export interface At {
  staged?: string;
  /** `null`: the staged package's `verified` is not reported. */
  verified?: boolean | null;
  reason?: string;
  online?: boolean;
  /** `null`: no state reported. */
  state?: ComponentReport['state'] | null;
  results?: CommandResult[];
}

/** An agent running watchdoc `version` (undefined: reports the component without a version). */
export function at(version: string | undefined, extra: At = {}): AgentSpec {
  const state = extra.state === null ? {} : { state: extra.state ?? 'running' };
  const staged =
    extra.staged === undefined
      ? {}
      : { staged: { version: extra.staged, ...(extra.verified === null ? {} : { verified: extra.verified ?? true }), ...(extra.reason ? { reason: extra.reason } : {}) } };
  return {
    components: [{ product: PRODUCT, ...(version !== undefined ? { version } : {}), ...state, ...staged } as ComponentReport],
    ...(extra.online === false ? { online: false, lastSeen: LAST_SEEN } : {}),
    ...(extra.results ? { results: extra.results } : {}),
  };
}

export function result(member: string, action: Action, status: CommandResult['status'], message?: string, version = '6.1.4'): CommandResult {
  return { id: commandId(TARGET, member, action, version), status, ...(message ? { message } : {}), at: '2026-11-22T09:00:00.000Z' };
}

export function world(
  agents: Readonly<Record<string, AgentSpec>>,
  artifacts: Readonly<Record<string, ArtifactCheck['status'] | ArtifactCheck>> = { 'watchdoc-6.1.4': 'verified' },
): Observed {
  return observed(agents, artifacts);
}

/** Every server: the master at `master`, each slave at `slaves` (or per name; unnamed slaves at 6.1.3). */
export function fleet(master: AgentSpec, slaves: AgentSpec | Readonly<Record<string, AgentSpec>>): Record<string, AgentSpec> {
  const per = 'components' in slaves ? Object.fromEntries(SLAVES.map(([n]) => [n, slaves as AgentSpec])) : (slaves as Record<string, AgentSpec>);
  return { [MASTER]: master, ...Object.fromEntries(SLAVES.map(([n]) => [n, per[n] ?? at('6.1.3')])) };
}

export const BEFORE = fleet(at('6.1.3'), at('6.1.3'));
export const MASTER_DONE = fleet(at('6.1.4'), at('6.1.3'));
export const ALL_STAGED = fleet(at('6.1.4'), at('6.1.3', { staged: '6.1.4' }));
export const CONVERGED = fleet(at('6.1.4'), at('6.1.4'));

export const run = (d = domain(), obs = world(BEFORE), previous?: TargetStatus, now = NOW): ReconcileResult => reconcileDomain(d, obs, previous, now);
export const sent = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
export const cond = (r: ReconcileResult, type: ConditionType) => r.status.conditions.find((c) => c.type === type);
export const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name);
export const planOf = (r: ReconcileResult): string[] =>
  r.plan.map((s) => `${s.action} ${s.member}${s.performedBy ? ` (${s.performedBy})` : ''}${s.runnable ? '' : ` [${s.blockedBy?.reason}]`}`);
/** The message of the condition that carries the phase (Reconciling, Stalled or Ready). */
export const phaseMessage = (r: ReconcileResult): string | undefined =>
  r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready')?.message ?? cond(r, 'Ready')?.message;
export const phaseReason = (r: ReconcileResult): string | undefined =>
  r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready')?.reason ?? cond(r, 'Ready')?.reason;
