/**
 * WorkQueue: dedup by key, one run per key at a time, a bounded number of runs, FIFO among
 * ready keys, deterministic exponential backoff, "soonest wins" delays, forget, idle and
 * shutdown. Timing rules run under fake timers (setTimeout and Date only; microtasks stay
 * real), with the queue's clock injected as Date.now, so delays are checked to the ms.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, type WorkQueueOptions } from '../../controller/loop/work-queue.ts';
import { prng } from '../helpers/prng.ts';

type Result = { requeueAfter?: number } | void;

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let queued microtasks (the queue's pump, finished runs) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(0);
}

/** A queue on the fake clock that records when (ms) each key ran. */
function recordingQueue(
  results: (key: string, run: number) => Result | Promise<Result> = () => undefined,
  options: Partial<WorkQueueOptions<string>> = {},
) {
  const runs: Array<[string, number]> = [];
  const counts = new Map<string, number>();
  const queue = new WorkQueue<string>({
    concurrency: 1,
    now: () => Date.now(),
    ...options,
    process: async (key) => {
      const run = (counts.get(key) ?? 0) + 1;
      counts.set(key, run);
      runs.push([key, Date.now()]);
      return results(key, run);
    },
  });
  return { queue, runs };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('dedup and order', () => {
  it.each([
    { adds: ['a', 'a', 'a'], processed: ['a'] },
    { adds: ['a', 'b', 'a', 'b', 'a'], processed: ['a', 'b'] },
    { adds: ['c', 'a', 'b', 'a', 'c'], processed: ['c', 'a', 'b'] },
  ])('adds $adds are processed once each, in first-add order: $processed', async ({ adds, processed }) => {
    const seen: string[] = [];
    const queue = new WorkQueue<string>({ concurrency: 1, process: async (key) => void seen.push(key) });
    for (const key of adds) queue.add(key);
    expect(queue.depth).toBe(processed.length);
    await queue.idle();
    expect(seen).toEqual(processed);
  });

  it('a key added while it runs runs exactly once more, after the keys already waiting', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 1,
      process: async (key) => {
        seen.push(key);
        if (seen.length === 1) await gate.promise;
      },
    });
    queue.add('a');
    await settle();
    expect(queue.active).toBe(1);
    for (let i = 0; i < 100; i++) queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(1); // only b waits: a is running, marked dirty
    gate.resolve();
    await queue.idle();
    expect(seen).toEqual(['a', 'b', 'a']);
  });
});

describe('concurrency', () => {
  it.each([1, 3, 16])('never runs more than %i keys at once, and uses all of them', async (concurrency) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const queue = new WorkQueue<string>({
      concurrency,
      process: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1);
        inFlight--;
      },
    });
    for (let i = 0; i < 60; i++) queue.add(`account/k${i}`);
    await queue.idle();
    expect(maxInFlight).toBe(concurrency);
    expect(queue.active).toBe(0);
  });

  it('never processes one key twice at once under a storm of adds, and never loses the last add', async () => {
    const random = prng(4);
    const keys = Array.from({ length: 10 }, (_, i) => `device/d${i}`);
    const running = new Set<string>();
    const overlaps: string[] = [];
    let clock = 0;
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    const queue = new WorkQueue<string>({
      concurrency: 4,
      process: async (key) => {
        if (running.has(key)) overlaps.push(key);
        running.add(key);
        lastStart.set(key, ++clock);
        await sleep(random() < 0.5 ? 0 : 2);
        running.delete(key);
      },
    });
    for (let i = 0; i < 400; i++) {
      const key = keys[Math.floor(random() * keys.length)]!;
      queue.add(key);
      lastAdd.set(key, ++clock);
      if (random() < 0.3) await sleep(random() < 0.5 ? 0 : 1);
    }
    await queue.idle();
    expect(overlaps).toEqual([]);
    // Level-triggered: every key ran at least once after its last add.
    for (const [key, added] of lastAdd) expect(lastStart.get(key), key).toBeGreaterThan(added);
  });

  it('rejects a concurrency that is not a whole number ≥ 1', () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      expect(() => new WorkQueue<string>({ concurrency, process: async () => {} })).toThrow(/concurrency/);
    }
  });
});

