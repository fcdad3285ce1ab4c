import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileResult } from './read-document.ts';
import type { ParseJob, ParseReply } from './parse-worker-main.ts';
import type { SourceEntry, SourceLocation } from './source.ts';

/** Files per message: large enough to amortise messaging, small enough to balance the workers. */
const BATCH = 64;

/**
 * Worker threads that read, parse and schema-check files in parallel. YAML parsing is the
 * bulk of a cold load (the `yaml` library parses a few MiB/s per core), so a first load of a
 * large repository uses every core; reloads touch a handful of files and stay in-process.
 * Workers are started on first use and do not keep the process alive while idle.
 */
export class ParsePool {
  private workers: Worker[] = [];
  private nextId = 0;

  constructor(private readonly size = defaultPoolSize()) {}

  static worthwhile(): boolean {
    return defaultPoolSize() > 1;
  }

  /**
   * Parses `entries` in the workers. `local`, when given, lets the calling thread take
   * batches from the same queue too: it works while the workers start up and when one runs
   * dry, so no core waits.
   */
  async parse(
    location: SourceLocation,
    maxFileBytes: number,
    entries: readonly SourceEntry[],
    local?: (batch: readonly SourceEntry[]) => Promise<FileResult[]>,
  ): Promise<FileResult[]> {
    this.start();
    const results: FileResult[] = new Array(entries.length);
    let next = 0;
    const driveLocal = async () => {
      if (!local) return;
      while (next < entries.length) {
        const from = next;
        next = Math.min(entries.length, next + BATCH);
        (await local(entries.slice(from, next))).forEach((r, i) => (results[from + i] = r));
        // Let worker replies in between batches.
        await new Promise<void>((r) => setImmediate(r));
      }
    };
    const drive = (worker: Worker) =>
      new Promise<void>((resolve, reject) => {
        let current: { id: number; from: number } | undefined;
        const detach = () => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        const send = () => {
          if (next >= entries.length) {
            detach();
            worker.unref();
            resolve();
            return;
          }
          const from = next;
          next = Math.min(entries.length, next + BATCH);
          current = { id: this.nextId++, from };
          worker.postMessage({ id: current.id, location, maxFileBytes, entries: entries.slice(from, next) } satisfies ParseJob);
        };
        const onMessage = (reply: ParseReply) => {
          if (!current || reply.id !== current.id) return;
          if ('error' in reply) {
            detach();
            reject(new Error(`parse worker failed: ${reply.error}`));
            return;
          }
          reply.results.forEach((r, i) => (results[current!.from + i] = r));
          send();
        };
        const onError = (err: Error) => {
          detach();
          reject(err);
        };
        // A worker that dies without an error event (killed, out of memory) must not leave
        // the load waiting forever.
        const onExit = (code: number) => {
          detach();
          reject(new Error(`parse worker exited with code ${code} before finishing`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.ref();
        send();
      });
    await Promise.all([...this.workers.map(drive), driveLocal()]);
    return results;
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private start(): void {
    while (this.workers.length < this.size) {
      const worker = new Worker(new URL('./parse-worker.js', import.meta.url));
      worker.unref();
      this.workers.push(worker);
    }
  }
}

function defaultPoolSize(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}
