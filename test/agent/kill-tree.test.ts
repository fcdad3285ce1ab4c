/**
 * Ending a hook with its process tree: for real on Linux (a grandchild must not survive), and for
 * Windows the taskkill commands that would be run, with an injected spawn.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HooksDriver } from '../../agent/reference/drivers/hooks-driver.ts';
import { hookSpawnOptions, killTree, type SpawnLike } from '../../agent/reference/drivers/kill-tree.ts';
import { command, tempDir, waitUntil, writeHook } from './helpers/agent-kit.ts';

/** Whether process `pid` still runs (a zombie waiting to be reaped does not; Linux /proc). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat);
}

async function pidIn(file: string): Promise<number> {
  const written = async (): Promise<boolean> => (await readFile(file, 'utf8').catch(() => '')).trim() !== '';
  await waitUntil(written, `${file} to be written`, 2_000);
  return Number((await readFile(file, 'utf8')).trim());
}

const backup = command('hacluster/ums-prod', 'ums-2', 'backup', { version: '12.08.110' });

describe('killTree on Linux, for real', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const leftovers: number[] = [];
  beforeEach(async () => {
    dir = await tempDir('kill-tree');
  });
  afterEach(async () => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    await dir.remove();
  });

  it('ends a hook that timed out together with its grandchild (`sleep 60 &` then `wait`)', async () => {
    await writeHook(dir.path, 'backup', 'echo $$ > hook.pid\nsleep 60 &\necho $! > child.pid\nwait');
    await writeFile(join(dir.path, 'hooks.json'), JSON.stringify({ backup: { timeout: '500ms' } }));
    const run = new HooksDriver(dir.path, { killGraceMs: 1_000 }).run(backup, {});
    const hook = await pidIn(join(dir.path, 'hook.pid'));
    const child = await pidIn(join(dir.path, 'child.pid'));
    leftovers.push(hook, child);
    expect(await running(child)).toBe(true);
    expect(await run).toEqual({ ok: false, message: 'hook backup timed out after 500 ms and was killed' });
    const gone = async (): Promise<boolean> => !(await running(child)) && !(await running(hook));
    await waitUntil(gone, `the hook ${hook} and its child ${child} to be gone`, 2_000);
  });

  it('forces, after the grace, a grandchild that ignores SIGTERM, even though the hook itself has exited', async () => {
    // The subshell ignores TERM and so does the `sleep` it becomes; the hook's shell dies of the TERM.
    await writeHook(dir.path, 'backup', `(trap '' TERM; exec sleep 60) &\necho $! > child.pid\nwait`);
    const outcome = await new HooksDriver(dir.path, { timeoutMs: 300, killGraceMs: 1_500 }).run(backup, {});
    const child = await pidIn(join(dir.path, 'child.pid'));
    leftovers.push(child);
    expect(outcome).toEqual({ ok: false, message: 'hook backup timed out after 300 ms and was killed' });
    // The outcome came with the hook's own end, within the grace: the grandchild still lived then.
    expect(await running(child)).toBe(true);
    await waitUntil(async () => !(await running(child)), `the grandchild ${child} to be killed after the grace`, 3_000);
  });

  it('signals the process group of a process spawned with hookSpawnOptions', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      ...hookSpawnOptions('linux'),
    });
    const grandchild = await new Promise<number>((resolve) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    leftovers.push(child.pid!, grandchild);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
    killTree(child.pid!, { graceMs: 5_000, platform: 'linux' });
    expect(await exited).toBe('SIGTERM');
    await waitUntil(async () => !(await running(grandchild)), `the grandchild ${grandchild} to be gone`, 2_000);
  });
});

describe('killTree, checked with injected functions', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A spawn that records what it was asked to run. */
  interface Call {
    readonly command: string;
    readonly args: readonly string[];
    readonly options: SpawnOptions;
  }
  function recordingSpawn(): { spawn: SpawnLike; calls: Call[] } {
    const calls: Call[] = [];
    return {
      calls,
      spawn: (cmd, args, options) => {
        calls.push({ command: cmd, args, options });
        return { on: () => undefined };
      },
    };
  }

  it('on Windows runs taskkill /T, then taskkill /T /F once the grace is over, hidden', () => {
    const { spawn: fake, calls } = recordingSpawn();
    killTree(4242, { graceMs: 5_000, platform: 'win32', spawn: fake });
    expect(calls.map((c) => [c.command, ...c.args])).toEqual([['taskkill', '/PID', '4242', '/T']]);
    vi.advanceTimersByTime(4_999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls.map((c) => [c.command, ...c.args])).toEqual([
      ['taskkill', '/PID', '4242', '/T'],
      ['taskkill', '/PID', '4242', '/T', '/F'],
    ]);
    expect(calls.every((c) => c.options.windowsHide === true)).toBe(true);
  });

  it('on Windows does not force a pid whose hook has already exited (Windows reuses pids)', () => {
    const { spawn: fake, calls } = recordingSpawn();
    const tree = killTree(4242, { graceMs: 5_000, platform: 'win32', spawn: fake });
    vi.advanceTimersByTime(1_000);
    tree.leaderExited();
    vi.advanceTimersByTime(10_000);
    expect(calls.map((c) => c.args)).toEqual([['/PID', '4242', '/T']]);
  });

  it('on Windows survives a taskkill that cannot be started', () => {
    const throwing: SpawnLike = () => {
      throw new Error('spawn taskkill ENOENT');
    };
    expect(() => killTree(7, { graceMs: 10, platform: 'win32', spawn: throwing })).not.toThrow();
    expect(() => vi.advanceTimersByTime(10)).not.toThrow();
    const failing: SpawnLike = () => ({ on: (_event, listener) => listener(new Error('spawn taskkill ENOENT')) });
    expect(() => killTree(7, { graceMs: 10, platform: 'win32', spawn: failing })).not.toThrow();
  });

  it('on POSIX sends SIGTERM to the process group, then SIGKILL after the grace, even after the leader exited', () => {
    const sent: Array<[number, NodeJS.Signals]> = [];
    const killGroup = (pgid: number, sig: NodeJS.Signals): void => void sent.push([pgid, sig]);
    const tree = killTree(4242, { graceMs: 5_000, platform: 'linux', killGroup });
    expect(sent).toEqual([[4242, 'SIGTERM']]);
    tree.leaderExited();
    vi.advanceTimersByTime(5_000);
    expect(sent).toEqual([[4242, 'SIGTERM'], [4242, 'SIGKILL']]);
  });

  it('on POSIX ignores a group that is already gone', () => {
    const gone = (): void => {
      throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    };
    expect(() => killTree(4242, { graceMs: 10, platform: 'darwin', killGroup: gone })).not.toThrow();
    expect(() => vi.advanceTimersByTime(10)).not.toThrow();
  });

  it('spawns hooks in their own process group on POSIX only: on Windows `detached` would open a console', () => {
    expect(hookSpawnOptions('linux')).toEqual({ detached: true, windowsHide: true });
    expect(hookSpawnOptions('darwin')).toEqual({ detached: true, windowsHide: true });
    expect(hookSpawnOptions('win32')).toEqual({ detached: false, windowsHide: true });
  });
});
