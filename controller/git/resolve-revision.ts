import git from 'isomorphic-git';
import { gitFs as fs } from './git-fs.ts';

export class RevisionError extends Error {
  constructor(readonly rev: string, readonly detail: string) {
    super(`cannot resolve revision ${JSON.stringify(rev)}: ${detail}`);
  }
}

/**
 * Resolves what a person types as a revision — a branch, tag, remote branch, full or
 * abbreviated commit id, with `~N` / `^N` suffixes (`main~1`, `HEAD^2`) — to a commit id,
 * with isomorphic-git (which has no rev-parse of its own). Annotated tags are peeled.
 */
export async function resolveRevision(gitdir: string, rev: string, cache: object = {}): Promise<string> {
  const m = /^(.*?)((?:[~^]\d*)*)$/.exec(rev.trim());
  const base = m?.[1] ?? '';
  const suffix = m?.[2] ?? '';
  if (base === '') throw new RevisionError(rev, 'empty revision');
  let oid: string | undefined;
  try {
    oid = await git.resolveRef({ fs, gitdir, ref: base });
  } catch {
    if (/^[0-9a-f]{4,40}$/i.test(base)) {
      try {
        oid = await git.expandOid({ fs, gitdir, oid: base.toLowerCase(), cache });
      } catch (err) {
        throw new RevisionError(rev, (err as Error).message);
      }
    }
  }
  if (!oid) throw new RevisionError(rev, 'no branch, tag or commit by that name');
  oid = await peelToCommit(gitdir, oid, rev, cache);
  for (const step of suffix.match(/[~^]\d*/g) ?? []) {
    const n = step.length > 1 ? Number(step.slice(1)) : 1;
    if (step[0] === '~') {
      for (let i = 0; i < n; i++) oid = await parent(gitdir, oid, 1, rev, cache);
    } else if (n > 0) {
      oid = await parent(gitdir, oid, n, rev, cache);
    }
  }
  return oid;
}

async function peelToCommit(gitdir: string, oid: string, rev: string, cache: object): Promise<string> {
  for (let depth = 0; depth < 10; depth++) {
    const obj = await git.readObject({ fs, gitdir, oid, format: 'parsed', cache });
    if (obj.type === 'commit') return oid;
    if (obj.type === 'tag') {
      oid = (obj.object as { object: string }).object;
      continue;
    }
    throw new RevisionError(rev, `${oid.slice(0, 7)} is a ${obj.type}, not a commit`);
  }
  throw new RevisionError(rev, 'tag chain too long');
}

async function parent(gitdir: string, oid: string, n: number, rev: string, cache: object): Promise<string> {
  const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
  const p = commit.parent[n - 1];
  if (!p) throw new RevisionError(rev, `commit ${oid.slice(0, 7)} has no parent number ${n}`);
  return p;
}
