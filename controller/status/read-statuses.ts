import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { parseRawTree } from '../desired/git-tree-source.ts';
import { gitFs as fs } from '../git/git-fs.ts';
import { readRef } from '../git/swap-ref.ts';
import { BlobTooLargeError, readBlobBytes } from '../git/read-blob.ts';
import { STATUS_DIR } from './format.ts';
import { parseStatusFile } from './render-status.ts';

/** A status file bigger than this is not one the controller wrote: skipped like a mangled one. */
const MAX_STATUS_BYTES = 8 * 1024 * 1024;

/** The statuses read from one `status/` folder, and the files that could not be read as a status. */
export interface StatusesRead {
  readonly statuses: Map<TargetId, TargetStatus>;
  /** `status/<kind>/<name>.yaml` paths skipped: not a readable status of that target. */
  readonly skipped: readonly string[];
}

/**
 * The statuses last committed on `branch` (`status/<kind>/<name>.yaml`): after a restart,
 * the previous status each reconciler is given — the only memory a reconciler has (the
 * last sync run of a distribution server, when a rollout started). A file a person mangled
 * is skipped (the target starts as if new), never an error.
 */
export async function readCommittedStatuses(gitdir: string, branch: string): Promise<Map<TargetId, TargetStatus>> {
  const head = await readRef(gitdir, `refs/heads/${branch}`);
  if (head === null) return new Map();
  return (await readStatusesAt(gitdir, head)).statuses;
}

/** The statuses in the tree of `commit` (a commit id): what `run` would have read with that commit as head. */
export async function readStatusesAt(gitdir: string, commit: string, cache: object = {}): Promise<StatusesRead> {
  const statuses = new Map<TargetId, TargetStatus>();
  const skipped: string[] = [];
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
  const statusDir = (await entries(gitdir, c.tree, cache)).find((e) => e.path === STATUS_DIR && e.type === 'tree');
  if (!statusDir) return { statuses, skipped };
  for (const kindDir of await entries(gitdir, statusDir.oid, cache)) {
    if (kindDir.type !== 'tree') continue;
    for (const file of await entries(gitdir, kindDir.oid, cache)) {
      if (!file.path.endsWith('.yaml')) continue;
      const path = `${STATUS_DIR}/${kindDir.path}/${file.path}`;
      // Symbolic links (mode 120000) are blobs too: never read as a status.
      const text = file.type === 'blob' && file.mode !== '120000'
        ? await statusText(gitdir, file.oid, cache)
        : undefined;
      add(statuses, skipped, path, `${kindDir.path}/${file.path.slice(0, -5)}`, text);
    }
  }
  return { statuses, skipped };
}

/** Over MAX_STATUS_BYTES: refused from the object header, unread, and skipped like a mangled file. */
async function statusText(gitdir: string, oid: string, cache: object): Promise<string | undefined> {
  try {
    return Buffer.from(await readBlobBytes(gitdir, oid, cache, MAX_STATUS_BYTES)).toString('utf8');
  } catch (err) {
    if (err instanceof BlobTooLargeError) return undefined;
    throw err;
  }
}

/**
 * The statuses in a plain folder's `status/` (not a Git repository: `plan --repo example-repo`),
 * parsed as from Git. Symbolic links are never followed, as for desired files.
 */
export async function readStatusFolder(dir: string): Promise<StatusesRead> {
  const statuses = new Map<TargetId, TargetStatus>();
  const skipped: string[] = [];
  const root = join(dir, STATUS_DIR);
  const st = await fsp.lstat(root).catch(() => undefined);
  if (!st?.isDirectory()) return { statuses, skipped };
  for (const kindDir of sorted(await fsp.readdir(root, { withFileTypes: true }))) {
    if (!kindDir.isDirectory()) continue;
    for (const file of sorted(await fsp.readdir(join(root, kindDir.name), { withFileTypes: true }))) {
      if (!file.name.endsWith('.yaml')) continue;
      const full = join(root, kindDir.name, file.name);
      const size = file.isFile() ? (await fsp.stat(full)).size : Infinity;
      const text = size <= MAX_STATUS_BYTES ? await fsp.readFile(full, 'utf8') : undefined;
      const target = `${kindDir.name}/${file.name.slice(0, -5)}`;
      add(statuses, skipped, `${STATUS_DIR}/${target}.yaml`, target, text);
    }
  }
  return { statuses, skipped };
}

/** Keeps a status only when it parses and names the target its path says. */
function add(
  out: Map<TargetId, TargetStatus>,
  skipped: string[],
  path: string,
  target: string,
  text: string | undefined,
): void {
  const status = text === undefined ? undefined : parseStatusFile(text).status;
  if (status !== undefined && status.target === target) out.set(status.target, status);
  else skipped.push(path);
}

function sorted<T extends { name: string }>(xs: T[]): T[] {
  return xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function entries(gitdir: string, oid: string, cache: object) {
  const { type, object } = await git.readObject({ fs, gitdir, oid, format: 'content', cache });
  return type === 'tree' ? parseRawTree(object as Uint8Array) : [];
}
