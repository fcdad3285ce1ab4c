/**
 * Issue 14, item 6: the revision the controller names (`Versiond-Revision`, `observedRevision`,
 * `versiond audit`) is the desired revision it acted on — the newest first-parent commit whose
 * desired folders differ from its parent's — never one of its own status commits, after a
 * restart on a status tip, a status push rebuilt on a person's commit, or a merge.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { afterEach, describe, expect, it } from 'vitest';
import { readTargetHistory, type StatusEvent } from '../controller/audit/target-history.ts';
import { gitFs } from '../controller/git/git-fs.ts';
import { RemoteSource } from '../controller/source/remote-source.ts';
import { RevisionTracker } from '../controller/source/revision-tracker.ts';
import { parseTrailers } from '../controller/status/format.ts';
import { StatusPusher } from '../controller/status/status-pusher.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { domainRepo, domainYaml } from './helpers/controller-fixture.ts';
import type { TempRepo } from './helpers/git-repo.ts';
import { startGitHttpServer } from './helpers/git-http-server.ts';

const TARGET = 'domain/print-test';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function status(summary: string, revision: string): TargetStatus {
  return {
    target: TARGET,
    phase: 'Progressing',
    conditions: conditionsFor('Progressing', 'Rollout', summary, undefined, Date.now()),
    observedRevision: revision,
    summary,
    members: [],
  } as TargetStatus;
}

function repo(): TempRepo {
  const r = domainRepo();
  cleanups.push(() => r.dispose());
  return r;
}

/** What a freshly started controller acts on at `tip` (a restart). */
async function actOn(gitdir: string, tip: string): Promise<string> {
  const outcome = await new RevisionTracker(gitdir).consider(tip);
  if (outcome.kind !== 'applied') throw new Error(`expected applied, got ${outcome.kind}`);
  expect(outcome.state.revision).toBe(outcome.revision);
  return outcome.revision;
}

/** One status commit by the controller, as after a pass on `gitdir` at branch tip `tip`. */
async function statusCommit(gitdir: string, tip: string, summary: string): Promise<string> {
  const writer = new StatusWriter({ gitdir, coalesceMs: 0 });
  const oid = await writer.write([{ status: status(summary, await actOn(gitdir, tip)) }]);
  expect(oid).toMatch(/^[0-9a-f]{40}$/);
  return oid!;
}

async function trailerOf(gitdir: string, oid: string): Promise<string | null> {
  const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid });
  return parseTrailers(commit.message)?.revision ?? null;
}

