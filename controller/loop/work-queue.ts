/**
 * The controller loop's work queue, modelled on controller-runtime's rate-limited
 * workqueue. It holds target identities (`account/acme-w360`), never event payloads: the
 * loop is level-triggered, so a worker recomputes everything from (desired, observed,
 * status, clock) and ten events for one target are worth one reconcile of it.
 *
 * Guarantees:
 * - dedup: a key waiting in the queue is there once, however often it is added;
 * - one key is never processed twice at once: a key added while it runs is marked dirty
 *   and queued again (at the tail, so others keep their turn) when its run ends;
 * - at most `concurrency` keys run at once, ready keys start in FIFO order;
 * - a failing key is retried after base·2^(failures−1) ms, capped at max, with no jitter
 *   (deterministic, so tests and operators can predict it); it never blocks other keys, and
 *   a success resets its failure count;
 * - "soonest wins": a pending add/addAfter/requeue is never postponed by a later, longer
 *   one, and a key becoming ready drops its delayed entry (its run will compute a new
 *   delay anyway).
 *
 * Sized for 100,000 keys: the ready queue is a FIFO with a Map index (O(1) per operation),
 * delayed keys sit in a min-heap with ONE timer armed for the soonest entry. Removals
 * (forget, a delay shortened) are lazy: the stale entry stays in the FIFO/heap, is skipped
 * when it surfaces, and both are compacted when stale entries outnumber live ones.
 */

export interface WorkQueueOptions<K extends string> {
  /** How many keys may be processed at once (a whole number ≥ 1). */
  readonly concurrency: number;
  /** Reconciles one key; throwing or rejecting retries it with backoff. */
  readonly process: (key: K) => Promise<{ requeueAfter?: number } | void>;
  /** First retry delay in ms (default 500). */
  readonly baseBackoffMs?: number;
  /** Longest retry delay in ms (default 5 minutes). */
  readonly maxBackoffMs?: number;
  /** Monotonic clock in ms, injectable for tests (default `performance.now`). */
  readonly now?: () => number;
  /**
   * Called when `process` fails for a key that was not forgotten meanwhile: `retryInMs` is
   * its backoff (a key added again meanwhile runs sooner), `failures` its consecutive
   * failure count. A throwing `onError` is ignored: logging must not wedge the queue.
   */
  readonly onError?: (key: K, err: unknown, retryInMs: number, failures: number) => void;
}

const DEFAULT_BASE_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;
/** setTimeout fires at once for a delay above 2^31−1 ms; longer delays re-arm on wake-up. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** Compaction thresholds: below this many stale entries, leaving them is cheaper. */
const COMPACT_SLACK = 1024;

/** One place in the ready FIFO; live while `queued.get(key)` is this very object. */
interface ReadyEntry<K> {
  readonly key: K;
}

/** One delayed key; live while `delayedByKey.get(key)` is this very object. */
interface DelayedEntry<K> {
  readonly key: K;
  readonly due: number;
  /** Tie-break among equal due times, so they become ready in the order they were added. */
  readonly seq: number;
}

/** What the queue knows about a key while its `process` runs. */
interface RunState {
  /** Added while running: queue it again when this run ends. */
  dirty: boolean;
  /** Forgotten while running: this run's outcome must not schedule a retry or requeue. */
  forgotten: boolean;
}

type RunOutcome = { readonly ok: true; readonly requeueAfter: number | undefined } | { readonly ok: false; readonly err: unknown };

export class WorkQueue<K extends string> {
  private readonly concurrency: number;
  private readonly process: (key: K) => Promise<{ requeueAfter?: number } | void>;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly onError: WorkQueueOptions<K>['onError'];

  private readonly ready = new Fifo<ReadyEntry<K>>();
  private readonly queued = new Map<K, ReadyEntry<K>>();
  private readonly delayedHeap = new DueHeap<K>();
  private readonly delayedByKey = new Map<K, DelayedEntry<K>>();
  private readonly running = new Map<K, RunState>();
  private readonly failureCounts = new Map<K, number>();
  private idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private delaySeq = 0;
  private pumpScheduled = false;
  private stopped = false;

