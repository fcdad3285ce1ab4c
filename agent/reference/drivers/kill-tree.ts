/**
 * Ends a hook together with what it started (a shell script's `sleep`, an installer's children),
 * first asking, then forcing after a grace period. Each platform has its own means:
 *
 *   POSIX    the hook is spawned as the leader of its own process group (`detached`), and the
 *            group gets SIGTERM, then SIGKILL;
 *   Windows  there are no signals nor process groups to signal: `taskkill /PID <pid> /T` (which
 *            only reaches processes with a window), then `taskkill /PID <pid> /T /F`. /T follows
 *            parent ids, so it finds the children only while the hook itself is alive.
 *
 * The platform, the spawn of taskkill and the group kill are parameters, so that what Windows
 * would run can be checked on Linux.
 */
import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';

/** The part of `child_process.spawn` used here. */
export type SpawnLike = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => { on(event: 'error', listener: (err: Error) => void): unknown };

export interface KillTreeOptions {
  /** Between the request to stop and the forced kill. */
  readonly graceMs: number;
  readonly platform?: NodeJS.Platform;
  /** Windows: how taskkill is started. */
  readonly spawn?: SpawnLike;
  /** POSIX: how a process group is signalled (default `process.kill(-pgid, signal)`). */
  readonly killGroup?: (pgid: number, signal: NodeJS.Signals) => void;
}

export interface TreeKill {
  /** To call when the hook's own process has exited (see `killTree`). */
  leaderExited(): void;
}

/**
 * How to spawn a hook so that `killTree` can end it: on POSIX as the leader of a new process group.
 * Not on Windows, where `detached` would give the hook a console window of its own.
 */
export function hookSpawnOptions(platform = process.platform): { detached: boolean; windowsHide: true } {
  return { detached: platform !== 'win32', windowsHide: true };
}

/** Starts ending the tree of `pid` (a hook spawned with `hookSpawnOptions`). */
export function killTree(pid: number, options: KillTreeOptions): TreeKill {
  const platform = options.platform ?? process.platform;
  if (platform === 'win32') {
    const spawn = options.spawn ?? (nodeSpawn as SpawnLike);
    const taskkill = (...extra: string[]): void => {
      try {
        const child = spawn('taskkill', ['/PID', String(pid), '/T', ...extra], { windowsHide: true, stdio: 'ignore' });
        child.on('error', () => undefined); // taskkill missing or failing: nothing better to do
      } catch {
        // same
      }
    };
    taskkill();
    const force = setTimeout(() => taskkill('/F'), options.graceMs);
    force.unref();
    // Windows reuses process ids quickly: once the hook is gone, /T /F on its pid could end an
    // unrelated tree. (Its children can no longer be found from it anyway.)
    return { leaderExited: () => clearTimeout(force) };
  }
  const killGroup = options.killGroup ?? ((pgid: number, signal: NodeJS.Signals) => process.kill(-pgid, signal));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      killGroup(pid, sig);
    } catch {
      // ESRCH: the whole group is gone
    }
  };
  signal('SIGTERM');
  // Kept after the leader exits: a child that ignores SIGTERM is still in the group, and the group
  // id cannot be reused while one member lives.
  setTimeout(() => signal('SIGKILL'), options.graceMs).unref();
  return { leaderExited: () => undefined };
}
