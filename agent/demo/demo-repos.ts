/**
 * The demo's Git repositories, made with isomorphic-git (Node is the only requirement):
 *
 *  - `origin.git`, a **bare** repository holding `example-repo/` as its first commit. The
 *    controller watches it and commits status to it. Bare, so the controller's status commits
 *    never touch anyone's index or working files.
 *  - `work/`, a clone of it for the person trying the demo: edit, `git commit`, `git pull
 *    --rebase`, `git push` — exactly how desired state changes in production. It has
 *    `origin` configured with its branch tracking `origin/main`, and a local identity so a
 *    commit works out of the box (and `versiond audit` shows a name).
 *
 * Both receive the same objects (same tree, same commit, same timestamp), so the clone is a
 * true clone: `git status` is clean and `git log` shows the one commit both share.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { gitFs as fs } from '../../controller/git/git-fs.ts';

export interface DemoRepos {
  /** The bare repository (its gitdir). */
  readonly origin: string;
  /** The work clone (its work tree). */
  readonly work: string;
  readonly branch: string;
  /** The first commit. */
  readonly head: string;
}

const AUTHOR = { name: 'Ada Admin', email: 'ada@example.com' } as const;

/** Creates `<dir>/origin.git` and `<dir>/work` from the files of `source`. */
export async function createDemoRepos(dir: string, source: string, options: { branch?: string; now?: number } = {}): Promise<DemoRepos> {
  const branch = options.branch ?? 'main';
  const origin = join(dir, 'origin.git');
  const work = join(dir, 'work');
  const workGitdir = join(work, '.git');
  const timestamp = Math.floor((options.now ?? Date.now()) / 1000);
  const person = { ...AUTHOR, timestamp, timezoneOffset: 0 };

  await git.init({ fs, dir: origin, gitdir: origin, bare: true, defaultBranch: branch });
  await git.init({ fs, dir: work, defaultBranch: branch });

  const commitIn = async (gitdir: string): Promise<string> => {
    const tree = await writeTreeOf(gitdir, source);
    return git.writeCommit({ fs, gitdir, commit: { message: 'Initial desired state, from versiond\'s example-repo/\n', tree, parent: [], author: person, committer: person } });
  };
  const head = await commitIn(origin);
  const workHead = await commitIn(workGitdir);
  if (workHead !== head) throw new Error(`the work clone's first commit ${workHead} differs from origin's ${head}`);

  await git.writeRef({ fs, gitdir: origin, ref: `refs/heads/${branch}`, value: head, force: true });
  await git.writeRef({ fs, gitdir: workGitdir, ref: `refs/heads/${branch}`, value: head, force: true });
  await git.writeRef({ fs, gitdir: workGitdir, ref: `refs/remotes/origin/${branch}`, value: head, force: true });
  const config: [string, string][] = [
    ['remote.origin.url', origin],
    ['remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'],
    [`branch.${branch}.remote`, 'origin'],
    [`branch.${branch}.merge`, `refs/heads/${branch}`],
    ['user.name', AUTHOR.name],
    ['user.email', AUTHOR.email],
  ];
  for (const [path, value] of config) await git.setConfig({ fs, gitdir: workGitdir, path, value });
  // Fills the working files and the index from the commit: `git status` is clean.
  await git.checkout({ fs, dir: work, gitdir: workGitdir, ref: branch, force: true });
  return { origin, work, branch, head };
}

/** Writes the blobs and trees of a folder into `gitdir`; returns the tree id. Only files and folders are taken. */
async function writeTreeOf(gitdir: string, folder: string): Promise<string> {
  const entries: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[] = [];
  for (const name of (await readdir(folder)).sort()) {
    if (name === '.git') continue;
    const path = join(folder, name);
    const st = await lstat(path);
    if (st.isDirectory()) entries.push({ mode: '040000', path: name, oid: await writeTreeOf(gitdir, path), type: 'tree' });
    else if (st.isFile()) {
      const oid = await git.writeBlob({ fs, gitdir, blob: await readFile(path) });
      entries.push({ mode: st.mode & 0o111 ? '100755' : '100644', path: name, oid, type: 'blob' });
    }
  }
  return git.writeTree({ fs, gitdir, tree: entries });
}
