import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TempRepo } from './helpers/git-repo.ts';
import { lines as diagnostics, loadRevision } from './helpers/load.ts';

/**
 * `versiond validate` on maintenance windows, change freezes and the database-restore
 * declaration (issue 8, items 4-7): what the schema cannot say, reported at the exact field,
 * `file:line:column`. The first test runs the real CLI as a pull-request check does; the
 * others load the committed revision in-process, as `validate` does, to stay fast.
 */
const BIN = join(ROOT, 'controller/cli/bin.js');
function validate(dir: string) {
  const r = spawnSync(process.execPath, [BIN, 'validate', '--repo', dir], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));
/** A copy of example-repo whose Paris domain (24 lines) gets `rollout` appended. */
function withRollout(rollout: string): TempRepo {
  const g = TempRepo.create();
  repos.push(g);
  g.write('domains/print-paris.yaml', `${g.read('domains/print-paris.yaml')}  rollout:\n${rollout}`).commitAll('rollout');
  return g;
}
const lines = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('domains/') || l.startsWith('ha-clusters/'));
const problems = async (g: TempRepo): Promise<string[]> => diagnostics(await loadRevision(g.dir));

describe('versiond validate: maintenance windows and change freezes', () => {
  it('a bad cron expression is reported at its field, file:line:col, naming the field of the cron at fault', () => {
    const g = withRollout(['    windows:', '      - name: weeknights', '        schedule: "0 25 * * 1-5"', '        duration: 4h', '        timeZone: Europe/Paris', ''].join('\n'));
    const r = validate(g.dir);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      'domains/print-paris.yaml:28:19: domain/print-paris: spec.rollout.windows[0].schedule: invalid cron expression "0 25 * * 1-5": hour "25": 25 is out of range 0-23',
    ]);
    expect(r.stdout).toContain('unusable targets');
  });

  it('every window problem at once: a cron that never fires, a duration over a year, a fixed span that ends before it starts', async () => {
    const g = withRollout(
      [
        '    windows:',
        '      - schedule: "0 3 30 2 *"', // 27
        '        duration: 2h',
        '        timeZone: Europe/Paris',
        '      - schedule: "0 22 * * 5"', // 30
        '        duration: 400d', // 31
        '        timeZone: Europe/Paris',
        '    freezes:',
        '      - name: year-end', // 34
        '        from: 2027-01-04T00:00:00+01:00',
        '        until: 2026-12-20T00:00:00+01:00', // 36
        '',
      ].join('\n'),
    );
    expect(await problems(g)).toEqual([
      'domains/print-paris.yaml:27:19: domain/print-paris: spec.rollout.windows[0].schedule: cron expression "0 3 30 2 *" never matches (no month it allows has a day of month it names): the window would never open',
      'domains/print-paris.yaml:31:19: domain/print-paris: spec.rollout.windows[1].duration: duration 400d is longer than 366d: a recurring window or freeze lasts at most a year (use from/until for one long span)',
      'domains/print-paris.yaml:36:16: domain/print-paris: spec.rollout.freezes[0].until: until 2026-12-20T00:00:00+01:00 is not after from 2027-01-04T00:00:00+01:00: the window would never be open',
    ]);
  });

  it('the diagnostics carry the codes and data (--format json)', async () => {
    const g = withRollout(['    freezes:', '      - schedule: "*/5 * * * mon#2"', '        duration: 1d', '        timeZone: Europe/Paris', ''].join('\n'));
    expect((await loadRevision(g.dir)).diagnostics).toEqual([
      expect.objectContaining({
        code: 'CRON_SYNTAX',
        path: 'domains/print-paris.yaml',
        line: 27,
        column: 19,
        field: 'spec.rollout.freezes[0].schedule',
        data: { expression: '*/5 * * * mon#2', detail: 'day-of-week "mon#2": "mon#2" is not supported (only numbers, *, lists, ranges and steps); expected a number 0-7 or a name (sun, mon, tue, wed, thu, fri, sat)' },
      }),
    ]);
  });

  it('sound windows, freezes and a pause pass', async () => {
    const g = withRollout(
      [
        '    paused: true',
        '    windows:',
        '      - { name: weeknights, schedule: "0 22 * * 1-5", duration: 4h, timeZone: Europe/Paris }',
        '      - { name: saturday, schedule: "0 6 * * sat", duration: 6h, timeZone: America/New_York }',
        '    freezes:',
        '      - { name: year-end, from: "2026-12-20T00:00:00+01:00", until: "2027-01-04T00:00:00+01:00" }',
        '      - { name: month-end close, schedule: "0 0 28-31 * *", duration: 2d, timeZone: Europe/Paris }',
        '',
      ].join('\n'),
    );
    const state = await loadRevision(g.dir);
    expect(diagnostics(state)).toEqual([]);
    expect(state.valid).toBe(true);
  });
});

describe('versiond validate: the database-restore declaration of an HA cluster', () => {
  function cluster(restore: string): TempRepo {
    const g = TempRepo.create();
    repos.push(g);
    g.write('ha-clusters/ums-prod.yaml', `${g.read('ha-clusters/ums-prod.yaml')}  databaseRestore:\n${restore}`).commitAll('restore');
    return g;
  }

  it('a restore declared for a version the release does not install is reported at its version', async () => {
    const g = cluster(['    version: "12.07.100"', '    reason: restored the 12.07 backup of 2026-11-20 (OPS-42)', ''].join('\n'));
    expect(await problems(g)).toEqual([
      'ha-clusters/ums-prod.yaml:27:14: hacluster/ums-prod: spec.databaseRestore.version: a database restore is declared for 12.07.100, but spec.release "igel-ums-12.08.110" is 12.08.110: the declaration only allows going back to the restored version (set the release to it, or remove the declaration once the cluster has moved on)',
    ]);
  });

  it('a restore declared for the version the release installs passes', async () => {
    const g = cluster(['    version: "12.08.110"', '    reason: restored the 12.08.110 backup of 2026-11-20 (OPS-42)', ''].join('\n'));
    expect(await problems(g)).toEqual([]);
  });
});
