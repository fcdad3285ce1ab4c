import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredStateLoader } from '../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../controller/desired/open-source.ts';
import { BlobTooLargeError, readBlobBytes } from '../controller/git/read-blob.ts';
import { locateRepository } from '../controller/git/repository.ts';
import { ROOT, TempRepo } from './helpers/git-repo.ts';

/**
 * Issue 14, item 1: a compressed bomb in Git. 512 MiB of spaces is a few MB in Git; every
 * reader of blobs (validate's loader, audit) must refuse it from the object's header, not
 * after inflating it. One real repository built with the `git` CLI holds three bombs: one
 * packed by `git gc`, one packed as a delta (a pack written here: a 64 KiB base copied 8192
 * times, accepted by `git index-pack`), one loose. `versiond` runs as a child process whose
 * peak RSS is compared with a run on the same repository without the bombs.
 */
const BOMB = 512 * 1024 * 1024;
const FILES = {
  packed: 'domains/zz-packed.yaml',
  delta: 'domains/print-paris.yaml',
  loose: 'domains/print-branches.yaml',
};
const BIN = join(ROOT, 'controller/cli/bin.js');
const TOO_LARGE = 'file is 512.0 MiB, over the 8.0 MiB limit for a desired-state document; not read';
/** Prints the child's peak RSS (kB) on exit; portable, unlike /usr/bin/time. */
const PEAK = 'data:text/javascript,' +
  "process.on('exit',()=>process.stderr.write('maxRSS='+process.resourceUsage().maxRSS+'\\n'))";

function versiond(args: string[]) {
  const options = { cwd: ROOT, encoding: 'utf8' as const, timeout: 120_000 };
  const r = spawnSync(process.execPath, ['--import', PEAK, BIN, ...args], options);
  const m = /maxRSS=(\d+)/.exec(r.stderr);
  const stderr = r.stderr.replace(/maxRSS=\d+\n/, '');
  return { code: r.status, stdout: r.stdout, stderr, peakMiB: m ? Number(m[1]) / 1024 : NaN };
}

function git(dir: string, args: string[], input?: Buffer): string {
  return execFileSync('git', args, {
    cwd: dir,
    input,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Eve',
      GIT_AUTHOR_EMAIL: 'eve@example.com',
      GIT_COMMITTER_NAME: 'Eve',
      GIT_COMMITTER_EMAIL: 'eve@example.com',
    },
  }).trim();
}

/** 512 MiB of one character, written loose by `git hash-object` (streamed: never in this process). */
function hashBomb(dir: string, char: string): string {
  const script = `head -c ${BOMB} /dev/zero | tr '\\0' '${char}' | git hash-object -w --stdin`;
  return execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' }).trim();
}

/** Puts blob `oid` at `path` in the index and commits, without a working-tree copy of 512 MiB. */
function commitBlob(dir: string, oid: string, path: string, message: string): void {
  git(dir, ['update-index', '--add', '--cacheinfo', `100644,${oid},${path}`]);
  git(dir, ['commit', '-q', '-m', message]);
}

// ---- a pack written by hand: a blob, and an OFS_DELTA that copies all of it 8192 times

function entryHeader(type: number, size: number): Buffer {
  const out: number[] = [];
  let c = (type << 4) | (size & 15);
  for (size = Math.floor(size / 16); size > 0; size = Math.floor(size / 128)) {
    out.push(c | 0x80);
    c = size & 0x7f;
  }
  out.push(c);
  return Buffer.from(out);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    const c = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n > 0 ? c | 0x80 : c);
  } while (n > 0);
  return Buffer.from(out);
}

/** Git's offset encoding for OFS_DELTA (big-endian, with the +1 per continuation byte). */
function ofsEncoding(ofs: number): Buffer {
  const bytes = [ofs & 0x7f];
  for (ofs = Math.floor(ofs / 128); ofs > 0; ofs = Math.floor(ofs / 128)) bytes.unshift(0x80 | (--ofs & 0x7f));
  return Buffer.from(bytes);
}

