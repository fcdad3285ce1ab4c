/**
 * Issue 14, item 5: an object lost from a repository (`git gc --prune=now` racing a writer, a
 * disk fault) is found, named in /readyz, the source status and the metrics, and repaired
 * where the controller can: the remote clone is cloned again; a status branch whose commit is
 * gone is rebuilt from the desired branch head. A person's unreadable revision is never
 * rewritten: the controller keeps acting on the last valid one and retries with backoff.
 * The loss is made with the real git CLI (deleting the loose object file); `git fsck` checks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { domainRepo, domainYaml, eventually, startFixture, type Fixture } from './helpers/controller-fixture.ts';
import { startGitHttpServer } from './helpers/git-http-server.ts';
import type { TempRepo } from './helpers/git-repo.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function objectFile(gitdir: string, oid: string): string {
  return join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
}

function fsck(gitdir: string): { code: number | null; out: string } {
  const r = spawnSync('git', ['--git-dir', gitdir, 'fsck', '--full', '--no-dangling'], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

async function readyz(f: Fixture): Promise<{ status: number; body: string }> {
  const res = await fetch(`${f.controller.url}/readyz`);
  return { status: res.status, body: await res.text() };
}

const metrics = async (f: Fixture) => (await fetch(`${f.controller.url}/metrics`)).text();
const logged = (f: Fixture, text: string) => f.logs.filter((l) => l.includes(text)).length;

async function start(repo: TempRepo, controller: Parameters<typeof startFixture>[0]['controller'] = {}) {
  const f = await startFixture({ repo, agents: [], controller: { gitRetryMs: 100, ...controller } });
  cleanups.push(() => f.close());
  return f;
}

/**
 * A person's commit on top of `main` changing the domain's release, whose new blob is deleted
 * before the branch moves to it: the controller only ever sees a head it cannot read.
 */
function commitWithoutBlob(repo: TempRepo): { commit: string; blob: string; content: string } {
  const content = domainYaml({ release: 'watchdoc-6.1.3' });
  const hash = ['hash-object', '-w', '--stdin'];
  const blob = execFileSync('git', hash, { cwd: repo.dir, input: content, encoding: 'utf8' }).trim();
  for (;;) {
    const old = repo.git('rev-parse', 'main');
    const index = join(repo.dir, '.git', 'tmp-index');
    const env = { ...process.env, GIT_INDEX_FILE: index };
    const g = (...args: string[]) => execFileSync('git', args, { cwd: repo.dir, env, encoding: 'utf8' }).trim();
    g('read-tree', old);
    g('update-index', '--cacheinfo', `100644,${blob},domains/print-test.yaml`);
    const tree = g('write-tree');
    rmSync(index, { force: true });
    const commit = repo.git('commit-tree', tree, '-p', old, '-m', 'roll print-test back to 6.1.3');
    rmSync(objectFile(join(repo.dir, '.git'), blob));
    try {
      repo.git('update-ref', 'refs/heads/main', commit, old);
      return { commit, blob, content };
    } catch {
      // a status commit landed meanwhile: build again on it
      execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, input: content });
    }
  }
}

