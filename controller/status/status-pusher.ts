/**
 * Pushes the status commits of the controller's clone to the remote (issue 3, item 4).
 *
 * `push()` pushes local `refs/heads/<branch>` to the remote's branch with isomorphic-git,
 * never with `force`. When a person's push landed first (non-fast-forward, found by
 * isomorphic-git before sending, or a ref update the server refused because the branch
 * moved meanwhile), it backs off, fetches the branch and REBUILDS the status commit on top
 * of the new remote head, then pushes again (at most `maxAttempts` pushes, with exponential
 * backoff `backoffMs`, 2×, 4×, …):
 *
 * - The rebuilt commit's tree is the new remote head's tree with its `status/` entry
 *   replaced by the local branch's `status/` (status files belong to the controller);
 *   every other entry is the remote's as it is, so a person's change is kept untouched.
 *   Its parent is the new remote head, its message the one of our latest status commit.
 * - Our unpushed status commits are squashed into that one commit: the per-target history
 *   lives in the status files' `history`, which the squash keeps (the files are ours, whole).
 * - Before rebuilding, every unpushed local commit is checked to change nothing but
 *   `status/` (one parent each): anything else would be lost by the rebuild, so the pusher
 *   refuses (`StatusPushError`) rather than drop it.
 * - Nothing is ever forced: the remote only ever moves by fast-forward, so a person's
 *   commit stays an ancestor of the branch.
 *
 * The local branch is moved to the rebuilt commit by compare-and-swap with Git's lock-file
 * protocol (`<gitdir>/refs/heads/<branch>.lock`, created exclusively, ref re-read under it,
 * renamed over the ref), the same protocol as `StatusWriter`; the clone is private to the
 * controller, but the writer may commit in between: then the swap fails, and the next
 * attempt rebuilds from the writer's newer commit. No reflog entry is written.
 *
 * URLs and errors in logs and thrown messages are redacted (`git-credentials.ts`).
 */
import { signCommit, type SshSigningKey } from '../trust/ssh-signer.ts';
import git from 'isomorphic-git';
import type { GitAuth } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import { parseRawTree } from '../desired/git-tree-source.ts';
import { gitFs as fs } from '../git/git-fs.ts';
import { asMissingObject } from '../git/missing-object.ts';
import { redactText, remoteAccess } from '../source/git-credentials.ts';
import { swapRef } from '../git/swap-ref.ts';
import type { SourceLogger } from '../source/remote-source.ts';
import { STATUS_DIR } from './format.ts';

export interface StatusPusherOptions {
  /** The controller's clone's git directory (`RemoteSource.gitdir`). */
  readonly gitdir: string;
  /** The remote, `https://host/org/repo.git` (http too); userinfo is taken as credentials, never logged. */
  readonly url: string;
  /** The branch pushed (local `refs/heads/<branch>` → remote `refs/heads/<branch>`). Default `main`. */
  readonly branch?: string;
  /** As for `RemoteSource`: Basic `token:x-oauth-basic`, or `username:token`. */
  readonly credentials?: { readonly token?: string; readonly username?: string };
  readonly logger?: SourceLogger;
  /** Pushes tried before giving up. Default 5. */
  readonly maxAttempts?: number;
  /** First backoff after a rejection, doubled each time. Default 200 ms. */
  readonly backoffMs?: number;
  /** Test hook: runs before every push request. */
  readonly beforePush?: () => Promise<void>;
  /** Sign a rebuilt status commit with this key (as the status writer signs its own). */
  readonly signingKey?: SshSigningKey;
}

/** Pushing failed for good (kept rejected, or refused to rebuild); the message is redacted. */
export class StatusPushError extends Error {}

const NOOP_LOGGER: SourceLogger = { info() {}, warn() {} };

interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: string;
}

