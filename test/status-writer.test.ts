/**
 * The status writer against real Git repositories (TempRepo), checked with the real `git`
 * CLI: what it commits, what it leaves alone (working tree, index, other files, other
 * people's commits) and when it commits (only on change, coalesced per target).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTrailers, statusPath } from '../controller/status/format.ts';
import { parseStatusFile, renderStatus } from '../controller/status/render-status.ts';
import { StatusCommitConflictError, StatusWriter, type StatusWriterOptions } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { MemberStatus, Phase, TargetStatus } from '../reconcilers/contract.ts';
import { TempRepo } from './helpers/git-repo.ts';

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const SERVERS = ['ums-1', 'ums-2', 'ums-3'];
const UMS = 'hacluster/ums-prod';
const UMS_FILE = statusPath(UMS);

/** The UMS cluster with the servers in `updated` at 12.08.110. */
function cluster(updated: readonly string[], revision: string, over: Partial<TargetStatus> = {}): TargetStatus {
  const phase: Phase = updated.length === SERVERS.length ? 'Converged' : 'Progressing';
  const summary = `${updated.length} of ${SERVERS.length} servers updated to 12.08.110`;
  const members: MemberStatus[] = SERVERS.map((name) => ({
    name,
    agent: `agent-${name}`,
    role: 'server',
    desired: '12.08.110',
    observed: updated.includes(name) ? '12.08.110' : '12.07.100',
    state: updated.includes(name) ? 'Updated' : 'Pending',
  }));
  return { target: UMS, phase, conditions: conditionsFor(phase, 'Rollout', summary, undefined, T0), observedRevision: revision, summary, members, ...over };
}

function account(summary: string, revision: string): TargetStatus {
  return { target: 'account/acme-w360', phase: 'Progressing', conditions: conditionsFor('Progressing', 'Rollout', summary, undefined, T0), observedRevision: revision, summary, members: [] };
}

let repos: TempRepo[] = [];
afterEach(() => {
  for (const r of repos) r.dispose();
  repos = [];
});

function setup(options: Partial<StatusWriterOptions> = {}) {
  const repo = TempRepo.create();
  repos.push(repo);
  const clock = { t: T0 };
  const writer = new StatusWriter({ gitdir: join(repo.dir, '.git'), now: () => clock.t, ...options });
  return { repo, clock, writer, rev: repo.head() };
}

const subjects = (repo: TempRepo, range = 'main') => repo.git('log', '--format=%s', range).split('\n');
const fsckClean = (repo: TempRepo) => expect(repo.git('fsck', '--strict', '--no-dangling', '--no-progress')).toBe('');

