import git from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';
import { BlobTooLargeError, readBlobBytes } from '../git/read-blob.ts';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
import { DEFAULT_IGNORE, IGNORE_FILE, IgnoreRules, MAX_IGNORE_FILE_BYTES } from './ignore-rules.ts';
import { isUnsafeEntryName, isYamlPath, type DesiredSource, type SourceEntry, type SourceLocation } from './source.ts';
import { TreeListingCache } from './tree-listing-cache.ts';

/** Longer than any path a system accepts (PATH_MAX is 4096). */
const MAX_LINK_BYTES = 4096;

/**
 * Desired state at one commit, read with isomorphic-git straight from the object
 * database (never from the working tree, which may hold uncommitted edits).
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
    const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid: this.revision, cache: this.objectCache });
    const root = await git.readTree({ fs, gitdir: this.gitdir, oid: commit.tree, cache: this.objectCache });
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

  /**
   * isomorphic-git refuses a whole tree that holds an unsafe name such as `..`; parsing the
   * raw tree object instead lets the loader report just that entry and read its siblings.
   */
  private async readTreeEntries(oid: string): Promise<{ mode: string; path: string; oid: string; type: string }[]> {
    try {
      return (await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.objectCache })).tree;
    } catch (err) {
      if ((err as { code?: string }).code !== 'UnsafeFilepathError') throw err;
      const { object } = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.objectCache });
      return parseRawTree(object as Uint8Array);
    }
  }
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