  constructor(options: WorkQueueOptions<K>) {
    const { concurrency } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`WorkQueue: concurrency must be a whole number ≥ 1, got ${concurrency}`);
    }
    const base = options.baseBackoffMs ?? DEFAULT_BASE_BACKOFF_MS;
    const max = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    if (!Number.isFinite(base) || base <= 0) throw new RangeError(`WorkQueue: baseBackoffMs must be a finite number > 0, got ${base}`);
    if (!Number.isFinite(max) || max < base) {
      throw new RangeError(`WorkQueue: maxBackoffMs must be a finite number ≥ baseBackoffMs (${base}), got ${max}`);
    }
    this.concurrency = concurrency;
    this.process = options.process;
    this.baseBackoffMs = base;
    this.maxBackoffMs = max;
    this.now = options.now ?? (() => performance.now());
    this.onError = options.onError;
  }

  /** Keys waiting for a free slot (queued, not running, not delayed). */
  get depth(): number {
    return this.queued.size;
  }

  /** Keys waiting for their delay (retry backoff or requeueAfter) to pass. */
  get delayed(): number {
    return this.delayedByKey.size;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.running.size;
  }

  /** Consecutive failures of `key` since its last success (0 if none or forgotten). */
  failures(key: K): number {
    return this.failureCounts.get(key) ?? 0;
  }

  /** Process `key` as soon as a slot is free; a no-op if it is already waiting. */
  add(key: K): void {
    if (this.stopped) return;
    const run = this.running.get(key);
    if (run) {
      run.dirty = true;
      // Running again right after this run is sooner than any delay it had.
      this.dropDelayed(key);
      return;
    }
    this.enqueueReady(key);
  }

  /** Process `key` after `delayMs`, unless it is already due sooner. */
  addAfter(key: K, delayMs: number): void {
    if (!Number.isFinite(delayMs)) throw new RangeError(`WorkQueue.addAfter(${key}): delayMs must be a finite number, got ${delayMs}`);
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    if (this.queued.has(key) || this.running.get(key)?.dirty) return;
    const due = this.now() + delayMs;
    const existing = this.delayedByKey.get(key);
    if (existing && existing.due <= due) return;
    const entry: DelayedEntry<K> = { key, due, seq: this.delaySeq++ };
    this.delayedByKey.set(key, entry);
    this.delayedHeap.push(entry);
    this.compactHeapIfStale();
    this.armTimer();
  }

  /**
   * Drop everything the queue holds for `key` (its target was deleted): its waiting and
   * delayed entries and its failure count. A run in progress finishes, but its failure or
   * requeueAfter schedules nothing, unless the key is added again meanwhile.
   */
  forget(key: K): void {
    this.queued.delete(key);
    this.dropDelayed(key);
    this.failureCounts.delete(key);
    const run = this.running.get(key);
    if (run) {
      run.dirty = false;
      run.forgotten = true;
    }
    if (this.ready.length > 2 * this.queued.size + COMPACT_SLACK) {
      this.ready.retain((entry) => this.queued.get(entry.key) === entry);
    }
    this.settleIdle();
  }

  /** Resolves when nothing is queued or running; delayed keys do not count. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop starting new work, drop queued and delayed keys, and wait for runs in progress. */
  shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    this.delayedHeap.clear();
    this.delayedByKey.clear();
    this.ready.clear();
    this.queued.clear();
    for (const run of this.running.values()) run.dirty = false;
    const idle = this.idle();
    this.settleIdle();
    return idle;
  }

  private isIdle(): boolean {
    return this.queued.size === 0 && this.running.size === 0;
  }

  private settleIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Put a key that is not running at the tail of the ready FIFO (once). */
  private enqueueReady(key: K): void {
    if (this.queued.has(key)) return;
    this.dropDelayed(key);
    const entry: ReadyEntry<K> = { key };
    this.queued.set(key, entry);
    this.ready.push(entry);
    this.schedulePump();
  }

  private dropDelayed(key: K): void {
    if (this.delayedByKey.delete(key)) this.compactHeapIfStale();
  }

  private compactHeapIfStale(): void {
    if (this.delayedHeap.size > 2 * this.delayedByKey.size + COMPACT_SLACK) {
      this.delayedHeap.rebuild([...this.delayedByKey.values()]);
    }
  }

  /** Start work from a microtask, so a burst of adds is queued before any runs, in order. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency) {
      const entry = this.ready.shift();
      if (entry === undefined) break;
      if (this.queued.get(entry.key) !== entry) continue; // forgotten since it was queued
      this.queued.delete(entry.key);
      this.start(entry.key);
    }
    this.settleIdle();
  }

  private start(key: K): void {
    const run: RunState = { dirty: false, forgotten: false };
    this.running.set(key, run);
    let result: Promise<{ requeueAfter?: number } | void>;
    try {
      result = Promise.resolve(this.process(key));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.finish(key, run, { ok: true, requeueAfter: (value as { requeueAfter?: number } | null | undefined)?.requeueAfter }),
      (err: unknown) => this.finish(key, run, { ok: false, err }),
    );
  }

  private finish(key: K, run: RunState, outcome: RunOutcome): void {
    this.running.delete(key);
    if (!run.forgotten) {
      const failure = outcome.ok ? invalidRequeueAfter(key, outcome.requeueAfter) : outcome.err;
      if (failure === undefined) {
        this.failureCounts.delete(key);
        if (outcome.ok && outcome.requeueAfter !== undefined && !run.dirty) this.addAfter(key, outcome.requeueAfter);
      } else {
        this.recordFailure(key, failure);
      }
    }
    if (run.dirty && !this.stopped) this.enqueueReady(key);
    this.pump();
  }

  private recordFailure(key: K, err: unknown): void {
    const failures = (this.failureCounts.get(key) ?? 0) + 1;
    this.failureCounts.set(key, failures);
    const retryInMs = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (failures - 1));
    this.addAfter(key, retryInMs);
    if (!this.onError) return;
    try {
      this.onError(key, err, retryInMs, failures);
    } catch {
      // A logging hook that throws must not leave the key half-finished or wedge the queue.
    }
  }

  /** Keep the one timer armed for the soonest live delayed entry. */
  private armTimer(): void {
    const soonest = this.peekLiveDelayed();
    if (soonest === undefined) return;
    // A timer armed for an earlier (possibly stale) entry is kept: it re-arms when it fires.
    if (this.timer && this.timerDue <= soonest.due) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, soonest.due - this.now()), MAX_TIMER_DELAY_MS);
    this.timerDue = soonest.due;
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref(); // a pending retry must not keep the controller process alive
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.stopped) return;
    const now = this.now();
    for (let entry = this.peekLiveDelayed(); entry !== undefined && entry.due <= now; entry = this.peekLiveDelayed()) {
      this.delayedHeap.pop();
      this.delayedByKey.delete(entry.key);
      const run = this.running.get(entry.key);
      if (run) run.dirty = true;
      else this.enqueueReady(entry.key);
    }
    this.armTimer();
  }

  /** The soonest live delayed entry, discarding stale ones on top of the heap. */
  private peekLiveDelayed(): DelayedEntry<K> | undefined {
    for (let top = this.delayedHeap.peek(); top !== undefined; top = this.delayedHeap.peek()) {
      if (this.delayedByKey.get(top.key) === top) return top;
      this.delayedHeap.pop();
    }
    return undefined;
  }
}

