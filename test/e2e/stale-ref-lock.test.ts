import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printBranches } from './harness/example-fleet.ts';
import { Scenario } from './harness/scenario.ts';
import { waitFor } from './harness/wait.ts';

/**
 * Found by controller-crash.test.ts: the controller moves the branch with Git's lock-file
 * protocol (controller/git/swap-ref.ts: create `refs/heads/main.lock` exclusively, re-read
 * the ref, write the new id, rename). A SIGKILL between the create and the rename leaves
 * `main.lock` behind. A lock that old is stale — a live git holds it for milliseconds — so
 * the next run removes it and commits status, instead of failing every commit forever.
 *
 * This test leaves the file a killed run leaves (empty: killed right after the create), dated
 * ten minutes back, and starts the controller: it must still commit status.
 */
describe('a ref lock left by a controller killed in the middle of a status commit', () => {
  const domain = printBranches();
  let s: Scenario;
  afterAll(async () => {
    await s?.dispose();
  });

  it('does not stop the next run from committing status', async () => {
    s = await Scenario.create({ files: domain.files, agents: {} });
    const lock = join(s.bare, 'refs/heads/main.lock');
    writeFileSync(lock, '');
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, tenMinutesAgo, tenMinutesAgo);
    const before = s.status.head();

    await s.start();
    await waitFor(() => s.status.status('source/main') !== undefined, {
      what: 'the first status commit (status/source/main.yaml) despite the stale refs/heads/main.lock',
      timeoutMs: 6_000,
      explain: () => `lock still there: ${existsSync(lock)}; controller errors:\n    ${[...new Set(s.controller.errors().map((l) => `${l.msg} (${String(l['err'])})`))].join('\n    ')}`,
    });
    expect(s.status.head()).not.toBe(before);
    expect(s.controller.statusCommits().every((c) => s.status.isOnBranch(c))).toBe(true);
  }, 30_000);
});
