import { Errors } from 'isomorphic-git';
import { BlobTooLargeError, readBlobBytes, readGitObject } from '../git/read-blob.ts';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
import { DEFAULT_IGNORE, IGNORE_FILE, IgnoreRules, MAX_IGNORE_FILE_BYTES } from './ignore-rules.ts';
import { isUnsafeEntryName, isYamlPath, type DesiredSource, type SourceEntry, type SourceLocation } from './source.ts';
import { TreeListingCache } from './tree-listing-cache.ts';

/** Longer than any path a system accepts (PATH_MAX is 4096). */
const MAX_LINK_BYTES = 4096;
/** Git's empty tree, which a repository need not store. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
/** Trees and commits are small; a larger one is not a desired-state repository's. */
const MAX_TREE_BYTES = 64 * 1024 * 1024;

/**
 * Desired state at one commit, read straight from the object database (never from the
 * working tree, which may hold uncommitted edits). Commits and trees are read with
 * versiond's own reader (read-blob.ts) and parsed here: isomorphic-git's readTree inflated
 * with pako and checked every name with regular expressions, 9-20 ms for a changed folder of
 * 1,000-3,000 entries on a reload (issue 16).
 */
export class GitTreeSource implements DesiredSource {
  readonly description: string;
  readonly location: SourceLocation;

  constructor(
    private readonly gitdir: string,
    readonly revision: string,
    private readonly trees: TreeListingCache = new TreeListingCache(),
    /** isomorphic-git's object cache (packfile indexes), shared across reads. */
    private readonly objectCache: object = {},
  ) {
    this.description = `commit ${revision.slice(0, 7)}`;
    this.location = { kind: 'git', gitdir };
  }

  /** Entries in path order: Git keeps tree entries sorted, and a walk in that order yields sorted paths. */
  async list(): Promise<readonly SourceEntry[]> {
    this.trees.beginLoad();
    const root = { tree: await this.readTreeEntries(await this.commitTree(this.revision)) };
    const ignore = await this.ignoreRules(root.tree);
    const out: SourceEntry[] = [];
    for (const e of root.tree) {
      if (e.type === 'tree' && DESIRED_FOLDERS.includes(e.path)) for (const x of await this.walk(e.path, e.oid)) out.push(x);
      else for (const x of await this.outside(e, '', ignore)) out.push(x);
    }
    this.trees.sweep();
    return out;
  }

  /**
   * YAML files outside the kind folders, to be reported (stray-files.ts): regular files only,
   * minus `.versiondignore` and its defaults; a folder's listing is cached by its tree id.
   */
  private async outside(
    e: { mode: string; path: string; oid: string; type: string },
    prefix: string,
    ignore: { rules: IgnoreRules; key: string },
  ): Promise<readonly SourceEntry[]> {
    const path = prefix === '' ? e.path : `${prefix}/${e.path}`;
    if (isUnsafeEntryName(e.path) || ignore.rules.matches(path, e.type === 'tree')) return [];
    if (e.type === 'blob') return e.mode !== '120000' && isYamlPath(path) ? [{ path, oid: e.oid, type: 'file' }] : [];
    if (e.type !== 'tree') return [];
    const key = `${path}\0${e.oid}\0${ignore.key}`;
    const cached = this.trees.get(key);
    if (cached) return cached;
    const out: SourceEntry[] = [];
    for (const child of await this.readTreeEntries(e.oid)) {
      for (const x of await this.outside(child, path, ignore)) out.push(x);
    }
    this.trees.set(key, out);
    return out;
  }

  /** The defaults and the repository's `.versiondignore`; one over its size limit counts as absent. */
  private async ignoreRules(
    root: readonly { mode: string; path: string; oid: string }[],
  ): Promise<{ rules: IgnoreRules; key: string }> {
    const file = root.find((e) => e.path === IGNORE_FILE && (e.mode === '100644' || e.mode === '100755'));
    let text = '';
    if (file) {
      try {
        const bytes = await readBlobBytes(this.gitdir, file.oid, this.objectCache, MAX_IGNORE_FILE_BYTES);
        text = Buffer.from(bytes).toString('utf8');
      } catch (err) {
        if (!(err instanceof BlobTooLargeError)) throw err;
      }
    }
    return { rules: IgnoreRules.parse(`${DEFAULT_IGNORE}${text}`), key: file?.oid ?? '-' };
  }

