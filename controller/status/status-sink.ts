import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { StatusWriter } from './status-writer.ts';

export interface StatusSinkOptions {
  readonly writer: StatusWriter;
  /** Statuses offered within this window go into one commit. */
  readonly batchMs?: number;
  /** After each status commit (e.g. push it to the remote). */
  readonly onCommit?: (oid: string) => void;
  readonly onError?: (err: unknown) => void;
}

/**
 * Between the reconcile loop and the status writer. Reconciles finish one by one; the sink
 * gathers what they offer over a short window so that a pass over many targets makes one
 * commit, not one per target, and it wakes the writer when a coalesced target (committed
 * less than the interval ago) becomes due. A failed write is reported and retried with the
 * next offer or timer: status is derived state, recomputed by the next reconcile anyway.
 */
export class StatusSink {
  private readonly batch = new Map<string, TargetStatus>();
  private batchTimer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private drainQueued = false;

  constructor(private readonly options: StatusSinkOptions) {}

  offer(status: TargetStatus): void {
    if (this.closed) return;
    this.batch.set(status.target, status);
    this.batchTimer ??= setTimeout(() => this.drain(), this.options.batchMs ?? 100);
  }

  /** Everything offered and everything coalesced, committed now (shutdown). False when that failed. */
  async flush(): Promise<boolean> {
    this.closed = true;
    clearTimeout(this.batchTimer);
    clearTimeout(this.dueTimer);
    this.batchTimer = this.dueTimer = undefined;
    let ok = false;
    await this.run(async () => {
      const updates = [...this.batch.values()].map((status) => ({ status }));
      this.batch.clear();
      if (updates.length > 0) this.committed(await this.options.writer.write(updates));
      this.committed(await this.options.writer.flush());
      ok = this.options.writer.pendingTargets().length === 0;
    });
    return ok;
  }

  /** Resolves when no write is in progress (tests). */
  settled(): Promise<void> {
    return this.writing;
  }

  /**
   * Takes the batch when the write starts, not when it was asked for: while a write runs,
   * later offers of a target replace each other in the batch, so a busy writer catches up
   * with the newest status instead of committing every one it was offered, seconds late.
   */
  private drain(): void {
    this.batchTimer = undefined;
    if (this.drainQueued) return; // the queued drain takes what is offered until it starts
    this.drainQueued = true;
    void this.run(async () => {
      this.drainQueued = false;
      const updates = [...this.batch.values()].map((status) => ({ status }));
      this.batch.clear();
      if (updates.length > 0) this.committed(await this.options.writer.write(updates));
      else this.committed(await this.options.writer.flushDue());
    }).then(() => this.armDue());
  }

  private armDue(): void {
    if (this.closed) return;
    clearTimeout(this.dueTimer);
    const due = this.options.writer.nextDueIn();
    this.dueTimer = due === undefined ? undefined : setTimeout(() => this.drain(), Math.max(due, 10));
  }

  private committed(oid: string | null): void {
    if (oid !== null) this.options.onCommit?.(oid);
  }

  private run(fn: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(fn).catch((err: unknown) => this.options.onError?.(err));
    return this.writing;
  }
}
