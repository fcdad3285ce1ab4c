import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TempRepo } from './helpers/git-repo.ts';

/** `versiond plan` as a reviewer's bot runs it: a real process on example-repo and a snapshot of what agents reported. */
const BIN = join(ROOT, 'controller/cli/bin.js');
const SNAPSHOT = 'agent/example-observed.json';
const NOW = '2026-11-22T10:00:00Z';
const AS_CONSOLE = ['--console-id', 'console-hq'];
function versiond(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));

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
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/plan.schema.json'), 'utf8')));
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
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
    expect(ws001.blockedBy.message).toBe('WRS acme-wrs-paris does not serve 4.3.0 yet');
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
    expect(r.stderr).toContain('the controller does not act on an invalid revision: nothing planned');
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

  it.each([
    [['plan', '--now', 'yesterday'], 'versiond plan: --now must be an ISO-8601 time such as 2026-11-22T10:00:00Z, not "yesterday"'],
    [['plan', '--observed', 'no-such.json'], 'versiond plan: --observed no-such.json: no such file'],
    [['plan', '--format', 'yaml'], 'versiond plan: --format must be one of text, markdown, json, not "yaml"'],
  ])('usage error %j exits 2', (args, message) => {
    const r = versiond(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(message);
  });
});