  async read(entry: SourceEntry, maxBytes?: number): Promise<Uint8Array> {
    return readBlobBytes(this.gitdir, entry.oid, this.objectCache, maxBytes);
  }

  private async walk(prefix: string, treeOid: string): Promise<readonly SourceEntry[]> {
    const key = `${prefix}\0${treeOid}`;
    const cached = this.trees.get(key);
    if (cached) return cached;
    const tree = await this.readTreeEntries(treeOid);
    const out: SourceEntry[] = [];
    for (const e of tree) {
      const path = `${prefix}/${e.path}`;
      if (isUnsafeEntryName(e.path)) {
        out.push({ path: `${prefix}/${JSON.stringify(e.path)}`, oid: e.oid, type: 'unsafe', detail: e.path });
      } else if (e.type === 'tree') {
        for (const x of await this.walk(path, e.oid)) out.push(x);
      } else if (e.type === 'commit') {
        if (isYamlPath(path)) out.push({ path, oid: e.oid, type: 'submodule' });
      } else if (isYamlPath(path)) {
        if (e.mode === '120000') {
          out.push({ path, oid: e.oid, type: 'symlink', detail: await this.linkTarget(e.oid) });
        } else {
          out.push({ path, oid: e.oid, type: 'file' });
        }
      }
    }
    this.trees.set(key, out);
    return out;
  }

  /** Where a symbolic link points; a link is never followed, and a huge one is not read. */
  private async linkTarget(oid: string): Promise<string> {
    try {
      return Buffer.from(await readBlobBytes(this.gitdir, oid, this.objectCache, MAX_LINK_BYTES)).toString('utf8');
    } catch (err) {
      if (!(err instanceof BlobTooLargeError)) throw err;
      return `(a link target of ${err.size} bytes)`;
    }
  }

  /** The tree a commit names (what isomorphic-git's readCommit gave, with the same errors). */
  private async commitTree(oid: string): Promise<string> {
    const { type, data } = await readGitObject(this.gitdir, oid, this.objectCache, MAX_TREE_BYTES);
    if (type !== 'commit') throw new Errors.ObjectTypeError(oid, type, 'commit');
    const m = /^tree ([0-9a-f]{40})\n/.exec(data.toString('latin1', 0, 46));
    if (!m) throw new Error(`object ${oid} is corrupt: a commit without a tree`);
    return m[1]!;
  }

  /**
   * A tree's entries, in the order isomorphic-git's readTree gave them (by name, code point
   * order). Parsed raw, so that a tree holding an unsafe name such as `..` (which
   * isomorphic-git refused whole) lets the loader report just that entry and read its siblings.
   */
  private async readTreeEntries(oid: string): Promise<{ mode: string; path: string; oid: string; type: string }[]> {
    if (oid === EMPTY_TREE) return [];
    const { type, data } = await readGitObject(this.gitdir, oid, this.objectCache, MAX_TREE_BYTES);
    if (type !== 'tree') throw new Errors.ObjectTypeError(oid, type, 'tree');
    return parseRawTree(data).sort((a, b) => compareNames(a.path, b.path));
  }
}

/** JavaScript's string order, but by code point where surrogates make the two differ (as isomorphic-git). */
function compareNames(a: string, b: string): number {
  if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Entries of a raw Git tree object: `<mode> <name>\0<20-byte id>` repeated. */
export function parseRawTree(bytes: Uint8Array): { mode: string; path: string; oid: string; type: string }[] {
  const out: { mode: string; path: string; oid: string; type: string }[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > buf.length) break;
    const mode = buf.toString('latin1', i, space).padStart(6, '0');
    const path = buf.toString('utf8', space + 1, nul);
    const oid = buf.toString('hex', nul + 1, nul + 21);
    const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    out.push({ mode, path, oid, type });
    i = nul + 21;
  }
  return out;
}
