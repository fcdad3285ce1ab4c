import { agentIdOf, type AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import type { FieldPath, Finding } from '../diagnostics.ts';
import { formatFieldPath } from '../diagnostics.ts';
import { at, perDocument, type PolicyContext, type PolicyRule } from './context.ts';

/** A machine in a target, with the field that declares it. */
export interface MemberRef {
  readonly name: string;
  readonly agent: string;
  readonly field: FieldPath;
  /** Where to point when the agent is the problem: `agent` when set, else `name`. */
  readonly agentField: FieldPath;
}

const memberCache = new WeakMap<AnyDesiredObject, readonly MemberRef[]>();

/**
 * Every member of a target that runs an agent and is told a version of the target's product.
 * Documents are frozen and reused across reloads while their blob is unchanged, so the list
 * is computed once per document, not once per load.
 */
export function membersOf(obj: AnyDesiredObject): readonly MemberRef[] {
  let members = memberCache.get(obj);
  if (!members) memberCache.set(obj, (members = listMembers(obj)));
  return members;
}

function listMembers(obj: AnyDesiredObject): MemberRef[] {
  const one = (m: { name: string; agent?: string }, field: FieldPath): MemberRef => ({
    name: m.name,
    agent: agentIdOf(m),
    field,
    agentField: [...field, m.agent !== undefined ? 'agent' : 'name'],
  });
  const list = (items: readonly { name: string; agent?: string }[], field: string[]) => items.map((m, i) => one(m, [...field, i]));
  switch (obj.kind) {
    case 'Domain':
      return [one(obj.spec.master, ['spec', 'master']), ...list(obj.spec.slaves, ['spec', 'slaves'])];
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
 * (one agent cannot be two members of one target).
 */
export const memberNames = perDocument((ctx) => ctx.objects, function memberNames(obj: AnyDesiredObject): Finding[] {
  const out: Finding[] = [];
  const names = new Map<string, FieldPath>();
  const agents = new Map<string, FieldPath>();
  for (const m of membersOf(obj)) {
    const firstName = names.get(m.name);
    if (firstName) {
      out.push({ code: 'DUPLICATE_MEMBER', data: { name: m.name, firstField: formatFieldPath(firstName) }, ...at(obj, [...m.field, 'name']) });
      continue;
    }
    names.set(m.name, m.field);
    const firstAgent = agents.get(m.agent);
    if (firstAgent) {
      out.push({ code: 'AGENT_CONFLICT', data: { agent: m.agent, product: 'its product', other: `${formatFieldPath(firstAgent)} of this target` }, ...at(obj, m.agentField) });
    } else agents.set(m.agent, m.field);
  }
  return out;
});

/**
 * Across targets, one agent may run several products, but never the same product for two
 * targets: it would be told two versions at once. The first target in path order keeps it.
 */
export const agentOwnership: PolicyRule = (ctx) => {
  const out: Finding[] = [];
  const owners = new Map<string, Map<string, string>>(); // product -> agent -> target
  for (const obj of ctx.objects) {
    const members = membersOf(obj);
    const product = members.length > 0 ? productOf(obj, ctx) : undefined;
    if (product === undefined) continue;
    let owner = owners.get(product);
    if (!owner) owners.set(product, (owner = new Map()));
    const self = ownerName(obj);
    for (const m of members) {
      const first = owner.get(m.agent);
      if (first === undefined) owner.set(m.agent, self);
      else if (first !== self) out.push(agentConflict(obj, m, product, first));
    }
  }
  return out;
};

/** How a target is named as an agent's owner (two documents of one name do not conflict). */
export function ownerName(obj: AnyDesiredObject): string {
  return `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
}

/** Member `m` of `obj` runs an agent `owner` already runs `product` for (incremental.ts uses it too). */
export function agentConflict(obj: AnyDesiredObject, m: MemberRef, product: string, owner: string): Finding {
  return { code: 'AGENT_CONFLICT', data: { agent: m.agent, product, other: owner }, ...at(obj, m.agentField) };
}

/** The product a target's members run: an account's own, else its release's (undefined when missing). */
export function productOf(obj: AnyDesiredObject, ctx: Pick<PolicyContext, 'releaseIndex'>): string | undefined {
  if (obj.kind === 'Account') return obj.spec.product;
  if (obj.kind === 'Domain' || obj.kind === 'HACluster') return ctx.releaseIndex.get(obj.spec.release)?.spec.product;
  return undefined;
}
