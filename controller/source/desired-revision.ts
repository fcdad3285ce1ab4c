/**
 * "The desired revision" of a branch tip (issue 14, item 6): the newest commit on the tip's
 * first-parent line whose desired folders (the kind folders, not `status/`) differ from its
 * first parent's — a root commit counts as a change. The controller's status commits, a
 * README edit, a merge that brings no desired change: none is a desired revision, so
 * `Versiond-Revision`, `observedRevision` and `versiond audit` never name one.
 *
 * Cheap: it compares the desired folders' tree ids (`desiredFingerprint`), two object reads a
 * commit, walking back only while they are equal; results are cached per commit, so a new tip
 * stops at the first commit already resolved. The walk is bounded (`maxWalk`, 10,000 commits):
 * beyond it the oldest commit reached is named (its desired state is the same as the tip's),
 * as it is when the parent's objects are missing.
 */
import git from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';
import { missingObjectId } from '../git/missing-object.ts';
import { desiredFingerprint } from './desired-fingerprint.ts';

const CACHE_LIMIT = 20_000;

export class DesiredRevisionResolver {
  /** Commit → its desired revision. */
  private readonly resolved = new Map<string, string>();

  constructor(
    private readonly gitdir: string,
    private readonly maxWalk = 10_000,
  ) {}

  async resolve(tip: string, cache: object = {}): Promise<string> {
    const known = this.resolved.get(tip);
    if (known !== undefined) return known;
    const seen: string[] = [];
    let at = tip;
    let fingerprint = await desiredFingerprint(this.gitdir, at, cache);
    let answer: string | undefined;
    for (let steps = 0; answer === undefined; steps++) {
      seen.push(at);
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid: at, cache });
      const parent = commit.parent[0];
      if (parent === undefined || steps >= this.maxWalk) {
        answer = at;
        break;
      }
      let parentFingerprint: string;
      try {
        parentFingerprint = await desiredFingerprint(this.gitdir, parent, cache);
      } catch (err) {
        // A lost parent (or a shallow history) cannot be compared: name the commit we can read.
        if (missingObjectId(err) === undefined) throw err;
        answer = at;
        break;
      }
      if (parentFingerprint !== fingerprint) answer = at;
      else {
        at = parent;
        fingerprint = parentFingerprint;
        answer = this.resolved.get(at);
      }
    }
    if (this.resolved.size + seen.length > CACHE_LIMIT) this.resolved.clear();
    for (const oid of seen) this.resolved.set(oid, answer);
    return answer;
  }
}
