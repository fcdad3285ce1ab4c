import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { syncDirectory } from '../fs/sync-directory.ts';
import { gitFs as fs } from './git-fs.ts';

export type SwapResult = 'ok' | 'moved' | 'locked';

/**
 * Sets `ref` to `next` only if it still is `expected` (`null`: the ref does not exist),
 * with Git's own lock-file protocol: create `<ref>.lock` exclusively, re-read the ref while
 * holding it, write the new id into the lock and rename it over the ref. That is a real
 * compare-and-swap against any git process, which isomorphic-git's writeRef (a lock inside
 * one process) is not. Objects are still written by isomorphic-git; only the ref file is
 * handled here. A lock held by someone else is `locked`. No reflog entry is written.
 *
 * A stale lock — older than `staleLockMs` (default 10 s) — is removed, then the swap is
 * tried again. Git and the controller hold a ref lock for milliseconds, so a lock that old
 * was left by a process killed between creating and renaming it (the controller SIGKILLed
 * inside a status commit, a crashed `git`): left alone it would block every later status
 * commit, and every push of people, forever. `onStaleLock` is told (for the logs).
 */
export async function swapRef(
  gitdir: string,
  ref: string,
  expected: string | null,
  next: string,
  options: {
    readonly staleLockMs?: number;
    readonly now?: () => number;
    readonly onStaleLock?: (path: string, ageMs: number) => void;
    /**
     * Settles once the objects `next` names are on disk (`batchedGitFs().flush()`): awaited
     * before the rename, alongside the lock file's own flush, so the two cost one fsync of
     * latency. A rejection fails the swap and leaves the ref as it was.
     */
    readonly durable?: Promise<void>;
  } = {},
): Promise<SwapResult> {
  // Handled here: it may reject while the lock is being taken, before it is awaited below.
  options.durable?.catch(() => undefined);
  const refPath = join(gitdir, ref);
  const lockPath = `${refPath}.lock`;
  await mkdir(dirname(refPath), { recursive: true });
  let handle: FileHandle | undefined;
  for (let attempt = 0; handle === undefined; attempt++) {
    try {
      handle = await open(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = attempt === 0 ? await lockAge(lockPath, options.now ?? Date.now) : undefined;
      if (age === undefined || age < (options.staleLockMs ?? 10_000)) return 'locked';
      options.onStaleLock?.(lockPath, age);
      await unlink(lockPath).catch(() => undefined);
    }
  }
  let renamed = false;
  try {
    if ((await readRef(gitdir, ref)) !== expected) return 'moved';
    await handle.writeFile(`${next}\n`, 'utf8');
    // Flushed before the rename, and the rename flushed after: a power cut leaves the old
    // ref or the new one, never an empty file, and never one naming an object not on disk.
    await Promise.all([handle.sync(), options.durable]);
    await handle.close();
    handle = undefined;
    await rename(lockPath, refPath);
    renamed = true;
    await syncDirectory(dirname(refPath));
    return 'ok';
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    if (!renamed) await unlink(lockPath).catch(() => undefined);
  }
}

async function lockAge(lockPath: string, now: () => number): Promise<number | undefined> {
  try {
    return now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return undefined; // gone meanwhile: the caller reports `locked`, the next attempt succeeds
  }
}

/** The commit a ref points at, or `null` when it does not exist. */
export async function readRef(gitdir: string, ref: string): Promise<string | null> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return null;
    throw err;
  }
}
