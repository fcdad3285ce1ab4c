import git from 'isomorphic-git';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
import { gitFs as fs } from '../git/git-fs.ts';

/**
 * What a commit's desired state is, in one string: the tree id of each desired-state folder.
 * Two commits with the same fingerprint declare exactly the same desired state, whatever
 * else differs — which is how the controller tells its own status commits (they change
 * only status/) from a person's change, and never re-reconciles because of them.
 */
export async function desiredFingerprint(gitdir: string, commit: string, cache: object): Promise<string> {
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
  const { tree } = await git.readTree({ fs, gitdir, oid: c.tree, cache });
  return DESIRED_FOLDERS.map((folder) => `${folder}:${tree.find((e) => e.path === folder && e.type === 'tree')?.oid ?? '-'}`).join(' ');
}