// Every wait is generous: the suite runs two files at once, and under that load a git fsck, a
// poll or a clone takes seconds.
describe('a Git object missing', () => {
  it('in a local desired revision: keeps the last valid one, says so, recovers when it is back', async () => {
    const repo = domainRepo();
    const gitdir = join(repo.dir, '.git');
    const f = await start(repo);
    const good = f.controller.loop.revision!;
    const sourceFile = () => repo.git('ls-tree', '--name-only', 'main', 'status/source/main.yaml');
    await eventually(() => sourceFile() !== '', 25_000, 'a status');

    const lost = commitWithoutBlob(repo);
    const not = await eventually(async () => {
      const r = await readyz(f);
      return r.status === 503 && r.body.includes(lost.blob) ? r : undefined;
    }, 25_000, '/readyz to name the missing object');
    expect(not.body).toContain('GIT_OBJECT_MISSING');
    expect(not.body).toContain(gitdir);
    expect(f.controller.loop.revision).toBe(good);
    // The source status says so, committed on top of the person's commit (never instead of it).
    const source = await eventually(() => {
      const text = repo.git('show', 'main:status/source/main.yaml');
      return text.includes(lost.blob) ? text : undefined;
    }, 25_000, 'the source status to name the missing object');
    expect(source).toContain('GitObjectMissing');
    expect(repo.git('merge-base', '--is-ancestor', lost.commit, 'main')).toBe('');
    expect(await metrics(f)).toMatch(/versiond_git_objects_missing\{side="desired"\} 1/);
    // Retried with backoff, logged once.
    await new Promise((r) => setTimeout(r, 600));
    expect(logged(f, 'objects are missing')).toBe(1);

    // Someone puts the object back (from another clone): the controller picks the revision up.
    execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, input: lost.content });
    await eventually(() => f.controller.loop.revision === lost.commit, 25_000, 'the revision to be applied');
    await eventually(async () => (await readyz(f)).status === 200, 25_000, '/readyz ready again');
    expect(logged(f, 'objects are missing')).toBe(1);
    expect(fsck(gitdir).code).toBe(0);
  }, 90_000);

  it('in a local status branch\'s commit: rebuilds the status commit from the desired branch head', async () => {
    const repo = domainRepo();
    const gitdir = join(repo.dir, '.git');
    const f = await start(repo, { statusBranch: 'versiond-status' });
    const statusOf = (target: string) =>
      spawnSync('git', ['show', `versiond-status:status/${target}.yaml`], { cwd: repo.dir, encoding: 'utf8' }).stdout;
    await eventually(() => statusOf('source/main') !== '' && statusOf('domain/print-test') !== '', 25_000, 'statuses');
    await f.controller.loop.idle();
    await new Promise((r) => setTimeout(r, 300));
    const lostTip = repo.git('rev-parse', 'refs/heads/versiond-status');
    expect(existsSync(objectFile(gitdir, lostTip))).toBe(true);
    rmSync(objectFile(gitdir, lostTip));
    expect(fsck(gitdir).code).not.toBe(0);

    // A new desired revision makes new status, which must not be built on the lost commit.
    repo.write('domains/print-test.yaml', domainYaml({ release: 'watchdoc-6.1.3' }));
    const desired = repo.commitAll('roll back');
    await eventually(() => {
      const head = repo.git('rev-parse', 'refs/heads/versiond-status');
      return head !== lostTip && repo.git('rev-parse', `${head}^`) === desired;
    }, 25_000, 'the status commit rebuilt on the desired head');
    expect(repo.git('show', 'versiond-status:status/source/main.yaml')).toContain(desired);
    expect(fsck(gitdir)).toMatchObject({ code: 0 });
    expect(repo.git('rev-parse', 'main')).toBe(desired);
    expect((await readyz(f)).status).toBe(200);
    expect(await metrics(f)).toMatch(/versiond_git_repairs_total\{outcome="status-rebuilt"\} 1/);
  }, 90_000);

  it('in the clone of a remote repository: drops the clone and clones again, without a restart', async () => {
    const work = domainRepo();
    const root = mkdtempSync(join(tmpdir(), 'versiond-missing-remote-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const bare = join(root, 'desired.git');
    execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
    const server = await startGitHttpServer({ root });
    cleanups.push(() => server.close());
    const f = await start(work, { repo: server.url('desired.git'), pollMs: 200 });
    const show = ['--git-dir', bare, 'show', 'main:status/source/main.yaml'];
    const remoteStatus = () => spawnSync('git', show, { encoding: 'utf8' }).stdout;
    await eventually(() => remoteStatus().includes('lastAppliedRevision'), 25_000, 'status pushed');
    const repos = join(f.stateDir, 'repos');
    const clone = join(repos, readdirSync(repos)[0]!, '.git');
    // The pack the clone was made from: the desired files and all history below the status commits.
    const pack = join(clone, 'objects', 'pack');
    const packs = readdirSync(pack);
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) rmSync(join(pack, p));
    expect(fsck(clone).code).not.toBe(0);

    await eventually(() => logged(f, 'cloning again') > 0, 25_000, 'the clone to be dropped');
    await eventually(() => fsck(clone).code === 0, 25_000, 'a whole clone');
    await eventually(async () => (await readyz(f)).status === 200, 25_000, '/readyz ready');
    // ready can come first: the revision is read from the new clone before its repair is counted
    await eventually(async () => /versiond_git_repairs_total\{outcome="recloned"\} 1\n/.test(await metrics(f)), 25_000,
      'the re-clone counted once');
    expect(f.logs.filter((l) => l.includes('"level":50')).join('')).not.toContain('Could not find');
  }, 90_000);
});
