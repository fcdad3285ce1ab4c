import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoPackageServer, type DemoPackageServer } from '../../agent/demo-package-server.ts';
import { startController, type RunningController } from '../../controller/run/controller.ts';
import { RevisionTracker } from '../../controller/source/revision-tracker.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { domainRepo, eventually } from '../helpers/controller-fixture.ts';
import type { TempRepo } from '../helpers/git-repo.ts';
import { controllerLoggerInto } from '../helpers/memory-logger.ts';

/**
 * A controller restarted while the branch head is invalid acts on the last valid revision, as
 * one that kept running would (Flux's lastAppliedRevision): it learns it from the
 * status/source/<branch>.yaml an earlier run committed, never from memory.
 */
describe('a restart on an invalid revision', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(repo: TempRepo, stateDir: string, packages: DemoPackageServer, logs: string[]) {
    const controller = await startController({
      repo: repo.dir,
      stateDir,
      port: 0,
      warmUpMs: 0,
      coalesceMs: 0,
      artifactMirror: packages.mirror,
      logger: controllerLoggerInto(logs, 'debug'),
    });
    cleanups.push(() => controller.stop());
    return controller;
  }

  /** The status file of `target` at the branch head, as YAML data. */
  const statusAt = (repo: TempRepo, target: string) => {
    const path = `status/${target}.yaml`;
    if (repo.git('ls-tree', '--name-only', 'main', path) === '') return undefined;
    return parse(repo.git('show', `main:${path}`)) as { details?: Record<string, unknown> };
  };

  /** A person's commit in the work tree the controller commits status to: its index lags behind. */
  const commitOnTop = (repo: TempRepo, file: string, from: string, to: string, message: string): string => {
    repo.git('reset', '-q'); // the index to the branch head (status commits included); working files kept
    repo.edit(file, from, to);
    repo.git('add', file);
    repo.git('commit', '-q', '-m', message);
    return repo.head();
  };

  async function readyz(controller: RunningController) {
    const res = await fetch(`${controller.url}/readyz`);
    return { status: res.status, body: await res.text() };
  }

  it('acts on the revision recorded in status/source/main.yaml, and says both revisions', async () => {
    const repo = domainRepo();
    const stateDir = mkdtempSync(join(tmpdir(), 'versiond-state-'));
    const packages = await startDemoPackageServer();
    cleanups.push(() => repo.dispose(), () => rmSync(stateDir, { recursive: true, force: true }));
    cleanups.push(() => packages.close());
    const good = repo.head();

    // 1. A first run acts on the valid commit and records it.
    const logs1: string[] = [];
    const first = await start(repo, stateDir, packages, logs1);
    await first.ready();
    const recorded = () => statusAt(repo, 'source/main')?.details?.['lastAppliedRevision'] === good;
    await eventually(recorded, 30_000, 'source status');
    await eventually(() => statusAt(repo, 'domain/print-test') !== undefined, 30_000, 'the domain status');
    expect(await first.stop()).toBe(true);

    // 2. While it is down, someone commits an invalid change.
    const bad = commitOnTop(repo, 'domains/print-test.yaml', 'sync: mailbox', 'sync: sideways', 'broken');
    expect(repo.git('show', `${bad}:status/source/main.yaml`)).toContain(`lastAppliedRevision: ${good}`);

    // 3. Started again on the invalid head: ready, and acting on the earlier valid revision.
    const logs2: string[] = [];
    const second = await start(repo, stateDir, packages, logs2);
    await second.ready();
    expect(second.loop.revision).toBe(good);
    expect(await readyz(second)).toMatchObject({ status: 200 });
    const lines = logs2.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => String(l.msg).startsWith('acting on the last valid revision'))).toMatchObject({
      revision: good,
      invalid: bad,
      msg: 'acting on the last valid revision, recorded in status/source/main.yaml',
    });
    const reconciled = () => second.loop.statusOf('domain/print-test' as TargetId)?.observedRevision === good;
    await eventually(reconciled, 30_000, 'a reconcile of the valid revision');

    const details = await eventually(() => {
      const d = statusAt(repo, 'source/main')?.details;
      return d?.['lastAttemptedRevision'] === bad ? d : undefined;
    }, 30_000, 'the source status naming both revisions');
    expect(details).toMatchObject({ lastAppliedRevision: good, lastAttemptedRevision: bad });
    expect(String((details['errors'] as string[])[0])).toContain(
      'spec.slaves[1].sync: must be one of "bidirectional", "mailbox", not "sideways"',
    );
    expect(repo.git('show', 'main:status/source/main.yaml')).toContain(
      `summary: revision ${bad.slice(0, 7)} is invalid (1 error); still acting on ${good.slice(0, 7)}`,
    );
  }, 90_000);

  it('does not act on a recorded revision the branch no longer contains, nor on one that is invalid', async () => {
    const repo = domainRepo();
    cleanups.push(() => repo.dispose());
    const good = repo.head();
    repo.edit('domains/print-test.yaml', 'sync: mailbox', 'sync: sideways').commitAll('broken');
    const bad = repo.head();
    // A history rewritten without `good`: an orphan branch with the same broken files.
    repo.git('checkout', '-q', '--orphan', 'rewritten');
    const orphan = repo.commitAll('rewritten history');

    const tracker = new RevisionTracker(repo.path('.git'));
    expect((await tracker.consider(orphan)).kind).toBe('invalid');
    expect(await tracker.restore(good, orphan)).toMatchObject({
      kind: 'refused',
      reason: `not an ancestor of the branch head ${orphan.slice(0, 7)}`,
    });
    expect(await tracker.restore(bad, bad)).toMatchObject({ kind: 'refused', reason: 'it is not valid (any more)' });
    expect(await tracker.restore('f'.repeat(40), orphan)).toMatchObject({ kind: 'refused' });
    expect(tracker.lastApplied).toBeUndefined();

    expect(await tracker.restore(good, bad)).toMatchObject({ kind: 'restored', revision: good });
    expect(tracker.lastApplied?.revision).toBe(good);
    expect(tracker.lastAttempted?.revision).toBe(orphan);
  });

  it('with nothing recorded, a controller started on an invalid revision is not ready and says why', async () => {
    const repo = domainRepo();
    const stateDir = mkdtempSync(join(tmpdir(), 'versiond-state-'));
    const packages = await startDemoPackageServer();
    cleanups.push(() => repo.dispose(), () => rmSync(stateDir, { recursive: true, force: true }));
    cleanups.push(() => packages.close());
    repo.edit('domains/print-test.yaml', 'sync: mailbox', 'sync: sideways').commitAll('broken');
    const logs: string[] = [];
    const controller = await start(repo, stateDir, packages, logs);
    const warned = () => logs.some((l) => l.includes('no valid revision recorded in status/source/main.yaml'));
    await eventually(warned, 30_000, 'the warning');
    expect(await readyz(controller)).toMatchObject({ status: 503 });
    expect(controller.loop.revision).toBeUndefined();
  }, 60_000);
});
