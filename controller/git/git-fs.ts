import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createInflate } from 'node:zlib';
import { syncDirectory } from '../fs/sync-directory.ts';

/**
 * The `fs` every isomorphic-git call in versiond receives.
 *
 * isomorphic-git wraps the `fs` it is given on *every* API call, and each wrap probes it by
 * calling `readFile()` with no arguments twice to learn whether it returns promises. With
 * Node's own `fs` each probe builds an ERR_INVALID_ARG_TYPE error with a stack trace: about
 * 0.8 s of a 10,000-file load (bench/desired-load.bench.ts). This object answers the probe
 * with a ready-made rejection and passes other calls to `node:fs/promises`, except:
 *
 * Crash safety of the object store (issue 14, item 4). isomorphic-git writes an object
 * file in place and never rewrites one that exists, so a kill in mid-write left a truncated
 * object for good (`git fsck`: corrupt). Here:
 * - objects and packs are written to a temporary file beside them (`tmp_obj_*`,
 *   `tmp_pack_*`: the names Git uses, which `git gc` cleans up), flushed, renamed into
 *   place, and the directory flushed: the file is whole or absent, and on disk before the
 *   call returns, so before any ref can point at it;
 * - a new object directory (`objects/ab`) is flushed into `objects/`;
 * - asked whether a loose object exists (isomorphic-git's check before writing one), a
 *   file that does not inflate to content with its id (torn by a power cut, say) answers
 *   "no", so the object is written again over it.
 */
const PROBE_ANSWER = Object.assign(new Error('readFile called without a path'), { code: 'ERR_INVALID_ARG_TYPE' });

const LOOSE_OBJECT = /[\\/]objects[\\/]([0-9a-f]{2})[\\/]([0-9a-f]{38})$/;
const PACK_FILE = /[\\/]objects[\\/]pack[\\/]pack-[0-9a-f]+\.[a-z]+$/;
const OBJECT_DIR = /[\\/]objects[\\/][0-9a-f]{2}$/;

type WriteData = string | Uint8Array;
type WriteOptions = Parameters<typeof fsp.writeFile>[2];

/** Writes `path` whole or not at all, durably: temporary file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(
  path: string,
  data: WriteData,
  options?: WriteOptions,
  prefix = 'tmp_obj_',
): Promise<void> {
  await writeViaRename(path, data, options, prefix, true);
}

/**
 * A temporary file renamed over `path`, so readers see it whole or not at all; `durable` also
 * flushes the file before the rename and the directory after it.
 */
async function writeViaRename(
  path: string,
  data: WriteData,
  options: WriteOptions | undefined,
  prefix: string,
  durable: boolean,
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${prefix}${randomBytes(6).toString('hex')}`);
  const mode = typeof options === 'object' && options?.mode !== undefined ? options.mode : 0o666;
  // ENOENT when the directory is missing: isomorphic-git then creates it and asks again.
  let handle: fsp.FileHandle | undefined = await fsp.open(tmp, 'wx', mode);
  let renamed = false;
  try {
    await handle.writeFile(data, typeof options === 'string' ? options : { encoding: options?.encoding ?? null });
    if (durable) await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
    renamed = true;
    if (durable) await syncDirectory(dir);
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    if (!renamed) await fsp.unlink(tmp).catch(() => undefined);
  }
}

/** Whether the loose object file at `path` inflates to content whose id is its name (streamed: any size). */
export async function looseObjectIsSound(path: string): Promise<boolean> {
  const m = LOOSE_OBJECT.exec(path);
  if (!m) return false;
  const hash = createHash('sha1');
  try {
    await pipeline(createReadStream(path), createInflate(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) hash.update(chunk);
    });
  } catch {
    return false;
  }
  return hash.digest('hex') === m[1]! + m[2]!;
}

async function writeFile(path: string, data: WriteData, options?: WriteOptions): Promise<void> {
  if (LOOSE_OBJECT.test(path)) return writeFileAtomic(path, data, options, 'tmp_obj_');
  if (PACK_FILE.test(path)) return writeFileAtomic(path, data, options, 'tmp_pack_');
  return fsp.writeFile(path, data, options);
}

async function stat(path: string, ...rest: unknown[]): Promise<unknown> {
  const st = await (fsp.stat as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
  if (LOOSE_OBJECT.test(path) && !(await looseObjectIsSound(path))) {
    // A torn object must not block its own rewrite: say it is not there.
    const err = new Error(`ENOENT: damaged object file, stat '${path}'`);
    throw Object.assign(err, { code: 'ENOENT', errno: -2, syscall: 'stat', path });
  }
  return st;
}

async function mkdir(path: string, ...rest: unknown[]): Promise<unknown> {
  const made = await (fsp.mkdir as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
  // A new `objects/ab` must survive a power cut with the object renamed into it.
  if (OBJECT_DIR.test(path)) await syncDirectory(dirname(path));
  return made;
}

const promises = {
  readFile: (...args: unknown[]) =>
    args.length === 0 ? Promise.reject(PROBE_ANSWER) : (fsp.readFile as (...a: unknown[]) => Promise<unknown>)(...args),
  writeFile,
  mkdir,
  rmdir: fsp.rmdir,
  rm: fsp.rm,
  unlink: fsp.unlink,
  stat,
  lstat: fsp.lstat,
  readdir: fsp.readdir,
  readlink: fsp.readlink,
  symlink: fsp.symlink,
  chmod: fsp.chmod,
};

export const gitFs = { promises };

/** A `gitFs` whose loose objects are made durable together, by `flush()`: see `batchedGitFs`. */
export interface BatchedGitFs {
  readonly fs: typeof gitFs;
  /** Loose objects written or found through `fs` since the last flush, not yet flushed. */
  readonly unflushed: number;
  /** Flushes them and their directories, all at once; throws if any file cannot be flushed. */
  flush(): Promise<void>;
}

/**
 * `gitFs` for writing several objects that one ref update will name (issue 16): each loose
 * object is still whole or absent (temporary file, renamed into place), but none is flushed
 * on its own. `flush()` then flushes every one of them, and their directories, in parallel:
 * a status commit's five objects cost about one fsync of latency instead of ten in a row.
 * The caller must flush before any ref may name them, so a power cut can never leave a ref
 * pointing at a missing object. An object isomorphic-git finds already there (it then
 * writes nothing) is flushed too: an earlier attempt may have written it without a flush.
 */
export function batchedGitFs(): BatchedGitFs {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const note = (path: string) => {
    files.add(path);
    dirs.add(dirname(path));
  };
  const batched = {
    ...promises,
    async writeFile(path: string, data: WriteData, options?: WriteOptions): Promise<void> {
      if (!LOOSE_OBJECT.test(path)) return writeFile(path, data, options);
      await writeViaRename(path, data, options, 'tmp_obj_', false); // flushed with the others
      note(path);
    },
    async stat(path: string, ...rest: unknown[]): Promise<unknown> {
      const st = await stat(path, ...rest);
      if (LOOSE_OBJECT.test(path)) note(path); // there and sound: flushed with the others
      return st;
    },
  };
  return {
    fs: { promises: batched },
    get unflushed() {
      return files.size;
    },
    async flush(): Promise<void> {
      const paths = [...files];
      const folders = [...dirs];
      files.clear();
      dirs.clear();
      const results = await Promise.allSettled([...paths.map(syncFile), ...folders.map(syncDirectory)]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) {
        for (const path of paths) note(path); // still not known to be on disk: flushed again next time
        throw failed.reason;
      }
    },
  };
}

async function syncFile(path: string): Promise<void> {
  const handle = await fsp.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
