import { afterAll, describe, expect, it } from 'vitest';
import { LocalSource } from '../controller/source/local-source.ts';
import { RevisionTracker } from '../controller/source/revision-tracker.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { formatDiagnostic } from '../controller/desired/diagnostics.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { TempRepo } from './helpers/git-repo.ts';

const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));
const repo = () => {
  const r = TempRepo.create();
  repos.push(r);
  return r;
};

/** Resolves with the next head a source reports after `action`, and how long it took. */
function nextRevision(seen: string[], action: () => void, timeoutMs = 3000): Promise<{ head: string; ms: number }> {
  const before = seen.length;
  const start = performance.now();
  action();
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (seen.length > before) {
        clearInterval(t);
        resolve({ head: seen[seen.length - 1]!, ms: performance.now() - start });
      } else if (performance.now() - start > timeoutMs) {
        clearInterval(t);
        reject(new Error('no revision reported'));
      }
    }, 5);
  });
}

describe('a local repository is followed by watching its files', () => {
  it('a commit on the watched branch is noticed within a second', async () => {
    const r = repo();
    const seen: string[] = [];
    const source = new LocalSource({ gitdir: r.path('.git'), onRevision: (c) => seen.push(c) });
    await source.start();
    try {
      expect(seen).toEqual([r.head()]);
      const { head, ms } = await nextRevision(seen, () => r.edit('domains/print-paris.yaml', 'watchdoc-6.1.4', 'watchdoc-6.1.3').commitAll('roll back paris'));
      expect(head).toBe(r.head());
      expect(ms).toBeLessThan(1000);
    } finally {
      await source.stop();
    }
  });

  it('commits on another branch are not reported; packing refs reports nothing new and does not stop the watch', async () => {
    const r = repo();
    const seen: string[] = [];
    const source = new LocalSource({ gitdir: r.path('.git'), onRevision: (c) => seen.push(c) });
    await source.start();
    try {
      r.git('checkout', '-q', '-b', 'feature');
      r.edit('domains/print-paris.yaml', 'watchdoc-6.1.4', 'watchdoc-6.1.3').commitAll('on a branch');
      r.git('checkout', '-q', 'main');
      r.git('pack-refs', '--all');
      await new Promise((res) => setTimeout(res, 300));
      expect(seen).toHaveLength(1);
      const { head } = await nextRevision(seen, () => r.git('merge', '-q', 'feature'));
      expect(head).toBe(r.git('rev-parse', 'feature'));
    } finally {
      await source.stop();
    }
  });
});

describe('the controller acts on the last valid revision (issue 3)', () => {
  it('an invalid revision keeps the last valid one, records the attempt, and a fix replaces both', async () => {
    const r = repo();
    const tracker = new RevisionTracker(r.path('.git'));
    const first = r.head();
    expect(await tracker.consider(first)).toMatchObject({ kind: 'applied', revision: first });

    const broken = r.edit('domains/print-paris.yaml', 'sync: bidirectional', 'sync: sideways').commitAll('broken');
    const outcome = await tracker.consider(broken);
    expect(outcome.kind).toBe('invalid');
    expect(tracker.lastApplied?.revision).toBe(first);
    expect(tracker.lastAttempted?.revision).toBe(broken);
    expect(tracker.lastAttempted?.diagnostics.map(formatDiagnostic)).toEqual([
      'domains/print-paris.yaml:20:13: domain/print-paris: spec.slaves[0].sync: must be one of "bidirectional", "mailbox", not "sideways"',
    ]);

    const fixed = r.edit('domains/print-paris.yaml', 'sync: sideways', 'sync: bidirectional').commitAll('fixed');
    expect(await tracker.consider(fixed)).toMatchObject({ kind: 'applied', revision: fixed });
    expect(tracker.lastAttempted).toBeUndefined();
  });

  it("the controller's own status commit is not a new desired revision: no re-reconcile", async () => {
    const r = repo();
    const tracker = new RevisionTracker(r.path('.git'));
    const desired = r.head();
    await tracker.consider(desired);
    const status: TargetStatus = {
      target: 'domain/print-paris',
      phase: 'Waiting',
      conditions: [],
      observedRevision: desired,
      summary: '0/3 servers at 6.1.4',
      members: [],
    };
    const statusCommit = await new StatusWriter({ gitdir: r.path('.git'), coalesceMs: 0 }).write([{ status }]);
    expect(statusCommit).toBe(r.head());
    expect(await tracker.consider(statusCommit!)).toEqual({ kind: 'unchanged', revision: statusCommit });
    expect(tracker.lastApplied?.revision).toBe(desired);
  });
});

describe('an invalid revision is reported in the source status (issue 3)', () => {
  it('status/source/main.yaml names the revision acted on, the one refused, and its errors', async () => {
    const { sourceStatus } = await import('../controller/source/source-status.ts');
    const r = repo();
    const tracker = new RevisionTracker(r.path('.git'));
    const good = r.head();
    await tracker.consider(good);
    const bad = r.edit('domains/print-paris.yaml', 'sync: bidirectional', 'sync: sideways').commitAll('broken');
    await tracker.consider(bad);
    const writer = new StatusWriter({ gitdir: r.path('.git'), coalesceMs: 0 });
    await writer.write([{ status: sourceStatus('main', tracker, undefined, Date.UTC(2026, 10, 22, 10)) }]);
    const file = r.git('show', 'HEAD:status/source/main.yaml');
    expect(file).toContain(`lastAppliedRevision: ${good}`);
    expect(file).toContain(`lastAttemptedRevision: ${bad}`);
    expect(file).toContain('domains/print-paris.yaml:20:13: domain/print-paris: spec.slaves[0].sync: must be one of');
    expect(r.git('log', '-1', '--format=%s')).toBe(
      `status(source/main): Blocked: revision ${bad.slice(0, 7)} is invalid (1 error); still acting on ${good.slice(0, 7)}`,
    );
    // The status commit itself changes no desired folder: still the same attempt, nothing to reconcile.
    expect((await tracker.consider(r.head())).kind).toBe('unchanged');
  });
});
