/**
 * The loader's parse cache on disk (controller/desired/parse-cache.ts): a restarted controller
 * must decide exactly what a long-running one decides, whatever state the cache is in. Loads
 * with a cold, a warm and a damaged cache give deep-equal desired state; a damaged cache is a
 * warning and is rebuilt, never an error; the file is private, written atomically and holds
 * only the files of the last load.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DesiredStateLoader, type DesiredState } from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { cacheKey, codeKey, ParseCache } from '../../controller/desired/parse-cache.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../../controller/desired/parse-document.ts';
import { locateRepository } from '../../controller/git/repository.ts';
import { desiredView } from '../helpers/desired-view.ts';
import { TempRepo } from '../helpers/git-repo.ts';

const cleanup: (() => void)[] = [];
afterAll(() => cleanup.forEach((f) => f()));

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'versiond-parse-cache-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The example repository with problems of every sort, so the cached results carry diagnostics. */
function troubledRepo(): TempRepo {
  const r = TempRepo.create();
  cleanup.push(() => r.dispose());
  r.write('accounts/broken.yaml', 'kind: [\n')
    .write('accounts/invalid.yaml',
      'apiVersion: versiond/v1\nkind: Account\nmetadata:\n  name: invalid\nspec:\n  product: 42\n')
    .write('domains/dangling.yaml', readFileSync(join(r.dir, 'domains/print-paris.yaml'), 'utf8')
      .replace(/name: print-paris/, 'name: dangling').replace(/release: \S+/, 'release: no-such-release'))
    .write('domains/copy.yaml', readFileSync(join(r.dir, 'domains/print-paris.yaml'), 'utf8'))
    .write('notes/stray.yaml', 'a: 1\n')
    .commitAll('troubles');
  return r;
}

async function load(
  repo: TempRepo,
  file: string,
  warnings: string[] = [],
): Promise<{ state: DesiredState; loader: DesiredStateLoader }> {
  const warn = (m: string, d: Record<string, unknown>) => warnings.push(`${m}: ${String(d['reason'])}`);
  const loader = new DesiredStateLoader({ workers: 'off', parseCache: { file, warn } });
  const state = await loader.load(await openDesiredSource(locateRepository(repo.dir)));
  await loader.flushCache();
  return { state, loader };
}

/** Everything the controller acts on, and the revision it came from. */
function view(s: DesiredState) {
  return { revision: s.revision, ...desiredView(s) };
}

const HEADER = 'versiond-parse-cache\n'.length + 4 + 32 + 32;

