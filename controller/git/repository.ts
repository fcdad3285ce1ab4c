import * as fs from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where `--repo DIR` points. A directory with `.git` is a Git work tree and is read from
 * Git at a revision (never from its working files, unless asked); a bare repository is
 * read from Git too; any other directory is a plain folder read as files.
 */
export type RepositoryLocation =
  | { readonly type: 'git'; readonly dir: string; readonly gitdir: string; readonly bare: boolean }
  | { readonly type: 'folder'; readonly dir: string };

export class RepositoryNotFoundError extends Error {}

export function locateRepository(dirArg: string): RepositoryLocation {
  const dir = resolve(dirArg);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new RepositoryNotFoundError(`${dirArg}: no such directory`);
  }
  if (!st.isDirectory()) throw new RepositoryNotFoundError(`${dirArg}: not a directory`);
  const dotGit = join(dir, '.git');
  const dotGitStat = fs.statSync(dotGit, { throwIfNoEntry: false });
  if (dotGitStat?.isDirectory()) return { type: 'git', dir, gitdir: dotGit, bare: false };
  if (dotGitStat?.isFile()) {
    // A linked work tree or submodule: `.git` is a file saying `gitdir: <path>`.
    const m = /^gitdir:\s*(.+)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m) return { type: 'git', dir, gitdir: resolve(dir, m[1]!), bare: false };
  }
  if (fs.existsSync(join(dir, 'HEAD')) && fs.statSync(join(dir, 'objects'), { throwIfNoEntry: false })?.isDirectory()) {
    return { type: 'git', dir, gitdir: dir, bare: true };
  }
  return { type: 'folder', dir };
}
