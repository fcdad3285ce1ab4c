/**
 * Writes status files to Git as commits (issue 3, item 3), straight into the object
 * database with isomorphic-git: blobs, trees and a commit object, then the branch ref.
 * Never the working tree, never the index: a person may have uncommitted edits there.
 *
 * - A target's file is committed only when its rendered text changed (`render-status.ts`).
 * - Coalescing: a target committed less than `coalesceMs` ago (default 5 s) is not committed
 *   again now; its latest status waits (a newer one replaces it) until `flushDue()` /
 *   `flush()` or a later `write()` after the interval, so a busy rollout makes at most one
 *   commit per target per interval. History entries of the statuses that waited are kept:
 *   each new status is rendered on top of the one waiting.
 * - Only `status/` changes: the new root tree reuses every other entry's id, and only the
 *   trees on the way to the changed files are written.
 * - The branch ref moves by compare-and-swap, with Git's own lock-file protocol (below): a
 *   person's commit that lands while the writer works is kept, and the status commit is
 *   rebuilt on top of it (at most `maxAttempts` times). Nothing is ever forced.
 * - `statusBranch`: commits go to that branch instead (created from the watched branch's
 *   head when missing), and the watched branch is never written.
 *
 * Updating the ref. isomorphic-git's `writeRef` has no compare-and-swap: it rewrites the
 * ref file in place under an in-process lock only, so between re-reading the ref and
 * writing it a `git commit` from another process could land and be silently dropped. The
 * writer therefore does what Git itself does (refs/files-backend): it creates
 * `<gitdir>/refs/heads/<branch>.lock` exclusively (O_CREAT|O_EXCL), re-reads the ref
 * *while holding the lock*, writes the new id into the lock file and renames it over the
 * ref (atomic). `git commit`, `git merge`, `git fetch`… take the same lock and check the
 * old value under it, so the swap is atomic against every Git process: no commit of a
 * person can be lost. What remains:
 *   - while the writer holds the lock (a few milliseconds), a person's `git commit` fails
 *     with "Unable to create '…/main.lock': File exists" and must be run again (nothing is
 *     lost: their index is still staged);
 *   - if the controller dies between creating and renaming the lock, the stale
 *     `main.lock` blocks ref updates of that branch (as after a crashed `git`) until it is
 *     10 seconds old: then the next status commit removes it (`swapRef`), since no live
 *     git holds a ref lock that long;
 *   - no reflog entry is written (isomorphic-git writes none either).
 *
 * A lost object (issue 14, item 5). The writer never builds on a commit it cannot read:
 *   - the status branch's (`statusBranch`) commit is missing: the status commit is rebuilt
 *     from the watched branch's head (parent: that head; status/: the statuses given), and
 *     the status branch moves to it by compare-and-swap. It is the controller's own branch;
 *     the lost commit was its status, which the next reconciles write again;
 *   - a tree or file under `status/` is missing: it counts as absent, and the files given
 *     are written into a new `status/` tree (other targets' files there come back with
 *     their next reconcile);
 *   - the watched branch's own commit or root tree is missing: a person's branch is never
 *     moved anywhere but forward, so `GIT_OBJECT_MISSING` is thrown, naming the object.
 *
 * A warning for operators: if the branch written is the one checked out in a non-bare
 * repository that people also commit from, that checkout's index does not follow the
 * status commits (the writer must not touch it), so `git status` there shows `status/`
 * files as staged deletions/reverts, and a `git commit` from it would revert them. Give
 * the controller its own clone (or a bare one), or use `statusBranch`.
 */
import { signCommit, type SshSigningKey } from '../trust/ssh-signer.ts';
import git from 'isomorphic-git';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { parseRawTree } from '../desired/git-tree-source.ts';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { batchedGitFs, gitFs as fs, type BatchedGitFs } from '../git/git-fs.ts';
import { asMissingObject, missingObjectId } from '../git/missing-object.ts';
import { readRef, swapRef } from '../git/swap-ref.ts';
import { BlobTooLargeError, readBlobBytes } from '../git/read-blob.ts';
import { commitMessage, type StatusChange, type SubjectStatus } from './commit-subject.ts';
import { statusPath } from './format.ts';
import { StatusRenderer } from './render-status.ts';