describe('the parse cache', () => {
  it('cold, warm and damaged caches give the same desired state; damage is a warning, then rebuilt', async () => {
    const repo = troubledRepo();
    const source = await openDesiredSource(locateRepository(repo.dir));
    const reference = await new DesiredStateLoader({ workers: 'off' }).load(source);
    expect(reference.diagnostics.length).toBeGreaterThan(3);
    expect(reference.unusable.size).toBeGreaterThan(0);

    const file = join(stateDir(), 'desired-parse-cache');
    const cold = await load(repo, file);
    expect(cold.state.stats).toMatchObject({ parsed: cold.state.stats.files, fromCache: 0 });
    expect(view(cold.state)).toEqual(view(reference));
    const good = readFileSync(file);

    const warm = await load(repo, file);
    expect(warm.state.stats).toMatchObject({ parsed: 0, fromCache: warm.state.stats.files });
    expect(view(warm.state)).toEqual(view(reference));

    const key = codeKey(DEFAULT_MAX_FILE_BYTES);
    const sealed = (payload: Buffer) => {
      const header = Buffer.alloc(HEADER);
      header.write('versiond-parse-cache\n', 'latin1');
      header.writeUInt32BE(good.readUInt32BE(21), 21);
      key.copy(header, 25);
      createHash('sha256').update(key).update(payload).digest().copy(header, 57);
      return Buffer.concat([header, payload]);
    };
    const entries = JSON.parse(good.subarray(HEADER).toString('utf8')) as { path: string; oid: string }[];
    const damage: Record<string, (file: string) => void> = {
      'one byte flipped': (f) => {
        const b = Buffer.from(good);
        b[b.length - 10] = b[b.length - 10]! ^ 0x55;
        writeFileSync(f, b);
      },
      truncated: (f) => writeFileSync(f, good.subarray(0, good.length - 100)),
      'only a header': (f) => writeFileSync(f, good.subarray(0, HEADER)),
      empty: (f) => writeFileSync(f, ''),
      garbage: (f) => writeFileSync(f, 'this is not a cache\n'.repeat(100)),
      'stale (written by other code)': (f) => {
        const b = Buffer.from(good);
        b[30] = b[30]! ^ 0xff;
        writeFileSync(f, b);
      },
      'foreign (another format)': (f) => {
        const b = Buffer.from(good);
        b.writeUInt32BE(999, 21);
        writeFileSync(f, b);
      },
      'sealed but malformed': (f) => writeFileSync(f, sealed(Buffer.from('{"not": "a list"}'))),
      'sealed, results under other paths': (f) => {
        const moved = entries.map((e) => ({ ...e, path: e.path.replace(/^accounts\//, 'domains/') }));
        writeFileSync(f, sealed(Buffer.from(JSON.stringify(moved))));
      },
      'a directory': (f) => mkdirSync(f),
    };
    for (const [what, harm] of Object.entries(damage)) {
      rmSync(file, { recursive: true, force: true });
      harm(file);
      const warnings: string[] = [];
      const damaged = await load(repo, file, warnings);
      expect(view(damaged.state), what).toEqual(view(reference));
      if (what === 'a directory') {
        // Neither read nor replaced: a warning for each, and loads go on.
        expect(warnings, what).toHaveLength(2);
        continue;
      }
      if (what !== 'sealed, results under other paths') expect(warnings, what).toHaveLength(1);
      // Rebuilt: the next restart reads everything from it again.
      const after = await load(repo, file);
      expect(after.state.stats.fromCache, what).toBe(after.state.stats.files);
      expect(view(after.state), what).toEqual(view(reference));
    }
  });

  it('is private and atomic; a reload adds a delta; rewritten whole, it holds the last load only', async () => {
    const repo = troubledRepo();
    const dir = stateDir();
    const file = join(dir, 'desired-parse-cache');
    const first = await load(repo, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['desired-parse-cache']); // no temporary file left behind
    const location = locateRepository(repo.dir);

    // One changed file: written as a small delta, read back with the rest on a restart.
    repo.edit('accounts/acme-w360.yaml', 'defaultTag: stable', 'defaultTag: "4.2.1"').commitAll('one file changed');
    const reloaded = await first.loader.load(await openDesiredSource(location));
    await first.loader.flushCache();
    const deltas = readdirSync(dir).filter((n) => n.startsWith('desired-parse-cache.delta-'));
    expect(deltas).toHaveLength(1);
    expect(statSync(join(dir, deltas[0]!)).mode & 0o777).toBe(0o600);
    const restarted = await load(repo, file);
    expect(restarted.state.stats.fromCache).toBe(restarted.state.stats.files);
    expect(view(restarted.state)).toEqual(view(reloaded));

    // A damaged delta is skipped (its file parsed again), then the cache is rewritten whole.
    writeFileSync(join(dir, deltas[0]!), 'garbage');
    const warnings: string[] = [];
    const damaged = await load(repo, file, warnings);
    expect(warnings).toHaveLength(1);
    expect(damaged.state.stats.parsed).toBe(1);
    expect(view(damaged.state)).toEqual(view(reloaded));
    expect(readdirSync(dir)).toEqual(['desired-parse-cache']);

    // Many files gone: the cache is rewritten with the files still there, and no others.
    const gone = ['domains/copy.yaml', 'domains/dangling.yaml', 'accounts/invalid.yaml', 'accounts/broken.yaml',
      'releases/watchdoc-6.1.3.yaml', 'releases/cebox-os-2.8.4.yaml'];
    const blobs = gone.map((f) => repo.git('rev-parse', `HEAD:${f}`));
    for (const f of gone) repo.remove(f);
    repo.commitAll('files removed');
    const state = await damaged.loader.load(await openDesiredSource(location));
    await damaged.loader.flushCache();
    expect(readdirSync(dir)).toEqual(['desired-parse-cache']);
    const cache = await ParseCache.open({ file }, DEFAULT_MAX_FILE_BYTES);
    expect(cache.size).toBe(state.stats.files + 1); // regular files, the stray one included
    gone.forEach((path, i) => expect(cache.take({ path, oid: blobs[i]!, type: 'file' })).toBeUndefined());
  });

  it('does not keep a result JSON would change (NaN, -0, undefined), so it is parsed again instead', async () => {
    const file = join(stateDir(), 'desired-parse-cache');
    const cache = await ParseCache.open({ file }, DEFAULT_MAX_FILE_BYTES);
    const plain = { path: 'accounts/a.yaml', oid: 'a'.repeat(40), object: { spec: { n: 1 } }, diagnostics: [] };
    cache.keep([
      plain,
      { path: 'accounts/b.yaml', oid: 'b'.repeat(40), object: { spec: { n: Number.NaN } }, diagnostics: [] },
      { path: 'accounts/c.yaml', oid: 'c'.repeat(40), object: { spec: { n: -0 } }, diagnostics: [] },
      { path: 'accounts/d.yaml', oid: 'd'.repeat(40), object: { spec: { n: undefined } }, diagnostics: [] },
    ]);
    await cache.flush();
    const reopened = await ParseCache.open({ file }, DEFAULT_MAX_FILE_BYTES);
    expect(reopened.size).toBe(1);
    expect(reopened.take({ ...plain, type: 'file' })).toEqual(plain);
    expect(cacheKey(plain)).toBe(`${plain.oid}\0${plain.path}`);
  });

  it('belongs to one size limit: a loader with another limit does not read it', async () => {
    const file = join(stateDir(), 'desired-parse-cache');
    await (await ParseCache.open({ file }, DEFAULT_MAX_FILE_BYTES)).flush();
    const plain = { path: 'accounts/a.yaml', oid: 'a'.repeat(40), diagnostics: [] };
    const cache = await ParseCache.open({ file }, DEFAULT_MAX_FILE_BYTES);
    cache.keep([plain]);
    await cache.flush();
    const warnings: string[] = [];
    const other = await ParseCache.open({ file, warn: (m) => warnings.push(m) }, 1024);
    expect(other.size).toBe(0);
    expect(warnings).toHaveLength(1);
  });
});