export class StatusPusher {
  readonly url: string;
  readonly branch: string;
  private readonly gitdir: string;
  private readonly pushUrl: string;
  private readonly auth: GitAuth | undefined;
  private readonly secrets: readonly string[];
  private readonly logger: SourceLogger;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly beforePush: (() => Promise<void>) | undefined;
  private readonly signingKey: SshSigningKey | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: StatusPusherOptions) {
    const access = remoteAccess(options.url, options.credentials);
    this.pushUrl = access.url;
    this.url = access.displayUrl;
    this.auth = access.auth;
    this.secrets = access.secrets;
    this.gitdir = options.gitdir;
    this.branch = options.branch ?? 'main';
    this.logger = options.logger ?? NOOP_LOGGER;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.backoffMs = Math.max(0, options.backoffMs ?? 200);
    this.beforePush = options.beforePush;
    this.signingKey = options.signingKey;
  }

  /** Pushes the local branch; calls run one after the other. 'up-to-date': nothing of ours to push. */
  push(): Promise<'pushed' | 'up-to-date'> {
    const run = this.queue.then(
      () => this.pushNow(),
      () => this.pushNow(),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async pushNow(): Promise<'pushed' | 'up-to-date'> {
    const localRef = `refs/heads/${this.branch}`;
    const trackingRef = `refs/remotes/origin/${this.branch}`;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const local = await git.resolveRef({ fs, gitdir: this.gitdir, ref: localRef });
      const tracking = await this.tryResolve(trackingRef);
      if (tracking !== null && (local === tracking || (await this.isAncestor(local, tracking)))) return 'up-to-date';
      await this.beforePush?.();
      try {
        await git.push({
          fs,
          http: nodeHttp,
          gitdir: this.gitdir,
          url: this.pushUrl,
          remote: 'origin',
          ref: localRef,
          remoteRef: localRef,
          force: false,
          onAuth: this.onAuth,
        });
        this.logger.info({ url: this.url, branch: this.branch, revision: local, attempt }, 'status pushed');
        return 'pushed';
      } catch (err) {
        if (!isRejection(err)) throw this.wrap(err, 'pushing status failed');
        const retryInMs = this.backoffMs * 2 ** (attempt - 1);
        this.logger.warn(
          { url: this.url, branch: this.branch, attempt, retryInMs, err: this.redact(err) },
          'status push rejected (the branch moved); fetching and rebuilding on top',
        );
        if (attempt === this.maxAttempts) break;
        await sleep(retryInMs);
      }
      try {
        await git.fetch({
          fs,
          http: nodeHttp,
          gitdir: this.gitdir,
          remote: 'origin',
          url: this.pushUrl,
          ref: this.branch,
          remoteRef: this.branch,
          singleBranch: true,
          tags: false,
          onAuth: this.onAuth,
        });
      } catch (err) {
        throw this.wrap(err, 'fetching before rebuilding the status commit failed');
      }
      const head = await git.resolveRef({ fs, gitdir: this.gitdir, ref: trackingRef });
      await this.rebuild(localRef, local, head);
    }
    throw new StatusPushError(
      `could not push status to ${this.url} (${this.branch}) after ${this.maxAttempts} attempts: the branch kept moving`,
    );
  }

  /**
   * Moves the local branch from `local` onto `head`: one commit, `head`'s tree with our
   * `status/`. When that changes nothing, the local branch simply moves to `head`.
   */
  private async rebuild(ref: string, local: string, head: string): Promise<void> {
    if (local === head || (await this.isAncestor(local, head))) return;
    const ours = await this.unpushed(local, head);
    const latest = await git.readCommit({ fs, gitdir: this.gitdir, oid: local });
    const ourStatus = (await this.treeEntries(latest.commit.tree)).find((e) => e.path === STATUS_DIR && e.type === 'tree');
    const headCommit = await git.readCommit({ fs, gitdir: this.gitdir, oid: head });
    const theirs = await this.treeEntries(headCommit.commit.tree);
    const entries = theirs.filter((e) => e.path !== STATUS_DIR);
    if (ourStatus) entries.push(ourStatus);
    const tree = await git.writeTree({ fs, gitdir: this.gitdir, tree: entries as Parameters<typeof git.writeTree>[0]['tree'] });
    let next = head;
    if (tree !== headCommit.commit.tree) {
      const now = Math.floor(Date.now() / 1000);
      next = await git.writeCommit({
        fs,
        gitdir: this.gitdir,
        commit: {
          message: latest.commit.message,
          tree,
          parent: [head],
          author: latest.commit.author,
          committer: { ...latest.commit.committer, timestamp: now },
        },
      });
      if (this.signingKey !== undefined) next = await signCommit(this.gitdir, next, this.signingKey);
    }
    const swapped = await swapRef(this.gitdir, ref, local, next);
    this.logger.info(
      { branch: this.branch, from: local, onto: head, revision: next, squashed: ours, swapped },
      swapped === 'ok' ? 'status commit rebuilt on the new remote head' : 'local branch moved while rebuilding; trying again',
    );
  }

  /** How many commits `local` has beyond `head`; throws when one of them changes more than `status/`. */
  private async unpushed(local: string, head: string): Promise<number> {
    const bases = await git.findMergeBase({ fs, gitdir: this.gitdir, oids: [local, head] });
    const base = bases[0] as string | undefined;
    let oid = local;
    let count = 0;
    while (oid !== base) {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid });
      const parent = commit.parent[0];
      if (commit.parent.length !== 1 || parent === undefined) {
        throw new StatusPushError(`local commit ${oid} on ${this.branch} is not a status commit (it has ${commit.parent.length} parents); refusing to rebuild it`);
      }
      const parentTree = (await git.readCommit({ fs, gitdir: this.gitdir, oid: parent })).commit.tree;
      if (!sameOutsideStatus(await this.treeEntries(commit.tree), await this.treeEntries(parentTree))) {
        throw new StatusPushError(`local commit ${oid} on ${this.branch} changes more than ${STATUS_DIR}/; refusing to rebuild it`);
      }
      oid = parent;
      count++;
    }
    return count;
  }

  /** Raw entries (parsed here: `git.readTree` refuses trees holding names such as `..`). */
  private async treeEntries(oid: string): Promise<TreeEntry[]> {
    const { type, object } = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content' });
    if (type !== 'tree') throw new Error(`object ${oid} is a ${type}, not a tree`);
    return parseRawTree(object as Uint8Array);
  }

  private async isAncestor(ancestor: string, oid: string): Promise<boolean> {
    if (ancestor === oid) return true;
    return git.isDescendent({ fs, gitdir: this.gitdir, oid, ancestor, depth: -1 });
  }

  private async tryResolve(ref: string): Promise<string | null> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref });
    } catch {
      return null;
    }
  }

  private readonly onAuth = (): GitAuth | void => (this.auth ? { ...this.auth } : undefined);

  private redact(err: unknown): string {
    const msg = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
    return redactText(msg, this.secrets);
  }

  private wrap(err: unknown, what: string): Error {
    if (err instanceof StatusPushError) return err;
    // A lost object in the clone stays recognisable (GIT_OBJECT_MISSING): the clone is made again.
    const missing = asMissingObject(err, this.gitdir, 'clone');
    if (missing) return missing;
    const e = new StatusPushError(`${what}: ${this.redact(err)}`);
    this.logger.warn({ url: this.url, branch: this.branch, err: e.message }, what);
    return e;
  }
}

/** A push refused because the remote branch is not where we build on (client check or server's ref update). */
function isRejection(err: unknown): boolean {
  const e = err as { code?: string; data?: { reason?: string } } | null;
  if (e?.code === 'PushRejectedError') return e.data?.reason === 'not-fast-forward';
  return e?.code === 'GitPushError';
}

function sameOutsideStatus(a: readonly TreeEntry[], b: readonly TreeEntry[]): boolean {
  const key = (es: readonly TreeEntry[]) =>
    es
      .filter((e) => e.path !== STATUS_DIR)
      .map((e) => `${e.mode} ${e.path} ${e.oid}`)
      .sort()
      .join('\n');
  return key(a) === key(b);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
