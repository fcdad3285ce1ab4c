import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { renderStatus } from '../controller/status/render-status.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import type { TargetId } from '../reconcilers/model/identity.ts';
import { EXAMPLE_REPO, ROOT, TempRepo } from './helpers/git-repo.ts';

/** `versiond plan` as a reviewer's bot runs it: a real process on example-repo and a snapshot of what agents reported. */
const BIN = join(ROOT, 'controller/cli/bin.js');
const SNAPSHOT = 'agent/example-observed.json';
const NOW = '2026-11-22T10:00:00Z';
const AS_CONSOLE = ['--console-id', 'console-hq'];
function versiond(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** A test that starts several `versiond` processes: each takes seconds on a busy machine. */
const SEVERAL_PROCESSES = 120_000;
const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));
const schema = () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/plan.schema.json'), 'utf8')));
};

/** A status file as the controller writes it, for `target` in `phase`. */
function statusFile(target: string, phase: TargetStatus['phase'] = 'Progressing'): string {
  const status: TargetStatus = {
    target: target as TargetId,
    phase,
    conditions: [],
    observedRevision: null,
    summary: `${target} was ${phase}`,
    members: [],
  };
  return renderStatus(status, null, Date.UTC(2026, 10, 22, 9));
}

describe('versiond plan', () => {
  const json = versiond(['plan', '--repo', 'example-repo', '--observed', SNAPSHOT, '--now', NOW, ...AS_CONSOLE, '--format', 'json']);
  const report = JSON.parse(json.stdout);
  const target = (id: string) => report.targets.find((t: { target: string }) => t.target === id);

  it('plans every target of example-repo and exits 0', () => {
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(report.targets.map((t: { target: string }) => t.target)).toEqual([
      'account/acme-w360',
      'account/globex-cebox',
      'distributionserver/ds-berlin',
      'distributionserver/ds-paris',
      'domain/print-branches',
      'domain/print-paris',
      'hacluster/ums-prod',
    ]);
  });

  it('--format json conforms to schemas/plan.schema.json', () => {
    const validate = schema();
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  });

  it('says where the previous status came from: example-repo/ has no status/', () => {
    expect(report.previousStatus).toEqual({ from: 'folder', revision: null, targets: 0, skipped: [] });
  });

  it('a manual master keeps its domain waiting, and the plan says who acts (seed 000)', () => {
    const paris = target('domain/print-paris');
    expect(paris.phase).toBe('Waiting');
    expect(paris.message).toBe('waiting for master wd-paris-master to be updated by hand to 6.1.4');
    expect(paris.commands).toEqual([]);
    expect(paris.steps[0]).toMatchObject({ member: 'wd-paris-master', performedBy: 'operator', runnable: false });
  });

  it('a domain with an unreachable server starts nothing (seed 000)', () => {
    const branches = target('domain/print-branches');
    expect(branches.phase).toBe('Waiting');
    expect(branches.message).toContain('wd-bordeaux');
    expect(branches.commands).toEqual([]);
  });

  it('the test ring starts with its WRS; its devices wait until the WRS serves the test version (seed 001)', () => {
    const acme = target('account/acme-w360');
    expect(acme.commands.map((c: { member: string; action: string; version: string }) => `${c.member} ${c.action} ${c.version}`)).toEqual(['acme-wrs-paris apply 4.3.0']);
    const ws001 = acme.steps.find((s: { member: string }) => s.member === 'acme-ws-001');
    // A prefix: the account reconciler is adding what the WRS runs (work in progress in reconcilers/).
    expect(ws001.blockedBy.message).toMatch(/^WRS acme-wrs-paris does not serve 4\.3\.0 yet\b/);
  });

  it('a UMS cluster takes a fresh database backup before any server is updated (seed 004)', () => {
    const ums = target('hacluster/ums-prod');
    expect(ums.commands.map((c: { member: string; action: string }) => `${c.member} ${c.action}`)).toEqual(['ums-2 backup']);
    expect(ums.steps.filter((s: { action: string }) => s.action === 'apply').every((s: { runnable: boolean }) => !s.runnable)).toBe(true);
  });

  it('a distribution server whose credential does not resolve is blocked, and one that does follows its schedule (seed 002)', () => {
    expect(target('distributionserver/ds-berlin')).toMatchObject({ phase: 'Blocked', reason: 'CredentialUnavailable', commands: [] });
    expect(target('distributionserver/ds-paris')).toMatchObject({ phase: 'Converged', commands: [] });
  });

  it('is deterministic: the same inputs print the same bytes', () => {
    const again = versiond(['plan', '--repo', 'example-repo', '--observed', SNAPSHOT, '--now', NOW, ...AS_CONSOLE, '--format', 'json']);
    expect(again.stdout).toBe(json.stdout);
  });

  it('text and markdown render the same plan for people', () => {
    const text = versiond(['plan', '--repo', 'example-repo', '--observed', SNAPSHOT, '--now', NOW]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('domain/print-paris: Waiting');
    expect(text.stdout).toContain('hacluster/ums-prod: Progressing — 0 of 3 servers updated to 12.08.110');
    const md = versiond(['plan', '--repo', 'example-repo', '--observed', SNAPSHOT, '--now', NOW, '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('### versiond plan for folder');
    expect(md.stdout).toContain('| # | member | action | version | when | why |');
  });

  it('without --observed it plans against nothing observed and says so', () => {
    const r = versiond(['plan', '--repo', 'example-repo', '--now', NOW]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('observed: nothing (no --observed snapshot): every step is planned from scratch and no agent is known to be online');
    expect(r.stdout.split('\n')[2]).toBe(
      'status: from status/ in the folder, none there: every target is planned as if new',
    );
  });

  describe('the previous status, read from Git as `versiond run` reads it', () => {
    const g = TempRepo.create({ commit: false });
    repos.push(g);
    g.write('status/domain/print-paris.yaml', statusFile('domain/print-paris'))
      .write('status/source/main.yaml', statusFile('source/main', 'Converged'));
    const first = g.commitAll('desired state and its status');
    g.write('status/hacluster/ums-prod.yaml', statusFile('hacluster/ums-prod'))
      .write('status/account/acme-w360.yaml', 'phase: [mangled by hand\n');
    const second = g.commitAll('more status, one file mangled');
    const planJson = (...args: string[]) => {
      const r = versiond(['plan', '--repo', g.dir, '--now', NOW, '--format', 'json', ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };

    it('at the planned revision by default, skipping a mangled file and naming it', () => {
      const out = planJson();
      const skipped = ['status/account/acme-w360.yaml'];
      expect(out.previousStatus).toEqual({ from: 'rev', revision: second, targets: 2, skipped });
      const validate = schema();
      expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
      const atFirst = { from: 'rev', revision: first, targets: 1, skipped: [] };
      expect(planJson('--rev', 'HEAD~1').previousStatus).toEqual(atFirst);
    }, SEVERAL_PROCESSES);

    it('at the --base revision when given, at --status-from when named, and none with --no-status', () => {
      expect(planJson('--base', 'HEAD~1').previousStatus).toMatchObject({ from: 'base', revision: first, targets: 1 });
      const named = planJson('--rev', 'HEAD~1', '--status-from', 'main').previousStatus;
      expect(named).toMatchObject({ from: 'status-from', revision: second, targets: 2 });
      expect(planJson('--no-status').previousStatus).toEqual({ from: 'none', revision: null, targets: 0, skipped: [] });
    }, SEVERAL_PROCESSES);

    it('says so in text and in Markdown', () => {
      const text = versiond(['plan', '--repo', g.dir, '--now', NOW, '--base', 'HEAD~1']);
      const line = `status: from status/ at ${first.slice(0, 7)} (the --base revision), 1 target`;
      expect(text.stdout.split('\n')[2]).toBe(line);
      const md = versiond(['plan', '--repo', g.dir, '--now', NOW, '--format', 'markdown']);
      expect(md.stdout).toContain(
        `> Previous status: from \`status/\` at \`${second.slice(0, 7)}\` (the planned revision), 2 targets; ` +
          'unreadable, planned as new: `status/account/acme-w360.yaml`.',
      );
      const none = versiond(['plan', '--repo', g.dir, '--now', NOW, '--no-status']);
      expect(none.stdout.split('\n')[2]).toBe('status: none (--no-status): every target is planned as if new');
    }, SEVERAL_PROCESSES);

    it('an unknown --status-from revision is a usage error', () => {
      const r = versiond(['plan', '--repo', g.dir, '--status-from', 'no-such-branch']);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(
        'versiond plan: cannot resolve revision "no-such-branch": no branch, tag or commit by that name',
      );
    });
  });

  it('a plain folder\'s status/ is read with the same parser', () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-folder-'));
    try {
      cpSync(EXAMPLE_REPO, dir, { recursive: true });
      mkdirSync(join(dir, 'status/domain'), { recursive: true });
      writeFileSync(join(dir, 'status/domain/print-paris.yaml'), statusFile('domain/print-paris'));
      writeFileSync(join(dir, 'status/domain/print-branches.yaml'), statusFile('domain/not-print-branches'));
      const r = versiond(['plan', '--repo', dir, '--now', NOW, '--format', 'json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).previousStatus).toEqual({
        from: 'folder',
        revision: null,
        targets: 1,
        skipped: ['status/domain/print-branches.yaml'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--base shows what the revision changes, field by field', () => {
    const g = TempRepo.create();
    repos.push(g);
    g.edit('accounts/acme-w360.yaml', '    - { name: acme-laptop-902, repositoryServer: cloud }', '    - { name: acme-laptop-902, repositoryServer: cloud }\n    - { name: acme-laptop-903, repositoryServer: cloud }')
      .edit('domains/print-paris.yaml', 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3')
      .commitAll('laptop and rollback');
    const r = versiond(['plan', '--repo', g.dir, '--base', 'HEAD~1', '--now', NOW, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).changes).toEqual([
      { target: 'account/acme-w360', change: 'changed', path: 'accounts/acme-w360.yaml', fields: [{ field: 'spec.devices[acme-laptop-903]', to: { name: 'acme-laptop-903', repositoryServer: 'cloud' } }] },
      { target: 'domain/print-paris', change: 'changed', path: 'domains/print-paris.yaml', fields: [{ field: 'spec.release', from: 'watchdoc-6.1.4', to: 'watchdoc-6.1.3' }] },
    ]);
  });

  it('an invalid revision is not planned: exit 1 with the validation errors', () => {
    const g = TempRepo.create();
    repos.push(g);
    g.edit('domains/print-paris.yaml', 'sync: bidirectional', 'sync: sideways').commitAll('broken');
    const r = versiond(['plan', '--repo', g.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('domains/print-paris.yaml:20:13: domain/print-paris: spec.slaves[0].sync: must be one of "bidirectional", "mailbox", not "sideways"');
    expect(r.stderr).toContain(
      'the controller does not act on an invalid revision: nothing planned ' +
        '(it keeps acting on the last valid revision)',
    );
  });

  it('an invalid snapshot is refused with the place of the error', () => {
    const g = TempRepo.create({ commit: false });
    repos.push(g);
    const bad = g.path('bad-observed.json');
    writeFileSync(bad, '{\n  "agents": [\n    { "agent": "x", "components": [ { "product": "watchdoc", "version": 6.1 } ] }\n  ]\n}\n');
    const r = versiond(['plan', '--repo', 'example-repo', '--observed', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`${bad}:3:73: -: agents[0].components[0].version: must be a string, not a decimal number (quote it: "6.1")`);
  });

  it('--help documents every flag, and which revision to name when status has a branch of its own', () => {
    const r = versiond(['plan', '--help']);
    expect(r.code).toBe(0);
    const flags = ['--repo', '--rev', '--base', '--worktree', '--observed', '--now', '--status-from', '--no-status'];
    for (const flag of [...flags, '--console-id', '--format']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('(run --status-branch), name it');
  });

  it.each([
    [['plan', '--now', 'yesterday'], 'versiond plan: --now must be an ISO-8601 time such as 2026-11-22T10:00:00Z, not "yesterday"'],
    [['plan', '--observed', 'no-such.json'], 'versiond plan: --observed no-such.json: no such file'],
    [['plan', '--format', 'yaml'], 'versiond plan: --format must be one of text, markdown, json, not "yaml"'],
    [
      ['plan', '--repo', 'example-repo', '--status-from', 'main'],
      'versiond plan: example-repo is a plain folder, not a Git repository: --status-from needs Git history',
    ],
    [['plan', '--no-status', '--status-from', 'main'], 'versiond plan: --status-from and --no-status are exclusive'],
  ])('usage error %j exits 2', (args, message) => {
    const r = versiond(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(message);
  });
});
