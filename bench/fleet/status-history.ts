/**
 * What the controller wrote to Git during a rollout: its status commits after a given commit,
 * read with the git CLI (benchmark only) — how many, how many a minute, and how close together
 * two commits of the same target came (the coalescing interval must hold whatever the fleet size).
 * Commit times have a resolution of one second.
 */
import { git } from '../generate-repo.ts';

export interface StatusHistory {
  readonly commits: number;
  /** Between the first and the last, seconds. */
  readonly spanSeconds: number;
  readonly perMinute: number;
  /** The busiest 60 s. */
  readonly maxInOneMinute: number;
  /** Smallest time between two commits naming the same target, seconds (undefined: no target committed twice). */
  readonly minSecondsPerTarget: number | undefined;
  /** Commits naming more than one target. */
  readonly multiTarget: number;
}

export function statusHistory(gitdir: string, since: string, branch = 'main'): StatusHistory {
  const raw = git(gitdir, '--git-dir', gitdir, 'log', '--reverse', '--format=%ct%x1f%B%x1e', `${since}..${branch}`);
  const commits = raw
    .split('\x1e')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => {
      const [time, body = ''] = c.split('\x1f');
      const targets = [...body.matchAll(/^Versiond-Target: (.+)$/gm)].map((m) => m[1]!);
      return { at: Number(time), targets, status: body.startsWith('status') };
    })
    .filter((c) => c.status);
  const times = commits.map((c) => c.at);
  const span = times.length > 1 ? times[times.length - 1]! - times[0]! : 0;
  let maxInOneMinute = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60) j++;
    maxInOneMinute = Math.max(maxInOneMinute, i - j + 1);
  }
  const last = new Map<string, number>();
  let minSpacing: number | undefined;
  for (const c of commits) {
    for (const t of c.targets) {
      const before = last.get(t);
      if (before !== undefined) minSpacing = Math.min(minSpacing ?? Infinity, c.at - before);
      last.set(t, c.at);
    }
  }
  return {
    commits: commits.length,
    spanSeconds: span,
    perMinute: span > 0 ? (commits.length * 60) / span : commits.length,
    maxInOneMinute,
    minSecondsPerTarget: minSpacing,
    multiTarget: commits.filter((c) => c.targets.length > 1).length,
  };
}