/** A successful `process` may only ask for a finite, non-negative requeue delay. */
function invalidRequeueAfter(key: string, requeueAfter: number | undefined): Error | undefined {
  if (requeueAfter === undefined) return undefined;
  if (typeof requeueAfter === 'number' && Number.isFinite(requeueAfter) && requeueAfter >= 0) return undefined;
  return new RangeError(`process(${key}) returned requeueAfter=${String(requeueAfter)}: expected a finite number of ms ≥ 0`);
}

/** Array-backed FIFO with O(1) amortised push and shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.head++;
    // Reclaim the consumed prefix once it is the larger half: amortised O(1).
    if (this.head >= COMPACT_SLACK && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  retain(keep: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep);
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Binary min-heap of delayed entries by (due, seq). */
class DueHeap<K> {
  private items: DelayedEntry<K>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): DelayedEntry<K> | undefined {
    return this.items[0];
  }

  push(entry: DelayedEntry<K>): void {
    this.items.push(entry);
    this.siftUp(this.items.length - 1);
  }

  pop(): DelayedEntry<K> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  rebuild(entries: DelayedEntry<K>[]): void {
    this.items = entries;
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  clear(): void {
    this.items = [];
  }

  private siftUp(index: number): void {
    const items = this.items;
    const entry = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(entry, parent)) break;
      items[index] = parent;
      index = parentIndex;
    }
    items[index] = entry;
  }

  private siftDown(index: number): void {
    const items = this.items;
    const length = items.length;
    const entry = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, entry)) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = entry;
  }
}

function before<K>(a: DelayedEntry<K>, b: DelayedEntry<K>): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
