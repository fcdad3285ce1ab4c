import { agentIdOf, type AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import type { FieldPath } from '../diagnostics.ts';
import type { Finding } from '../diagnostics.ts';
import type { PolicyContext, PolicyRule } from './context.ts';
import { at } from './context.ts';

/** A machine in a target, with the field that declares it. */
export interface MemberRef {
  readonly name: string;
  readonly agent: string;
  readonly field: FieldPath;
}

/** Every member of a target that runs an agent and is told a version of the target's product. */
export function membersOf(obj: AnyDesiredObject): MemberRef[] {
  const list = (items: readonly { name: string; agent?: string }[], field: string[]) =>
    items.map((m, i) => ({ name: m.name, agent: agentIdOf(m), field: [...field, i] }));
  switch (obj.kind) {
    case 'Domain':
      return [
        { name: obj.spec.master.name, agent: agentIdOf(obj.spec.master), field: ['spec', 'master'] },
        ...list(obj.spec.slaves, ['spec', 'slaves']),
      ];
    case 'Account':
      return [...list(obj.spec.repositoryServers, ['spec', 'repositoryServers']), ...list(obj.spec.devices, ['spec', 'devices'])];
    case 'HACluster':
      return [
        ...list(obj.spec.servers, ['spec', 'servers']),
        ...list(obj.spec.loadBalancers, ['spec', 'loadBalancers']),
        ...list(obj.spec.consoles, ['spec', 'consoles']),
      ];
    default:
      return [];
  }
}

/**
 * Within a target, member names are unique (status reports per member) and so are agents
 * (one agent cannot be two members). Across targets, one agent may run several products,
 * but never the same product for two targets: it would be told two versions at once.
 */
export const memberIdentity: PolicyRule = (ctx) => {
  const out: Finding[] = [];
  const agentOwner = new Map<string, string>(); // `${product}\0${agent}` -> target
  for (const obj of ctx.objects) {
    const names = new Map<string, FieldPath>();
    const agents = new Map<string, FieldPath>();
    const product = productOf(obj, ctx);
    for (const m of membersOf(obj)) {
      const firstName = names.get(m.name);
      if (firstName) {
        out.push({ code: 'DUPLICATE_MEMBER', data: { name: m.name, firstField: fmt(firstName) }, ...at(obj, [...m.field, 'name']) });
        continue;
      }
      names.set(m.name, m.field);
      const agentField = agentFieldOf(obj, m);
      const firstAgent = agents.get(m.agent);
      if (firstAgent) {
        out.push({ code: 'AGENT_CONFLICT', data: { agent: m.agent, product: product ?? 'its product', other: `${fmt(firstAgent)} of this target` }, ...at(obj, agentField) });
        continue;
      }
      agents.set(m.agent, m.field);
      if (product === undefined) continue;
      const key = `${product}\0${m.agent}`;
      const owner = agentOwner.get(key);
      const self = `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
      if (owner !== undefined && owner !== self) {
        out.push({ code: 'AGENT_CONFLICT', data: { agent: m.agent, product, other: owner }, ...at(obj, agentField) });
      } else agentOwner.set(key, self);
    }
  }
  return out;
};

function agentFieldOf(obj: AnyDesiredObject, m: MemberRef): FieldPath {
  const node = m.field.reduce<unknown>((n, seg) => (n as Record<string | number, unknown> | undefined)?.[seg], obj);
  return [...m.field, (node as { agent?: string } | undefined)?.agent !== undefined ? 'agent' : 'name'];
}

function productOf(obj: AnyDesiredObject, ctx: PolicyContext): string | undefined {
  if (obj.kind === 'Account') return obj.spec.product;
  if (obj.kind === 'Domain' || obj.kind === 'HACluster') return ctx.releaseIndex.get(obj.spec.release)?.spec.product;
  return undefined;
}

function fmt(field: FieldPath): string {
  return field.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