export interface StatusWriterOptions {
  /** The repository's git directory (`.git`, or the repository itself when bare). */
  readonly gitdir: string;
  /** The watched (desired) branch. Default `main`. */
  readonly branch?: string;
  /** Write status to this branch instead of `branch` (created from `branch`'s head when missing). */
  readonly statusBranch?: string;
  /** Author and committer. Default `versiond <versiond@localhost>`. */
  readonly author?: { readonly name: string; readonly email: string };
  /** At most one commit per target per this many milliseconds. Default 5000. */
  readonly coalesceMs?: number;
  /** The clock (epoch ms): coalescing, history times, commit dates. Default `Date.now`. */
  readonly now?: () => number;
  /** Ref updates tried before giving up when the branch keeps moving or stays locked. Default 5. */
  readonly maxAttempts?: number;
  /** Test hook: runs after the commit object is written and before the ref is swapped. */
  readonly beforeRefUpdate?: () => Promise<void>;
  /** A ref lock left by a killed process was removed (see `swapRef`): for the logs. */
  readonly onStaleLock?: (path: string, ageMs: number) => void;
  /** A status commit was made around a lost object: rebuilt from the watched branch, or status/ written again. */
  readonly onRepaired?: (repair: StatusRepair) => void;
  /** Sign each status commit with this key (SSH signature; on when --verify-commits is). */
  readonly signingKey?: SshSigningKey;
}

/** What `onRepaired` is told: the object lost, the status commit made, the watched branch's head it starts from. */
export interface StatusRepair {
  readonly lost: string;
  readonly commit: string;
  readonly rebuiltFrom?: string;
}

export interface StatusUpdate {
  readonly status: TargetStatus;
}

/** The branch kept moving or stayed locked for every attempt; the statuses stay pending. */
export class StatusCommitConflictError extends Error {}

interface Pending {
  readonly target: string;
  readonly path: string;
  readonly status: TargetStatus;
  /** The rendered file. */
  readonly text: string;
  /** Epoch ms from which it may be committed. */
  readonly dueAt: number;
  /** Insertion order, so commits list targets in the order they were first given. */
  readonly seq: number;
  /** Update order: the newest status gives the commit's Versiond-Revision. */
  readonly version: number;
}

interface Built {
  readonly base: Base;
  readonly oid: string;
  readonly targets: string[];
  /** Settles once the commit's new objects are on disk. */
  readonly durable: Promise<void>;
}

interface Base {
  /** The ref written, `refs/heads/<name>`. */
  readonly ref: string;
  /** Its value now (`null`: the status branch does not exist yet). */
  readonly expected: string | null;
  /** The commit the status commit goes on top of. */
  readonly parent: string;
  readonly tree: string;
  /** The status branch's commit that was lost, when `parent` is the watched branch's head instead. */
  readonly lost?: string;
}


const DEFAULT_AUTHOR = { name: 'versiond', email: 'versiond@localhost' } as const;
const BLOB_MODE = '100644';
const TREE_MODE = '040000';
/** Trees remembered by id: those on the way to status files, and the root (see `trees`). */
const TREES_KEPT = 64;

type TreeEntry = { mode: string; path: string; oid: string; type: string };

export class StatusWriter {
  private readonly gitdir: string;
  private readonly branch: string;
  private readonly statusBranch: string | undefined;
  private readonly author: { readonly name: string; readonly email: string };
  private readonly coalesceMs: number;
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly beforeRefUpdate: (() => Promise<void>) | undefined;
  private readonly onStaleLock: ((path: string, ageMs: number) => void) | undefined;
  private readonly onRepaired: StatusWriterOptions['onRepaired'];
  private readonly signingKey: SshSigningKey | undefined;
  /** A missing object under status/ met while building: reported once the commit lands. */
  private lostUnderStatus: string | undefined;

  /** isomorphic-git's object cache (pack indexes, parsed objects), dropped after an error. */
  private cache: object = {};
  private readonly pending = new Map<string, Pending>();
  private readonly lastCommitAt = new Map<string, number>();
  /** Renders status files, remembering the last ones: a large account costs what changed (issue 16). */
  private readonly renderer = new StatusRenderer();
  /**
   * What the writer wrote or read, by object id (issue 16): objects never change, so the next
   * commit reads nothing it already knows. Trees by id (bounded, oldest dropped first); the
   * tree of each commit the writer made; the text of each status file's last blob. A commit or
   * blob is trusted only while its loose object file is still there (a lost one must be seen:
   * see "A lost object" above); a tree is only ever used to build new trees, so it is not.
   */
  private readonly trees = new Map<string, readonly TreeEntry[]>();
  private readonly commitTrees = new Map<string, string>();
  private readonly blobs = new Map<string, { readonly oid: string; readonly text: string }>();
  private seq = 0;
  /** Every public call runs after the previous one: a timer's flushDue may race the loop's write. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: StatusWriterOptions) {
    this.gitdir = options.gitdir;
    this.branch = checkBranchName(options.branch ?? 'main');
    const sb = options.statusBranch === undefined ? undefined : checkBranchName(options.statusBranch);
    this.statusBranch = sb !== undefined && sb !== this.branch ? sb : undefined;
    this.author = options.author ?? DEFAULT_AUTHOR;
    this.coalesceMs = Math.max(0, options.coalesceMs ?? 5000);
    this.now = options.now ?? Date.now;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.beforeRefUpdate = options.beforeRefUpdate;
    this.onStaleLock = options.onStaleLock;
    this.onRepaired = options.onRepaired;
    this.signingKey = options.signingKey;
  }

  /** The branch status commits go to. */
  get targetBranch(): string {
    return this.statusBranch ?? this.branch;
  }

