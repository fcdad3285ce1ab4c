/**
 * Issue 14, item 4: torn object writes. `node:fs/promises` is replaced by a wrapper that
 * counts every write the product makes (file creation, data, fsync, rename, mkdir, unlink)
 * and fails the Nth: either the process "dies" there (a data write leaves half its bytes,
 * and every later call fails, so no cleanup runs) or the call throws EIO and the code
 * goes on. N runs over every write of a status commit; after each fault, stock `git fsck
 * --strict` must find the repository clean, the branch must name a complete commit, and
 * the next status commit (a restarted writer, or the same one) must succeed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, truncateSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { statusPath } from '../controller/status/format.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { TempRepo } from './helpers/git-repo.ts';

type Kind = 'crash' | 'throw';
const fault = vi.hoisted(() => ({ armed: false, at: 0, count: 0, kind: 'crash' as Kind, dead: false, failed: '' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const WRITES = new Set(['writeFile', 'appendFile', 'rename', 'mkdir', 'unlink', 'rm', 'rmdir']);
  const HANDLE_WRITES = new Set(['writeFile', 'write', 'sync', 'datasync', 'truncate']);
  const eio = (what: string) => Object.assign(new Error(`EIO: injected fault, ${what}`), { code: 'EIO' });
  /** 'fail' when this write is the one to fail; throws when the process is already "dead". */
  const step = (what: string): 'go' | 'fail' => {
    if (fault.dead) throw eio(`after the crash: ${what}`);
    if (!fault.armed) return 'go';
    fault.count++;
    if (fault.count !== fault.at) return 'go';
    fault.failed = what;
    if (fault.kind === 'crash') fault.dead = true;
    return 'fail';
  };
  const half = (data: unknown) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
    return bytes.subarray(0, bytes.length >> 1);
  };
  const isWriteFlag = (flags: unknown) =>
    typeof flags === 'number' ? (flags & 3) !== 0 : typeof flags === 'string' && /[wa+]/.test(flags);

  function wrapHandle(handle: import('node:fs/promises').FileHandle, path: string) {
    return new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const name = String(key);
          if (HANDLE_WRITES.has(name)) {
            if (step(`${name} ${path}`) === 'fail') {
              if (fault.kind === 'crash' && name === 'writeFile') await target.writeFile(half(args[0]));
              throw eio(`${name} ${path}`);
            }
          } else if (fault.dead) {
            throw eio(`after the crash: ${name} ${path}`);
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(real)) {
    if (typeof fn !== 'function') {
      wrapped[name] = fn;
      continue;
    }
    wrapped[name] = async (...args: unknown[]) => {
      const path = String(args[0]);
      if (name === 'open') {
        if (isWriteFlag(args[1])) {
          if (step(`open ${path}`) === 'fail') throw eio(`open ${path}`);
        } else if (fault.dead) {
          throw eio(`after the crash: open ${path}`);
        }
        const open = fn as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>;
        return wrapHandle(await open(...args), path);
      }
      if (WRITES.has(name)) {
        if (step(`${name} ${path}`) === 'fail') {
          const data = name === 'writeFile' || name === 'appendFile';
          if (fault.kind === 'crash' && data) await real.writeFile(path, half(args[1]));
          throw eio(`${name} ${path}`);
        }
      } else if (fault.dead) {
        throw eio(`after the crash: ${name} ${path}`);
      }
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return { ...wrapped, default: wrapped };
});

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const UMS = 'hacluster/ums-prod';
const FILE = statusPath(UMS);

function status(summary: string, revision: string): TargetStatus {
  const conditions = conditionsFor('Progressing', 'Rollout', summary, undefined, T0);
  return { target: UMS, phase: 'Progressing', conditions, observedRevision: revision, summary, members: [] };
}

function arm(at: number, kind: Kind): void {
  Object.assign(fault, { armed: true, at, count: 0, kind, dead: false, failed: '' });
}
function disarm(): void {
  Object.assign(fault, { armed: false, dead: false });
}

let repos: TempRepo[] = [];
afterEach(() => {
  disarm();
  for (const r of repos) r.dispose();
  repos = [];
});
function repo(): TempRepo {
  const r = TempRepo.create();
  repos.push(r);
  return r;
}

const writer = (r: TempRepo) =>
  new StatusWriter({ gitdir: join(r.dir, '.git'), now: () => T0, coalesceMs: 0, maxAttempts: 2 });
const fsck = (r: TempRepo) => r.git('fsck', '--strict', '--no-dangling', '--no-progress', '--full');

/** A restart comes later than swapRef's stale-lock age (10 s): the lock a dead writer left is then old. */
function ageRefLock(r: TempRepo): void {
  const lock = r.path('.git/refs/heads/main.lock');
  if (existsSync(lock)) utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
}

describe('a status commit against a fault at every write', () => {
  it.each(['crash', 'throw'] as const)('%s at write N, every N: fsck --strict clean, next commit ok', async (kind) => {
    const r = repo();
    const rev = r.head();
    const seen = new Set<string>();
    // Until a commit needs fewer than n writes: then every one of its writes has failed once.
    let n = 1;
    let before = r.git('rev-parse', 'main');
    for (; ; n++) {
      const s = status(`${kind} at write ${n}`, rev);
      const w = writer(r);
      arm(n, kind);
      const outcome = await w.write([{ status: s }]).then(() => 'ok', (e: Error) => e.message);
      disarm();
      if (fault.failed === '') {
        expect(outcome).toBe('ok');
        break;
      }
      seen.add(fault.failed.split(' ')[0]!);
      // A dead process finishes nothing; one EIO may be absorbed (isomorphic-git retries a write once).
      if (kind === 'crash') expect(outcome, `write ${n}: ${fault.failed}`).not.toBe('ok');

      // Stock git finds nothing wrong, and the branch names the old commit or a complete new one.
      expect(fsck(r), `after a ${kind} at write ${n}: ${fault.failed}`).toBe('');
      const after = r.git('rev-parse', 'main');
      if (after !== before) expect(r.git('show', `main:${FILE}`)).toContain(`summary: ${kind} at write ${n}`);

      // The next status commit: the same status (so the same objects are written again), by a
      // restarted writer after a crash, by the same writer after an error.
      ageRefLock(r);
      const next = kind === 'crash' ? writer(r) : w;
      const sha = kind === 'crash' ? await next.write([{ status: s }]) : await next.flush();
      const head = r.git('rev-parse', 'main');
      // The fault stopped the ref: the next commit moves it.
      if (after === before) expect(sha, `write ${n}`).toBe(head);
      before = head;
      expect(r.git('show', `main:${FILE}`)).toContain(`summary: ${kind} at write ${n}`);
    }
    expect(fsck(r), 'after every commit that followed a fault').toBe('');
    // A blob, three trees and a commit (create, data, fsync, rename, directory fsync each), the ref.
    expect(n).toBeGreaterThan(25);
    expect([...seen]).toEqual(expect.arrayContaining(['open', 'writeFile', 'sync', 'rename']));
    console.log(`${kind}: a fault at each of ${n - 1} writes of a status commit: ${[...seen].join(', ')}`);
  }, 300_000);
});

describe('an object file that exists but is damaged', () => {
  it('is written again, atomically, when the next commit needs that object', async () => {
    const r = repo();
    const base = r.head();
    const s = status('damaged objects', base);
    const first = await writer(r).write([{ status: s }]);
    // Every object of that commit is then torn (as by a power cut before fsync), and the branch
    // put back: isomorphic-git alone would see the files, skip writing them, and commit on corruption.
    const objects = r.git('rev-list', '--objects', `${base}..${first}`).split('\n').map((l) => l.split(' ')[0]!);
    expect(objects.length).toBeGreaterThanOrEqual(4);
    for (const oid of objects) {
      const file = r.path(`.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`);
      chmodSync(file, 0o644);
      truncateSync(file, Math.floor(readFileSync(file).length / 2));
    }
    r.git('update-ref', 'refs/heads/main', base);
    const broken = spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: r.dir, encoding: 'utf8' });
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toContain(`corrupt loose object '${first}'`);

    const again = await writer(r).write([{ status: s }]);
    expect(again).toBe(first); // same content, same clock: the very same objects, now whole
    expect(r.git('rev-parse', 'main')).toBe(again);
    expect(fsck(r)).toBe('');
    expect(r.git('show', `main:${FILE}`)).toContain('summary: damaged objects');
  });
});