function deltaBombPack(char: string): Buffer {
  const base = Buffer.alloc(64 * 1024, char);
  // Opcode 0x80 alone: copy 0x10000 bytes from offset 0 of the base.
  const delta = Buffer.concat([varint(base.length), varint(BOMB), Buffer.alloc(BOMB / base.length, 0x80)]);
  const header = Buffer.concat([Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 2])]);
  const first = Buffer.concat([entryHeader(3, base.length), deflateSync(base)]);
  const second = Buffer.concat([entryHeader(6, delta.length), ofsEncoding(first.length), deflateSync(delta)]);
  const body = Buffer.concat([header, first, second]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/** The id of 512 MiB of `char`, hashed in 1 MiB steps. */
function gitBlobIdOfBomb(char: string): string {
  const hash = createHash('sha1').update(`blob ${BOMB}\0`);
  const chunk = Buffer.alloc(1024 * 1024, char);
  for (let i = 0; i < BOMB / chunk.length; i++) hash.update(chunk);
  return hash.digest('hex');
}

let clean: TempRepo;
let bombs: TempRepo;
const oids = { packed: '', delta: '', loose: '' };

beforeAll(() => {
  clean = TempRepo.create();
  bombs = TempRepo.create();
  const dir = bombs.dir;
  oids.packed = hashBomb(dir, ' ');
  commitBlob(dir, oids.packed, FILES.packed, 'a bomb, soon packed');
  git(dir, ['-c', 'pack.compression=1', 'gc', '-q']);
  git(dir, ['index-pack', '--stdin'], deltaBombPack('x'));
  oids.delta = gitBlobIdOfBomb('x');
  commitBlob(dir, oids.delta, FILES.delta, 'a bomb as a delta where a domain was');
  oids.loose = hashBomb(dir, '\\n');
  commitBlob(dir, oids.loose, FILES.loose, 'a loose bomb where a domain was');
}, 180_000);

afterAll(() => {
  clean?.dispose();
  bombs?.dispose();
});

describe('a compressed bomb in Git is refused from its header', () => {
  it('the repository holds what it claims: three blobs of 512 MiB, packed, packed as a delta, loose', () => {
    const loose = (oid: string) => existsSync(bombs.path(`.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`));
    expect([loose(oids.packed), loose(oids.delta), loose(oids.loose)]).toEqual([false, false, true]);
    const packed = git(bombs.dir, ['count-objects', '-v']);
    expect(packed).toMatch(/^packs: 2$/m);
    for (const path of Object.values(FILES)) {
      expect(git(bombs.dir, ['cat-file', '-s', `HEAD:${path}`])).toBe(String(BOMB));
    }
    expect(git(bombs.dir, ['rev-parse', `HEAD:${FILES.delta}`])).toBe(oids.delta);
  });

  it.each(['packed', 'delta', 'loose'] as const)('readBlobBytes refuses the %s blob by its size', async (layout) => {
    const err = await readBlobBytes(bombs.path('.git'), oids[layout], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect(err).toMatchObject({ oid: oids[layout], size: BOMB, limit: 8 * 1024 * 1024 });
  });

  it.each([['in process', { workers: 'off' as const }], ['in parse workers', { workerThreshold: 1 }]])(
    'the loader %s reports FILE_TOO_LARGE at 1:1 of each file, with the real size',
    async (_, options) => {
      const loaded = await new DesiredStateLoader(options).load(await openDesiredSource(locateRepository(bombs.dir)));
      const tooLarge = loaded.diagnostics.filter((d) => d.code === 'FILE_TOO_LARGE');
      const where = tooLarge.map((d) => [d.path, d.line, d.column]).sort();
      expect(where).toEqual(Object.values(FILES).sort().map((p) => [p, 1, 1]));
      expect(tooLarge[0]!.message).toBe(TOO_LARGE);
      expect(loaded.valid).toBe(false);
    },
  );

  it('validate and audit: FILE_TOO_LARGE naming each file, at the peak RSS of a repository without bombs', () => {
    const base = versiond(['validate', '--repo', clean.dir]);
    expect(base.code, base.stderr).toBe(0);

    const validate = versiond(['validate', '--repo', bombs.dir]);
    for (const path of Object.values(FILES)) {
      expect(validate.stdout).toContain(`${path}:1:1: -: -: ${TOO_LARGE}`);
    }
    expect(validate.stdout).toContain(`unreadable files: ${Object.values(FILES).sort().join(', ')}`);
    expect(validate.code).toBe(1);

    const audit = versiond(['audit', '--repo', bombs.dir]);
    expect(audit.code, audit.stderr).toBe(0);
    for (const message of ['a bomb as a delta where a domain was', 'a loose bomb where a domain was']) {
      const shown = `${message}\\n\\s+domains/[a-z-]+\\.yaml no longer reads\\n\\s+\\(FILE_TOO_LARGE at 1:1\\)`;
      expect(audit.stdout).toMatch(new RegExp(shown));
    }

    // Inflating any of them takes 512 MiB at least (validate peaked at 1.2 GB before the fix).
    const mib = (x: number) => `${x.toFixed(0)} MiB`;
    const peaks = `validate ${mib(base.peakMiB)} without bombs, ${mib(validate.peakMiB)} with`;
    console.log(`peak RSS: ${peaks}; audit ${mib(audit.peakMiB)}`);
    expect(validate.peakMiB - base.peakMiB).toBeLessThan(64);
    expect(audit.peakMiB - base.peakMiB).toBeLessThan(64);
  }, 300_000);
});
