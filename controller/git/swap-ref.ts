import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { gitFs as fs } from './git-fs.ts';

export type SwapResult = 'ok' | 'moved' | 'locked';

/**
 * Sets `ref` to `next` only if it still is `expected` (`null`: the ref does not exist),
 * with Git's own lock-file protocol: create `<ref>.lock` exclusively, re-read the ref while
 * holding it, write the new id into the lock and rename it over the ref. That is a real
 * compare-and-swap against any git process, which isomorphic-git's writeRef (a lock inside
 * one process) is not. Objects are still written by isomorphic-git; only the ref file is
 * handled here. A lock held by someone else is `locked` and is never removed. No reflog
 * entry is written.
 */
export async function swapRef(gitdir: string, ref: string, expected: string | null, next: string): Promise<SwapResult> {
  const refPath = join(gitdir, ref);
  const lockPath = `${refPath}.lock`;
  await mkdir(dirname(refPath), { recursive: true });
  let handle: FileHandle | undefined;
  try {
    handle = await open(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'locked';
    throw err;
  }
  let renamed = false;
  try {
    if ((await readRef(gitdir, ref)) !== expected) return 'moved';
    await handle.writeFile(`${next}\n`, 'utf8');
    await handle.close();
    handle = undefined;
    await rename(lockPath, refPath);
    renamed = true;
    return 'ok';
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    if (!renamed) await unlink(lockPath).catch(() => undefined);
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
