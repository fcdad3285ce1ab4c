/**
 * Whether each approval in a target's `spec.rollout.approvals` can be traced to the person
 * it names (issue 13, item 2), read from Git history alone — so `run`, a restarted `run` and
 * `plan` on a laptop reach the same verdict. An approval `{wave, digest, by}` is verified when:
 *
 *  1. the commit that introduced the entry (followed through merges into the branch that
 *     first had it) is signed by a key the approvers file lists for `by`; and
 *  2. `by` authored no commit that changed the target's spec (approvals aside) since the
 *     previous approval of the same wave — reachable from the acted revision, merged
 *     branches included (four eyes).
 *
 * History that cannot be read (a shallow clone, a walk longer than `maxCommits`) verifies
 * nothing: unknown is not yes.
 */
import git, { type ReadCommitResult } from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';
import { parse } from 'yaml';
import type { ApprovalVerdict } from '../../reconcilers/model/approval-trust.ts';
import type { Approval } from '../../reconcilers/model/desired.ts';
import { readBlobBytes } from '../git/read-blob.ts';
import { mayActAs, type AllowedSigners } from './allowed-signers.ts';
import { describeSignature, verifyCommit } from './commit-signature.ts';


export interface ProvenanceInput {
  readonly gitdir: string;
  readonly revision: string;
  /** The target's file, repository-relative. */
  readonly path: string;
  readonly approvals: readonly Approval[];
  readonly approvers: AllowedSigners;
  readonly cache?: object;
  readonly maxCommits?: number;
}

const DEFAULT_MAX_COMMITS = 20_000;

class HistoryUnavailable extends Error {}

interface FileState {
  /** `wave|digest|by|reason` of each approval. */
  readonly approvals: ReadonlySet<string>;
  /** The spec without `rollout.approvals`, as canonical JSON; undefined when the file or document is absent. */
  readonly spec: string | undefined;
}

/** The whole entry: a reviewer who re-commits an approval someone else typed (with their own reason) signs it anew. */
const keyOf = (a: Approval): string => `${a.wave}|${a.digest}|${a.by}|${a.reason ?? ''}`;
const waveOfKey = (k: string): number => Number(k.slice(0, k.indexOf('|')));
const short = (oid: string): string => oid.slice(0, 7);

export async function verifyApprovals(input: ProvenanceInput): Promise<ApprovalVerdict[]> {
  const history = new History(input.gitdir, input.path, input.cache ?? {}, input.maxCommits ?? DEFAULT_MAX_COMMITS);
  const out: ApprovalVerdict[] = [];
  for (const approval of input.approvals) {
    try {
      out.push(await verifyOne(history, input, approval));
    } catch (err) {
      if (!(err instanceof HistoryUnavailable)) throw err;
      out.push({ verified: false, reason: `its history cannot be read: ${err.message}` });
    }
  }
  return out;
}

async function verifyOne(history: History, input: ProvenanceInput, approval: Approval): Promise<ApprovalVerdict> {
  const key = keyOf(approval);
  const added = await history.introducedAt(input.revision, key);
  if (added === undefined) return { verified: false, reason: 'it is not in the revision acted on' };
  const signature = await verifyCommit(input.gitdir, added, input.approvers, input.cache);
  const at = `the commit adding it (${short(added)})`;
  const refuse = (reason: string): ApprovalVerdict => ({ verified: false, commit: added, reason });
  if (signature.state !== 'good') return refuse(`${at} is ${describeSignature(signature)}`);
  const commit = await history.commit(added);
  if (!mayActAs(input.approvers, approval.by, signature.key, 'git', commit.commit.committer.timestamp * 1000)) {
    return refuse(`${at} is signed by ${signature.principals.join(', ')}, not by ${approval.by}`);
  }
  const since = await history.previousApprovalOfWave(added, approval.wave, key);
  const own = await history.specChangeAuthoredBy(input.revision, since, approval.by);
  if (own !== undefined) return refuse(`${approval.by} authored the change (${short(own)})`);
  return { verified: true, commit: added };
}

class History {
  private readonly commits = new Map<string, ReadCommitResult>();
  private readonly files = new Map<string, FileState>();
  private readonly blobs = new Map<string, FileState>();
  private walked = 0;

  constructor(
    private readonly gitdir: string,
    private readonly path: string,
    private readonly cache: object,
    private readonly maxCommits: number,
  ) {}

  async commit(oid: string): Promise<ReadCommitResult> {
    let c = this.commits.get(oid);
    if (c === undefined) {
      if (++this.walked > this.maxCommits) throw new HistoryUnavailable(`more than ${this.maxCommits} commits to read`);
      try {
        c = await git.readCommit({ fs, gitdir: this.gitdir, oid, cache: this.cache });
      } catch (err) {
        throw new HistoryUnavailable(`commit ${short(oid)} is missing (a shallow clone?): ${(err as Error).message}`);
      }
      this.commits.set(oid, c);
    }
    return c;
  }