  /**
   * Renders each status and commits the targets whose file changed and whose interval
   * elapsed (plus any earlier pending target now due), in one commit. Returns the new
   * commit id, or null when nothing was committed (nothing changed, or all coalesced).
   */
  write(updates: readonly StatusUpdate[]): Promise<string | null> {
    return this.serialized(async () => {
      const t = this.now();
      const base = await this.readBase();
      for (const { status } of updates) {
        const target = status.target;
        const path = statusPath(target);
        const committed = base ? await this.readFileAt(base.tree, path) : null;
        const waiting = this.pending.get(target);
        const text = this.renderer.render(status, waiting?.text ?? committed, t);
        if (text === committed) {
          this.pending.delete(target); // back to what the branch holds: nothing to write
          continue;
        }
        if (waiting && text === waiting.text) continue;
        const last = this.lastCommitAt.get(target);
        const dueAt = last === undefined ? t : Math.max(t, last + this.coalesceMs);
        const version = this.seq++;
        this.pending.set(target, { target, path, status, text, dueAt, seq: waiting?.seq ?? version, version });
      }
      return this.commitPending((p) => p.dueAt <= t);
    });
  }

  /** Commits every pending target now (shutdown). */
  flush(): Promise<string | null> {
    return this.serialized(() => this.commitPending(() => true));
  }

  /** Commits the pending targets whose interval has elapsed. */
  flushDue(): Promise<string | null> {
    return this.serialized(async () => {
      const t = this.now();
      return this.commitPending((p) => p.dueAt <= t);
    });
  }

  /** Milliseconds until the next pending target is due (0: now), `undefined` when none waits. */
  nextDueIn(): number | undefined {
    if (this.pending.size === 0) return undefined;
    const t = this.now();
    let min = Infinity;
    for (const p of this.pending.values()) min = Math.min(min, p.dueAt - t);
    return Math.max(0, min);
  }

  /** Targets waiting for their interval, in the order they were first given. */
  pendingTargets(): string[] {
    return [...this.pending.values()].sort((a, b) => a.seq - b.seq).map((p) => p.target);
  }

  // ------------------------------------------------------------------ committing

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitPending(select: (p: Pending) => boolean): Promise<string | null> {
    const chosen = [...this.pending.values()].filter(select).sort((a, b) => a.seq - b.seq);
    if (chosen.length === 0) return null;
    for (const p of chosen) this.pending.delete(p.target);
    try {
      return await this.commit(chosen);
    } catch (err) {
      // Keep them for the next call, unless a newer status arrived meanwhile (it cannot
      // while calls are serialized, but be safe).
      for (const p of chosen) if (!this.pending.has(p.target)) this.pending.set(p.target, p);
      this.cache = {};
      throw err;
    }
  }