describe('the desired revision named in status and audit', () => {
  it('(a) restarted on a status tip: names the person\'s commit below it', async () => {
    const r = repo();
    const gitdir = r.path('.git');
    const desired = r.head();
    const s1 = await statusCommit(gitdir, desired, 'first');
    expect(await trailerOf(gitdir, s1)).toBe(desired);
    // A restart: the tip is the status commit.
    expect(await actOn(gitdir, s1)).toBe(desired);
    const s2 = await statusCommit(gitdir, s1, 'after the restart');
    expect(await trailerOf(gitdir, s2)).toBe(desired);
    expect(r.git('show', `${s2}:status/${TARGET}.yaml`)).toContain(`observedRevision: ${desired}`);
  });

  it('(c) a person\'s commit that changes a kind folder is the revision, even under status commits', async () => {
    const r = repo();
    const gitdir = r.path('.git');
    await statusCommit(gitdir, r.head(), 'first');
    r.git('reset', '-q');
    r.write('domains/print-test.yaml', domainYaml({ release: 'watchdoc-6.1.3' }));
    r.write('README.md', 'both changed\n');
    r.git('add', '-A', 'domains', 'README.md');
    r.git('commit', '-q', '-m', 'roll back, and a README');
    const person = r.head();
    const s = await statusCommit(gitdir, person, 'second');
    expect(await trailerOf(gitdir, s)).toBe(person);
    expect(await actOn(gitdir, s)).toBe(person);
  });

  it('(d) a merge that changes desired folders is the revision; one that does not is not', async () => {
    const r = repo();
    const gitdir = r.path('.git');
    const base = r.head();
    r.git('checkout', '-q', '-b', 'docs');
    r.write('README.md', 'docs only\n');
    r.commitAll('docs');
    r.git('checkout', '-q', 'main');
    r.git('merge', '-q', '--no-ff', '-m', 'Merge docs', 'docs');
    const docsMerge = r.head();
    expect(await actOn(gitdir, docsMerge)).toBe(base);
    r.git('checkout', '-q', '-b', 'feature');
    r.write('domains/print-test.yaml', domainYaml({ release: 'watchdoc-6.1.3' }));
    r.commitAll('feature: roll back');
    r.git('checkout', '-q', 'main');
    r.write('NOTES.md', 'meanwhile\n');
    r.commitAll('meanwhile on main');
    r.git('merge', '-q', '--no-ff', '-m', 'Merge pull request #7 from feature', 'feature');
    const merge = r.head();
    const s = await statusCommit(gitdir, merge, 'merged');
    expect(await trailerOf(gitdir, s)).toBe(merge);
    expect(await actOn(gitdir, s)).toBe(merge);
  });

  it('(e) versiond audit names the desired commit, also for a trailer an older run got wrong', async () => {
    const r = repo();
    const gitdir = r.path('.git');
    const desired = r.head();
    const s1 = await statusCommit(gitdir, desired, 'first');
    // What the bug wrote: a status commit whose trailer names the status commit below it.
    r.git('reset', '-q');
    r.write(`status/${TARGET}.yaml`, `${r.git('show', `${s1}:status/${TARGET}.yaml`)}\n# wrong\n`);
    r.git('add', 'status');
    r.git('commit', '-q', '-m', `status(${TARGET}): old\n\nVersiond-Target: ${TARGET}\nVersiond-Revision: ${s1}`);
    const s3 = await statusCommit(gitdir, r.head(), 'third');
    const history = await readTargetHistory({ gitdir, head: s3, target: TARGET });
    const revisions = history.events.filter((e): e is StatusEvent => e.type === 'status').map((e) => e.revision);
    expect(revisions).toEqual([desired, desired, desired]);
  });

  it('(b) a status push rebuilt on a person\'s README commit keeps naming the previous desired commit', async () => {
    const work = repo();
    const root = mkdtempSync(join(tmpdir(), 'versiond-trailer-remote-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const bare = join(root, 'desired.git');
    execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
    const server = await startGitHttpServer({ root });
    cleanups.push(() => server.close());
    const url = server.url('desired.git');
    const src = new RemoteSource({ url, cacheDir: join(root, 'clone'), intervalMs: 60_000, onRevision: () => {} });
    await src.start();
    await src.stop();
    const desired = work.head();
    await statusCommit(src.gitdir, desired, 'first');
    // A person pushes a README change first.
    const who = { GIT_AUTHOR_NAME: 'Pat', GIT_AUTHOR_EMAIL: 'p@x' };
    const env = { ...process.env, ...who, GIT_COMMITTER_NAME: 'Pat', GIT_COMMITTER_EMAIL: 'p@x' };
    const person = join(root, 'person');
    const run = promisify(execFile);
    await run('git', ['clone', '-q', server.url('desired.git'), person], { env });
    writeFileSync(join(person, 'README.md'), 'read me\n');
    await run('git', ['add', 'README.md'], { cwd: person, env });
    await run('git', ['commit', '-q', '-m', 'a README'], { cwd: person, env });
    await run('git', ['push', '-q', 'origin', 'main'], { cwd: person, env });
    const pusher = new StatusPusher({ gitdir: src.gitdir, url: server.url('desired.git'), backoffMs: 1 });
    expect(await pusher.push()).toBe('pushed');
    const rebuilt = execFileSync('git', ['--git-dir', bare, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
    expect(await trailerOf(src.gitdir, rebuilt)).toBe(desired);
    // A restart on the rebuilt tip, and the next status commit.
    expect(await actOn(src.gitdir, rebuilt)).toBe(desired);
    const next = await statusCommit(src.gitdir, rebuilt, 'after the push');
    expect(await trailerOf(src.gitdir, next)).toBe(desired);
    expect(readFileSync(join(person, 'README.md'), 'utf8')).toBe('read me\n');
  });
});