describe('backoff', () => {
  it.each([
    { base: undefined, max: undefined, retries: [500, 1000, 2000, 4000, 8000, 16000] },
    { base: 100, max: 700, retries: [100, 200, 400, 700, 700, 700] },
  ])('a key failing again and again is retried after $retries ms', async ({ base, max, retries }) => {
    useFakeClock();
    const errors: Array<[number, number]> = [];
    const { queue, runs } = recordingQueue(
      () => {
        throw new Error('agent unreachable');
      },
      { baseBackoffMs: base, maxBackoffMs: max, onError: (_key, _err, retryInMs, failures) => errors.push([retryInMs, failures]) },
    );
    queue.add('account/acme-w360');
    await settle();
    for (const [i, retry] of retries.entries()) {
      expect(queue.failures('account/acme-w360')).toBe(i + 1);
      expect(queue.delayed).toBe(1);
      await vi.advanceTimersByTimeAsync(retry - 1);
      expect(runs).toHaveLength(i + 1); // not a ms early
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toHaveLength(i + 2);
    }
    // Each failure reported its backoff; the last retry failed too, and reported the next one.
    expect(errors.slice(0, retries.length)).toEqual(retries.map((retry, i) => [retry, i + 1]));
    expect(errors).toHaveLength(retries.length + 1);
  });

  it('a success resets the failure count, so the next failure waits the base delay again', async () => {
    useFakeClock();
    const outcomes = ['fail', 'fail', 'ok', 'fail'];
    const retries: number[] = [];
    const { queue, runs } = recordingQueue(
      (_key, run) => {
        if (outcomes[run - 1] === 'fail') throw new Error(`run ${run} failed`);
      },
      { onError: (_key, _err, retryInMs) => retries.push(retryInMs) },
    );
    queue.add('domain/print');
    await vi.advanceTimersByTimeAsync(1500); // fails at 0, retried at 500, fails, retried at 1500: ok
    expect(runs.map(([, at]) => at)).toEqual([0, 500, 1500]);
    expect(queue.failures('domain/print')).toBe(0);
    expect(queue.delayed).toBe(0);
    queue.add('domain/print');
    await settle();
    expect(retries).toEqual([500, 1000, 500]);
    expect(queue.failures('domain/print')).toBe(1);
  });

  it('a failing key does not hold up the others, whether it throws or rejects', async () => {
    const seen: string[] = [];
    const errors: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 1,
      baseBackoffMs: 60_000,
      process: (key) => {
        seen.push(key);
        if (key === 'throws') throw new Error('synchronous throw');
        if (key === 'rejects') return Promise.reject(new Error('rejection'));
        return Promise.resolve();
      },
      onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    });
    for (const key of ['throws', 'a', 'rejects', 'b']) queue.add(key);
    await queue.idle();
    expect(seen).toEqual(['throws', 'a', 'rejects', 'b']);
    expect(errors).toEqual(['throws: synchronous throw', 'rejects: rejection']);
    expect([queue.failures('throws'), queue.failures('rejects'), queue.failures('a')]).toEqual([1, 1, 0]);
    expect(queue.delayed).toBe(2);
  });

  it('an onError that throws does not wedge the queue', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 1,
      process: async (key) => {
        seen.push(key);
        if (key === 'bad') throw new Error('boom');
      },
      onError: () => {
        throw new Error('logger broke');
      },
    });
    queue.add('bad');
    queue.add('good');
    await queue.idle();
    expect(seen).toEqual(['bad', 'good']);
    expect(queue.failures('bad')).toBe(1);
  });

  it('an invalid requeueAfter counts as a failure that names the key', async () => {
    const errors: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 1,
      process: async () => ({ requeueAfter: Number.NaN }),
      onError: (_key, err) => errors.push((err as Error).message),
    });
    queue.add('ha-cluster/ums');
    await queue.idle();
    expect(errors).toEqual(['process(ha-cluster/ums) returned requeueAfter=NaN: expected a finite number of ms ≥ 0']);
    expect(queue.failures('ha-cluster/ums')).toBe(1);
  });
});

