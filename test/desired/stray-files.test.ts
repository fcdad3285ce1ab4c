import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IgnoreRules } from '../../controller/desired/ignore-rules.ts';
import { DesiredStateLoader, type LoaderOptions } from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { TreeListingCache } from '../../controller/desired/tree-listing-cache.ts';
import { locateRepository } from '../../controller/git/repository.ts';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { lines } from '../helpers/load.ts';

/**
 * Issue 14, item 12: a YAML file outside the kind folders (a typo such as `domain/`, or a
 * file at the top) used to be ignored in silence, so a target someone meant to add never
 * ran. A versiond document there is now an error naming the folder it belongs in; other
 * YAML is a warning; `.versiondignore` (gitignore syntax) excludes paths.
 */
const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));
const repo = () => {
  const r = TempRepo.create();
  repos.push(r);
  return r;
};
const load = async (dir: string, options: LoaderOptions = {}, worktree = false) =>
  new DesiredStateLoader(options).load(await openDesiredSource(locateRepository(dir), { worktree }));
const versiond = (args: string[]) => {
  const bin = join(ROOT, 'controller/cli/bin.js');
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const OUTSIDE = 'versiond document outside the kind folders, so it is never read';
const WARN = 'warning: YAML file outside the kind folders is not read as desired state';
const IGNORE = '.versiondignore';

/** A repository with every case at once: each must be reported, or not, on its own. */
function strayRepo(): TempRepo {
  const r = repo();
  const paris = r.read('domains/print-paris.yaml').replace('name: print-paris', 'name: print-new');
  r.write('domain/new.yaml', paris)
    .write('new.yaml', r.read('accounts/globex-cebox.yaml').replace('name: globex-cebox', 'name: globex-new'))
    .write('misc/gadget.yaml', 'apiVersion: versiond/v2\nkind: Gadget\nmetadata:\n  name: g\n')
    .write('broken/acct.yml', 'apiVersion: "versiond/v1"\nkind: Account\nmetadata: [\n')
    .write('notes/todo.yaml', 'not: desired state\n')
    .write('status/account/acme-w360.yaml', 'apiVersion: versiond/v1\nkind: Status\ntarget: account/acme-w360\n')
    .write('status/source/main.yaml', 'apiVersion: versiond/v1\nkind: SourceStatus\n')
    .write('.github/workflows/versiond.yaml', 'on: pull_request\n')
    .write('.gitlab-ci.yml', 'validate:\n  script: [versiond validate]\n')
    .write('accounts/README.md', '# accounts\n')
    .write('docs/sample.yaml', paris)
    .write('generated/x.yaml', 'a: 1\n')
    .write('generated/keep.yaml', 'a: 1\n')
    .write('generated/sub/y.yaml', 'a: 1\n')
    .write('tools/fixtures/deep/a.yaml', paris)
    .write('node_modules/pkg/x.yaml', paris)
    .write('.gitignore', 'node_modules/\n')
    .write(IGNORE, '# not desired state\n\ndocs/\n/generated/*.yaml\n!generated/keep.yaml\n**/fixtures/**\n');
  r.commitAll('stray files');
  return r;
}

const EXPECTED = [
  `broken/acct.yml:2:7: -: -: ${OUTSIDE}: Account documents live under accounts/`,
  `domain/new.yaml:6:7: domain/print-new: kind: ${OUTSIDE}: Domain documents live under domains/`,
  `generated/keep.yaml:1:1: -: -: ${WARN}`,
  `generated/sub/y.yaml:1:1: -: -: ${WARN}`,
  `misc/gadget.yaml:2:7: -: kind: ${OUTSIDE}: documents live under releases/, domains/, accounts/, `
    + 'distribution-servers/ or ha-clusters/',
  `new.yaml:8:7: account/globex-new: kind: ${OUTSIDE}: Account documents live under accounts/`,
  `notes/todo.yaml:1:1: -: -: ${WARN}`,
];

describe('YAML outside the kind folders', () => {
  const seen: string[][] = [];
  let r: TempRepo;

  it.each([
    ['Git, in process', { workers: 'off' }, false],
    ['Git, parse workers', { workerThreshold: 1 }, false],
    ['folder (--worktree), in process', { workers: 'off' }, true],
    ['folder (--worktree), parse workers', { workerThreshold: 1 }, true],
  ] as const)('%s: a versiond document is an error, other YAML a warning; ignored paths are skipped', async (
    _, options, worktree,
  ) => {
    r ??= strayRepo();
    const state = await load(r.dir, options, worktree);
    const out = lines(state);
    seen.push(out);
    expect(out.map((l) => l.replace(/ \(.*$/, ''))).toEqual(EXPECTED);
    const codes = (severity: string) => state.diagnostics.filter((d) => d.severity === severity).map((d) => d.code);
    expect(codes('error')).toEqual(Array(4).fill('DOCUMENT_OUTSIDE_KIND_FOLDER'));
    expect(codes('warning')).toEqual(Array(3).fill('YAML_OUTSIDE_KIND_FOLDER'));
    expect(state.valid).toBe(false);
    // Nothing outside the kind folders is loaded, and everything inside still is.
    expect(state.objects).toHaveLength(18);
    expect(state.stats.files).toBe(18);
    expect(state.brokenFiles).toEqual([]);
  });

  it('all four agree', () => {
    expect(seen).toHaveLength(4);
    for (const s of seen) expect(s).toEqual(seen[0]);
  });

  it('other YAML alone only warns: the revision stays valid', async () => {
    const g = repo();
    g.write('notes/todo.yaml', 'not: desired state\n').commitAll('a note');
    const state = await load(g.dir);
    expect(lines(state).map((l) => l.replace(/ \(.*$/, ''))).toEqual([`notes/todo.yaml:1:1: -: -: ${WARN}`]);
    expect(state.valid).toBe(true);
  });

  it('a stray file over the size limit is not read, and says so', async () => {
    const g = repo();
    g.write('big/huge.yaml', `apiVersion: versiond/v1\n# ${'x'.repeat(4096)}\n`).commitAll('a big stray file');
    for (const worktree of [false, true]) {
      const state = await load(g.dir, { maxFileBytes: 2048, workers: 'off' }, worktree);
      const mine = lines(state).filter((l) => l.startsWith('big/'));
      expect(mine).toEqual([`big/huge.yaml:1:1: -: -: ${WARN} (4.0 KiB, over the 2.0 KiB limit: not checked)`]);
    }
  });

  it('reloads reuse stray results by blob, and a new .versiondignore changes what is listed', async () => {
    const g = strayRepo();
    const loader = new DesiredStateLoader({ workers: 'off' });
    const trees = new TreeListingCache();
    const objectCache = {};
    const at = async () => loader.load(await openDesiredSource(locateRepository(g.dir), { trees, objectCache }));
    const first = await at();
    g.write('README.md', 'hello\n').commitAll('unrelated');
    const second = await at();
    expect(second.stats.parsed).toBe(0);
    expect(lines(second)).toEqual(lines(first));
    g.write(IGNORE, 'domain/\nnotes/\n*.yml\nmisc\n/new.yaml\ngenerated/\ndocs\ntools/\n').commitAll('ignore them all');
    const third = await at();
    expect(lines(third)).toEqual([]);
    expect(third.valid).toBe(true);
  });

  it('the example repository and status files written by the controller are never flagged', async () => {
    const g = repo();
    g.write('status/hacluster/ums-prod.yaml', 'apiVersion: versiond/v1\nkind: Status\n').commitAll('status');
    expect(lines(await load(g.dir))).toEqual([]);
  });

  it('versiond validate prints the error line and exits 1; a warning alone exits 0', () => {
    const g = repo();
    g.write('domain/new.yaml', g.read('domains/print-paris.yaml').replace('name: print-paris', 'name: print-new'))
      .commitAll('a domain in the wrong folder');
    const bad = versiond(['validate', '--repo', g.dir]);
    expect(bad.stderr).toBe('');
    expect(bad.stdout).toContain(EXPECTED[1]);
    expect(bad.code).toBe(1);

    const w = repo();
    w.write('notes/todo.yaml', 'not: desired state\n').commitAll('a note');
    const ok = versiond(['validate', '--repo', w.dir]);
    expect(ok.stdout).toContain(`notes/todo.yaml:1:1: -: -: ${WARN}`);
    expect(ok.code).toBe(0);
  });
});

describe('.versiondignore patterns (gitignore syntax)', () => {
  const rules = IgnoreRules.parse([
    '# comment', '', 'docs/', '/top.yaml', 'tmp*.yaml', 'a/**/z.yaml', '**/fixtures/**',
    'build/*', '!build/keep.yaml', '\\#hash.yaml', 'trailing.yaml   ', 'ch?.yaml', '[xy].yaml',
  ].join('\n'));
  it.each([
    ['docs', true, true], ['docs', false, false], ['sub/docs', true, true],
    ['top.yaml', false, true], ['sub/top.yaml', false, false],
    ['tmp1.yaml', false, true], ['sub/tmp2.yaml', false, true],
    ['a/z.yaml', false, true], ['a/b/c/z.yaml', false, true], ['b/a/z.yaml', false, false],
    ['x/fixtures/y/q.yaml', false, true], ['fixtures/q.yaml', false, true],
    ['build/x.yaml', false, true], ['build/keep.yaml', false, false],
    ['#hash.yaml', false, true], ['trailing.yaml', false, true],
    ['ch1.yaml', false, true], ['ch12.yaml', false, false], ['x.yaml', false, true], ['z.yaml', false, false],
  ] as const)('%s (directory: %s) ignored: %s', (path, dir, ignored) => {
    expect(rules.ignores(path, dir)).toBe(ignored);
  });
});
