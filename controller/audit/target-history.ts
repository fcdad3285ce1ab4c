import type { AllowedSigners } from '../trust/allowed-signers.ts';
import { describeSignature, verifyCommit } from '../trust/commit-signature.ts';
import git from 'isomorphic-git';
import { parse as parseYaml } from 'yaml';
import { isKind, type AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { DESIRED_FOLDERS, targetId } from '../../reconcilers/model/identity.ts';
import { parseRawTree } from '../desired/git-tree-source.ts';
import { DEFAULT_MAX_FILE_BYTES, parseDesiredFile } from '../desired/parse-document.ts';
import { isYamlPath } from '../desired/source.ts';
import { gitFs as fs } from '../git/git-fs.ts';
import { BlobTooLargeError, readBlobBytes } from '../git/read-blob.ts';
import { diffDesired, type FieldChange } from '../plan/desired-diff.ts';
import { parseTrailers, STATUS_DIR, statusPath } from '../status/format.ts';

/**
 * The history of targets read from Git, for `versiond audit`: every desired change (who,
 * when, which field from what to what, the pull/merge request) interleaved with the status
 * commits the controller wrote afterwards (which phase each target reached, when).
 *
 * Only the first-parent history of the branch is walked: that is the sequence of states the
 * branch — and so the controller — went through. A merged pull request appears once, as its
 * merge commit, with everything it changed. Everything is read with isomorphic-git.
 */

export interface Person {
  readonly name: string;
  readonly email: string;
}

export interface DesiredTargetChange {
  /** `kind/name`; `null` when the document could be identified on neither side. */
  readonly target: string | null;
  /**
   * `added`, `removed`, `changed` (fields lists what; empty when only comments or layout
   * changed), `moved` (same content, another file), `unreadable` (its file no longer parses).
   */
  readonly change: 'added' | 'removed' | 'changed' | 'moved' | 'unreadable';
  readonly path: string;
  /** The file the document was in before, when it moved. */
  readonly previousPath?: string;
  readonly fields: readonly FieldChange[];
  /** Why a side could not be read (`YAML_SYNTAX at 3:7`), when one could not. */
  readonly problem?: string;
}

export interface DesiredEvent {
  readonly type: 'desired';
  readonly commit: string;
  /** When the commit landed on the branch (committer time), ISO-8601 UTC. */
  readonly date: string;
  readonly author: Person;
  /** When the author wrote it (differs from `date` for rebased or merged work). */
  readonly authorDate: string;
  readonly committer: Person;
  readonly subject: string;
  /** Pull/merge-request and review references found in the message: `PR #42`, `MR !45`, URLs. */
  readonly references: readonly string[];
  readonly merge: boolean;
  readonly changes: readonly DesiredTargetChange[];
  /** Who signed the commit (`signed by alice@example.com (SHA256:…)`, `not signed`), when asked with a signers list. */
  readonly signature?: string;
}

export interface StatusTargetEntry {
  readonly target: string;
  readonly phase: string | null;
  /** The status file's `summary` at that commit, or the commit subject. */
  readonly summary: string;
}

export interface StatusEvent {
  readonly type: 'status';
  readonly commit: string;
  readonly date: string;
  readonly author: Person;
  readonly subject: string;
  /** The desired commit reconciled (`Versiond-Revision`). */
  readonly revision: string | null;
  readonly targets: readonly StatusTargetEntry[];
}

export type AuditEvent = DesiredEvent | StatusEvent;

export interface TargetHistory {
  /** The commit the walk started from. */
  readonly head: string;
  readonly since: string | null;
  readonly target: string | null;
  /** Oldest first. Filtered to `target` when one was asked for. */
  readonly events: readonly AuditEvent[];
  /** First-parent commits looked at. */
  readonly commits: number;
}

export interface TargetHistoryOptions {
  readonly gitdir: string;
  /** Commit id to walk back from. */
  readonly head: string;
  /** Only commits that landed at or after this instant (epoch ms). */
  readonly since?: number;
  /** `kind/name`: only events about this target. */
  readonly target?: string;
  /** isomorphic-git's object cache (packfile indexes), shared across reads. */
  readonly cache?: object;
  /** Check each desired change's commit signature against this list (`audit --verify-commits`). */
  readonly signers?: AllowedSigners;
}

interface TreeEntry {
  readonly mode: string;
  readonly path: string;
  readonly oid: string;
  readonly type: string;
}

interface CommitInfo {
  readonly oid: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly author: Person & { readonly timestamp: number };
  readonly committer: Person & { readonly timestamp: number };
}

export async function readTargetHistory(options: TargetHistoryOptions): Promise<TargetHistory> {
  const { gitdir, head } = options;
  const cache = options.cache ?? {};
  const reader = new TreeReader(gitdir, cache);

  // Newest to oldest along first parents, stopping at --since (like `git log --first-parent
  // --since`). Each commit's root tree is asked for as soon as the commit is seen: reading
  // objects is mostly waiting on the file system, so those reads overlap with the walk.
  const walked: CommitInfo[] = [];
  let boundary: string | null = null; // the root tree just before the oldest commit kept
  for (let oid: string | undefined = head; oid !== undefined; ) {
    const c = await readCommitInfo(gitdir, oid, cache);
    reader.prefetch(c.tree);
    if (options.since !== undefined && c.committer.timestamp * 1000 < options.since) {
      boundary = c.tree;
      break;
    }
    walked.push(c);
    oid = c.parents[0];
  }
  walked.reverse();

  const events: AuditEvent[] = [];
  let before = boundary === null ? EMPTY_ROOT : await reader.summary(boundary);
  // Each commit walked → its desired revision (the newest one at or below it that changed the
  // desired folders): a trailer an older controller wrote naming its own status commit
  // (issue 14, item 6) is shown as the desired commit it stood for.
  const desiredAt = new Map<string, string>();
  let lastDesired: string | undefined;
  for (const c of walked) {
    const after = await reader.summary(c.tree);
    if (after.folders.some((f, i) => f !== before.folders[i])) lastDesired = c.oid;
    if (lastDesired !== undefined) desiredAt.set(c.oid, lastDesired);
    let event = await commitEvent(gitdir, reader, c, before, after, options.target, cache);
    if (event?.type === 'desired' && options.signers !== undefined) {
      event = { ...event, signature: describeSignature(await verifyCommit(gitdir, c.oid, options.signers, cache)) };
    }
    if (event?.type === 'status' && event.revision !== null) {
      const revision = desiredAt.get(event.revision) ?? event.revision;
      if (revision !== event.revision) event = { ...event, revision };
    }
    if (event) events.push(event);
    before = after;
  }
  return {
    head,
    since: options.since === undefined ? null : isoDate(options.since / 1000),
    target: options.target ?? null,
    events,
    commits: walked.length,
  };
}

/** How many objects are read at once ahead of the walk. */
const CONCURRENCY = 16;

/**
 * What the audit needs of a root tree, kept small so a long history fits in memory: the
 * tree ids of the desired folders, and one string for everything but `status/`.
 */
interface RootSummary {
  /** Per `DESIRED_FOLDERS` entry: its tree id, or `null`. */
  readonly folders: readonly (string | null)[];
  readonly notStatus: string;
}

const EMPTY_ROOT: RootSummary = { folders: DESIRED_FOLDERS.map(() => null), notStatus: '' };

/** What a commit means for the audit: a status commit, a desired change, or nothing (`null`). */
async function commitEvent(
  gitdir: string,
  reader: TreeReader,
  c: CommitInfo,
  before: RootSummary,
  after: RootSummary,
  target: string | undefined,
  cache: object,
): Promise<AuditEvent | null> {
  const trailers = parseTrailers(c.message);
  // A status commit changes only `status/`.
  if (trailers && before.notStatus === after.notStatus) return statusEvent(gitdir, c, trailers, target, cache);
  // The quick test that keeps long histories fast: same desired folder ids, nothing to read.
  const files: ChangedFile[] = [];
  for (let i = 0; i < DESIRED_FOLDERS.length; i++) {
    const x = before.folders[i] ?? null;
    const y = after.folders[i] ?? null;
    if (x !== y) await reader.changedYaml(DESIRED_FOLDERS[i]!, x, y, files);
  }
  if (files.length === 0) return null;
  let changes = await desiredChanges(gitdir, files, cache);
  if (target !== undefined) changes = changes.filter((x) => x.target === target);
  if (changes.length === 0) return null;
  return {
    type: 'desired',
    commit: c.oid,
    date: isoDate(c.committer.timestamp),
    author: { name: c.author.name, email: c.author.email },
    authorDate: isoDate(c.author.timestamp),
    committer: { name: c.committer.name, email: c.committer.email },
    subject: subjectOf(c.message),
    references: pullRequestReferences(c.message),
    merge: c.parents.length > 1,
    changes,
  };
}

/**
 * The pull/merge-request and review references a commit message carries:
 * `Merge pull request #42 from …` and a squash subject `… (#42)` (GitHub) give `PR #42`;
 * `See merge request group/repo!45` or a bare `!45` after a space (GitLab) give `MR !45`; the values of
 * `Reviewed-on:` (Gerrit), `PR-URL:`, `Pull-Request:` and `See-also:` lines are kept as written.
 */
export function pullRequestReferences(message: string): string[] {
  const out: string[] = [];
  const add = (ref: string) => {
    if (!out.includes(ref)) out.push(ref);
  };
  const subject = subjectOf(message);
  for (const m of message.matchAll(/^Merge pull request #(\d+)\b/gm)) add(`PR #${m[1]}`);
  for (const m of subject.matchAll(/\(#(\d+)\)/g)) add(`PR #${m[1]}`);
  for (const m of message.matchAll(/(?:^|[\s(])(?:[\w.-]+(?:\/[\w.-]+)+)?!(\d+)(?![\w!])/gm)) add(`MR !${m[1]}`);
  for (const m of message.matchAll(/^(?:Reviewed-on|PR-URL|Pull-Request|See-also):[ \t]*(\S.*?)\s*$/gim)) add(m[1]!);
  return out;
}

export function subjectOf(message: string): string {
  return (message.split('\n', 1)[0] ?? '').trim();
}

function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

async function readCommitInfo(gitdir: string, oid: string, cache: object): Promise<CommitInfo> {
  const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
  return {
    oid,
    tree: commit.tree,
    parents: commit.parent,
    message: commit.message,
    author: { name: commit.author.name, email: commit.author.email, timestamp: commit.author.timestamp },
    committer: { name: commit.committer.name, email: commit.committer.email, timestamp: commit.committer.timestamp },
  };
}

interface ChangedFile {
  readonly path: string;
  /** Blob ids; `null` when the file is absent (or not a regular file) on that side. */
  readonly before: string | null;
  readonly after: string | null;
}

class TreeReader {
  /** Root tree summaries by tree id, read ahead of use. */
  private readonly roots = new Map<string, Promise<RootSummary>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly gitdir: string,
    private readonly cache: object,
  ) {}

  /** Starts reading a root tree, a bounded number at a time. */
  prefetch(oid: string): void {
    if (this.roots.has(oid)) return;
    const p = this.limited(() => this.readSummary(oid));
    p.catch(() => {}); // reported when awaited in `summary`
    this.roots.set(oid, p);
  }

  /** The summary of a root tree, then forgotten: the walk asks for each once, in order. */
  async summary(oid: string): Promise<RootSummary> {
    this.prefetch(oid);
    const pending = this.roots.get(oid)!;
    this.roots.delete(oid);
    return pending;
  }

  private async readSummary(oid: string): Promise<RootSummary> {
    const entries = await this.entries(oid);
    const folders = DESIRED_FOLDERS.map((f) => entries.find((e) => e.path === f && e.type === 'tree')?.oid ?? null);
    const notStatus = entries.filter((e) => e.path !== STATUS_DIR).map((e) => `${e.mode} ${e.oid} ${e.path}`).join('\n');
    return { folders, notStatus };
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** The `.yaml`/`.yml` files that differ between two trees, walking only subtrees whose ids differ. */
  async changedYaml(prefix: string, before: string | null, after: string | null, out: ChangedFile[]): Promise<void> {
    if (before === after) return;
    const a = before === null ? [] : await this.entries(before);
    const b = after === null ? [] : await this.entries(after);
    const old = new Map(a.map((e) => [e.path, e]));
    const names = new Set([...a.map((e) => e.path), ...b.map((e) => e.path)]);
    const now = new Map(b.map((e) => [e.path, e]));
    for (const name of [...names].sort()) {
      const x = old.get(name);
      const y = now.get(name);
      if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
      const path = `${prefix}/${name}`;
      const xTree = x?.type === 'tree' ? x.oid : null;
      const yTree = y?.type === 'tree' ? y.oid : null;
      if (xTree !== null || yTree !== null) await this.changedYaml(path, xTree, yTree, out);
      if (!isYamlPath(path)) continue;
      const xBlob = x && isRegularFile(x) ? x.oid : null;
      const yBlob = y && isRegularFile(y) ? y.oid : null;
      if (xBlob !== yBlob) out.push({ path, before: xBlob, after: yBlob });
    }
  }

  private async entries(oid: string): Promise<TreeEntry[]> {
    try {
      return (await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache })).tree;
    } catch (err) {
      // A crafted tree with an unsafe name (`..`): read the raw object, as the loader does.
      if ((err as { code?: string }).code !== 'UnsafeFilepathError') throw err;
      const { object } = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.cache });
      return parseRawTree(object as Uint8Array);
    }
  }
}

function isRegularFile(e: TreeEntry): boolean {
  return e.type === 'blob' && e.mode !== '120000';
}

type Side = { readonly ok: true; readonly object: AnyDesiredObject; readonly target: string } | { readonly ok: false; readonly problem: string };

/** One side of a changed file: the document as written (no schema defaults), identified by kind and name. */
async function readSide(gitdir: string, path: string, oid: string, cache: object): Promise<Side> {
  let bytes: Uint8Array;
  try {
    bytes = await readBlobBytes(gitdir, oid, cache, DEFAULT_MAX_FILE_BYTES);
  } catch (err) {
    // Refused from the object header, before inflating: reported as the loader reports it.
    if (err instanceof BlobTooLargeError) return { ok: false, problem: 'FILE_TOO_LARGE at 1:1' };
    throw err;
  }
  const outcome = parseDesiredFile(path, bytes);
  if (!outcome.ok) {
    const f = outcome.findings[0];
    return { ok: false, problem: f ? `${f.code} at ${f.line}:${f.column}` : 'unreadable' };
  }
  const { value } = outcome;
  const kind = value['kind'];
  const metadata = value['metadata'];
  const name = isObject(metadata) ? metadata['name'] : undefined;
  if (!isKind(kind)) return { ok: false, problem: kind === undefined ? 'no kind' : `unknown kind ${JSON.stringify(kind)}` };
  if (typeof name !== 'string') return { ok: false, problem: 'no metadata.name' };
  const object = { apiVersion: value['apiVersion'], kind, metadata, spec: value['spec'], source: { path, blob: oid } };
  return { ok: true, object: object as unknown as AnyDesiredObject, target: targetId(kind, name) };
}

async function desiredChanges(gitdir: string, files: readonly ChangedFile[], cache: object): Promise<DesiredTargetChange[]> {
  const before: AnyDesiredObject[] = [];
  const after: AnyDesiredObject[] = [];
  const broken: { path: string; side: 'before' | 'after'; problem: string; other: string | null }[] = [];
  for (const f of files) {
    const x = f.before === null ? null : await readSide(gitdir, f.path, f.before, cache);
    const y = f.after === null ? null : await readSide(gitdir, f.path, f.after, cache);
    if (x?.ok) before.push(x.object);
    if (y?.ok) after.push(y.object);
    if (x && !x.ok) broken.push({ path: f.path, side: 'before', problem: x.problem, other: y?.ok ? y.target : null });
    if (y && !y.ok) broken.push({ path: f.path, side: 'after', problem: y.problem, other: x?.ok ? x.target : null });
  }
  const out: DesiredTargetChange[] = [];
  const beforeById = new Map(before.map((o) => [targetId(o.kind, o.metadata.name), o]));
  const listed = new Set<string>();
  for (const d of diffDesired(before, after)) {
    listed.add(d.target);
    const old = beforeById.get(d.target);
    const moved = d.change === 'changed' && old !== undefined && old.source.path !== d.path;
    // A document whose file stopped parsing is not "removed": say what happened to it.
    const lost = d.change === 'removed' ? broken.find((b) => b.side === 'after' && b.other === d.target) : undefined;
    const regained = d.change === 'added' ? broken.find((b) => b.side === 'before' && b.other === d.target) : undefined;
    if (lost) out.push({ target: d.target, change: 'unreadable', path: d.path, fields: [], problem: lost.problem });
    else if (regained) out.push({ ...d, problem: `was unreadable before: ${regained.problem}` });
    else out.push({ ...d, ...(moved ? { previousPath: old.source.path } : {}) });
  }
  // Same target on both sides that diffDesired passes over: identical content in another
  // file (moved), or another blob with no field changed (comments, layout, key order).
  for (const o of after) {
    const id = targetId(o.kind, o.metadata.name);
    const old = beforeById.get(id);
    if (!old || listed.has(id)) continue;
    listed.add(id);
    if (old.source.path !== o.source.path) out.push({ target: id, change: 'moved', path: o.source.path, previousPath: old.source.path, fields: [] });
    else if (old.source.blob !== o.source.blob) out.push({ target: id, change: 'changed', path: o.source.path, fields: [] });
  }
  for (const b of broken) {
    if (b.other !== null) continue;
    out.push({ target: null, change: b.side === 'after' ? 'unreadable' : 'removed', path: b.path, fields: [], problem: b.problem });
  }
  return out.sort((a, b) => cmp(a.target ?? '\uffff', b.target ?? '\uffff') || cmp(a.path, b.path));
}

async function statusEvent(
  gitdir: string,
  c: CommitInfo,
  trailers: NonNullable<ReturnType<typeof parseTrailers>>,
  only: string | undefined,
  cache: object,
): Promise<StatusEvent | null> {
  const targets: StatusTargetEntry[] = [];
  const subject = subjectOf(c.message);
  for (const target of trailers.targets) {
    if (only !== undefined && target !== only) continue;
    targets.push({ target, phase: trailers.phases.get(target) ?? null, summary: (await statusSummary(gitdir, c.oid, target, cache)) ?? subjectText(subject) });
  }
  if (targets.length === 0) return null;
  return {
    type: 'status',
    commit: c.oid,
    date: isoDate(c.committer.timestamp),
    author: { name: c.author.name, email: c.author.email },
    subject,
    revision: trailers.revision,
    targets,
  };
}

/** `status(hacluster/ums-prod): 1 of 3 servers updated` -> `1 of 3 servers updated`. */
function subjectText(subject: string): string {
  const m = /^status(?:\([^)]*\))?:\s*(.+)$/.exec(subject);
  return m ? m[1]! : subject;
}

/** The `summary` of `status/<kind>/<name>.yaml` at a commit (top level, or under `status:`). */
async function statusSummary(gitdir: string, commit: string, target: string, cache: object): Promise<string | null> {
  try {
    // Through the bounded reader: a status file can be a compressed bomb too (then: null).
    const path = statusPath(target);
    const slash = path.lastIndexOf('/');
    const { tree } = await git.readTree({ fs, gitdir, oid: commit, filepath: path.slice(0, slash), cache });
    const entry = tree.find((e) => e.path === path.slice(slash + 1) && e.type === 'blob');
    if (!entry) return null;
    const blob = await readBlobBytes(gitdir, entry.oid, cache, DEFAULT_MAX_FILE_BYTES);
    const doc: unknown = parseYaml(Buffer.from(blob).toString('utf8'));
    if (!isObject(doc)) return null;
    const status = doc['status'];
    const summary = doc['summary'] ?? (isObject(status) ? status['summary'] : undefined);
    return typeof summary === 'string' && summary.trim() !== '' ? summary.trim() : null;
  } catch {
    return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
