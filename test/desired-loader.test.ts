import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TreeListingCache } from '../controller/desired/tree-listing-cache.ts';
import { DesiredStateLoader } from '../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../controller/desired/open-source.ts';
import { locateRepository } from '../controller/git/repository.ts';
import { EXAMPLE_REPO, TempRepo } from './helpers/git-repo.ts';
import { lines, loadRevision } from './helpers/load.ts';

const repos: TempRepo[] = [];
const repo = (opts?: Parameters<typeof TempRepo.create>[0]) => {
  const r = TempRepo.create(opts);
  repos.push(r);
  return r;
};
afterAll(() => repos.forEach((r) => r.dispose()));

describe('the loader reads desired state from a Git revision', () => {
  it('reads the commit, not uncommitted edits in the working tree', async () => {
    const r = repo();
    r.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.07.100');
    const state = await loadRevision(r.dir);
    expect(state.revision).toBe(r.head());
    const cluster = state.byId.get('hacluster/ums-prod');
    expect(cluster?.kind === 'HACluster' && cluster.spec.release).toBe('igel-ums-12.08.110');
  });

  it('reads an older revision when asked (--rev HEAD~1)', async () => {
    const r = repo();
    const first = r.head();
    r.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.07.100').commitAll('back to 12.07');
    const state = await loadRevision(r.dir, 'HEAD~1');
    expect(state.revision).toBe(first);
    const cluster = state.byId.get('hacluster/ums-prod');
    expect(cluster?.kind === 'HACluster' && cluster.spec.release).toBe('igel-ums-12.08.110');
  });

  it('loads every kind of the example, with schema defaults applied', async () => {
    const state = await loadRevision(repo().dir);
    expect(lines(state)).toEqual([]);
    expect(state.valid).toBe(true);
    const acme = state.byId.get('account/acme-w360');
    const ums = state.byId.get('hacluster/ums-prod');
    const berlin = state.byId.get('distributionserver/ds-berlin');
    expect(acme?.kind === 'Account' && acme.spec.restartPolicy).toBe('Immediate');
    expect(ums?.kind === 'HACluster' && ums.spec.preflight).toEqual({ maxClockSkewSeconds: 60, backup: 'Command', orphanCheck: true });
    expect(berlin?.kind === 'DistributionServer' && berlin.spec.downloadSourceFor).toEqual(['console-berlin']);
    const globex = state.byId.get('account/globex-cebox');
    expect(globex?.source.path).toBe('accounts/globex-cebox.yaml');
    expect(globex?.source.blob).toBe(repos.at(-1)!.git('rev-parse', 'HEAD:accounts/globex-cebox.yaml'));
  });

  it('defaults fill in absent optional fields (an account with only cloud devices)', async () => {
    const r = repo();
    r.write('accounts/remote-only.yaml', 'apiVersion: versiond/v1\nkind: Account\nmetadata:\n  name: remote-only\nspec:\n  product: w360-core\n  defaultTag: stable\n').commitAll('remote-only account');
    const state = await loadRevision(r.dir);
    const a = state.byId.get('account/remote-only');
    expect(a?.kind === 'Account' && a.spec).toEqual({ product: 'w360-core', defaultTag: 'stable', restartPolicy: 'Immediate', autoUpdate: false, repositoryServers: [], devices: [] });
  });

  it('hands reconcilers frozen objects, so no consumer can change the desired state in place', async () => {
    const state = await loadRevision(repo().dir);
    const acme = state.byId.get('account/acme-w360')!;
    expect(Object.isFrozen(acme.spec)).toBe(true);
    expect(() => {
      (acme.spec as unknown as { devices: unknown[] }).devices.push({ name: 'x' });
    }).toThrow(TypeError);
  });

  it('ignores folders it does not own (status/ is written by the controller) and non-YAML files', async () => {
    const r = repo();
    r.write('status/account/acme-w360.yaml', 'phase: Converged\n')
      .write('accounts/README.md', '# accounts\n')
      .write('notes/todo.yaml', 'not: desired state\n')
      .commitAll('extra files');
    const state = await loadRevision(r.dir);
    expect(state.valid).toBe(true);
    expect(state.stats.files).toBe(18);
  });
});

