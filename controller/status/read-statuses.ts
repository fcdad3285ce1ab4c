import git from 'isomorphic-git';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { parseRawTree } from '../desired/git-tree-source.ts';
import { gitFs as fs } from '../git/git-fs.ts';
import { readRef } from '../git/swap-ref.ts';
import { readBlobBytes } from '../git/read-blob.ts';
import { STATUS_DIR } from './format.ts';
import { parseStatusFile } from './render-status.ts';

/**
 * The statuses last committed on `branch` (`status/<kind>/<name>.yaml`): after a restart,
 * the previous status each reconciler is given — the only memory a reconciler has (the
 * last sync run of a distribution server, when a rollout started). A file a person mangled
 * is skipped (the target starts as if new), never an error.
 */
export async function readCommittedStatuses(gitdir: string, branch: string): Promise<Map<TargetId, TargetStatus>> {
  const out = new Map<TargetId, TargetStatus>();
  const head = await readRef(gitdir, `refs/heads/${branch}`);
  if (head === null) return out;
  const cache = {};
  const { commit } = await git.readCommit({ fs, gitdir, oid: head, cache });
  const statusDir = (await entries(gitdir, commit.tree, cache)).find((e) => e.path === STATUS_DIR && e.type === 'tree');
  if (!statusDir) return out;
  for (const kindDir of await entries(gitdir, statusDir.oid, cache)) {
    if (kindDir.type !== 'tree') continue;
    for (const file of await entries(gitdir, kindDir.oid, cache)) {
      if (file.type !== 'blob' || !file.path.endsWith('.yaml')) continue;
      const { status } = parseStatusFile(Buffer.from(await readBlobBytes(gitdir, file.oid, cache)).toString('utf8'));
      if (status !== undefined && status.target === `${kindDir.path}/${file.path.slice(0, -5)}`) out.set(status.target, status);
    }
  }
  return out;
}

async function entries(gitdir: string, oid: string, cache: object) {
  const { type, object } = await git.readObject({ fs, gitdir, oid, format: 'content', cache });
  return type === 'tree' ? parseRawTree(object as Uint8Array) : [];
}
