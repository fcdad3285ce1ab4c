import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE_REPO, ROOT, TempRepo } from './helpers/git-repo.ts';

/** `versiond validate` as a pull-request check runs it: a real process, its exit code and output. */
const BIN = join(ROOT, 'controller/cli/bin.js');
function versiond(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));
function repo(): TempRepo {
  const r = TempRepo.create();
  repos.push(r);
  return r;
}

describe('versiond validate', () => {
  it('passes on example-repo (a plain folder) with exit 0', () => {
    const r = versiond(['validate', '--repo', 'example-repo']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`ok: example-repo (folder ${EXAMPLE_REPO}): 18 files, 11 Release, 2 Domain, 2 Account, 2 DistributionServer, 1 HACluster; no problems\n`);
    expect(r.code).toBe(0);
  });

  it('reports every problem, the unusable targets, and exits 1', () => {
    const g = repo();
    g.edit('accounts/acme-w360.yaml', '{ name: acme-ws-103, repositoryServer: acme-wrs-lyon }', '{ name: acme-ws-103, repositoryServer: acme-wrs-lyn }')
      .edit('ha-clusters/ums-prod.yaml', '    backup: Command', '    backup: Nightly')
      .commitAll('two mistakes');
    const r = versiond(['validate', '--repo', g.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe([
      'accounts/acme-w360.yaml:26:46: account/acme-w360: spec.devices[6].repositoryServer: repository server (WRS) "acme-wrs-lyn" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
      'ha-clusters/ums-prod.yaml:24:13: hacluster/ums-prod: spec.preflight.backup: must be one of "Command", "External", not "Nightly"',
      '',
      `invalid: ${g.dir} (commit ${g.head().slice(0, 7)}): 2 errors in 2 files; 11 Release, 2 Domain, 2 Account, 2 DistributionServer parsed`,
      'unusable targets (the controller does not act on an invalid revision: it keeps the last valid one):',
      '  account/acme-w360: spec.devices[6].repositoryServer: repository server (WRS) "acme-wrs-lyn" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
      '  hacluster/ums-prod: spec.preflight.backup: must be one of "Command", "External", not "Nightly"',
      '',
    ].join('\n'));
  });

  it('--format json gives the same findings as structured data', () => {
    const g = repo();
    g.edit('ha-clusters/ums-prod.yaml', '    backup: Command', '    backup: Nightly').commitAll('one mistake');
    const r = versiond(['validate', '--repo', g.dir, '--format', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: false, revision: g.head(), base: null, files: 18 });
    expect(out.documents).toEqual({ Release: 11, Domain: 2, Account: 2, DistributionServer: 2, HACluster: 0 });
    expect(out.diagnostics).toEqual([{
      severity: 'error',
      code: 'NOT_ALLOWED_VALUE',
      path: 'ha-clusters/ums-prod.yaml',
      line: 24,
      column: 13,
      target: 'hacluster/ums-prod',
      field: 'spec.preflight.backup',
      message: 'must be one of "Command", "External", not "Nightly"',
      data: { allowed: ['Command', 'External'], actual: 'Nightly' },
    }]);
    expect(out.unusable).toEqual([{ target: 'hacluster/ums-prod', reasons: ['spec.preflight.backup: must be one of "Command", "External", not "Nightly"'] }]);
  });

  describe('--base: an HACluster never downgrades across major.minor (seed 004)', () => {
    it('12.08.110 -> 12.07.100 is refused: the database schema cannot go back', () => {
      const g = repo();
      g.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.07.100').commitAll('downgrade');
      const r = versiond(['validate', '--repo', g.dir, '--rev', 'HEAD', '--base', 'HEAD~1']);
      expect(r.code).toBe(1);
      expect(r.stdout.split('\n')[0]).toBe(
        `ha-clusters/ums-prod.yaml:11:12: hacluster/ums-prod: spec.release: changing 12.08.110 (at ${g.git('rev-parse', '--short=7', 'HEAD~1')}) to 12.07.100 lowers the database schema 12.8 -> 12.7; UMS can only downgrade within one major.minor (seed 004)`,
      );
    });

    it('12.08.120 -> 12.08.110 is allowed: same schema', () => {
      const g = repo();
      g.write('releases/igel-ums-12.08.120.yaml', g.read('releases/igel-ums-12.08.110.yaml').replace(/12\.08\.110/g, '12.08.120'))
        .edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.08.120')
        .commitAll('12.08.120');
      g.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.120', 'release: igel-ums-12.08.110').commitAll('back to 12.08.110');
      const r = versiond(['validate', '--repo', g.dir, '--base', 'HEAD~1']);
      expect(r.stdout).toMatch(/^ok: /);
      expect(r.code).toBe(0);
    });

    it('the same downgrade is not judged without a base (validate alone cannot know what ran before)', () => {
      const g = repo();
      g.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.07.100').commitAll('downgrade');
      expect(versiond(['validate', '--repo', g.dir]).code).toBe(0);
    });
  });

  describe('usage errors exit 2 with a message on stderr', () => {
    it.each([
      [['validate', '--bogus'], "versiond validate: Unknown option '--bogus'"],
      [['validate', '--format', 'xml'], 'versiond validate: --format must be one of text, json, not "xml"'],
      [['validate', '--repo', 'example-repo', '--rev', 'HEAD'], 'versiond validate: example-repo is a plain folder, not a Git repository: --rev and --base need Git history'],
      [['validate', '--rev', 'no-such-branch'], 'versiond validate: cannot resolve revision "no-such-branch": no branch, tag or commit by that name'],
      [['validate', '--repo', 'no/such/dir'], 'versiond validate: no/such/dir: no such directory'],
      [['validate', '--repo', 'https://git.example.com/fleet.git'], 'versiond validate: validate reads a local repository; clone https://git.example.com/fleet.git first (remote sources are followed by `versiond run`)'],
      [['deploy'], 'versiond: unknown command "deploy"'],
    ])('%j', (args, message) => {
      const r = versiond(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toBe(message);
    });
  });

  it('--help documents every flag and exits 0', () => {
    const r = versiond(['validate', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--repo', '--rev', '--base', '--worktree', '--format']) expect(r.stdout).toContain(flag);
    const top = versiond(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('validate');
  });
});
