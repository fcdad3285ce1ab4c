/**
 * Issue 16: packed objects are read from pack files kept open, with each index read once.
 * Real repositories made with the git CLI: delta chains (many similar versions of a file,
 * OFS and REF deltas), packs replaced by `git repack -a -d` or `git gc` while the reader
 * holds them open, a pack deleted or rewritten in place, loose objects beside packs.
 * Whatever the reader keeps, it must give what `git cat-file` gives, or the same errors as
 * before, and never bytes from a pack that is no longer there.
 */
import { readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBlobBytes, readGitObject } from '../controller/git/read-blob.ts';
import { TempRepo } from './helpers/git-repo.ts';

let repos: TempRepo[] = [];
afterEach(() => {
  for (const r of repos) r.dispose();
  repos = [];
});

/** A repository with `versions` commits of one file, each a small edit of the last. */
function history(versions: number): { r: TempRepo; blobs: string[]; contents: Map<string, string> } {
  const r = TempRepo.create({ fromExample: false, commit: false });
  repos.push(r);
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}: ${'x'.repeat(40)}`);
  const blobs: string[] = [];
  const contents = new Map<string, string>();
  for (let v = 0; v < versions; v++) {
    lines[(v * 7) % lines.length] = `line edited in version ${v}`;
    const content = `${lines.join('\n')}\n`;
    r.write('accounts/acme.yaml', content);
    r.commitAll(`version ${v}`);
    blobs.push(r.git('rev-parse', 'HEAD:accounts/acme.yaml'));
    contents.set(blobs.at(-1)!, content);
  }
  return { r, blobs, contents };
}

const text = async (r: TempRepo, oid: string, cache: object) =>
  Buffer.from(await readBlobBytes(r.path('.git'), oid, cache)).toString('utf8');

const packs = (r: TempRepo) => readdirSync(r.path('.git/objects/pack')).filter((n) => n.endsWith('.pack'));

/** Deepest delta chain in the repository's packs, as `git verify-pack` counts it. */
function deepestChain(r: TempRepo): number {
  let deepest = 0;
  for (const p of packs(r)) {
    const out = r.git('verify-pack', '-v', join('.git/objects/pack', p));
    for (const m of out.matchAll(/^chain length = (\d+):/gm)) deepest = Math.max(deepest, Number(m[1]));
  }
  return deepest;
}

/** Paths of the files this process holds open. */
function openFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

describe('delta chains', () => {
  it.each([
    ['offset deltas', []],
    ['deltas by object id', ['-c', 'repack.useDeltaBaseOffset=false']],
  ])('every version of a file with %s reads as it was committed', { timeout: 120_000 }, async (_, config) => {
    const { r, blobs, contents } = history(30);
    r.git(...config, 'repack', '-a', '-d', '-f', '--depth=50', '--window=50');
    expect(deepestChain(r)).toBeGreaterThan(10);
    expect(r.git('cat-file', 'blob', blobs[0]!)).toBe(contents.get(blobs[0]!)!.trim());
    const cache = {};
    // Newest first and oldest first: bases come from the cache or from the pack.
    for (const oid of [...blobs, ...blobs.slice().reverse()]) expect(await text(r, oid, cache)).toBe(contents.get(oid));
    for (const oid of blobs) expect(await text(r, oid, {})).toBe(contents.get(oid));
  });

  it('trees and commits are read too, and checked against their id', async () => {
    const { r } = history(3);
    r.git('gc', '-q');
    const head = r.head();
    const commit = await readGitObject(r.path('.git'), head, {});
    expect(commit.type).toBe('commit');
    expect(commit.data.toString('utf8')).toBe(`${r.git('cat-file', 'commit', head)}\n`);
    const tree = await readGitObject(r.path('.git'), r.git('rev-parse', 'HEAD^{tree}'), {});
    expect(tree.type).toBe('tree');
  });
});

describe('packs replaced while the reader holds them', () => {
  it('git repack -a -d and git gc: new packs are found, the old ones closed', async () => {
    const { r, blobs } = history(10);
    r.git('gc', '-q');
    const [first] = packs(r);
    const cache = {};
    for (const oid of blobs) await text(r, oid, cache);
    expect(openFiles().some((f) => f.endsWith(first!))).toBe(true);

    r.write('accounts/other.yaml', 'name: other\n').commitAll('another file');
    const added = r.git('rev-parse', 'HEAD:accounts/other.yaml');
    r.git('repack', '-a', '-d', '-f', '--depth=20');
    r.git('prune-packed');
    expect(packs(r)).not.toContain(first);
    for (const oid of [...blobs, added]) {
      expect(await text(r, oid, cache)).toBe(`${r.git('cat-file', 'blob', oid)}\n`);
    }
    expect(openFiles().some((f) => f.includes(first!))).toBe(false);

    r.write('accounts/third.yaml', 'name: third\n').commitAll('a third file');
    r.git('gc', '-q', '--prune=now');
    const third = r.git('rev-parse', 'HEAD:accounts/third.yaml');
    expect(await text(r, third, cache)).toBe('name: third\n');
    for (const oid of blobs) expect(await text(r, oid, cache)).toBe(`${r.git('cat-file', 'blob', oid)}\n`);
  });

  it('a deleted pack is never read from its open descriptor: the object is missing', async () => {
    const { r, blobs } = history(5);
    r.git('gc', '-q');
    const cache = {};
    await text(r, blobs[0]!, cache);
    const dir = r.path('.git/objects/pack');
    const aside = r.path('.git/aside');
    renameSync(dir, aside);
    for (const c of [cache, {}]) {
      await expect(readBlobBytes(r.path('.git'), blobs[0]!, c)).rejects.toMatchObject({ code: 'NotFoundError' });
    }
    // Back again (a restore): found again, with the same cache.
    renameSync(aside, dir);
    expect(await text(r, blobs[0]!, cache)).toBe(`${r.git('cat-file', 'blob', blobs[0]!)}\n`);
  });

  it('a pack rewritten under the same name is read anew, and a corrupt object is refused', async () => {
    const { r, blobs } = history(5);
    r.write('accounts/big.yaml', `${'name: big\n'.repeat(2000)}`).commitAll('a big file');
    const big = r.git('rev-parse', 'HEAD:accounts/big.yaml');
    r.git('gc', '-q');
    const cache = {};
    expect(await text(r, big, cache)).toBe('name: big\n'.repeat(2000));
    const [name] = packs(r);
    const path = r.path(`.git/objects/pack/${name}`);
    const bytes = readFileSync(path);
    const at = Number(/^(\S+) blob\s+\d+ \d+ (\d+)/m.exec(r.git('verify-pack', '-v', path).split('\n')
      .find((l) => l.startsWith(big))!)![2]);
    // Flip a byte in the middle of the big blob's zlib stream: same name, same trailer.
    const copy = Buffer.from(bytes);
    copy[at + 12] = copy[at + 12]! ^ 0x55;
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, copy);
    renameSync(tmp, path);
    await expect(readBlobBytes(r.path('.git'), big, cache)).rejects.toThrow(`object ${big}`);
    // Put back: read again, no stale state kept.
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    expect(await text(r, big, cache)).toBe('name: big\n'.repeat(2000));
    expect(await text(r, blobs[4]!, cache)).toBe(`${r.git('cat-file', 'blob', blobs[4]!)}\n`);
  });
});

describe('loose objects beside packs', () => {
  it('an object written loose after the packs were indexed is found with the same cache', async () => {
    const { r, blobs } = history(3);
    r.git('gc', '-q');
    const cache = {};
    await text(r, blobs[0]!, cache);
    r.write('new.yaml', 'kind: new\n');
    const oid = r.git('hash-object', '-w', 'new.yaml');
    expect(await text(r, oid, cache)).toBe('kind: new\n');
    rmSync(r.path(`.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`));
    await expect(readBlobBytes(r.path('.git'), oid, cache)).rejects.toMatchObject({ code: 'NotFoundError' });
  });

  it('reading many packed objects does not open one descriptor each', async () => {
    const { r, blobs } = history(30);
    r.git('gc', '-q');
    const before = openFiles().length;
    const cache = {};
    await Promise.all(blobs.map((oid) => text(r, oid, cache)));
    expect(openFiles().length - before).toBeLessThanOrEqual(1);
  });
});
