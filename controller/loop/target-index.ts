import { agentIdOf, type AnyDesiredObject, type Member } from '../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';
import { infrastructureAgentOf } from '../../reconcilers/account/reconcile.ts';
import { TARGET_KINDS } from '../../reconcilers/registry.ts';

/**
 * Which targets an agent's report concerns, and the push endpoints declared in Git. Built
 * once per applied revision: a report then costs one lookup to know what to reconcile again
 * (work is keyed by target, never by the report itself).
 */
export class TargetIndex {
  private readonly byAgent = new Map<string, TargetId[]>();
  private readonly byTarget = new Map<TargetId, string[]>();
  private readonly endpoints = new Map<string, string>();
  readonly targets: readonly TargetId[];

  constructor(objects: readonly AnyDesiredObject[]) {
    const targets: TargetId[] = [];
    for (const obj of objects) {
      if (!TARGET_KINDS.includes(obj.kind)) continue;
      const id = targetId(obj.kind, obj.metadata.name);
      targets.push(id);
      for (const m of membersOf(obj)) {
        const agent = agentIdOf(m);
        this.link(agent, id);
        if (m.endpoint !== undefined && !this.endpoints.has(agent)) this.endpoints.set(agent, m.endpoint);
      }
      if (obj.kind === 'Account' && obj.spec.infrastructure !== undefined) this.link(infrastructureAgentOf(obj.metadata.name, obj.spec), id);
      if (obj.kind === 'DistributionServer') {
        this.link(obj.spec.agent ?? obj.metadata.name, id);
        // A console reports the content it downloaded: syncs from it depend on that (seed 002).
        for (const sync of obj.spec.syncs) this.link(sync.console, id);
      }
    }
    this.targets = targets;
  }

  targetsOf(agent: string): readonly TargetId[] {
    return this.byAgent.get(agent) ?? [];
  }

  agentsOf(target: TargetId): readonly string[] {
    return this.byTarget.get(target) ?? [];
  }

  /** Every agent some target names. */
  agents(): IterableIterator<string> {
    return this.byAgent.keys();
  }

  /** The endpoint a member declares in Git (`endpoint:`), if any. */
  declaredEndpoint(agent: string): string | undefined {
    return this.endpoints.get(agent);
  }

  private link(agent: string, target: TargetId): void {
    const list = this.byAgent.get(agent);
    if (!list) this.byAgent.set(agent, [target]);
    else if (list[list.length - 1] !== target) list.push(target);
    else return; // already linked
    const agents = this.byTarget.get(target);
    if (!agents) this.byTarget.set(target, [agent]);
    else agents.push(agent);
  }
}

function membersOf(obj: AnyDesiredObject): readonly Member[] {
  switch (obj.kind) {
    case 'Domain':
      return [obj.spec.master, ...obj.spec.slaves];
    case 'Account':
      return [...obj.spec.repositoryServers, ...obj.spec.devices];
    case 'HACluster':
      return [...obj.spec.servers, ...obj.spec.loadBalancers, ...obj.spec.consoles];
    default:
      return [];
  }
}
