import { posix } from 'node:path';

/**
 * Where desired-state files come from. The loader only sees this interface, so a Git
 * revision (the normal case) and a plain folder (pre-commit checks) load identically.
 */
/** Where a source reads from, as plain data a parse worker can open again on its side. */
export type SourceLocation = { readonly kind: 'git'; readonly gitdir: string } | { readonly kind: 'folder'; readonly dir: string };

export interface DesiredSource {
  readonly location: SourceLocation;
  /** For messages: `commit 1a2b3c4 of /repo` or `folder ./example-repo`. */
  readonly description: string;
  /** The commit id read, or `null` for a folder. */
  readonly revision: string | null;
  /** Every entry under the desired-state folders that the loader should look at, sorted by path. */
  list(): Promise<readonly SourceEntry[]>;
  /**
   * Bytes of a `file` entry. A Git source refuses a blob over `maxBytes` before inflating
   * it, with `BlobTooLargeError` (a small blob can hold gigabytes of compressed spaces).
   */
  read(entry: SourceEntry, maxBytes?: number): Promise<Uint8Array>;
}

export interface SourceEntry {
  /** Repository-relative, `/`-separated. */
  readonly path: string;
  /** Content id: the Git blob id (a folder source computes the same hash), so unchanged files are not re-parsed. */
  readonly oid: string;
  readonly type: 'file' | 'symlink' | 'submodule' | 'unsafe';
  /** For a symlink: where it points. For an unsafe entry: the offending name. */
  readonly detail?: string;
}

const YAML_FILE = /\.ya?ml$/i;

export function isYamlPath(path: string): boolean {
  return YAML_FILE.test(path);
}

/**
 * A tree entry name that could escape the folder or confuse a checkout: `.`, `..`, `.git`
 * in any case, separators, NUL. Git refuses to check such trees out; a crafted or foreign
 * repository can still hold them, so the loader reports them instead of following them.
 */
export function isUnsafeEntryName(name: string): boolean {
  return (
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.toLowerCase() === '.git' ||
    /[/\\\0]/.test(name)
  );
}

/** Whether a symlink stored at `path` with target `target` stays inside the repository. */
export function symlinkStaysInside(path: string, target: string): boolean {
  if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target)) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target.replace(/\\/g, '/')));
  return !(resolved === '..' || resolved.startsWith('../'));
}