describe('reloading a newer revision re-parses only the files whose blob changed', () => {
  it('one edited file -> one file parsed, the other documents reused as the same objects', async () => {
    const r = repo();
    const loader = new DesiredStateLoader();
    const trees = new TreeListingCache();
    const objectCache = {};
    const location = locateRepository(r.dir);
    const first = await loader.load(await openDesiredSource(location, { trees, objectCache }));
    expect(first.stats).toEqual({ files: 18, parsed: 18, reused: 0 });

    r.edit('accounts/acme-w360.yaml', '    - { name: acme-laptop-902, repositoryServer: cloud }', '    - { name: acme-laptop-902, repositoryServer: cloud }\n    - { name: acme-laptop-903, repositoryServer: cloud }');
    r.commitAll('add a laptop');
    const second = await loader.load(await openDesiredSource(location, { trees, objectCache }));
    expect(second.stats).toEqual({ files: 18, parsed: 1, reused: 17 });
    expect(second.byId.get('hacluster/ums-prod')).toBe(first.byId.get('hacluster/ums-prod'));
    expect(second.byId.get('account/acme-w360')).not.toBe(first.byId.get('account/acme-w360'));
    const acme = second.byId.get('account/acme-w360');
    expect(acme?.kind === 'Account' && acme.spec.devices.map((d) => d.name)).toContain('acme-laptop-903');
  });

  it('a revision that breaks a file, then one that fixes it: each load is judged on its own', async () => {
    const r = repo();
    const loader = new DesiredStateLoader();
    const good = await loadRevision(r.dir, undefined, undefined, loader);
    r.edit('domains/print-paris.yaml', 'sync: bidirectional', 'sync: sideways').commitAll('break');
    const bad = await loadRevision(r.dir, undefined, undefined, loader);
    r.edit('domains/print-paris.yaml', 'sync: sideways', 'sync: bidirectional').commitAll('fix');
    const fixed = await loadRevision(r.dir, undefined, undefined, loader);
    expect([good.valid, bad.valid, fixed.valid]).toEqual([true, false, true]);
    expect(fixed.stats.parsed).toBe(0); // the fixed blob is the original blob, still cached
  });
});

describe('validation never writes to the repository', () => {
  it('leaves every file under the work tree and .git byte-for-byte unchanged, even for a broken revision', async () => {
    const r = repo();
    r.edit('accounts/acme-w360.yaml', 'defaultTag: stable', 'defaultTag: [').commitAll('broken');
    const before = snapshot(r.dir);
    const state = await loadRevision(r.dir, 'HEAD', 'HEAD~1');
    expect(state.valid).toBe(false);
    expect(snapshot(r.dir)).toEqual(before);
  });
});

describe('other repository layouts', () => {
  it('a plain folder (not a Git repository) is read as files', async () => {
    const location = locateRepository(EXAMPLE_REPO);
    expect(location.type).toBe('folder');
    const state = await new DesiredStateLoader().load(await openDesiredSource(location));
    expect(state.revision).toBeNull();
    expect(state.valid).toBe(true);
    expect(state.objects).toHaveLength(18);
  });

  it('a bare repository (as on a Git server, for a pre-receive check) is read from Git', async () => {
    const r = repo();
    const bare = repo({ fromExample: false, commit: false });
    bare.git('clone', '-q', '--bare', r.dir, join(bare.dir, 'desired.git'));
    const location = locateRepository(join(bare.dir, 'desired.git'));
    expect(location.type === 'git' && location.bare).toBe(true);
    const state = await new DesiredStateLoader().load(await openDesiredSource(location));
    expect(state.revision).toBe(r.head());
    expect(state.valid).toBe(true);
  });

  it('--worktree reads the working files of a Git repository, uncommitted edits included', async () => {
    const r = repo();
    r.edit('domains/print-paris.yaml', 'sync: bidirectional', 'sync: sideways');
    const state = await new DesiredStateLoader().load(await openDesiredSource(locateRepository(r.dir), { worktree: true }));
    expect(state.revision).toBeNull();
    expect(lines(state)).toEqual([
      'domains/print-paris.yaml:20:13: domain/print-paris: spec.slaves[0].sync: must be one of "bidirectional", "mailbox", not "sideways"',
    ]);
  });
});

/** Every file under `dir` (including .git) with its content hash and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[relative(dir, p)] = `${createHash('sha1').update(readFileSync(p)).digest('hex')}@${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}
