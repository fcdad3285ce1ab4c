import git from 'isomorphic-git';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
import { gitFs as fs } from '../git/git-fs.ts';

/**
 * What a commit's desired state is, in one string: the tree id of each kind folder, plus
 * every other top-level entry the loader reads — folders and `*.yaml`/`*.yml` files that may
 * hold a document filed in the wrong place (issue 14, item 12), and `.versiondignore`. Two
 * commits with the same fingerprint read as exactly the same desired state (and the same
 * problems), whatever else differs: `status/`, hidden entries, a README. That is how the
 * controller tells its own status commits from a person's change.
 */
export async function desiredFingerprint(gitdir: string, commit: string, cache: object): Promise<string> {
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
  const { tree } = await git.readTree({ fs, gitdir, oid: c.tree, cache });
  const kinds = DESIRED_FOLDERS.map((folder) => `${folder}:${tree.find((e) => e.path === folder && e.type === 'tree')?.oid ?? '-'}`);
  const others = tree
    .filter((e) => !DESIRED_FOLDERS.includes(e.path) && readByLoader(e.path, e.type))
    .map((e) => `${e.path}:${e.oid}`);
  return [...kinds, ...others].join(' ');
}

function readByLoader(path: string, type: string): boolean {
  if (path === '.versiondignore') return true;
  if (path === 'status' || path.startsWith('.')) return false;
  return type === 'tree' || /\.ya?ml$/i.test(path);
}
