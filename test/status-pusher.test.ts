/**
 * StatusPusher against a real smart-HTTP server (`git http-backend`) over a bare repository
 * made from example-repo: status commits made by StatusWriter in the RemoteSource clone are
 * pushed; a person's push that lands first is kept and the status commit rebuilt on top.
 * The git CLI is only run asynchronously against the in-process server.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteSource } from '../controller/source/remote-source.ts';
import { statusPath } from '../controller/status/format.ts';
import { StatusPusher, type StatusPusherOptions } from '../controller/status/status-pusher.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { TempRepo } from './helpers/git-repo.ts';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.ts';

const execFileAsync = promisify(execFile);
const TARGET = 'account/acme-w360';
const STATUS_FILE = statusPath(TARGET);
const PERSON_FILE = 'accounts/acme-w360.yaml';

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Pat Person',
  GIT_AUTHOR_EMAIL: 'pat@example.com',
  GIT_COMMITTER_NAME: 'Pat Person',
  GIT_COMMITTER_EMAIL: 'pat@example.com',
};

/** Async git (never sync against the in-process HTTP server). */
async function gitAsync(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: { ...GIT_ENV, HOME: cwd }, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Git on the bare repository (local files only, no HTTP: sync is fine). */
function bareGit(...args: string[]): string {
  return execFileSync('git', ['--git-dir', bare, ...args], { encoding: 'utf8', env: { ...GIT_ENV, HOME: root } }).trim();
}

function status(summary: string, revision: string): TargetStatus {
  return {
    target: TARGET,
    phase: 'Progressing',
    conditions: conditionsFor('Progressing', 'Rollout', summary, undefined, Date.now()),
    observedRevision: revision,
    summary,
    members: [],
  };
}

class FakeLogger {
  readonly lines: string[] = [];
  info(obj: object, msg: string) {
    this.lines.push(JSON.stringify({ level: 'info', ...obj, msg }));
  }
  warn(obj: object, msg: string) {
    this.lines.push(JSON.stringify({ level: 'warn', ...obj, msg }));
  }
}

let work: TempRepo;
let root: string;
let bare: string;
let cacheDir: string;
let personDir: string;
let server: GitHttpServer;
let src: RemoteSource;

beforeEach(async () => {
  work = TempRepo.create();
  root = mkdtempSync(join(tmpdir(), 'versiond-push-remote-'));
  cacheDir = join(mkdtempSync(join(tmpdir(), 'versiond-push-cache-')), 'clone');
  personDir = mkdtempSync(join(tmpdir(), 'versiond-push-person-'));
  bare = join(root, 'desired.git');
  execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
  server = await startGitHttpServer({ root });
  src = new RemoteSource({ url: server.url('desired.git'), cacheDir, intervalMs: 60_000, onRevision: () => undefined });
  await src.start();
  await src.stop(); // one clone is all the tests need
  expect(src.lastError).toBeNull();
});

afterEach(async () => {
  await server.close();
  work.dispose();
  for (const d of [root, join(cacheDir, '..'), personDir]) rmSync(d, { recursive: true, force: true });
});

function pusher(options: Partial<StatusPusherOptions> = {}) {
  const log = new FakeLogger();
  const p = new StatusPusher({ gitdir: src.gitdir, url: server.url('desired.git'), logger: log, backoffMs: 10, ...options });
  return { p, log };
}

async function writeStatus(summary: string): Promise<string> {
  const writer = new StatusWriter({ gitdir: src.gitdir, coalesceMs: 0 });
  const sha = await writer.write([{ status: status(summary, work.head()) }]);
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  return sha!;
}

/** A person clones over HTTP, changes a desired file, commits and pushes. */
async function personPushes(): Promise<string> {
  const dir = join(personDir, `clone-${Math.random().toString(36).slice(2)}`);
  await gitAsync(personDir, 'clone', '-q', server.url('desired.git'), dir);
  const file = join(dir, PERSON_FILE);
  writeFileSync(file, `${readFileSync(file, 'utf8')}# changed by Pat\n`);
  await gitAsync(dir, 'commit', '-q', '-am', 'desired: bump acme');
  await gitAsync(dir, 'push', '-q', 'origin', 'main');
  return gitAsync(dir, 'rev-parse', 'HEAD');
}

const fsckClean = () => expect(bareGit('fsck', '--strict', '--no-dangling', '--no-progress')).toBe('');

describe('StatusPusher over smart HTTP', () => {
  it('pushes a status commit made by StatusWriter in the RemoteSource clone', async () => {
    const initial = work.head();
    const sha = await writeStatus('first status');
    const { p, log } = pusher();
    expect(await p.push()).toBe('pushed');
    expect(bareGit('rev-parse', 'main')).toBe(sha);
    expect(bareGit('log', '--format=%H %an', 'main').split('\n')).toEqual([`${sha} versiond`, `${initial} Ada Admin`]);
    expect(bareGit('show', `main:${STATUS_FILE}`)).toContain('first status');
    expect(log.lines.join('\n')).toContain('status pushed');
    expect(await p.push()).toBe('up-to-date'); // nothing new: no request made that could fail
    fsckClean();
  });

  it('push race: a person’s commit lands first; both end up on the branch, in order, nothing lost', async () => {
    const initial = work.head();
    await writeStatus('status one');
    const ourSha = await writeStatus('status two'); // two unpushed status commits: squashed into one
    const ourMessage = execFileSync('git', ['--git-dir', src.gitdir, 'log', '-1', '--format=%B', ourSha], { encoding: 'utf8' }).trim();
    const ourFile = execFileSync('git', ['--git-dir', src.gitdir, 'show', `${ourSha}:${STATUS_FILE}`], { encoding: 'utf8' });
    let person: string | undefined;
    let calls = 0;
    const { p, log } = pusher({
      beforePush: async () => {
        if (calls++ === 0) person = await personPushes();
      },
    });
    expect(await p.push()).toBe('pushed');
    expect(calls).toBe(2); // rejected once, pushed after the rebuild

    const head = bareGit('rev-parse', 'main');
    expect(head).not.toBe(ourSha); // rebuilt, not our original commit
    // first-parent history: status commit, then the person's, then the initial one
    expect(bareGit('log', '--first-parent', '--format=%H %an', 'main').split('\n')).toEqual([
      `${head} versiond`,
      `${person} Pat Person`,
      `${initial} Ada Admin`,
    ]);
    expect(bareGit('rev-parse', 'main~1')).toBe(person);
    // the person's change is intact, the status file is ours, the message is our latest one
    expect(bareGit('show', `main:${PERSON_FILE}`)).toContain('# changed by Pat');
    expect(bareGit('show', `main:${STATUS_FILE}`) + '\n').toBe(ourFile);
    expect(bareGit('log', '-1', '--format=%B', 'main')).toBe(ourMessage);
    // only status/ differs from the person's commit
    expect(bareGit('diff', '--name-only', `${person}`, 'main')).toBe(STATUS_FILE);
    // never forced: the person's commit is an ancestor of the final head
    await expect(execFileAsync('git', ['--git-dir', bare, 'merge-base', '--is-ancestor', person!, 'main'])).resolves.toBeDefined();
    // the clone follows: its local branch and tracking ref are the pushed head
    expect(execFileSync('git', ['--git-dir', src.gitdir, 'rev-parse', 'main', 'origin/main'], { encoding: 'utf8' }).trim().split('\n')).toEqual([head, head]);
    expect(log.lines.some((l) => l.includes('"level":"warn"') && l.includes('status push rejected'))).toBe(true);
    fsckClean();
  });

  it('gives up after maxAttempts when the branch keeps moving, without forcing', async () => {
    await writeStatus('status');
    const persons: string[] = [];
    const { p } = pusher({ maxAttempts: 2, beforePush: async () => void persons.push(await personPushes()) });
    await expect(p.push()).rejects.toThrow(/after 2 attempts/);
    expect(bareGit('rev-parse', 'main')).toBe(persons.at(-1));
    fsckClean();
  });

  it('refuses to rebuild a local commit that changes more than status/', async () => {
    // a non-status commit in the clone's branch (nobody should make one; the pusher must not drop it)
    const before = execFileSync('git', ['--git-dir', src.gitdir, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
    const tree = execFileSync('git', ['--git-dir', src.gitdir, 'rev-parse', `${before}^{tree}`], { encoding: 'utf8' }).trim();
    const other = execFileSync('git', ['--git-dir', src.gitdir, 'commit-tree', tree, '-p', before, '-m', 'not status'], {
      encoding: 'utf8',
      env: GIT_ENV,
    }).trim();
    // a tree that differs outside status/: drop the accounts folder
    const lsTree = execFileSync('git', ['--git-dir', src.gitdir, 'ls-tree', before], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.endsWith('\taccounts'))
      .join('\n');
    const tree2 = execFileSync('git', ['--git-dir', src.gitdir, 'mktree'], { input: `${lsTree}\n`, encoding: 'utf8' }).trim();
    const bad = execFileSync('git', ['--git-dir', src.gitdir, 'commit-tree', tree2, '-p', other, '-m', 'drops accounts'], {
      encoding: 'utf8',
      env: GIT_ENV,
    }).trim();
    execFileSync('git', ['--git-dir', src.gitdir, 'update-ref', 'refs/heads/main', bad]);
    let calls = 0;
    const { p } = pusher({ beforePush: async () => void (calls++ === 0 && (await personPushes())) });
    await expect(p.push()).rejects.toThrow(/changes more than status\/; refusing/);
    expect(execFileSync('git', ['--git-dir', src.gitdir, 'rev-parse', 'main'], { encoding: 'utf8' }).trim()).toBe(bad);
  });
});
