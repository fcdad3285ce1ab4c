import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
import { BlobTooLargeError } from '../git/read-blob.ts';
import { DEFAULT_IGNORE, IGNORE_FILE, IgnoreRules, MAX_IGNORE_FILE_BYTES } from './ignore-rules.ts';
import { DEFAULT_MAX_FILE_BYTES } from './parse-document.ts';
import { isYamlPath, type DesiredSource, type SourceEntry, type SourceLocation } from './source.ts';

/**
 * Desired state as files in a folder: a directory that is not a Git repository, or the
 * working tree of one when asked (`validate --worktree`). Content ids are Git blob ids,
 * computed here, so the loader's cache behaves as with a Git source.
 */
export class DirectorySource implements DesiredSource {
  readonly revision = null;
  readonly description: string;
  readonly location: SourceLocation;
  private readonly contents = new Map<string, Uint8Array>();
  /** Files outside the kind folders over the size limit: listed by size, never read. */
  private readonly tooLarge = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly maxStrayBytes = DEFAULT_MAX_FILE_BYTES,
  ) {
    this.description = `folder ${dir}`;
    this.location = { kind: 'folder', dir };
  }

  async list(): Promise<readonly SourceEntry[]> {
    const out: SourceEntry[] = [];
    for (const folder of DESIRED_FOLDERS) {
      const st = await fs.lstat(join(this.dir, folder)).catch(() => undefined);
      if (st?.isDirectory()) await this.walk(folder, out);
    }
    await this.outside('', await this.ignoreRules(), out);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(entry: SourceEntry, maxBytes?: number): Promise<Uint8Array> {
    const size = this.tooLarge.get(entry.path);
    if (size !== undefined) throw new BlobTooLargeError(entry.oid, size, maxBytes ?? this.maxStrayBytes);
    const bytes = this.contents.get(entry.path);
    if (bytes) return bytes;
    return fs.readFile(join(this.dir, entry.path));
  }

  private async walk(rel: string, out: SourceEntry[]): Promise<void> {
    const entries = await fs.readdir(join(this.dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== '.git') await this.walk(path, out);
      } else if (!isYamlPath(path)) {
        continue;
      } else if (e.isSymbolicLink()) {
        const target = await fs.readlink(join(this.dir, path));
        out.push({ path, oid: gitBlobId(Buffer.from(target)), type: 'symlink', detail: target });
      } else if (e.isFile()) {
        const bytes = await fs.readFile(join(this.dir, path));
        this.contents.set(path, bytes);
        out.push({ path, oid: gitBlobId(bytes), type: 'file' });
      }
    }
  }

  /**
   * YAML files outside the kind folders, to be reported (stray-files.ts): regular files only,
   * minus `.versiondignore`, the defaults, and the top `.gitignore` (what Git would not commit).
   */
  private async outside(rel: string, ignore: IgnoreRules, out: SourceEntry[]): Promise<void> {
    const entries = await fs.readdir(join(this.dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (rel === '' && DESIRED_FOLDERS.includes(e.name) && e.isDirectory()) continue;
      if (e.name === '.git' || ignore.matches(path, e.isDirectory())) continue;
      if (e.isDirectory()) await this.outside(path, ignore, out);
      else if (e.isFile() && isYamlPath(path)) {
        const full = join(this.dir, path);
        const st = await fs.stat(full);
        if (st.size > this.maxStrayBytes) {
          // Not read: the id only has to change when the file does.
          this.tooLarge.set(path, st.size);
          out.push({ path, oid: gitBlobId(Buffer.from(`unread ${st.size} ${st.mtimeMs}`)), type: 'file' });
        } else {
          const bytes = await fs.readFile(full);
          this.contents.set(path, bytes);
          out.push({ path, oid: gitBlobId(bytes), type: 'file' });
        }
      }
    }
  }

  private async ignoreRules(): Promise<IgnoreRules> {
    const text = async (name: string) => {
      const st = await fs.lstat(join(this.dir, name)).catch(() => undefined);
      return st?.isFile() && st.size <= MAX_IGNORE_FILE_BYTES ? fs.readFile(join(this.dir, name), 'utf8') : '';
    };
    return IgnoreRules.parse(`${DEFAULT_IGNORE}${await text('.gitignore')}\n${await text(IGNORE_FILE)}`);
  }
}

/** The id Git gives a blob with these bytes. */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}
