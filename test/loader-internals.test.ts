import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DesiredStateLoader } from '../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../controller/desired/open-source.ts';
import { TreeListingCache } from '../controller/desired/tree-listing-cache.ts';
import { readBlobBytes } from '../controller/git/read-blob.ts';
import { locateRepository } from '../controller/git/repository.ts';
import { TempRepo } from './helpers/git-repo.ts';
import { lines } from './helpers/load.ts';

const repos: TempRepo[] = [];
const repo = () => {
  const r = TempRepo.create();
  repos.push(r);
  return r;
};
afterAll(() => repos.forEach((r) => r.dispose()));

describe('parse workers give exactly the in-process result', () => {
  it.each([
    ['a valid revision', (_r: TempRepo) => {}],
    ['a revision with file, schema and policy errors', (r: TempRepo) => {
      r.edit('accounts/acme-w360.yaml', '{ name: acme-ws-103, repositoryServer: acme-wrs-lyon }', '{ name: acme-ws-103, repositoryServer: acme-wrs-lyn }')
        .edit('ha-clusters/ums-prod.yaml', '    backup: Command', '    backup: Nightly')
        .write('releases/broken.yaml', 'kind: [\n')
        .write('releases/latin1.yaml', Buffer.from([0x6b, 0x3a, 0xe9, 0x0a]));
    }],
  ])('%s', async (_name, change) => {
    const r = repo();
    change(r);
    r.commitAll('change');
    const location = locateRepository(r.dir);
    const inProcess = await new DesiredStateLoader({ workers: 'off' }).load(await openDesiredSource(location));
    const pooled = await new DesiredStateLoader({ workerThreshold: 1 }).load(await openDesiredSource(location));
    expect(lines(pooled)).toEqual(lines(inProcess));
    expect(pooled.objects).toEqual(inProcess.objects);
    expect([...pooled.unusable]).toEqual([...inProcess.unusable]);
    expect(pooled.objects.every((o) => Object.isFrozen(o) && Object.isFrozen(o.spec))).toBe(true);
  });

  it('works for a plain folder too', async () => {
    const r = repo();
    const location = { type: 'folder' as const, dir: r.dir };
    const inProcess = await new DesiredStateLoader({ workers: 'off' }).load(await openDesiredSource(location));
    const pooled = await new DesiredStateLoader({ workerThreshold: 1 }).load(await openDesiredSource(location));
    expect(pooled.objects).toEqual(inProcess.objects);
    expect(pooled.valid).toBe(true);
  });
});

describe('reading blobs', () => {
  it('returns what git cat-file returns, loose and packed', async () => {
    const r = repo();
    const oid = r.git('rev-parse', 'HEAD:ha-clusters/ums-prod.yaml');
    const expected = r.git('cat-file', 'blob', oid);
    const gitdir = r.path('.git');
    expect(Buffer.from(await readBlobBytes(gitdir, oid, {})).toString('utf8').trim()).toBe(expected);
    r.git('gc', '-q');
    expect(Buffer.from(await readBlobBytes(gitdir, oid, {})).toString('utf8').trim()).toBe(expected);
  });

  it('refuses a loose object whose content does not match its id (corruption or tampering)', async () => {
    const r = repo();
    const oid = r.git('rev-parse', 'HEAD:ha-clusters/ums-prod.yaml');
    const file = r.path(`.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`);
    chmodSync(file, 0o644);
    const forged = Buffer.from(readFileSync(r.path('ha-clusters/ums-prod.yaml'), 'utf8').replace('12.08.110', '12.09.999'));
    writeFileSync(file, deflateSync(Buffer.concat([Buffer.from(`blob ${forged.length}\0`), forged])));
    await expect(readBlobBytes(r.path('.git'), oid, {})).rejects.toThrow(`object ${oid} is corrupt`);
  });
});

describe('caches follow the repository, not its history', () => {
  it('tree listings and parsed files from old revisions are dropped', async () => {
    const r = repo();
    const loader = new DesiredStateLoader({ workers: 'off' });
    const trees = new TreeListingCache();
    const objectCache = {};
    const location = locateRepository(r.dir);
    const sizes: number[] = [];
    for (let i = 0; i < 8; i++) {
      r.write(`accounts/extra-${i}.yaml`, `apiVersion: versiond/v1\nkind: Account\nmetadata:\n  name: extra-${i}\nspec:\n  product: w360-core\n  defaultTag: stable\n`).commitAll(`extra ${i}`);
      const state = await loader.load(await openDesiredSource(location, { trees, objectCache }));
      expect(state.valid).toBe(true);
      sizes.push(trees.size);
    }
    // Two loads' worth of listings at most: the accounts/ tree of this and the previous revision plus the unchanged folders.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(sizes[1]! + 1);
  });
});

describe('a parse worker that dies', () => {
  it('fails the pool promptly instead of leaving the load waiting', async () => {
    const { ParsePool } = await import('../controller/desired/parse-pool.ts');
    const r = repo();
    const source = await openDesiredSource(locateRepository(r.dir));
    const entries = await source.list();
    const pool = new ParsePool(1);
    const many = Array.from({ length: 40 }, () => entries).flat();
    const parsing = pool.parse(source.location, 1 << 20, many);
    await new Promise((res) => setTimeout(res, 50));
    await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0]!.terminate();
    // terminate() ends it with code 1, or 0 when it was still starting up (a loaded machine): either way the load fails at once.
    await expect(parsing).rejects.toThrow(/parse worker exited with code \d+ before finishing/);
    await pool.close();
  });
});
