import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAuditText } from '../controller/audit/render-audit.ts';
import { pullRequestReferences, readTargetHistory } from '../controller/audit/target-history.ts';
import { ROOT, TempRepo } from './helpers/git-repo.ts';

/**
 * `versiond audit` over a scripted history: desired changes by several authors with pull
 * and merge request references, a merged branch, commits that touch no desired file, and
 * status commits made with the git CLI in the format of controller/status/format.ts.
 */

const BIN = join(ROOT, 'controller/cli/bin.js');
function versiond(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, 'audit', ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Who {
  readonly name: string;
  readonly email: string;
}
const ADA = { name: 'Ada Admin', email: 'ada@example.com' };
const BOB = { name: 'Bob Builder', email: 'bob@example.com' };
const CAROL = { name: 'Carol Ops', email: 'carol@example.com' };
const DAVE = { name: 'Dave Lead', email: 'dave@example.com' };
const EVE = { name: 'Eve Print', email: 'eve@example.com' };
const VERSIOND = { name: 'versiond', email: 'versiond@localhost' };

/** The git CLI as a given person at a given instant (author and committer alike). */
function gitAs(g: TempRepo, who: Who, date: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: g.dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: who.name,
      GIT_AUTHOR_EMAIL: who.email,
      GIT_COMMITTER_NAME: who.name,
      GIT_COMMITTER_EMAIL: who.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: g.dir,
    },
  }).trim();
}

function commit(g: TempRepo, who: Who, date: string, ...paragraphs: string[]): string {
  gitAs(g, who, date, 'add', '-A');
  gitAs(g, who, date, 'commit', '-q', ...paragraphs.flatMap((p) => ['-m', p]));
  return g.head();
}

/** A status commit as the controller writes it: status files, a readable subject, the trailers. */
function statusCommit(
  g: TempRepo,
  date: string,
  subject: string,
  targets: readonly { target: string; phase: string; summary?: string }[],
  revision: string,
): string {
  for (const t of targets) {
    const lines = [`target: ${t.target}`, `phase: ${t.phase}`];
    if (t.summary !== undefined) lines.push(`summary: ${JSON.stringify(t.summary)}`);
    lines.push(`revision: ${revision}`, '');
    g.write(`status/${t.target}.yaml`, lines.join('\n'));
  }
  const trailers = [
    ...targets.map((t) => `Versiond-Target: ${t.target}`),
    ...targets.map((t) => `Versiond-Phase: ${t.target}=${t.phase}`),
    `Versiond-Revision: ${revision}`,
  ].join('\n');
  return commit(g, VERSIOND, date, subject, trailers);
}

const UMS = 'ha-clusters/ums-prod.yaml';
let g: TempRepo;
const c: Record<string, string> = {};
const short = (k: string) => c[k]!.slice(0, 7);