describe('delays: soonest wins', () => {
  type Op = { add: string } | { addAfter: string; ms: number };
  it.each<{ name: string; ops: Op[]; requeue?: number[]; ranAt: number[] }>([
    { name: 'a shorter addAfter moves a longer one earlier', ops: [{ addAfter: 'k', ms: 100 }, { addAfter: 'k', ms: 40 }], ranAt: [40] },
    { name: 'a longer addAfter does not postpone a shorter one', ops: [{ addAfter: 'k', ms: 40 }, { addAfter: 'k', ms: 100 }], ranAt: [40] },
    { name: 'addAfter does not postpone a queued add', ops: [{ add: 'k' }, { addAfter: 'k', ms: 100 }], ranAt: [0] },
    { name: 'add runs now and drops a pending delay', ops: [{ addAfter: 'k', ms: 100 }, { add: 'k' }], ranAt: [0] },
    { name: 'addAfter 0 is add', ops: [{ addAfter: 'k', ms: 0 }], ranAt: [0] },
    { name: 'requeueAfter schedules the key again', ops: [{ add: 'k' }], requeue: [250], ranAt: [0, 250] },
    { name: 'requeueAfter 0 runs it again at once', ops: [{ add: 'k' }], requeue: [0], ranAt: [0, 0] },
    {
      name: 'requeueAfter chains',
      ops: [{ add: 'k' }],
      requeue: [100, 300],
      ranAt: [0, 100, 400],
    },
  ])('$name', async ({ ops, requeue = [], ranAt }) => {
    useFakeClock();
    const { queue, runs } = recordingQueue((_key, run) => {
      const delay = requeue[run - 1];
      return delay === undefined ? undefined : { requeueAfter: delay };
    });
    for (const op of ops) {
      if ('add' in op) queue.add(op.add);
      else queue.addAfter(op.addAfter, op.ms);
    }
    await vi.advanceTimersByTimeAsync(2000);
    expect(runs.map(([, at]) => at)).toEqual(ranAt);
    expect(queue.delayed).toBe(0);
  });

  it('a requeueAfter does not postpone a sooner delay added while the key ran', async () => {
    useFakeClock();
    const gate = deferred();
    const { queue, runs } = recordingQueue(async (_key, run) => {
      if (run === 1) {
        await gate.promise;
        return { requeueAfter: 500 };
      }
      return undefined;
    });
    queue.add('k');
    await settle();
    queue.addAfter('k', 300); // due at 300, while run 1 is still going
    await vi.advanceTimersByTimeAsync(100);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs.map(([, at]) => at)).toEqual([0, 300]);
  });

  it('a delay that falls due while the key runs makes it run once more right after', async () => {
    useFakeClock();
    const gate = deferred();
    const { queue, runs } = recordingQueue(async (_key, run) => {
      if (run === 1) await gate.promise;
    });
    queue.add('k');
    await settle();
    queue.addAfter('k', 50);
    await vi.advanceTimersByTimeAsync(80);
    expect(runs).toHaveLength(1);
    gate.resolve();
    await settle();
    expect(runs.map(([, at]) => at)).toEqual([0, 80]);
  });

  it('delayed keys become ready in due order, FIFO among equal due times', async () => {
    useFakeClock();
    const { queue, runs } = recordingQueue();
    const delays: Array<[string, number]> = [
      ['e', 30],
      ['a', 10],
      ['d', 20],
      ['b', 10],
      ['c', 20],
    ];
    for (const [key, ms] of delays) queue.addAfter(key, ms);
    expect(queue.delayed).toBe(5);
    await vi.advanceTimersByTimeAsync(30);
    expect(runs).toEqual([
      ['a', 10],
      ['b', 10],
      ['d', 20],
      ['c', 20],
      ['e', 30],
    ]);
  });

  it('rejects a delay that is not a finite number', () => {
    const queue = new WorkQueue<string>({ concurrency: 1, process: async () => {} });
    expect(() => queue.addAfter('k', Number.POSITIVE_INFINITY)).toThrow('WorkQueue.addAfter(k): delayMs must be a finite number, got Infinity');
  });
});

