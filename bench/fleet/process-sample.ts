/**
 * CPU time and memory of a process, read from Linux's /proc (the benchmark measures the
 * controller and the fleet, each a process of its own). CPU is in clock ticks of 10 ms
 * (USER_HZ, 100 on every Linux the benchmark runs on).
 */
import { existsSync, readFileSync } from 'node:fs';

const TICK_MS = 10;

export interface ProcessSample {
  readonly at: number;
  /** User + system CPU time used so far, ms. */
  readonly cpuMs: number;
  /** Resident memory now, bytes. */
  readonly rssBytes: number;
  /** Highest resident memory so far (VmHWM), bytes. */
  readonly peakRssBytes: number;
}

export function sampleProcess(pid: number): ProcessSample | undefined {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return undefined;
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): state is field 3.
    const text = readFileSync(stat, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { at: Date.now(), cpuMs: (utime + stime) * TICK_MS, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined; // the process just exited
  }
}

/**
 * A process and all its descendants (a sharded fleet's shards), summed: CPU, RSS, and the sum
 * of each process's peak RSS (an upper bound of the tree's peak).
 */
export function sampleTree(pid: number): ProcessSample | undefined {
  const root = sampleProcess(pid);
  if (root === undefined) return undefined;
  let { cpuMs, rssBytes, peakRssBytes } = root;
  for (const child of descendants(pid)) {
    const s = sampleProcess(child);
    if (s === undefined) continue;
    cpuMs += s.cpuMs;
    rssBytes += s.rssBytes;
    peakRssBytes += s.peakRssBytes;
  }
  return { at: root.at, cpuMs, rssBytes, peakRssBytes };
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let text = '';
    try {
      text = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8');
    } catch {
      return;
    }
    for (const c of text.trim().split(/\s+/).filter((x) => x !== '').map(Number)) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Share of one core used between two samples (1 = a whole core). */
export function coresUsed(a: ProcessSample, b: ProcessSample): number {
  return b.at > a.at ? (b.cpuMs - a.cpuMs) / (b.at - a.at) : 0;
}
