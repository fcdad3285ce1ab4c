import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { DESIRED_FOLDERS } from '../../reconcilers/model/identity.ts';
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

  constructor(private readonly dir: string) {
    this.description = `folder ${dir}`;
    this.location = { kind: 'folder', dir };
  }

  async list(): Promise<readonly SourceEntry[]> {
    const out: SourceEntry[] = [];
    for (const folder of DESIRED_FOLDERS) {
      const st = await fs.lstat(join(this.dir, folder)).catch(() => undefined);
      if (st?.isDirectory()) await this.walk(folder, out);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(entry: SourceEntry): Promise<Uint8Array> {
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
}

/** The id Git gives a blob with these bytes. */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}