describe('forget', () => {
  it.each([
    { name: 'a queued key', setup: (q: WorkQueue<string>) => q.add('gone') },
    { name: 'a delayed key', setup: (q: WorkQueue<string>) => q.addAfter('gone', 50) },
  ])('drops $name, and other keys still run', async ({ setup }) => {
    useFakeClock();
    const { queue, runs } = recordingQueue();
    setup(queue);
    queue.add('kept');
    queue.forget('gone');
    expect(queue.depth + queue.delayed).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs.map(([key]) => key)).toEqual(['kept']);
  });

  it('drops a failing key’s retry and its failure count', async () => {
    useFakeClock();
    const { queue, runs } = recordingQueue(() => {
      throw new Error('no route');
    });
    queue.add('gone');
    await settle();
    expect([queue.failures('gone'), queue.delayed]).toEqual([1, 1]);
    queue.forget('gone');
    expect([queue.failures('gone'), queue.delayed]).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(1);
  });

  it('lets a running key finish but schedules nothing from its outcome, unless it is added again', async () => {
    useFakeClock();
    const gates = [deferred(), deferred()];
    const errors: string[] = [];
    const { queue, runs } = recordingQueue(
      async (_key, run) => {
        await gates[run - 1]?.promise;
        throw new Error(`run ${run}`);
      },
      { onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`) },
    );
    queue.add('gone');
    await settle();
    queue.forget('gone');
    gates[0]!.resolve();
    await vi.advanceTimersByTimeAsync(10_000);
    expect([runs.length, queue.failures('gone'), queue.delayed, errors.length]).toEqual([1, 0, 0, 0]);

    queue.add('gone'); // re-created target
    await settle();
    queue.forget('gone');
    queue.add('gone'); // forgotten and re-created while running: runs once more
    gates[1]!.resolve();
    await settle();
    expect(runs).toHaveLength(3);
    expect(errors).toEqual(['gone: run 3']);
  });
});

describe('idle and shutdown', () => {
  it('idle resolves at once when nothing is queued or running, even with delayed keys', async () => {
    const queue = new WorkQueue<string>({ concurrency: 1, process: async () => {} });
    await queue.idle();
    queue.addAfter('later', 60_000);
    await queue.idle();
    expect(queue.delayed).toBe(1);
    await queue.shutdown();
  });

  it('idle waits for queued keys and dirty re-runs', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 2,
      process: async (key) => {
        seen.push(key);
        if (seen.length === 1) await gate.promise;
      },
    });
    queue.add('a');
    queue.add('b');
    let idle = false;
    const waiting = queue.idle().then(() => (idle = true));
    await settle();
    queue.add('a');
    await settle();
    expect(idle).toBe(false);
    gate.resolve();
    await waiting;
    expect(seen).toEqual(['a', 'b', 'a']);
    expect([queue.depth, queue.active]).toEqual([0, 0]);
  });

  it('shutdown waits for runs in progress, starts nothing new and drops delayed keys', async () => {
    const gates = new Map<string, Deferred>();
    const started: string[] = [];
    const finished: string[] = [];
    const queue = new WorkQueue<string>({
      concurrency: 2,
      baseBackoffMs: 10,
      process: async (key) => {
        started.push(key);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        finished.push(key);
        if (key === 'a') throw new Error('fails during shutdown');
      },
    });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    queue.addAfter('e', 20);
    await settle();
    expect(started).toEqual(['a', 'b']);
    queue.add('a'); // dirty: would run again, but not after shutdown

    let stopped = false;
    const stopping = queue.shutdown().then(() => (stopped = true));
    expect([queue.depth, queue.delayed]).toEqual([0, 0]);
    gates.get('a')!.resolve();
    await settle();
    expect(stopped).toBe(false); // b is still running
    gates.get('b')!.resolve();
    await stopping;
    queue.add('f');
    await sleep(40); // past e's delay and a's retry
    expect(started).toEqual(['a', 'b']);
    expect(finished).toEqual(['a', 'b']);
    expect([queue.depth, queue.delayed, queue.active]).toEqual([0, 0, 0]);
  });
});

describe('scale', () => {
  it('takes 100,000 keys, keeps delayed ones in due order, and forgets half of them cheaply', async () => {
    useFakeClock();
    const random = prng(100_000);
    const { queue, runs } = recordingQueue(undefined, { concurrency: 1 });
    const keys = Array.from({ length: 100_000 }, (_, i) => `device/d${i}`);
    const delays = keys.map(() => 1 + Math.floor(random() * 1000));
    const started = performance.now();
    keys.forEach((key, i) => queue.addAfter(key, delays[i]!));
    for (let i = 0; i < keys.length; i += 2) queue.forget(keys[i]!);
    const scheduling = performance.now() - started;
    expect(queue.delayed).toBe(50_000);
    await vi.advanceTimersByTimeAsync(1000);
    const expected = keys
      .map((key, i) => ({ key, due: delays[i]!, i }))
      .filter(({ i }) => i % 2 === 1)
      .sort((x, y) => x.due - y.due || x.i - y.i)
      .map(({ key, due }) => [key, due]);
    expect(runs).toEqual(expected);
    // ~100 ms here; a linear scan per add or forget (n² = 5·10⁹ steps) would take minutes. The
    // bound is loose because the suite runs two files at once on two cores.
    expect(scheduling).toBeLessThan(3000);
  });

  it('processes 100,000 ready keys with bounded concurrency', async () => {
    let done = 0;
    const queue = new WorkQueue<string>({ concurrency: 64, process: async () => void done++ });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) queue.add(`device/d${i}`);
    expect(queue.depth).toBe(100_000);
    await queue.idle();
    expect(done).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

it('a delayed key does not keep the process alive (timers are unref’d)', async () => {
  const moduleUrl = new URL('../../controller/loop/work-queue.ts', import.meta.url).href;
  const script = `
    const { WorkQueue } = await import(${JSON.stringify(moduleUrl)});
    const queue = new WorkQueue({ concurrency: 1, process: async () => {} });
    queue.addAfter('account/acme-w360', 60_000);
  `;
  const started = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(20_000);
});