beforeAll(() => {
  g = TempRepo.create({ commit: false });
  g.edit(UMS, 'release: igel-ums-12.08.110', 'release: igel-ums-12.07.100');
  c['c0'] = commit(g, ADA, '2026-11-01T10:00:00Z', 'initial desired state');
  g.edit(UMS, 'release: igel-ums-12.07.100', 'release: igel-ums-12.08.110');
  c['c1'] = commit(g, BOB, '2026-11-20T09:12:00Z', 'Upgrade UMS to 12.08.110 (#42)');
  c['s1'] = statusCommit(g, '2026-11-20T09:13:00Z', 'status(hacluster/ums-prod): preflight passed, 0 of 3 servers updated',
    [{ target: 'hacluster/ums-prod', phase: 'Progressing', summary: '0 of 3 servers updated to 12.08.110' }], c['c1']);
  // No desired file: a README at the top and a non-YAML note inside a desired folder.
  g.write('README.md', '# fleet\n').write('releases/NOTES.md', 'keep two UMS releases\n');
  c['n1'] = commit(g, ADA, '2026-11-20T09:20:00Z', 'docs: explain the release folder');

  gitAs(g, CAROL, '2026-11-20T09:24:00Z', 'checkout', '-q', '-b', 'carol/acme-media');
  g.edit('accounts/acme-w360.yaml', 'generatedFor: "4.2.1"', 'generatedFor: "4.3.0"')
    .edit('accounts/acme-w360.yaml', '{ name: acme-ws-004, repositoryServer: acme-wrs-paris }', '{ name: acme-ws-004, repositoryServer: acme-wrs-lyon }');
  c['b1'] = commit(g, CAROL, '2026-11-20T09:25:00Z', 'Regenerate acme install media, move ws-004 to Lyon');
  gitAs(g, CAROL, '2026-11-20T09:26:00Z', 'checkout', '-q', 'main');

  c['s2'] = statusCommit(g, '2026-11-20T09:30:00Z', 'status: 2 targets', [
    { target: 'hacluster/ums-prod', phase: 'Failed', summary: 'server ums-2 stuck in update mode: run the end-update command' },
    { target: 'account/acme-w360', phase: 'Converged', summary: '9 of 9 devices at 4.2.1' },
  ], c['c1']);
  gitAs(g, DAVE, '2026-11-20T09:40:00Z', 'merge', '-q', '--no-ff', 'carol/acme-media', '-m', 'Merge pull request #57 from carol/acme-media', '-m', 'Regenerate acme install media');
  c['m1'] = g.head();
  c['s3'] = statusCommit(g, '2026-11-20T09:50:00Z', 'status(hacluster/ums-prod): ums-2 back in normal mode',
    [{ target: 'hacluster/ums-prod', phase: 'Converged', summary: '3 of 3 servers updated to 12.08.110' }], c['m1']);

  g.edit('domains/print-paris.yaml', 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3');
  c['c2'] = commit(g, EVE, '2026-11-21T08:00:00Z', 'Roll print-paris back to 6.1.3', 'See merge request fleet/desired!45');
  c['s4'] = statusCommit(g, '2026-11-21T08:05:00Z', 'status(domain/print-paris): master wd-paris-master downgraded',
    [{ target: 'domain/print-paris', phase: 'Progressing' }], c['c2']);

  g.edit(UMS, '# Production IGEL UMS HA network', '# The production IGEL UMS HA network')
    .edit('distribution-servers/ds-paris.yaml', '    - name: daily-definitions', '      runNow: "2026-11-21T08:30:00Z"\n    - name: daily-definitions');
  c['c3'] = commit(g, ADA, '2026-11-21T08:30:00Z', 'Run the monthly patch sync now', 'Reviewed-on: https://review.example/c/fleet/+/812');

  gitAs(g, BOB, '2026-11-21T09:00:00Z', 'mv', 'accounts/acme-w360.yaml', 'accounts/eu-acme-w360.yaml');
  c['c4'] = commit(g, BOB, '2026-11-21T09:00:00Z', 'Rename the acme file');

  g.edit(UMS, '    - name: ums-3\n', '    - name: ums-3\n    - name: ums-4\n')
    .edit(UMS, 'updateOrder: [ums-2, ums-1, ums-3]', 'updateOrder: [ums-2, ums-1, ums-3, ums-4]')
    .remove('releases/cebox-os-3.0.0-rc.1.yaml');
  c['c5'] = commit(g, ADA, '2026-11-22T07:00:00Z', 'Add ums-4; drop the 3.0 release candidate');
});
afterAll(() => g?.dispose());

async function audit(options: { target?: string; since?: string; head?: string } = {}) {
  const history = await readTargetHistory({
    gitdir: join(g.dir, '.git'),
    head: options.head ?? g.head(),
    ...(options.target !== undefined ? { target: options.target } : {}),
    ...(options.since !== undefined ? { since: Date.parse(options.since) } : {}),
  });
  return { history, text: renderAuditText({ ...history, branch: 'main' }) };
}

describe('versiond audit: the history of a target', () => {
  it('interleaves the desired changes of a target with the status commits that followed', async () => {
    const { text } = await audit({ target: 'hacluster/ums-prod' });
    expect(text).toBe([
      `history of main at ${short('c5')}: 12 commits read, times in UTC`,
      '',
      'hacluster/ums-prod',
      `  2026-11-01 10:00  ${short('c0')}  Ada Admin <ada@example.com>  initial desired state`,
      '      added in ha-clusters/ums-prod.yaml',
      `  2026-11-20 09:12  ${short('c1')}  Bob Builder <bob@example.com>  PR #42  Upgrade UMS to 12.08.110 (#42)`,
      '      spec.release: igel-ums-12.07.100 -> igel-ums-12.08.110',
      `  2026-11-20 09:13  ${short('s1')}  status  Progressing: 0 of 3 servers updated to 12.08.110  (revision ${short('c1')})`,
      `  2026-11-20 09:30  ${short('s2')}  status  Failed: server ums-2 stuck in update mode: run the end-update command  (revision ${short('c1')})`,
      `  2026-11-20 09:50  ${short('s3')}  status  Converged: 3 of 3 servers updated to 12.08.110  (revision ${short('m1')})`,
      `  2026-11-21 08:30  ${short('c3')}  Ada Admin <ada@example.com>  https://review.example/c/fleet/+/812  Run the monthly patch sync now`,
      '      no field changed in ha-clusters/ums-prod.yaml (comments or layout)',
      `  2026-11-22 07:00  ${short('c5')}  Ada Admin <ada@example.com>  Add ums-4; drop the 3.0 release candidate`,
      '      spec.servers[ums-4]: (unset) -> {"name":"ums-4"}',
      '      spec.updateOrder: ["ums-2","ums-1","ums-3"] -> ["ums-2","ums-1","ums-3","ums-4"]',
      '',
    ].join('\n'));
  });

  it('shows a merged pull request once, as its merge commit, by who merged it, with everything it changed', async () => {
    const { text } = await audit({ target: 'account/acme-w360' });
    expect(text).toBe([
      `history of main at ${short('c5')}: 12 commits read, times in UTC`,
      '',
      'account/acme-w360',
      `  2026-11-01 10:00  ${short('c0')}  Ada Admin <ada@example.com>  initial desired state`,
      '      added in accounts/acme-w360.yaml',
      `  2026-11-20 09:30  ${short('s2')}  status  Converged: 9 of 9 devices at 4.2.1  (revision ${short('c1')})`,
      `  2026-11-20 09:40  ${short('m1')}  Dave Lead <dave@example.com>  PR #57  Merge pull request #57 from carol/acme-media`,
      '      spec.devices[acme-ws-004].repositoryServer: acme-wrs-paris -> acme-wrs-lyon',
      '      spec.installMedia.generatedFor: 4.2.1 -> 4.3.0',
      `  2026-11-21 09:00  ${short('c4')}  Bob Builder <bob@example.com>  Rename the acme file`,
      '      moved from accounts/acme-w360.yaml to accounts/eu-acme-w360.yaml, content unchanged',
      '',
    ].join('\n'));
    expect(text).not.toContain(short('b1'));
  });

  it('--since keeps later commits only; every target they touch gets its timeline', async () => {
    const { text, history } = await audit({ since: '2026-11-21' });
    expect(history.since).toBe('2026-11-21T00:00:00Z');
    expect(text).toBe([
      `history of main at ${short('c5')} since 2026-11-21T00:00:00Z: 5 commits read, times in UTC`,
      '',
      'account/acme-w360',
      `  2026-11-21 09:00  ${short('c4')}  Bob Builder <bob@example.com>  Rename the acme file`,
      '      moved from accounts/acme-w360.yaml to accounts/eu-acme-w360.yaml, content unchanged',
      '',
      'distributionserver/ds-paris',
      `  2026-11-21 08:30  ${short('c3')}  Ada Admin <ada@example.com>  https://review.example/c/fleet/+/812  Run the monthly patch sync now`,
      '      spec.syncs[monthly-patches].runNow: (unset) -> 2026-11-21T08:30:00Z',
      '',
      'domain/print-paris',
      `  2026-11-21 08:00  ${short('c2')}  Eve Print <eve@example.com>  MR !45  Roll print-paris back to 6.1.3`,
      '      spec.release: watchdoc-6.1.4 -> watchdoc-6.1.3',
      `  2026-11-21 08:05  ${short('s4')}  status  Progressing: master wd-paris-master downgraded  (revision ${short('c2')})`,
      '',
      'hacluster/ums-prod',
      `  2026-11-21 08:30  ${short('c3')}  Ada Admin <ada@example.com>  https://review.example/c/fleet/+/812  Run the monthly patch sync now`,
      '      no field changed in ha-clusters/ums-prod.yaml (comments or layout)',
      `  2026-11-22 07:00  ${short('c5')}  Ada Admin <ada@example.com>  Add ums-4; drop the 3.0 release candidate`,
      '      spec.servers[ums-4]: (unset) -> {"name":"ums-4"}',
      '      spec.updateOrder: ["ums-2","ums-1","ums-3"] -> ["ums-2","ums-1","ums-3","ums-4"]',
      '',
      'release/cebox-os-3.0.0-rc.1',
      `  2026-11-22 07:00  ${short('c5')}  Ada Admin <ada@example.com>  Add ums-4; drop the 3.0 release candidate`,
      '      removed (was in releases/cebox-os-3.0.0-rc.1.yaml)',
      '',
    ].join('\n'));
  });

  it('--since with a time of day, and --target, combine', async () => {
    const { history } = await audit({ target: 'hacluster/ums-prod', since: '2026-11-20T09:13:00Z' });
    expect(history.events.map((e) => e.commit)).toEqual([c['s1'], c['s2'], c['s3'], c['c3'], c['c5']]);
  });

  it('leaves out unrelated targets and commits that change no desired file', async () => {
    const { history, text } = await audit({ target: 'domain/print-paris' });
    expect(history.events.map((e) => e.commit)).toEqual([c['c0'], c['c2'], c['s4']]);
    for (const k of ['c1', 's1', 's2', 's3', 'm1', 'c3', 'n1']) expect(text).not.toContain(short(k));
    const all = await audit();
    expect(all.history.events.some((e) => e.commit === c['n1'])).toBe(false);
    expect(all.text).not.toContain(short('n1'));
    expect(all.text).not.toContain('NOTES');
    // Every desired commit and every status commit of the first-parent history is there.
    expect(all.history.events.map((e) => e.commit)).toEqual(['c0', 'c1', 's1', 's2', 'm1', 's3', 'c2', 's4', 'c3', 'c4', 'c5'].map((k) => c[k]));
  });

  it('falls back to the commit subject when the status file has no summary', async () => {
    const { history } = await audit({ target: 'domain/print-paris' });
    const status = history.events.find((e) => e.type === 'status');
    expect(status).toEqual({
      type: 'status',
      commit: c['s4'],
      date: '2026-11-21T08:05:00Z',
      author: VERSIOND,
      subject: 'status(domain/print-paris): master wd-paris-master downgraded',
      revision: c['c2'],
      targets: [{ target: 'domain/print-paris', phase: 'Progressing', summary: 'master wd-paris-master downgraded' }],
    });
  });

  it('reads the history of another branch', async () => {
    const { history } = await audit({ target: 'account/acme-w360', head: g.git('rev-parse', 'carol/acme-media') });
    expect(history.events.map((e) => e.commit)).toEqual([c['c0'], c['b1']]);
    expect(history.events[1]).toMatchObject({ author: CAROL, subject: 'Regenerate acme install media, move ws-004 to Lyon', references: [], merge: false });
  });

  it('a target with no history says so', async () => {
    const { text, history } = await audit({ target: 'hacluster/ums-test' });
    expect(history.events).toEqual([]);
    expect(text).toBe(`history of main at ${short('c5')}: 12 commits read, times in UTC\n\nhacluster/ums-test: no desired change and no status commit on main\n`);
  });
});

describe('a long history', () => {
  it('reads 3,000 first-parent commits, most touching no desired file, in a few seconds', async () => {
    const long = TempRepo.create();
    try {
      // git fast-import: 3,000 commits, one in 500 changing a desired file, the rest a note.
      const parts: string[] = [];
      let t = Date.parse('2026-11-01T00:00:00Z') / 1000;
      for (let i = 1; i <= 3000; i++) {
        t += 60;
        const desired = i % 500 === 0;
        const path = desired ? 'ha-clusters/perf.yaml' : 'notes.txt';
        const content = desired
          ? `apiVersion: versiond/v1\nkind: HACluster\nmetadata:\n  name: perf\nspec:\n  release: igel-ums-${i}\n`
          : `note ${i}\n`;
        const message = `change ${i}`;
        parts.push('commit refs/heads/main', `committer Ada Admin <ada@example.com> ${t} +0000`, `data ${message.length}`, message);
        if (i === 1) parts.push('from refs/heads/main^0');
        parts.push(`M 100644 inline ${path}`, `data ${Buffer.byteLength(content)}`, content, '');
      }
      execFileSync('git', ['fast-import', '--quiet'], { cwd: long.dir, input: parts.join('\n') });
      const started = performance.now();
      const history = await readTargetHistory({ gitdir: join(long.dir, '.git'), head: long.git('rev-parse', 'main'), target: 'hacluster/perf' });
      const elapsed = performance.now() - started;
      expect(history.commits).toBe(3001);
      expect(history.events.map((e) => (e.type === 'desired' ? e.subject : ''))).toEqual([500, 1000, 1500, 2000, 2500, 3000].map((i) => `change ${i}`));
      expect(history.events[1]).toMatchObject({ changes: [{ target: 'hacluster/perf', change: 'changed', fields: [{ field: 'spec.release', from: 'igel-ums-500', to: 'igel-ums-1000' }] }] });
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      long.dispose();
    }
  });
});

describe('pull and merge request references', () => {
  it.each([
    ['Merge pull request #123 from ada/bump\n\nBump UMS', ['PR #123']],
    ['Bump UMS to 12.08.110 (#42)', ['PR #42']],
    ['Bump UMS\n\nfixes #12', []],
    ["Merge branch 'bump' into 'main'\n\nBump UMS\n\nSee merge request fleet/desired!45", ['MR !45']],
    ['Bump UMS !7', ['MR !7']],
    ['Important! 3 servers', []],
    ['Bump UMS\n\nChange-Id: I1234\nReviewed-on: https://gerrit.example/c/fleet/+/812\nReviewed-by: Bob', ['https://gerrit.example/c/fleet/+/812']],
    ['Bump UMS\n\nSee-also: CHG-2026-1142', ['CHG-2026-1142']],
    ['Bump UMS\n\nPR-URL: https://github.com/acme/fleet/pull/9', ['https://github.com/acme/fleet/pull/9']],
    ['Plain change', []],
  ])('%j', (message, refs) => {
    expect(pullRequestReferences(message)).toEqual(refs);
  });
});

describe('versiond audit (the command)', () => {
  it('prints the timeline of a target as text, exit 0', () => {
    const r = versiond(['--repo', g.dir, '--target', 'domain/print-paris']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      `history of main at ${short('c5')}: 12 commits read, times in UTC`,
      '',
      'domain/print-paris',
      `  2026-11-01 10:00  ${short('c0')}  Ada Admin <ada@example.com>  initial desired state`,
      '      added in domains/print-paris.yaml',
      `  2026-11-21 08:00  ${short('c2')}  Eve Print <eve@example.com>  MR !45  Roll print-paris back to 6.1.3`,
      '      spec.release: watchdoc-6.1.4 -> watchdoc-6.1.3',
      `  2026-11-21 08:05  ${short('s4')}  status  Progressing: master wd-paris-master downgraded  (revision ${short('c2')})`,
      '',
    ].join('\n'));
  });

  it('--format json gives one timeline per target', () => {
    const r = versiond(['--repo', g.dir, '--target', 'hacluster/ums-prod', '--since', '2026-11-20', '--format', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ branch: 'main', head: c['c5'], since: '2026-11-20T00:00:00Z', target: 'hacluster/ums-prod', commits: 11 });
    expect(out.targets).toHaveLength(1);
    expect(out.targets[0].target).toBe('hacluster/ums-prod');
    const events = out.targets[0].events;
    expect(events.map((e: { commit: string }) => e.commit)).toEqual([c['c1'], c['s1'], c['s2'], c['s3'], c['c3'], c['c5']]);
    expect(events[0]).toEqual({
      type: 'desired',
      commit: c['c1'],
      date: '2026-11-20T09:12:00Z',
      author: BOB,
      authorDate: '2026-11-20T09:12:00Z',
      committer: BOB,
      subject: 'Upgrade UMS to 12.08.110 (#42)',
      references: ['PR #42'],
      merge: false,
      change: 'changed',
      path: 'ha-clusters/ums-prod.yaml',
      fields: [{ field: 'spec.release', from: 'igel-ums-12.07.100', to: 'igel-ums-12.08.110' }],
    });
    expect(events[2]).toEqual({
      type: 'status',
      commit: c['s2'],
      date: '2026-11-20T09:30:00Z',
      author: VERSIOND,
      subject: 'status: 2 targets',
      revision: c['c1'],
      phase: 'Failed',
      summary: 'server ums-2 stuck in update mode: run the end-update command',
    });
    expect(events[5].fields).toEqual([
      { field: 'spec.servers[ums-4]', to: { name: 'ums-4' } },
      { field: 'spec.updateOrder', from: ['ums-2', 'ums-1', 'ums-3'], to: ['ums-2', 'ums-1', 'ums-3', 'ums-4'] },
    ]);
  });

  it('defaults to the current branch; --branch reads another', () => {
    const main = versiond(['--target', 'account/acme-w360', '--format', 'json'], g.dir);
    expect(main.code).toBe(0);
    expect(JSON.parse(main.stdout)).toMatchObject({ branch: 'main', head: c['c5'] });
    const branch = versiond(['--repo', g.dir, '--branch', 'carol/acme-media', '--target', 'account/acme-w360']);
    expect(branch.code).toBe(0);
    expect(branch.stdout).toContain(`  2026-11-20 09:25  ${short('b1')}  Carol Ops <carol@example.com>  Regenerate acme install media, move ws-004 to Lyon\n`);
    expect(branch.stdout.split('\n')[0]).toBe(`history of carol/acme-media at ${short('b1')}: 5 commits read, times in UTC`);
  });

  it('a target with no history prints a clear line and exits 0', () => {
    const r = versiond(['--repo', g.dir, '--target', 'account/nobody', '--since', '2026-11-21']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[2]).toBe('account/nobody: no desired change and no status commit on main since 2026-11-21T00:00:00Z');
  });

  describe('usage errors exit 2 with a message on stderr', () => {
    it.each([
      [['--target', 'ums-prod'], 'versiond audit: --target must be kind/name with a kind in lower case (release, domain, account, distributionserver, hacluster), not "ums-prod"'],
      [['--target', 'HACluster/ums-prod'], 'versiond audit: --target must be kind/name with a kind in lower case (release, domain, account, distributionserver, hacluster), not "HACluster/ums-prod"'],
      [['--target', 'cluster/ums-prod'], 'versiond audit: --target must be kind/name with a kind in lower case (release, domain, account, distributionserver, hacluster), not "cluster/ums-prod"'],
      [['--since', 'yesterday'], 'versiond audit: --since must be a date such as 2026-11-20 or 2026-11-20T09:00:00Z, not "yesterday"'],
      [['--since', '2026-13-45'], 'versiond audit: --since must be a date such as 2026-11-20 or 2026-11-20T09:00:00Z, not "2026-13-45"'],
      [['--format', 'markdown'], 'versiond audit: --format must be one of text, json, not "markdown"'],
      [['--repo', 'example-repo'], 'versiond audit: example-repo is a plain folder, not a Git repository: audit reads Git history'],
      [['--repo', 'no/such/dir'], 'versiond audit: no/such/dir: no such directory'],
      [['--branch', 'no-such-branch'], 'versiond audit: cannot resolve revision "no-such-branch": no branch, tag or commit by that name'],
      [['--bogus'], "versiond audit: Unknown option '--bogus'"],
    ])('%j', (args, message) => {
      const r = versiond(args[0] === '--branch' ? ['--repo', g.dir, ...args] : args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toBe(message);
    });
  });

  it('--help documents every flag and exits 0; the overview lists audit', () => {
    const r = versiond(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--repo', '--branch', '--target', '--since', '--format']) expect(r.stdout).toContain(flag);
    const top = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(top.stdout).toMatch(/^ {2}audit {3}/m);
  });
});
