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

/** Share of one core used between two samples (1 = a whole core). */
export function coresUsed(a: ProcessSample, b: ProcessSample): number {
  return b.at > a.at ? (b.cpuMs - a.cpuMs) / (b.at - a.at) : 0;
}
