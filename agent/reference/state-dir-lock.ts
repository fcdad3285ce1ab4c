/**
 * One agent per state directory. Two agents sharing one would reuse sequence numbers and
 * run the same command twice, so the second refuses to start. The lock is a file holding
 * the owner's pid, created exclusively; a lock left by a process that no longer exists (a
 * killed agent) is taken over, since a crash must never keep the agent from coming back.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class StateDirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<StateDirLock> {
    const path = join(dir, 'agent.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o600);
        await fh.writeFile(`${process.pid}\n`);
        await fh.close();
        return new StateDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
          throw new Error(
            `${path}: the state directory is in use by process ${owner}${owner === process.pid ? ' (another agent in this process)' : ''}; two agents must not share one state directory`,
          );
        }
        await rm(path, { force: true }); // left by a process that is gone: take it over
      }
    }
    throw new Error(`${path}: could not take the lock of the state directory`);
  }

  async release(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
