/**
 * What the desired state asks of each agent, as the fleet simulator needs it: for every
 * member of every target, which agent plays it, in which role, running which product at which
 * version. The simulator builds its machines from this (`fleet-plan.ts`) and plays the people
 * and devices the controller waits for from it (`unprompted-actions.ts`): an operator updating a
 * Manual master to the domain's version, an auto-update device installing its account's version.
 *
 * The version of an Account member is resolved as the Account reconciler does: the test ring
 * runs the test tag, everyone else the account tag (seeds 001, 003). A tag that does not
 * resolve leaves the member without a version; the simulator then leaves it as it is.
 */
import { infrastructureAgentOf } from '../../reconcilers/account/reconcile.ts';
import { agentIdOf, CLOUD, type AnyDesiredObject, type Release } from '../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';

export type DutyRole =
  | 'master'
  | 'slave'
  | 'repository-server'
  | 'device'
  | 'infrastructure'
  | 'server'
  | 'load-balancer'
  | 'console'
  | 'distribution-server'
  | 'content-console';

export interface Duty {
  readonly target: TargetId;
  /** The member's name in the target (`infrastructure` for an account's cloud infrastructure). */
  readonly member: string;
  readonly role: DutyRole;
  /** Absent for distribution servers and their consoles, which hold content, not a product. */
  readonly product?: string;
  /** The version the desired state gives this member; absent when it names none or its tag does not resolve. */
  readonly version?: string;
  /** A Domain slave declared `sync: bidirectional`: the controller may push to it. */
  readonly push?: boolean;
  /** A Domain master with `update: Manual`: a person updates it, the controller waits. */
  readonly manual?: boolean;
  /** An Account device: the agent of its repository server, or `cloud`. */
  readonly repositoryServer?: string;
  /** An Account device that updates itself (`autoUpdate: true`): no command ever reaches it. */
  readonly autoUpdate?: boolean;
  /** An Account device whose restart is its user's (`restartPolicy: LeaveToUser`, or auto-update). */
  readonly restartByUser?: boolean;
  /** A UMS server: the members its cluster registers (servers and load balancers, seed 004). */
  readonly registeredMembers?: readonly string[];
}

/** Every agent the desired state names, with what it is asked, in the order of the documents. */
export function dutiesByAgent(objects: readonly AnyDesiredObject[]): Map<string, Duty[]> {
  const releases = new ReleaseIndex(objects.filter((o): o is Release => o.kind === 'Release'));
  const out = new Map<string, Duty[]>();
  const add = (agent: string, duty: Duty): void => {
    const list = out.get(agent);
    if (list === undefined) out.set(agent, [duty]);
    else list.push(duty);
  };
  const versionOf = (name: string): { product?: string; version?: string } => {
    const r = releases.get(name);
    return r === undefined ? {} : { product: r.spec.product, version: r.spec.version };
  };

  for (const obj of objects) {
    switch (obj.kind) {
      case 'Domain': {
        const target = targetId('Domain', obj.metadata.name);
        const release = versionOf(obj.spec.release);
        const { master } = obj.spec;
        add(agentIdOf(master), { target, member: master.name, role: 'master', ...release, ...(master.update === 'Manual' ? { manual: true } : {}) });
        for (const s of obj.spec.slaves) add(agentIdOf(s), { target, member: s.name, role: 'slave', ...release, ...(s.sync === 'bidirectional' ? { push: true } : {}) });
        break;
      }
      case 'Account': {
        const target = targetId('Account', obj.metadata.name);
        const spec = obj.spec;
        const tagVersion = (tag: string): { product: string; version?: string } => {
          const resolved = releases.resolveTag(spec.product, tag);
          return resolved.ok ? { product: spec.product, version: resolved.release.spec.version } : { product: spec.product };
        };
        const production = tagVersion(spec.defaultTag);
        const test = spec.testRing !== undefined ? tagVersion(spec.testRing.tag) : production;
        const ringServers = new Set(spec.testRing?.repositoryServers ?? []);
        const ringDevices = new Set(spec.testRing?.devices ?? []);
        const wrsAgent = new Map(spec.repositoryServers.map((w) => [w.name, agentIdOf(w)]));
        if (spec.infrastructure !== undefined) {
          add(infrastructureAgentOf(obj.metadata.name, spec), { target, member: 'infrastructure', role: 'infrastructure', ...versionOf(spec.infrastructure.release) });
        }
        for (const w of spec.repositoryServers) add(agentIdOf(w), { target, member: w.name, role: 'repository-server', ...(ringServers.has(w.name) ? test : production) });
        for (const d of spec.devices) {
          add(agentIdOf(d), {
            target,
            member: d.name,
            role: 'device',
            ...(ringDevices.has(d.name) ? test : production),
            repositoryServer: d.repositoryServer === CLOUD ? CLOUD : (wrsAgent.get(d.repositoryServer) ?? d.repositoryServer),
            ...(spec.autoUpdate ? { autoUpdate: true } : {}),
            ...(spec.autoUpdate || spec.restartPolicy === 'LeaveToUser' ? { restartByUser: true } : {}),
          });
        }
        break;
      }
      case 'DistributionServer': {
        const target = targetId('DistributionServer', obj.metadata.name);
        add(obj.spec.agent ?? obj.metadata.name, { target, member: obj.metadata.name, role: 'distribution-server' });
        for (const console of new Set(obj.spec.syncs.map((s) => s.console))) add(console, { target, member: console, role: 'content-console' });
        break;
      }
      case 'HACluster': {
        const target = targetId('HACluster', obj.metadata.name);
        const release = versionOf(obj.spec.release);
        const registered = [...obj.spec.servers, ...obj.spec.loadBalancers].map((m) => m.name);
        for (const s of obj.spec.servers) add(agentIdOf(s), { target, member: s.name, role: 'server', ...release, registeredMembers: registered });
        for (const l of obj.spec.loadBalancers) add(agentIdOf(l), { target, member: l.name, role: 'load-balancer', ...release });
        for (const c of obj.spec.consoles) add(agentIdOf(c), { target, member: c.name, role: 'console', ...release });
        break;
      }
      case 'Release':
        break;
    }
  }
  return out;
}

/** The release index of a desired state's releases (for `previous` versions). */
export function releaseIndexOf(objects: readonly AnyDesiredObject[]): ReleaseIndex {
  return new ReleaseIndex(objects.filter((o): o is Release => o.kind === 'Release'));
}
