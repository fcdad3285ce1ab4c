/**
 * Where a sharded fleet runs each agent (`agent/fleet/shard-placement.ts`): machines that talk
 * to each other through the simulator's memory share a process, the rest is spread evenly, and
 * an agent never moves. Also how the shards' counters add up to one fleet's.
 */
import { describe, expect, it } from 'vitest';
import { dutiesByAgent, type Duty } from '../../agent/fleet/duties.ts';
import { mergeCounters, type FleetCounters } from '../../agent/fleet/fleet-counters.ts';
import { ShardPlacement } from '../../agent/fleet/shard-placement.ts';
import { loadRevision } from '../helpers/load.ts';
import { TempRepo } from '../helpers/git-repo.ts';

describe('placing a fleet in shards', () => {
  it('keeps a console with its distribution server and an auto-update device with its repository server, '
    + 'and spreads the rest evenly', async () => {
    const repo = TempRepo.create();
    try {
      const duties = dutiesByAgent((await loadRevision(repo.dir)).objects);
      const placement = new ShardPlacement(2);
      expect(placement.place([...duties.keys()], duties)).toEqual([]);

      // ds-paris syncs from console-hq; globex-cebox's devices update themselves from globex-wrs-1.
      expect(placement.shardOf('console-hq')).toBe(placement.shardOf('ds-paris'));
      expect(placement.shardOf('console-hq')).toBe(placement.shardOf('ds-berlin'));
      for (const device of ['globex-cb-001', 'globex-cb-002']) {
        expect(placement.shardOf(device)).toBe(placement.shardOf('globex-wrs-1'));
      }
      const [a, b] = placement.sizes;
      expect(a! + b!).toBe(duties.size);
      expect(Math.abs(a! - b!)).toBeLessThanOrEqual(4);
    } finally {
      repo.dispose();
    }
  });

  it('puts a member a later revision adds with the machine it talks to, and never moves a placed agent', () => {
    const server = { target: 'distributionserver/ds-1' as const, member: 'ds-1', role: 'distribution-server' as const };
    const console = { target: 'distributionserver/ds-1' as const,
      member: 'console-1', role: 'content-console' as const };
    const placement = new ShardPlacement(3);
    const first = new Map<string, Duty[]>([['ds-1', [server]], ['x', []], ['y', []]]);
    placement.place(['ds-1', 'x', 'y'], first);
    const before = ['ds-1', 'x', 'y'].map((id) => placement.shardOf(id));

    placement.place(['console-1', 'z'], new Map([...first, ['console-1', [console]], ['z', []]]));
    expect(placement.shardOf('console-1')).toBe(placement.shardOf('ds-1'));
    expect(['ds-1', 'x', 'y'].map((id) => placement.shardOf(id))).toEqual(before);
    expect(placement.sizes.reduce((s, n) => s + n, 0)).toBe(5);
  });

  it('says which machines that talk to each other a revision linked after they were placed apart', () => {
    const placement = new ShardPlacement(2);
    placement.place(['ds-1', 'console-1'], new Map<string, Duty[]>([['ds-1', []], ['console-1', []]]));
    expect(placement.shardOf('ds-1')).not.toBe(placement.shardOf('console-1'));
    const linked = new Map<string, Duty[]>([
      ['ds-1', [{ target: 'distributionserver/ds-1' as const, member: 'ds-1', role: 'distribution-server' as const }]],
      ['console-1', [{ target: 'distributionserver/ds-1' as const, member: 'console-1', role: 'content-console' }]],
    ]);
    expect(placement.place([], linked)).toEqual([{ a: 'console-1', b: 'ds-1' }]);
  });
});

describe("a sharded fleet's counters", () => {
  it('add up the shards: sums, the earliest first delivery of each version, the slowest event loop', () => {
    const shard = (n: number, firstAt: number, delayMax: number): FleetCounters => ({
      at: 0, startedAt: 0, agents: n, online: n - 1, commandsDelivered: n * 2,
      reports: { answer: n * 10, stale: 0, unauthorized: 0, refused: 0, unavailable: 1 },
      firstDelivered: { 'watchdoc 6.1.4': firstAt }, convergence: { total: n, atDesired: n - 2 },
      eventLoopDelayMs: { p50: 1, p99: delayMax / 2, max: delayMax },
      memoryMiB: { rss: 100, heapUsed: 50 }, cpuMs: 1000,
    });
    const coordinator = { memoryMiB: { rss: 60, heapUsed: 20 }, cpuMs: 5 };
    const merged = mergeCounters(42, [shard(10, 2000, 30), shard(20, 1000, 80)], coordinator);
    expect(merged).toMatchObject({
      startedAt: 42, agents: 30, online: 28, commandsDelivered: 60,
      reports: { answer: 300, unavailable: 2 }, firstDelivered: { 'watchdoc 6.1.4': 1000 },
      convergence: { total: 30, atDesired: 26 }, eventLoopDelayMs: { p50: 1, p99: 40, max: 80 },
      memoryMiB: { rss: 260, heapUsed: 120 }, cpuMs: 2005,
    });
    expect(merged.shards!.map((s) => s.agents)).toEqual([10, 20]);
  });
});
