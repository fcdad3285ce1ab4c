/**
 * Issue 16, a status commit's cost: its objects are flushed together, in the time of the ref
 * lock's own flush, and never after the ref moves; the writer reads nothing it wrote itself,
 * yet still sees an object of its own that was lost. `node:fs/promises` is wrapped to record
 * the order of renames and flushes (test/git-torn-writes.test.ts injects faults the same way).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { swapRef } from '../controller/git/swap-ref.ts';
import { statusPath } from '../controller/status/format.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { TempRepo } from './helpers/git-repo.ts';

const log = vi.hoisted(() => ({ on: false, events: [] as string[], reads: [] as string[] }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const wrapped: Record<string, unknown> = { ...real };
  wrapped.rename = async (from: string, to: string) => {
    await real.rename(from, to);
    if (log.on) log.events.push(`rename ${to}`);
  };
  wrapped.readFile = async (...args: Parameters<typeof real.readFile>) => {
    if (log.on) log.reads.push(String(args[0]));
    return real.readFile(...args);
  };
  wrapped.open = async (...args: Parameters<typeof real.open>) => {
    const handle = await real.open(...args);
    const path = String(args[0]);
    return new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        if (key !== 'sync') return (value as (...a: unknown[]) => unknown).bind(target);
        return async () => {
          await target.sync();
          if (log.on) log.events.push(`sync ${path}`);
        };
      },
    });
  };
  return { ...wrapped, default: wrapped };
});

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const TARGET = 'account/acme-w360';
const FILE = statusPath(TARGET);

function status(summary: string, revision: string, devices = 50): TargetStatus {
  const conditions = conditionsFor('Progressing', 'Rollout', summary, undefined, T0);
  const members = Array.from({ length: devices }, (_, d) => ({
    name: `dev-${d}`,
    agent: `agent-${d}`,
    role: 'device',
    desired: '4.3.0',
    observed: d === 0 ? '4.3.0' : '4.2.1',
    state: d === 0 ? ('Updated' as const) : ('Pending' as const),
  }));
  return { target: TARGET, phase: 'Progressing', conditions, observedRevision: revision, summary, members };
}

let repos: TempRepo[] = [];
afterEach(() => {
  log.on = false;
  log.events = [];
  log.reads = [];
  for (const r of repos) r.dispose();
  repos = [];
});
function repo(): TempRepo {
  const r = TempRepo.create();
  repos.push(r);
  return r;
}
const writer = (r: TempRepo) => new StatusWriter({ gitdir: join(r.dir, '.git'), now: () => T0, coalesceMs: 0 });
const objectFile = (r: TempRepo, oid: string) => r.path(`.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`);

describe('a status commit flushes its objects together', () => {
  it('no object is flushed on its own; every one, and its folder, is flushed before the ref moves', async () => {
    const r = repo();
    const rev = r.head();
    const w = writer(r);
    await w.write([{ status: status('first', rev) }]);
    log.on = true;
    const sha = await w.write([{ status: status('second', rev) }]);
    log.on = false;
    const objects = r.git('rev-list', '--objects', `${sha}^..${sha}`).split('\n').map((l) => l.split(' ')[0]!);
    const renamedObjects = log.events.filter((e) => e.startsWith('rename ') && e.includes('/objects/'));
    // A blob, three trees (status/account, status/, the root) and the commit.
    expect(renamedObjects.length).toBe(5);
    const refMoved = log.events.indexOf(`rename ${r.path('.git/refs/heads/main')}`);
    expect(refMoved).toBeGreaterThan(0);
    const lastObjectRenamed = Math.max(...renamedObjects.map((e) => log.events.indexOf(e)));
    for (const e of renamedObjects) {
      const file = e.slice('rename '.length);
      const synced = log.events.indexOf(`sync ${file}`);
      expect(synced, file).toBeGreaterThan(lastObjectRenamed); // together, once all are written
      expect(synced, file).toBeLessThan(refMoved);
      const folder = file.slice(0, file.lastIndexOf('/'));
      expect(log.events.indexOf(`sync ${folder}`), folder).toBeLessThan(refMoved);
    }
    expect(objects).toContain(sha);
    expect(r.git('fsck', '--strict', '--no-dangling', '--no-progress')).toBe('');
  });

  it('the ref stays where it was when the objects cannot be flushed', async () => {
    const r = repo();
    const gitdir = r.path('.git');
    const before = r.head();
    const failed = Promise.reject(Object.assign(new Error('EIO: flush failed'), { code: 'EIO' }));
    const swap = swapRef(gitdir, 'refs/heads/main', before, 'f'.repeat(40), { durable: failed });
    await expect(swap).rejects.toThrow(/EIO/);
    expect(r.git('rev-parse', 'main')).toBe(before);
    expect(existsSync(r.path('.git/refs/heads/main.lock'))).toBe(false);
  });
});

describe('the writer reads nothing it wrote itself', () => {
  it('a second commit of a 50-device account reads no object, only the ref', async () => {
    const r = repo();
    const rev = r.head();
    const w = writer(r);
    await w.write([{ status: status('first', rev) }]);
    log.on = true;
    await w.write([{ status: status('second', rev) }]);
    log.on = false;
    expect(log.reads.filter((p) => p.includes('/objects/'))).toEqual([]);
  });

  it('yet a status file of its own that was lost is written again', async () => {
    const r = repo();
    const rev = r.head();
    const w = writer(r);
    const s = status('lost', rev);
    const first = await w.write([{ status: s }]);
    const blob = r.git('rev-parse', `${first}:${FILE}`);
    rmSync(objectFile(r, blob));
    // The same status: the file the branch names is gone, so it is written again.
    const again = await w.write([{ status: s }]);
    expect(again).not.toBeNull();
    expect(r.git('rev-parse', 'main')).toBe(again);
    expect(r.git('show', `main:${FILE}`)).toContain('summary: lost');
    expect(existsSync(objectFile(r, blob))).toBe(true);
  });
});