  async state(oid: string): Promise<FileState> {
    let s = this.files.get(oid);
    if (s !== undefined) return s;
    const commit = await this.commit(oid);
    const blob = await this.blobAt(commit.commit.tree, this.path.split('/'));
    s = blob === undefined ? { approvals: new Set(), spec: undefined } : await this.parseBlob(blob);
    this.files.set(oid, s);
    return s;
  }

  /** The commit at which `key` appeared, following whichever parent still has it. */
  async introducedAt(revision: string, key: string): Promise<string | undefined> {
    if (!(await this.state(revision)).approvals.has(key)) return undefined;
    let at = revision;
    for (;;) {
      let next: string | undefined;
      for (const p of (await this.commit(at)).commit.parent) {
        if ((await this.state(p)).approvals.has(key)) {
          next = p;
          break;
        }
      }
      if (next === undefined) return at;
      at = next;
    }
  }

  /** Walking first parents down from `added`, the last commit that added an approval of `wave`. */
  async previousApprovalOfWave(added: string, wave: number, key: string): Promise<string | undefined> {
    let at = (await this.commit(added)).commit.parent[0];
    while (at !== undefined) {
      const here = await this.state(at);
      const parent = (await this.commit(at)).commit.parent[0];
      const before = parent === undefined ? new Set<string>() : (await this.state(parent)).approvals;
      for (const k of here.approvals) if (k !== key && waveOfKey(k) === wave && !before.has(k)) return at;
      at = parent;
    }
    return undefined;
  }

  /**
   * A commit by `who` that changed the spec, among those reachable from `revision` and not
   * from `since` (`git rev-list since..revision`); merges count when they differ from every parent.
   */
  async specChangeAuthoredBy(revision: string, since: string | undefined, who: string): Promise<string | undefined> {
    const excluded = since === undefined ? new Set<string>() : await this.ancestors(since);
    const me = who.toLowerCase();
    const seen = new Set<string>();
    const queue = [revision];
    while (queue.length > 0) {
      const oid = queue.pop()!;
      if (seen.has(oid) || excluded.has(oid)) continue;
      seen.add(oid);
      const c = await this.commit(oid);
      const spec = (await this.state(oid)).spec;
      const parents = c.commit.parent;
      let changed = parents.length === 0 ? spec !== undefined : true;
      for (const p of parents) if ((await this.state(p)).spec === spec) changed = false;
      if (changed && c.commit.author.email.toLowerCase() === me) return oid;
      queue.push(...parents);
    }
    return undefined;
  }

  private async ancestors(oid: string): Promise<Set<string>> {
    const out = new Set<string>();
    const queue = [oid];
    while (queue.length > 0) {
      const at = queue.pop()!;
      if (out.has(at)) continue;
      out.add(at);
      queue.push(...(await this.commit(at)).commit.parent);
    }
    return out;
  }

  private async blobAt(tree: string, parts: readonly string[]): Promise<string | undefined> {
    let oid = tree;
    for (let i = 0; i < parts.length; i++) {
      let entries;
      try {
        ({ tree: entries } = await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache }));
      } catch (err) {
        throw new HistoryUnavailable(`tree ${short(oid)} is missing: ${(err as Error).message}`);
      }
      const entry = entries.find((e) => e.path === parts[i]);
      if (entry === undefined) return undefined;
      if (i === parts.length - 1) return entry.type === 'blob' ? entry.oid : undefined;
      if (entry.type !== 'tree') return undefined;
      oid = entry.oid;
    }
    return undefined;
  }

  private async parseBlob(oid: string): Promise<FileState> {
    let s = this.blobs.get(oid);
    if (s !== undefined) return s;
    let doc: unknown;
    try {
      doc = parse(Buffer.from(await readBlobBytes(this.gitdir, oid, this.cache)).toString('utf8'));
    } catch {
      doc = undefined; // an old revision that did not parse approves nothing and specifies nothing
    }
    const spec = isRecord(doc) && isRecord(doc.spec) ? doc.spec : undefined;
    const rollout = spec !== undefined && isRecord(spec.rollout) ? spec.rollout : undefined;
    const approvals = new Set<string>();
    if (rollout !== undefined && Array.isArray(rollout.approvals)) {
      for (const a of rollout.approvals) if (isRecord(a)) approvals.add(keyOf(a as unknown as Approval));
    }
    let specText: string | undefined;
    if (spec !== undefined) {
      const rest = rollout === undefined ? spec : { ...spec, rollout: { ...rollout, approvals: undefined } };
      specText = canonical(rest);
    }
    s = { approvals, spec: specText };
    this.blobs.set(oid, s);
    return s;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
