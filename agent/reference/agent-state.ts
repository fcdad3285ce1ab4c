/**
 * What the agent must not forget across a crash, in `<state-dir>/state.json`:
 *
 *  - `sequence`: no report number up to it may be used again. Numbers are RESERVED on disk
 *    before they are sent, a block of `SEQUENCE_BLOCK` at a time (`takeSequence`), so a crash
 *    never reuses a number (the controller refuses a sequence that is not greater than the last
 *    it accepted) while a report costs no write: after a crash the agent continues past the
 *    block, a gap the protocol allows. A clean `close` writes the last number actually used.
 *  - `results`: the latest result per (target, member, action) (`result-book.ts`), `running`
 *    included: they are reported until replaced, so none is lost by a restart.
 *  - `journal`: the command started and not finished. Written before the command runs; on
 *    restart it is resumed (see `command-executor.ts`), never forgotten and never re-run once
 *    its result is recorded.
 *  - `staged`: per product, the package version staged in `<state-dir>/packages/` and whether
 *    it verified, reported as the component's `staged`.
 *  - `driver`: what a driver keeps in the agent's state (the simulated machine).
 *
 * Every save is atomic: a temporary file is written and fsynced, renamed over the state
 * file, and the directory fsynced, so a power cut leaves the old state or the new one,
 * never half of one. Saves are serialised in the order they were asked for. `saveIfChanged`
 * skips the write when the file would not change (a report of an idle machine).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentCommand } from './protocol.ts';
import { ResultBook, type StoredResult } from './result-book.ts';
import { StateDirLock } from './state-dir-lock.ts';

export const STATE_FORMAT = 1;

/** Report numbers reserved by one write: a crash skips at most this many. */
export const SEQUENCE_BLOCK = 100;

export interface StagedPackage {
  readonly version: string;
  readonly sha256: string;
  readonly verified: boolean;
  /** Why it did not verify. */
  readonly reason?: string;
}

export interface Journal {
  readonly command: AgentCommand;
  /** ISO-8601. */
  readonly startedAt: string;
}

/** The state file's content. */
export interface StateFile {
  readonly format: typeof STATE_FORMAT;
  readonly agent: string;
  readonly sequence: number;
  readonly results: readonly StoredResult[];
  readonly journal?: Journal;
  readonly staged: Readonly<Record<string, StagedPackage>>;
  readonly driver?: unknown;
}

/** A driver whose state lives in the agent's state file. */
export interface DriverMemory {
  snapshot(): unknown;
  restore(saved: unknown): void;
}

export interface StateStoreOptions {
  /** fsync every save (default true). A fleet simulator running thousands of agents on one disk may turn it off. */
  readonly durable?: boolean;
}

export class AgentStateStore {
  /** The last report number used (a number above it may be reserved on disk already). */
  sequence: number;
  readonly results: ResultBook;
  journal: Journal | undefined;
  readonly staged: Map<string, StagedPackage>;
  /** The driver's saved state as read from the file, until a driver is attached. */
  private driverState: unknown;
  private driver: DriverMemory | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly file: string;
  private closed = false;
  /** Numbers up to this one are reserved on disk (or being written). */
  private reserved: number;
  /** The text the file holds (or is being written with): an identical save is skipped. */
  private written: string | undefined;

  private constructor(
    readonly dir: string,
    readonly agentId: string,
    private readonly lock: StateDirLock,
    private readonly durable: boolean,
    data: StateFile | undefined,
  ) {
    this.file = join(dir, 'state.json');
    this.sequence = data?.sequence ?? 0;
    this.reserved = this.sequence;
    this.results = new ResultBook(data?.results ?? []);
    this.journal = data?.journal;
    this.staged = new Map(Object.entries(data?.staged ?? {}));
    this.driverState = data?.driver;
  }

  /** Opens (creating if needed) the state of agent `agentId` in `dir`, and locks the directory. */
  static async open(dir: string, agentId: string, options: StateStoreOptions = {}): Promise<AgentStateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await StateDirLock.acquire(dir);
    try {
      const data = await readStateFile(join(dir, 'state.json'), agentId);
      return new AgentStateStore(dir, agentId, lock, options.durable ?? true, data);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Gives the driver its saved state (if any) and includes its snapshot in every later save. */
  attachDriver(driver: DriverMemory): void {
    if (this.driverState !== undefined) driver.restore(this.driverState);
    this.driver = driver;
  }

  /** Writes the current state atomically; resolves once it is on disk. */
  save(): Promise<void> {
    return this.enqueue(false);
  }

  /** As `save`, but writes nothing when the file already holds exactly this state. */
  saveIfChanged(): Promise<void> {
    return this.enqueue(true);
  }

  /**
   * The next report number, once it is safe to send: reserved on disk, with the rest of the
   * state if that changed (a machine changed by hand, content a console delivered).
   */
  async takeSequence(): Promise<number> {
    this.sequence += 1;
    if (this.sequence > this.reserved) this.reserved = this.sequence + SEQUENCE_BLOCK - 1;
    const taken = this.sequence;
    await this.saveIfChanged();
    return taken;
  }

  /** Saves a last time — the last number used, not the reservation — and releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.reserved = this.sequence;
    await this.save();
    this.closed = true;
    await this.lock.release();
  }

  private enqueue(onlyIfChanged: boolean): Promise<void> {
    const run = this.chain.then(() => this.write(onlyIfChanged));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private snapshot(): StateFile {
    const driver = this.driver !== undefined ? this.driver.snapshot() : this.driverState;
    return {
      format: STATE_FORMAT,
      agent: this.agentId,
      sequence: Math.max(this.sequence, this.reserved),
      results: this.results.entries(),
      ...(this.journal !== undefined ? { journal: this.journal } : {}),
      staged: Object.fromEntries(this.staged),
      ...(driver !== undefined ? { driver } : {}),
    };
  }

  private async write(onlyIfChanged: boolean): Promise<void> {
    if (this.closed) throw new Error(`${this.file}: the state is closed`);
    const text = `${JSON.stringify(this.snapshot(), null, 1)}\n`;
    if (onlyIfChanged && text === this.written) return;
    // Forgotten until the write succeeds: a failed one is tried again by the next save.
    this.written = undefined;
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      if (this.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    if (this.durable) await syncDirectory(this.dir);
    this.written = text;
  }
}

async function readStateFile(file: string, agentId: string): Promise<StateFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // Writes are atomic, so this is damage from outside; starting afresh could reuse sequence numbers and re-run commands.
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix or remove it knowing the agent then forgets its results`);
  }
  const d = data as Partial<StateFile> | null;
  if (d === null || typeof d !== 'object' || d.format !== STATE_FORMAT) throw new Error(`${file}: format: expected ${STATE_FORMAT}, found ${JSON.stringify(d?.format)}`);
  if (d.agent !== agentId) throw new Error(`${file}: agent: this state belongs to agent ${JSON.stringify(d.agent)}, not ${JSON.stringify(agentId)}`);
  if (typeof d.sequence !== 'number' || !Number.isSafeInteger(d.sequence) || d.sequence < 0) throw new Error(`${file}: sequence: must be a whole number ≥ 0`);
  if (!Array.isArray(d.results)) throw new Error(`${file}: results: must be a list`);
  if (d.staged === null || typeof d.staged !== 'object') throw new Error(`${file}: staged: must be a mapping`);
  return d as StateFile;
}

/** fsync of the directory makes the rename itself durable (POSIX); not possible everywhere (Windows), and then skipped. */
async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close();
  }
}