describe('StatusWriter', () => {
  it('commits status/<kind>/<name>.yaml, rendered, on the branch, as versiond', async () => {
    const { repo, writer, rev } = setup();
    const sha = await writer.write([{ status: cluster([], rev) }]);
    expect(sha).toBe(repo.head());
    expect(repo.git('rev-parse', 'HEAD~1')).toBe(rev);
    expect(repo.git('show', `HEAD:${UMS_FILE}`) + '\n').toBe(renderStatus(cluster([], rev), null, T0));
    expect(repo.git('log', '-1', '--format=%an <%ae>|%cn <%ce>|%at')).toBe(`versiond <versiond@localhost>|versiond <versiond@localhost>|${T0 / 1000}`);
    fsckClean(repo);
  });

  it('makes no commit when the rendered file did not change', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    await writer.write([{ status: cluster([], rev) }]);
    const head = repo.head();
    clock.t += 60_000;
    expect(await writer.write([{ status: cluster([], rev) }])).toBeNull();
    expect(await writer.write([])).toBeNull();
    expect(repo.head()).toBe(head);
    expect(writer.nextDueIn()).toBeUndefined();
  });

  it('the message is the subject and the trailers of format.ts', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    await writer.write([{ status: cluster([], rev) }]);
    expect(repo.git('log', '-1', '--format=%s')).toBe('status(hacluster/ums-prod): Progressing: 0 of 3 servers updated to 12.08.110');
    clock.t += 1000;
    await writer.write([{ status: cluster(['ums-2'], rev) }]);
    const message = repo.git('log', '-1', '--format=%B');
    expect(message).toBe(
      `status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110\n\n` +
        `Versiond-Target: ${UMS}\nVersiond-Phase: ${UMS}=Progressing\nVersiond-Revision: ${rev}`,
    );
    expect(parseTrailers(message)).toEqual({ targets: [UMS], phases: new Map([[UMS, 'Progressing']]), revision: rev });
    // git itself reads them as trailers
    expect(repo.git('log', '-1', '--format=%(trailers:key=Versiond-Phase,valueonly)')).toBe(`${UMS}=Progressing`);
  });

  it('several targets in one commit: `status: N targets`, a body line each', async () => {
    const { repo, writer, rev } = setup();
    await writer.write([{ status: cluster(['ums-2'], rev) }, { status: account('7/10 devices at 4.3.0', rev) }]);
    const message = repo.git('log', '-1', '--format=%B');
    expect(message.split('\n').slice(0, 4)).toEqual([
      'status: 2 targets',
      '',
      'hacluster/ums-prod: Progressing: 1 of 3 servers updated to 12.08.110',
      'account/acme-w360: Progressing: 7/10 devices at 4.3.0',
    ]);
    expect(parseTrailers(message)?.targets).toEqual([UMS, 'account/acme-w360']);
    expect(repo.git('diff', '--name-only', 'HEAD~1', 'HEAD').split('\n')).toEqual([statusPath('account/acme-w360'), UMS_FILE]);
  });

  it('changes only status/: every other tree entry is reused as it was', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    await writer.write([{ status: account('start', rev) }]);
    clock.t += 1000;
    await writer.write([{ status: cluster(['ums-1'], rev) }]);
    expect(repo.git('diff', '--name-only', 'HEAD~1', 'HEAD')).toBe(UMS_FILE);
    expect(repo.git('diff', '--name-only', 'HEAD~2', 'HEAD').split('\n')).toEqual([statusPath('account/acme-w360'), UMS_FILE]);
    const entries = (ref: string) => repo.git('ls-tree', ref).split('\n').filter((l) => !l.endsWith('\tstatus'));
    expect(entries('HEAD')).toEqual(entries(rev));
    // the untouched sibling status file keeps its blob
    expect(repo.git('rev-parse', `HEAD:${statusPath('account/acme-w360')}`)).toBe(repo.git('rev-parse', `HEAD~1:${statusPath('account/acme-w360')}`));
    fsckClean(repo);
  });

  it('never touches the working tree or the index', async () => {
    const { repo, writer, rev } = setup();
    repo.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.08.120'); // unstaged edit
    repo.write('accounts/new.yaml', 'draft\n');
    repo.git('add', 'accounts/new.yaml'); // staged
    repo.write('notes.txt', 'untracked\n');
    const porcelainBefore = repo.git('status', '--porcelain').split('\n');
    const indexHash = () => createHash('sha256').update(readFileSync(repo.path('.git/index'))).digest('hex');
    const index = indexHash();
    const edited = repo.read('ha-clusters/ums-prod.yaml');

    await writer.write([{ status: cluster([], rev) }]);

    expect(indexHash()).toBe(index);
    expect(repo.read('ha-clusters/ums-prod.yaml')).toBe(edited);
    expect(repo.read('notes.txt')).toBe('untracked\n');
    expect(existsSync(repo.path('status'))).toBe(false); // nothing checked out
    const porcelainAfter = repo.git('status', '--porcelain').split('\n');
    expect(porcelainAfter.filter((l) => !l.includes(' status/'))).toEqual(porcelainBefore);
    // HEAD moved under this checkout and its index did not follow (the writer must not touch
    // it), so git shows the new status file as a staged deletion. See status-writer.ts.
    expect(porcelainAfter.filter((l) => l.includes(' status/'))).toEqual([`D  ${UMS_FILE}`]);
  });

  it('coalesces: at most one commit per target per interval, the latest status wins', async () => {
    const { repo, writer, clock, rev } = setup(); // default 5 s
    await writer.write([{ status: cluster([], rev) }]);
    const first = repo.head();
    clock.t += 1000;
    expect(await writer.write([{ status: cluster(['ums-2'], rev) }])).toBeNull();
    clock.t += 1000;
    expect(await writer.write([{ status: cluster(['ums-2', 'ums-1'], rev) }])).toBeNull();
    expect(repo.head()).toBe(first);
    expect(writer.pendingTargets()).toEqual([UMS]);
    expect(writer.nextDueIn()).toBe(3000);
    expect(await writer.flushDue()).toBeNull(); // not due yet
    clock.t += 3000;
    expect(writer.nextDueIn()).toBe(0);
    const sha = await writer.flushDue();
    expect(sha).toBe(repo.head());
    expect(repo.git('rev-list', '--count', `${first}..HEAD`)).toBe('1');
    const file = parseStatusFile(repo.git('show', `HEAD:${UMS_FILE}`));
    expect(file.status?.summary).toBe('2 of 3 servers updated to 12.08.110');
    // the transition that waited is still in the history
    expect(file.history.map((h) => h.summary)).toEqual(['0 of 3', '1 of 3', '2 of 3'].map((s) => `${s} servers updated to 12.08.110`));
    expect(repo.git('log', '-1', '--format=%s')).toBe('status(hacluster/ums-prod): servers ums-1, ums-2 updated, 2 of 3 servers updated to 12.08.110');
    expect(writer.nextDueIn()).toBeUndefined();
  });

  it('coalescing is per target: another target is committed at once, with any pending one now due', async () => {
    const { repo, writer, clock, rev } = setup();
    await writer.write([{ status: cluster([], rev) }]);
    clock.t += 1000;
    expect(await writer.write([{ status: cluster(['ums-2'], rev) }])).toBeNull();
    await writer.write([{ status: account('1/10 devices at 4.3.0', rev) }]);
    expect(repo.git('log', '-1', '--format=%s')).toBe('status(account/acme-w360): Progressing: 1/10 devices at 4.3.0');
    expect(writer.pendingTargets()).toEqual([UMS]);
    clock.t += 4000;
    await writer.write([{ status: account('2/10 devices at 4.3.0', rev) }]); // acme now waits, UMS is due
    expect(repo.git('log', '-1', '--format=%s')).toBe('status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110');
    expect(writer.pendingTargets()).toEqual(['account/acme-w360']);
  });

  it('a status that returns to what the branch holds cancels the pending one', async () => {
    const { repo, writer, clock, rev } = setup();
    await writer.write([{ status: cluster([], rev) }]);
    const head = repo.head();
    clock.t += 1000;
    await writer.write([{ status: cluster([], rev, { members: cluster([], rev).members.map((m) => ({ ...m, message: 'busy' })) }) }]);
    expect(writer.pendingTargets()).toEqual([UMS]);
    await writer.write([{ status: cluster([], rev) }]);
    expect(writer.pendingTargets()).toEqual([]);
    clock.t += 10_000;
    expect(await writer.flush()).toBeNull();
    expect(repo.head()).toBe(head);
  });

  it('flush commits every pending target now (shutdown)', async () => {
    const { repo, writer, clock, rev } = setup();
    await writer.write([{ status: cluster([], rev) }, { status: account('start', rev) }]);
    clock.t += 100;
    await writer.write([{ status: cluster(['ums-2'], rev) }, { status: account('1/10 devices at 4.3.0', rev) }]);
    const before = repo.head();
    expect(await writer.flush()).toBe(repo.head());
    expect(repo.git('rev-list', '--count', `${before}..HEAD`)).toBe('1');
    expect(repo.git('log', '-1', '--format=%s')).toBe('status: 2 targets');
    expect(writer.nextDueIn()).toBeUndefined();
    expect(await writer.flush()).toBeNull();
  });

  it("keeps a person's commit that lands while the writer works, and goes on top of it", async () => {
    let landed = '';
    const { repo, writer, rev } = setup({
      beforeRefUpdate: async () => {
        if (landed) return;
        repo.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.08.120');
        landed = repo.commitAll('Move ums-prod to 12.08.120');
      },
    });
    const sha = await writer.write([{ status: cluster([], rev) }]);
    expect(subjects(repo)).toEqual(['status(hacluster/ums-prod): Progressing: 0 of 3 servers updated to 12.08.110', 'Move ums-prod to 12.08.120', 'initial desired state']);
    expect(repo.head()).toBe(sha);
    expect(repo.git('rev-parse', 'HEAD~1')).toBe(landed);
    expect(repo.git('show', 'HEAD:ha-clusters/ums-prod.yaml')).toContain('igel-ums-12.08.120');
    expect(repo.git('diff', '--name-only', 'HEAD~1', 'HEAD')).toBe(UMS_FILE);
    fsckClean(repo);
  });

  it('never forces: a branch locked by another git process makes it give up, status kept pending', async () => {
    const { repo, writer, rev } = setup({ maxAttempts: 3 });
    const lock = repo.path('.git/refs/heads/main.lock');
    writeFileSync(lock, `${rev}\n`);
    await expect(writer.write([{ status: cluster([], rev) }])).rejects.toBeInstanceOf(StatusCommitConflictError);
    expect(repo.head()).toBe(rev);
    expect(existsSync(lock)).toBe(true); // not ours: left alone
    expect(writer.pendingTargets()).toEqual([UMS]);
    rmSync(lock);
    expect(await writer.flush()).toBe(repo.head());
    expect(repo.git('diff', '--name-only', 'HEAD~1', 'HEAD')).toBe(UMS_FILE);
    fsckClean(repo);
  });

  it('a separate status branch leaves the watched branch untouched', async () => {
    const { repo, writer, clock, rev } = setup({ statusBranch: 'versiond/status', coalesceMs: 0 });
    const porcelain = repo.git('status', '--porcelain');
    await writer.write([{ status: cluster([], rev) }]);
    expect(repo.head()).toBe(rev);
    expect(repo.git('rev-parse', 'main')).toBe(rev);
    expect(repo.git('rev-parse', 'versiond/status~1')).toBe(rev); // created from main's head
    clock.t += 1000;
    await writer.write([{ status: cluster(['ums-2'], rev) }]);
    expect(subjects(repo, 'versiond/status')).toEqual([
      'status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110',
      'status(hacluster/ums-prod): Progressing: 0 of 3 servers updated to 12.08.110',
      'initial desired state',
    ]);
    expect(repo.git('rev-parse', 'main')).toBe(rev);
    expect(repo.git('status', '--porcelain')).toBe(porcelain);
    expect(repo.git('diff', '--name-only', 'main', 'versiond/status')).toBe(UMS_FILE);
    fsckClean(repo);
  });

  it('history is carried across commits and bounded to 10', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    for (let i = 0; i < 12; i++) {
      clock.t += 1000;
      await writer.write([{ status: cluster([], rev, { summary: `step ${i}` }) }]);
    }
    expect(repo.git('rev-list', '--count', `${rev}..HEAD`)).toBe('12');
    const { history } = parseStatusFile(repo.git('show', `HEAD:${UMS_FILE}`));
    expect(history.map((h) => h.summary)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 2}`));
    expect(history.at(-1)?.time).toBe(new Date(T0 + 12_000).toISOString());
    // a fresh writer (controller restart) carries it over from the file in Git
    const again = new StatusWriter({ gitdir: repo.path('.git'), now: () => T0 + 20_000 });
    await again.write([{ status: cluster([], rev, { summary: 'step 12' }) }]);
    const after = parseStatusFile(repo.git('show', `HEAD:${UMS_FILE}`)).history;
    expect(after.map((h) => h.summary)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 3}`));
  });

  it('works on packed refs and packed objects (after git gc)', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    await writer.write([{ status: cluster([], rev) }]);
    repo.git('gc', '-q', '--prune=now');
    expect(existsSync(repo.path('.git/refs/heads/main'))).toBe(false);
    clock.t += 1000;
    const before = repo.head();
    await writer.write([{ status: cluster(['ums-2'], rev) }]);
    expect(repo.git('rev-parse', 'HEAD~1')).toBe(before);
    expect(parseStatusFile(repo.git('show', `HEAD:${UMS_FILE}`)).history).toHaveLength(2);
    fsckClean(repo);
  });

  it('serializes concurrent calls (a timer flush racing the loop)', async () => {
    const { repo, writer, clock, rev } = setup({ coalesceMs: 0 });
    const results = await Promise.all([
      writer.write([{ status: cluster([], rev) }]),
      writer.write([{ status: account('start', rev) }]),
      (clock.t += 1000, writer.write([{ status: cluster(['ums-1'], rev) }])),
      writer.flush(),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(3);
    expect(repo.git('rev-list', '--count', `${rev}..HEAD`)).toBe('3');
    fsckClean(repo);
  });
});
