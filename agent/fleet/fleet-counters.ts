/**
 * The counters `versiond-fleet --stats FILE` writes every second: the fleet's own (`FleetStats`),
 * how many machines run their desired version, how late the event loop ran, memory and CPU
 * time. A sharded fleet (`sharded-fleet.ts`) gets one set from each shard process and merges
 * them into one, so a reader (the benchmark) sees one fleet whatever the number of processes.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Fleet, FleetStats, ReportCounts } from './fleet.ts';

export interface LoopDelayMs {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface FleetCounters extends FleetStats {
  /** When they were taken, epoch ms. */
  readonly at: number;
  readonly convergence: { readonly total: number; readonly atDesired: number };
  /** Since the last counters; of the slowest shard when sharded. */
  readonly eventLoopDelayMs: LoopDelayMs;
  /** Summed over the processes when sharded. */
  readonly memoryMiB: { readonly rss: number; readonly heapUsed: number };
  /** CPU time used so far (user + system, `process.cpuUsage`), summed over the processes. */
  readonly cpuMs: number;
  /** A sharded fleet: each shard's own counters, in shard order. */
  readonly shards?: readonly ShardCounters[];
}

export interface ShardCounters {
  readonly shard: number;
  readonly agents: number;
  readonly online: number;
  readonly eventLoopDelayMs: LoopDelayMs;
  readonly memoryMiB: { readonly rss: number; readonly heapUsed: number };
  readonly cpuMs: number;
}

/** How late the event loop runs (a fleet that cannot keep up delays every agent at once). */
export class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor() {
    this.histogram.enable();
  }

  /** Percentiles since the last call, in ms. */
  take(): LoopDelayMs {
    const h = this.histogram;
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e6) : 0);
    const out = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    return out;
  }

  stop(): void {
    this.histogram.disable();
  }
}

/** This process: memory in MiB, CPU time in ms. */
export function processUsage(): { memoryMiB: FleetCounters['memoryMiB']; cpuMs: number } {
  const { rss, heapUsed } = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    memoryMiB: { rss: Math.round(rss / 1048576), heapUsed: Math.round(heapUsed / 1048576) },
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

/** The counters of a fleet running in this process. */
export function countersOf(fleet: Fleet, delay: LoopDelay): FleetCounters {
  return {
    at: Date.now(), ...fleet.stats(), convergence: fleet.convergence(),
    eventLoopDelayMs: delay.take(), ...processUsage(),
  };
}

/**
 * One fleet's counters from its shards': sums, the earliest first delivery of each version,
 * the worst event-loop delay. `own` is the coordinating process's memory and CPU.
 */
export function mergeCounters(
  startedAt: number, parts: readonly FleetCounters[], own: ReturnType<typeof processUsage>,
): FleetCounters {
  const reports: ReportCounts = { answer: 0, stale: 0, unauthorized: 0, refused: 0, unavailable: 0 };
  const firstDelivered: Record<string, number> = {};
  let agents = 0;
  let online = 0;
  let commandsDelivered = 0;
  let total = 0;
  let atDesired = 0;
  let rss = own.memoryMiB.rss;
  let heapUsed = own.memoryMiB.heapUsed;
  let cpuMs = own.cpuMs;
  const delay = { p50: 0, p99: 0, max: 0 };
  for (const p of parts) {
    agents += p.agents;
    online += p.online;
    commandsDelivered += p.commandsDelivered;
    for (const k of Object.keys(reports) as (keyof ReportCounts)[]) reports[k] += p.reports[k];
    for (const [k, at] of Object.entries(p.firstDelivered)) firstDelivered[k] = Math.min(firstDelivered[k] ?? at, at);
    total += p.convergence.total;
    atDesired += p.convergence.atDesired;
    rss += p.memoryMiB.rss;
    heapUsed += p.memoryMiB.heapUsed;
    cpuMs += p.cpuMs;
    delay.p50 = Math.max(delay.p50, p.eventLoopDelayMs.p50);
    delay.p99 = Math.max(delay.p99, p.eventLoopDelayMs.p99);
    delay.max = Math.max(delay.max, p.eventLoopDelayMs.max);
  }
  return {
    at: Date.now(),
    startedAt,
    agents,
    online,
    reports,
    commandsDelivered,
    firstDelivered,
    convergence: { total, atDesired },
    eventLoopDelayMs: delay,
    memoryMiB: { rss, heapUsed },
    cpuMs,
    shards: parts.map((p, shard) => ({
      shard, agents: p.agents, online: p.online,
      eventLoopDelayMs: p.eventLoopDelayMs, memoryMiB: p.memoryMiB, cpuMs: p.cpuMs,
    })),
  };
}
