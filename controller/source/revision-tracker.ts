import git from 'isomorphic-git';
import type { Diagnostic } from '../desired/diagnostics.ts';
import { gitFs as fs } from '../git/git-fs.ts';
import { DesiredStateLoader, type DesiredState, type LoaderOptions } from '../desired/load-desired-state.ts';
import { GitTreeSource } from '../desired/git-tree-source.ts';
import { TreeListingCache } from '../desired/tree-listing-cache.ts';
import { desiredFingerprint } from './desired-fingerprint.ts';
import { DesiredRevisionResolver } from './desired-revision.ts';
import { categoryOf, messageOf } from '../../reconcilers/model/errors.ts';
import type { AllowedSigners } from '../trust/allowed-signers.ts';
import { describeSignature, verifyCommit } from '../trust/commit-signature.ts';

export type RevisionOutcome =
  /** A new desired state, valid as a whole: the controller acts on it from now on. */
  | { readonly kind: 'applied'; readonly revision: string; readonly state: DesiredState }
  /** A new desired state with errors: the controller keeps acting on the last valid one. */
  | { readonly kind: 'invalid'; readonly revision: string; readonly diagnostics: readonly Diagnostic[] }
  /** The same desired state as the last revision seen (e.g. the controller's own status commit). */
  | { readonly kind: 'unchanged'; readonly revision: string };

/** What `restore` did with a revision recorded by an earlier run. */
export type RestoreOutcome =
  | { readonly kind: 'restored'; readonly revision: string; readonly state: DesiredState }
  | { readonly kind: 'refused'; readonly revision: string; readonly reason: string };

/**
 * Which revision of the watched branch the controller acts on. A new commit is loaded and
 * validated as a whole; only a valid one replaces `lastApplied` (Flux's
 * lastAppliedRevision), an invalid one is recorded as `lastAttempted` with its errors and
 * changes nothing else. A commit whose desired folders are identical to the last one seen
 * — a status commit, a README edit — is `unchanged` and triggers no reconcile.
 *
 * The revision named (`revision`, the state's `revision`, so `observedRevision` and
 * `Versiond-Revision`) is the tip's desired revision (`desired-revision.ts`): the newest
 * commit that changed the desired folders, never a status commit at the tip (issue 14, item 6).
 */
export class RevisionTracker {
  private readonly loader: DesiredStateLoader;
  private readonly trees = new TreeListingCache();
  private objectCache = {};
  private readonly revisions: DesiredRevisionResolver;
  private lastFingerprint: string | undefined;
  private applied: DesiredState | undefined;
  private attempted: { revision: string; diagnostics: readonly Diagnostic[] } | undefined;

  /**
   * `verify`: act only on desired revisions signed by a key in this list (`--verify-commits`).
   * `loader`: options of the desired-state loader (the controller gives it a parse cache).
   */
  constructor(private readonly gitdir: string, private readonly verify?: AllowedSigners, loader: LoaderOptions = {}) {
    this.loader = new DesiredStateLoader(loader);
    this.revisions = new DesiredRevisionResolver(gitdir);
  }

  /**
   * Why `revision` may not be acted on under --verify-commits, else undefined. The desired
   * revision is checked, not the tip: a commit's signature covers its whole tree, and status
   * commits above it change nothing the controller reads.
   */
  private async unverified(revision: string): Promise<Diagnostic | undefined> {
    if (this.verify === undefined) return undefined;
    const sig = await verifyCommit(this.gitdir, revision, this.verify, this.objectCache);
    if (sig.state === 'good') return undefined;
    const data = { commit: revision, signature: describeSignature(sig), file: this.verify.file };
    return {
      code: 'REVISION_UNVERIFIED', category: categoryOf('REVISION_UNVERIFIED'), severity: 'error',
      path: '.', line: 1, column: 1, message: messageOf('REVISION_UNVERIFIED', data), data,
    };
  }

  /** Drops isomorphic-git's object cache (pack indexes): after objects went missing or the clone was replaced. */
  forgetObjects(): void {
    this.objectCache = {};
  }

  /** The desired state the controller acts on, if any revision was ever valid. */
  get lastApplied(): DesiredState | undefined {
    return this.applied;
  }

  /** The last revision that was invalid, with its errors, until a newer one is valid. */
  get lastAttempted(): { revision: string; diagnostics: readonly Diagnostic[] } | undefined {
    return this.attempted;
  }

  async consider(commit: string): Promise<RevisionOutcome> {
    const fingerprint = await desiredFingerprint(this.gitdir, commit, this.objectCache);
    if (fingerprint === this.lastFingerprint) return { kind: 'unchanged', revision: commit };
    const revision = await this.revisions.resolve(commit, this.objectCache);
    const refusal = await this.unverified(revision);
    if (refusal !== undefined) {
      this.lastFingerprint = fingerprint;
      this.attempted = { revision, diagnostics: [refusal] };
      return { kind: 'invalid', revision, diagnostics: [refusal] };
    }
    const state = await this.loader.load(new GitTreeSource(this.gitdir, revision, this.trees, this.objectCache));
    this.lastFingerprint = fingerprint;
    if (!state.valid) {
      this.attempted = { revision, diagnostics: state.diagnostics };
      return { kind: 'invalid', revision, diagnostics: state.diagnostics };
    }
    this.applied = state;
    this.attempted = undefined;
    return { kind: 'applied', revision, state };
  }

  /**
   * After a restart whose first revision (`head`) was invalid: takes `given`, the revision
   * an earlier run acted on (`status/source/<branch>.yaml`), as last applied — if it is still
   * valid and `head` is it or descends from it (a force-push that dropped it is not followed).
   * A long-running controller would still act on it; a restarted one must decide the same.
   * The invalid head stays the last attempt, and the fingerprint stays the head's.
   */
  async restore(given: string, head: string): Promise<RestoreOutcome> {
    let recorded = given;
    const refused = (reason: string): RestoreOutcome => ({ kind: 'refused', revision: recorded, reason });
    if (this.applied !== undefined) return refused('a revision is already applied');
    if (!/^[0-9a-f]{40}$/.test(recorded)) return refused('not a commit id');
    try {
      // An older run may have recorded its own status commit: name the desired commit below it.
      recorded = await this.revisions.resolve(recorded, this.objectCache);
      const cache = this.objectCache;
      const within = recorded === head
        || (await git.isDescendent({ fs, gitdir: this.gitdir, oid: head, ancestor: recorded, depth: -1, cache }));
      if (!within) return refused(`not an ancestor of the branch head ${head.slice(0, 7)}`);
      const refusal = await this.unverified(recorded);
      if (refusal !== undefined) return refused(refusal.message);
      const state = await this.loader.load(new GitTreeSource(this.gitdir, recorded, this.trees, this.objectCache));
      if (!state.valid) return refused('it is not valid (any more)');
      this.applied = state;
      return { kind: 'restored', revision: recorded, state };
    } catch (err) {
      return refused((err as Error).message);
    }
  }
}
