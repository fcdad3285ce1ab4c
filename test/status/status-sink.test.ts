/**
 * The sink between the reconcile loop and the status writer (issue 16): when writes are slower
 * than reconciles offer statuses, each write takes the newest status of every target as it
 * starts. Before, each 100 ms batch was queued with the statuses it held then, so a busy
 * writer committed a status the reconcilers had long moved past (Git 10 s behind at 10,000
 * agents).
 */
import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { StatusSink } from '../../controller/status/status-sink.ts';
import type { StatusUpdate, StatusWriter } from '../../controller/status/status-writer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function status(target: string, n: number): TargetStatus {
  return { target, summary: `step ${n}` } as unknown as TargetStatus;
}

/** A writer whose every write takes `ms`, recording what each was given and when it started. */
function slowWriter(ms: number, newestOffered: () => number = () => -1) {
  const writes: { newestOffered: number; summaries: string[] }[] = [];
  const writer = {
    async write(updates: readonly StatusUpdate[]) {
      writes.push({ newestOffered: newestOffered(), summaries: updates.map((u) => `${u.status.target}:${u.status.summary}`) });
      await sleep(ms);
      return null;
    },
    flushDue: async () => null,
    flush: async () => null,
    nextDueIn: () => undefined,
    pendingTargets: () => [],
  };
  return { writer: writer as unknown as StatusWriter, writes };
}

describe('a status sink in front of a slow writer', () => {
  it('commits the newest status of each target, not a backlog of old ones', async () => {
    let newest = -1;
    const { writer, writes } = slowWriter(150, () => newest);
    const sink = new StatusSink({ writer, batchMs: 10 });
    for (let n = 0; n < 60; n++) {
      sink.offer(status('account/a', n));
      sink.offer(status('account/b', n));
      newest = n;
      await sleep(10);
    }
    await sleep(20);
    await sink.settled();
    await sink.settled();
    // About one write per 150 ms, not one per 10 ms batch.
    expect(writes.length).toBeLessThanOrEqual(8);
    // Each write starts with the newest status offered before it started.
    for (const w of writes) {
      expect(w.summaries).toEqual([`account/a:step ${w.newestOffered}`, `account/b:step ${w.newestOffered}`]);
    }
    expect(writes.at(-1)!.summaries).toEqual(['account/a:step 59', 'account/b:step 59']);
  });

  it('a status offered while a write runs is written by the next one', async () => {
    const { writer, writes } = slowWriter(100);
    const sink = new StatusSink({ writer, batchMs: 5 });
    sink.offer(status('account/a', 1));
    await sleep(30); // the first write is running
    sink.offer(status('account/a', 2));
    await sleep(150);
    await sink.settled();
    expect(writes.map((w) => w.summaries)).toEqual([['account/a:step 1'], ['account/a:step 2']]);
  });
});
