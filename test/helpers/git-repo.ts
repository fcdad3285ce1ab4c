import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLE_REPO = join(ROOT, 'example-repo');

/**
 * A real Git repository in a temporary folder, driven with the real `git` CLI (tests may;
 * the product may not). Starts as a copy of `example-repo/` unless told otherwise.
 */
export class TempRepo {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static create(options: { fromExample?: boolean; commit?: boolean } = {}): TempRepo {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-test-'));
    const repo = new TempRepo(dir);
    if (options.fromExample ?? true) cpSync(EXAMPLE_REPO, dir, { recursive: true });
    repo.git('init', '-q', '-b', 'main');
    if (options.commit ?? true) repo.commitAll('initial desired state');
    return repo;
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Ada Admin',
        GIT_AUTHOR_EMAIL: 'ada@example.com',
        GIT_COMMITTER_NAME: 'Ada Admin',
        GIT_COMMITTER_EMAIL: 'ada@example.com',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: this.dir,
      },
      maxBuffer: 64 * 1024 * 1024,
    }).trim();
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  write(rel: string, content: string | Uint8Array): this {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), content);
    return this;
  }

  /** Replace `from` by `to` in a file; fails loudly when `from` is not there, so a test cannot silently test nothing. */
  edit(rel: string, from: string | RegExp, to: string): this {
    const before = this.read(rel);
    const after = before.replace(from, to);
    if (after === before) throw new Error(`edit(${rel}): ${String(from)} not found`);
    return this.write(rel, after);
  }

  remove(rel: string): this {
    rmSync(this.path(rel), { recursive: true, force: true });
    return this;
  }

  symlink(rel: string, target: string): this {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    symlinkSync(target, this.path(rel));
    return this;
  }

  commitAll(message: string): string {
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.head();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD');
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
