/**
 * Which shard of a sharded fleet (`sharded-fleet.ts`) runs each agent. Machines that talk to
 * each other in the simulation must share a process, because they talk through memory:
 *
 *  - a console's `sync` lands on its distribution server's machine (`Fleet.deliverContent`);
 *  - an auto-update device installs only what its repository server serves, which it reads
 *    from that server's machine (`unprompted-actions.ts`).
 *
 * So agents linked that way form a group, placed whole in one shard; every other agent is a
 * group of its own. Groups go to the least loaded shard, largest first, in the order of the
 * desired state: the same plan gives the same placement. An agent, once placed, stays (its
 * process holds its machine): a member a later revision adds joins the shard of the agents it
 * talks to. A revision that links two agents already placed apart cannot move them; `place`
 * returns such pairs so that the fleet can say so (their syncs or self-updates then fail).
 */
import type { Duty } from './duties.ts';

export interface SplitPair {
  readonly a: string;
  readonly b: string;
}

export class ShardPlacement {
  private readonly shardOfAgent = new Map<string, number>();
  private readonly load: number[];

  constructor(readonly shards: number) {
    if (!Number.isSafeInteger(shards) || shards < 1) throw new Error(`shards: ${shards} is not a whole number ≥ 1`);
    this.load = new Array<number>(shards).fill(0);
  }

  /** The shard of an agent placed. */
  shardOf(agent: string): number | undefined {
    return this.shardOfAgent.get(agent);
  }

  /** Agents per shard. */
  get sizes(): readonly number[] {
    return [...this.load];
  }

  /**
   * Places the agents of `ids` not placed yet, keeping together those `duties` (every agent's,
   * from `dutiesByAgent`) link; returns the linked pairs that ended up in different shards.
   */
  place(ids: readonly string[], duties: ReadonlyMap<string, readonly Duty[]>): SplitPair[] {
    const groups = new Groups();
    for (const id of duties.keys()) groups.add(id);
    for (const id of ids) groups.add(id);
    for (const [a, b] of links(duties)) groups.union(a, b);

    const members = new Map<string, string[]>();
    for (const id of ids) {
      if (this.shardOfAgent.has(id)) continue;
      const root = groups.find(id);
      const list = members.get(root);
      if (list === undefined) members.set(root, [id]);
      else list.push(id);
    }
    // A group some of whose agents already run somewhere joins them; the rest, largest first.
    const placedShard = (root: string): number | undefined => {
      for (const other of groups.membersOf(root)) {
        const s = this.shardOfAgent.get(other);
        if (s !== undefined) return s;
      }
      return undefined;
    };
    const pending = [...members].map(([root, list], order) => ({ root, list, order, shard: placedShard(root) }));
    const unplaced = (g: { shard: number | undefined }): number => (g.shard === undefined ? 1 : 0);
    pending.sort((x, y) => unplaced(x) - unplaced(y) || y.list.length - x.list.length || x.order - y.order);
    for (const g of pending) {
      const shard = g.shard ?? this.leastLoaded();
      for (const id of g.list) this.shardOfAgent.set(id, shard);
      this.load[shard]! += g.list.length;
    }

    const split: SplitPair[] = [];
    for (const [a, b] of links(duties)) {
      const sa = this.shardOfAgent.get(a);
      const sb = this.shardOfAgent.get(b);
      if (sa !== undefined && sb !== undefined && sa !== sb) split.push({ a, b });
    }
    return split;
  }

  private leastLoaded(): number {
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    return best;
  }
}

/** The pairs of agents whose machines talk to each other in the simulation. */
export function* links(duties: ReadonlyMap<string, readonly Duty[]>): Generator<readonly [string, string]> {
  const serverOf = new Map<string, string>();
  for (const [agent, list] of duties) {
    for (const d of list) if (d.role === 'distribution-server') serverOf.set(d.target, agent);
  }
  for (const [agent, list] of duties) {
    for (const d of list) {
      if (d.role === 'content-console') {
        const server = serverOf.get(d.target);
        if (server !== undefined && server !== agent) yield [agent, server];
      }
      const wrs = d.repositoryServer;
      const readsWrs = d.role === 'device' && d.autoUpdate === true && wrs !== undefined && wrs !== 'cloud';
      if (readsWrs && wrs !== agent) yield [agent, wrs];
    }
  }
}

/** Union-find over agent ids. */
class Groups {
  private readonly parent = new Map<string, string>();
  private readonly members = new Map<string, string[]>();

  add(id: string): void {
    if (this.parent.has(id)) return;
    this.parent.set(id, id);
    this.members.set(id, [id]);
  }

  find(id: string): string {
    let root = id;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    let x = id;
    while (x !== root) {
      const next = this.parent.get(x)!;
      this.parent.set(x, root);
      x = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    this.add(a);
    this.add(b);
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.members.get(ra)!.length < this.members.get(rb)!.length) [ra, rb] = [rb, ra];
    this.parent.set(rb, ra);
    this.members.get(ra)!.push(...this.members.get(rb)!);
    this.members.delete(rb);
  }

  membersOf(root: string): readonly string[] {
    return this.members.get(root) ?? [root];
  }
}
