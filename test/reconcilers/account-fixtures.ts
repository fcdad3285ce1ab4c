/**
 * Fixtures shared by the Account rule and invariant tests (seeds 001, 003): ACME (W360 Core)
 * with a Paris and a Lyon WRS, workstations behind them and a remote laptop; releases tagged
 * `stable` (the account tag) and `test` (the vendor's test tag).
 */
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import type { AccountSpec, Release } from '../../reconcilers/model/desired.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

export const P = 'w360-core';
export const T = 'account/acme';
export const VERSIONS = ['4.1.0', '4.2.1', '4.3.0', '4.4.0'] as const;
export const rel = (v: string, product = P): string => `${product}-${v}`;
export const CLOUD_VERSIONS = ['2026.10.2', '2026.11.0'] as const;

/** The releases of `product`: `stable` and `test` on the versions given; the cloud infrastructure releases. */
export function releases(stable: string, test = stable, product = P): Release[] {
  return [
    ...VERSIONS.map((v) => release(rel(v, product), product, v, [...(v === stable ? ['stable'] : []), ...(v === test ? ['test'] : [])])),
    ...CLOUD_VERSIONS.map((v) => release(`cebox-cloud-${v}`, 'cebox-cloud', v)),
  ];
}
export function verified(product = P): Record<string, ArtifactCheck['status']> {
  return Object.fromEntries([...VERSIONS.map((v) => [rel(v, product), 'verified']), ...CLOUD_VERSIONS.map((v) => [`cebox-cloud-${v}`, 'verified'])]);
}

export function spec(over: Partial<AccountSpec> = {}, product = P): AccountSpec {
  return {
    product,
    defaultTag: 'stable',
    restartPolicy: 'Immediate',
    autoUpdate: false,
    repositoryServers: [{ name: 'acme-wrs-paris' }, { name: 'acme-wrs-lyon' }],
    devices: [
      { name: 'ws-001', repositoryServer: 'acme-wrs-paris' },
      { name: 'ws-002', repositoryServer: 'acme-wrs-paris' },
      { name: 'ws-101', repositoryServer: 'acme-wrs-lyon' },
      { name: 'laptop-901', repositoryServer: 'cloud' },
    ],
    installMedia: { generatedFor: '4.3.0' },
    ...over,
  };
}
export const WRS = ['acme-wrs-paris', 'acme-wrs-lyon'];
export const DEVICES = ['ws-001', 'ws-002', 'ws-101', 'laptop-901'];

/** An agent reporting `version` of the product (online unless `online: false`). */
export function at(version: string | undefined, extra: Partial<ComponentReport> & { online?: boolean; results?: AgentSpec['results']; product?: string } = {}): AgentSpec {
  const { online, results, product, ...component } = extra;
  const c: ComponentReport = version === undefined ? { product: product ?? P, state: 'running', ...component } : running(product ?? P, version, component);
  return { components: [c], ...(online === undefined ? {} : { online }), ...(results ? { results } : {}) };
}
/** A WRS at `version`, restarted, serving it. */
export const wrsAt = (version: string, extra: Parameters<typeof at>[1] = {}): AgentSpec => at(version, { serves: [version], ...extra });

/** Every member at `version` (WRS serving it), then the overrides (null: never reported). */
export function fleet(version: string, over: Record<string, AgentSpec | null> = {}, product = P): Record<string, AgentSpec> {
  const out: Record<string, AgentSpec> = {};
  for (const m of WRS) out[m] = wrsAt(version, { product });
  for (const m of DEVICES) out[m] = at(version, { product });
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export interface Run {
  readonly releases?: readonly Release[];
  readonly artifacts?: Record<string, ArtifactCheck['status']>;
  readonly previous?: TargetStatus;
  readonly now?: number;
}
export function reconcile(s: AccountSpec, agents: Record<string, AgentSpec>, o: Run = {}): ReconcileResult {
  return reconcileAccount(input(desired('Account', 'acme', s), [...(o.releases ?? releases('4.3.0', '4.3.0', s.product))]), observed(agents, o.artifacts ?? verified(s.product)), o.previous, o.now ?? NOW);
}

export const cmds = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member} ${c.version}`);
export const steps = (r: ReconcileResult): string[] =>
  r.plan.map((s) => `${s.action} ${s.member} ${s.version}: ${s.runnable ? 'runnable' : s.blockedBy?.reason}${s.performedBy ? ` (by ${s.performedBy})` : ''}`);
export const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name)!;
export const blockerOf = (r: ReconcileResult, name: string, action = 'apply') => r.plan.find((s) => s.member === name && s.action === action)?.blockedBy;
/** The condition that says what is going on (Reconciling or Stalled, else Ready). */
export const headline = (r: ReconcileResult) => r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready') ?? r.status.conditions[0]!;
export { NOW };