  private async commit(entries: readonly Pending[]): Promise<string | null> {
    let built: Built | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const base = await this.readBase();
      if (!base) throw new Error(`branch ${this.branch} does not exist in ${this.gitdir}`);
      if (!built || built.base.parent !== base.parent || built.base.expected !== base.expected) {
        built = await this.build(base, entries);
        if (!built) return null; // the branch already holds exactly these files
      }
      await this.beforeRefUpdate?.();
      const options = { durable: built.durable, ...(this.onStaleLock ? { onStaleLock: this.onStaleLock } : {}) };
      const result = await swapRef(this.gitdir, base.ref, base.expected, built.oid, options);
      if (result === 'ok') {
        const t = this.now();
        for (const target of built.targets) this.lastCommitAt.set(target, t);
        const lost = built.base.lost ?? this.lostUnderStatus;
        this.lostUnderStatus = undefined;
        if (lost !== undefined) {
          const from = built.base.lost !== undefined ? { rebuiltFrom: built.base.parent } : {};
          this.onRepaired?.({ lost, commit: built.oid, ...from });
        }
        return built.oid;
      }
      // Moved: rebuild on the new head next time round. Locked: someone is updating it now.
      if (attempt < this.maxAttempts) await sleep(result === 'locked' ? 25 * attempt : 0);
    }
    throw new StatusCommitConflictError(
      `could not update ${this.targetBranch} after ${this.maxAttempts} attempts (it kept moving or stayed locked); status kept pending`,
    );
  }

  /** Writes the blobs, trees and commit for `entries` on top of `base`; undefined when nothing differs. */
  private async build(base: Base, entries: readonly Pending[]): Promise<Built | undefined> {
    const changes: StatusChange[] = [];
    const files = new Map<string, string>();
    const written: { path: string; oid: string; text: string }[] = [];
    let newest: Pending | undefined;
    // Objects are flushed together before the ref can name them (git-fs.ts: batchedGitFs).
    const batch = batchedGitFs();
    for (const e of entries) {
      const current = await this.readFileAt(base.tree, e.path);
      if (current === e.text) continue;
      const blob = await git.writeBlob({ fs: batch.fs, gitdir: this.gitdir, blob: Buffer.from(e.text, 'utf8') });
      files.set(e.path, blob);
      written.push({ path: e.path, oid: blob, text: e.text });
      const previous = current === null ? undefined : this.renderer.read(e.target, current).status;
      changes.push({ previous: previous && subjectView(previous), next: subjectView(e.status) });
      // One Versiond-Revision per commit: the newest status's (a target that waited may carry
      // an older one; each file records its own observedRevision).
      if (e.status.observedRevision !== null && (!newest || e.version > newest.version)) newest = e;
    }
    if (changes.length === 0) return undefined;
    const tree = await this.updateTree(base.tree, files, batch);
    const seconds = Math.floor(this.now() / 1000);
    const person = { name: this.author.name, email: this.author.email, timestamp: seconds, timezoneOffset: 0 };
    const unsigned = await git.writeCommit({
      fs: batch.fs,
      gitdir: this.gitdir,
      commit: { message: commitMessage(changes, newest?.status.observedRevision ?? null), tree, parent: [base.parent], author: person, committer: person },
    });
    // Flushed while swapRef takes the lock and flushes it: the ref moves only once both are done.
    const durable = batch.flush().then(() => {
      // Known from now on, whether or not the ref moves to this commit: objects never change.
      for (const w of written) this.blobs.set(w.path, { oid: w.oid, text: w.text });
    });
    durable.catch(() => undefined); // a failure is swapRef's to report (or moot when rebuilt)
    const key = this.signingKey;
    const oid = key === undefined ? unsigned : await signCommit(this.gitdir, unsigned, key);
    this.rememberCommit(oid, tree);
    return { base, oid, targets: changes.map((c) => c.next.target), durable };
  }

  /** A new tree: `treeOid` with `files` (paths relative to it → blob ids) set; other entries reused as they are. */
  private async updateTree(
    treeOid: string | null,
    files: ReadonlyMap<string, string>,
    batch: BatchedGitFs,
    root = true,
  ): Promise<string> {
    const entries = treeOid === null ? [] : root ? await this.readTreeEntries(treeOid) : await this.statusTree(treeOid);
    const here = new Map<string, string>();
    const below = new Map<string, Map<string, string>>();
    for (const [path, oid] of files) {
      const slash = path.indexOf('/');
      if (slash < 0) here.set(path, oid);
      else {
        const dir = path.slice(0, slash);
        const sub = below.get(dir) ?? new Map<string, string>();
        sub.set(path.slice(slash + 1), oid);
        below.set(dir, sub);
      }
    }
    const out = entries.filter((e) => !here.has(e.path) && !below.has(e.path));
    for (const [name, oid] of here) out.push({ mode: BLOB_MODE, path: name, oid, type: 'blob' });
    for (const [name, sub] of below) {
      const existing = entries.find((e) => e.path === name && e.type === 'tree');
      const oid = await this.updateTree(existing?.oid ?? null, sub, batch, false);
      out.push({ mode: TREE_MODE, path: name, oid, type: 'tree' });
    }
    const tree = out as Parameters<typeof git.writeTree>[0]['tree'];
    const oid = await git.writeTree({ fs: batch.fs, gitdir: this.gitdir, tree });
    this.rememberTree(oid, out);
    return oid;
  }

  // ------------------------------------------------------------------ reading

  /**
   * Where status goes now. A missing status branch starts at the watched branch's head
   * (expected old value null). Undefined when neither exists.
   */
  private async readBase(): Promise<Base | undefined> {
    const ref = `refs/heads/${this.targetBranch}`;
    let head = await this.readRef(ref);
    const expected = head;
    if (head === null && this.statusBranch !== undefined) head = await this.readRef(`refs/heads/${this.branch}`);
    if (head === null) return undefined;
    const known = this.commitTrees.get(head);
    if (known !== undefined && (await this.looseObjectExists(head))) {
      return { ref, expected, parent: head, tree: known };
    }
    try {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid: head, cache: this.cache });
      return { ref, expected, parent: head, tree: commit.tree };
    } catch (err) {
      const lost = missingObjectId(err);
      const rebuild = lost !== undefined && this.statusBranch !== undefined && expected === head;
      if (!rebuild) throw asMissingObject(err, this.gitdir, 'status') ?? err;
      // Our own branch lost its commit: start again from the watched branch's head.
      const from = await this.readRef(`refs/heads/${this.branch}`);
      if (from === null) throw asMissingObject(err, this.gitdir, 'status') ?? err;
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid: from, cache: this.cache });
      return { ref, expected, parent: from, tree: commit.tree, lost };
    }
  }

  /** Entries of a tree under status/; a lost one counts as empty (its files are written again). */
  private async statusTree(oid: string): Promise<readonly TreeEntry[]> {
    try {
      return await this.readTreeEntries(oid);
    } catch (err) {
      const lost = missingObjectId(err);
      if (lost === undefined) throw err;
      this.lostUnderStatus ??= lost;
      return [];
    }
  }

  private readRef(ref: string): Promise<string | null> {
    return readRef(this.gitdir, ref);
  }

  /** The text of the file at `path` in tree `treeOid`, or null. */
  private async readFileAt(treeOid: string, path: string): Promise<string | null> {
    const parts = path.split('/');
    let oid = treeOid;
    for (let i = 0; i < parts.length; i++) {
      const entries = i === 0 ? await this.readTreeEntries(oid) : await this.statusTree(oid);
      const entry = entries.find((e) => e.path === parts[i]);
      const last = i === parts.length - 1;
      if (!entry || entry.type !== (last ? 'blob' : 'tree')) return null;
      oid = entry.oid;
    }
    const known = this.blobs.get(path);
    if (known !== undefined && known.oid === oid && (await this.looseObjectExists(oid))) return known.text;
    try {
      return Buffer.from(await readBlobBytes(this.gitdir, oid, this.cache)).toString('utf8');
    } catch (err) {
      // Not ours (over 8 MiB): it differs from any status we render, so it gets replaced.
      if (err instanceof BlobTooLargeError) return '';
      // Lost: the same, it is written again.
      const lost = missingObjectId(err);
      if (lost === undefined) throw err;
      this.lostUnderStatus ??= lost;
      return '';
    }
  }

  /**
   * Raw tree entries. Parsed here rather than with `git.readTree`, which refuses a whole
   * tree holding a name such as `..`: the writer must carry such entries over untouched.
   */
  private async readTreeEntries(oid: string): Promise<readonly TreeEntry[]> {
    const known = this.trees.get(oid);
    if (known !== undefined) return known;
    const { type, object } = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.cache });
    if (type !== 'tree') throw new Error(`object ${oid} is a ${type}, not a tree`);
    const entries = parseRawTree(object as Uint8Array);
    this.rememberTree(oid, entries);
    return entries;
  }

  private rememberTree(oid: string, entries: readonly TreeEntry[]): void {
    this.trees.delete(oid); // re-inserted last: the least recently remembered go first
    this.trees.set(oid, entries);
    if (this.trees.size > TREES_KEPT) this.trees.delete(this.trees.keys().next().value!);
  }

  private rememberCommit(oid: string, tree: string): void {
    this.commitTrees.clear(); // only the newest matters: the next commit goes on top of it
    this.commitTrees.set(oid, tree);
  }

  /** Whether the object is still there as a loose file (one stat; packed or lost: false, so it is read). */
  private async looseObjectExists(oid: string): Promise<boolean> {
    try {
      await access(join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2)));
      return true;
    } catch {
      return false;
    }
  }
}

function subjectView(s: TargetStatus): SubjectStatus {
  return { target: s.target, phase: s.phase, summary: s.summary, members: s.members };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** A branch name Git accepts and that cannot escape `refs/heads/` (a subset of git-check-ref-format). */
function checkBranchName(name: string): string {
  const ok =
    /^[A-Za-z0-9._/-]+$/.test(name) &&
    !name.startsWith('-') &&
    !name.split('/').some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock')) &&
    !name.includes('..') &&
    !name.endsWith('.');
  if (!ok) throw new Error(`invalid branch name ${JSON.stringify(name)}`);
  return name;
}
