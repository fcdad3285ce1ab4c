/**
 * What one agent may cost the controller (issue 14): refused reports and body bytes, each a
 * token bucket per agent, and reports in flight at once. A real agent has one report in flight
 * and sends a few hundred bytes every 10 s, so it never comes near these; an agent that
 * floods is answered 429 before its body is read, so it cannot starve the others.
 *
 * Only agents that cost something have an entry: valid reports up to `freeBytes` charge
 * nothing, so the fleet's normal traffic adds no memory per agent. Entries whose buckets
 * are full again are dropped. Callers only pass authenticated agent ids, so the map is
 * bounded by the registered agents.
 */
export interface ReportBudgetOptions {
  /** Refused reports (400, 409, 413, 415) an agent may send at once… */
  readonly refusedBurst: number;
  /** …and how many per second it gets back. */
  readonly refusedPerSecond: number;
  /** Body bytes an agent may send at once (reports over `freeBytes`, and refused ones)… */
  readonly bytesBurst: number;
  /** …and how many per second it gets back. */
  readonly bytesPerSecond: number;
  /** An accepted report up to this size charges nothing. */
  readonly freeBytes: number;
  /** Reports of one agent being read or processed at once. */
  readonly maxInFlight: number;
  /**
   * How long a 429 is held before it is sent (ms, at most the wait itself), and for how many
   * connections of one agent at once. A client that ignores Retry-After would otherwise send
   * its next report at once; each one costs the kernel the bytes it pushes before the answer.
   */
  readonly holdMs: number;
  readonly maxHeld: number;
}

/** Defaults for a report limit of `maxBytes` (1 MiB): about one full-size report every 8 s, sustained. */
export function defaultReportBudget(maxBytes: number): ReportBudgetOptions {
  return {
    refusedBurst: 10,
    refusedPerSecond: 0.2,
    bytesBurst: 4 * maxBytes,
    bytesPerSecond: maxBytes / 8,
    freeBytes: 64 * 1024,
    maxInFlight: 4,
    holdMs: 2000,
    maxHeld: 16,
  };
}

interface Bucket {
  refused: number;
  bytes: number;
  at: number;
}

/** Sweep full buckets at most this often (ms): the sweep walks the whole map. */
const SWEEP_EVERY_MS = 10_000;

export class ReportBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly inFlight = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly o: ReportBudgetOptions) {}

  /** Agents holding a bucket (for tests and the benchmark). */
  get tracked(): number {
    return this.buckets.size;
  }

  /**
   * 0 when `agent` may send a report now (and it is then counted in flight until `done`),
   * else the seconds to wait before it may.
   */
  admit(agent: string, now: number): number {
    const b = this.refill(agent, now);
    if (b !== undefined && (b.refused < 1 || b.bytes <= 0)) {
      const refused = b.refused < 1 ? (1 - b.refused) / this.o.refusedPerSecond : 0;
      const bytes = b.bytes <= 0 ? (1 - b.bytes) / this.o.bytesPerSecond : 0;
      return Math.max(1, Math.ceil(Math.max(refused, bytes)));
    }
    const n = this.inFlight.get(agent) ?? 0;
    if (n >= this.o.maxInFlight) return 1;
    this.inFlight.set(agent, n + 1);
    return 0;
  }

  /**
   * For a report `admit` refused: how long to hold its answer (ms; 0 when this agent already
   * has `maxHeld` held), counted until `release`.
   */
  hold(agent: string, waitSeconds: number): number {
    const n = this.held.get(agent) ?? 0;
    if (n >= this.o.maxHeld) return 0;
    this.held.set(agent, n + 1);
    return Math.min(this.o.holdMs, waitSeconds * 1000);
  }

  release(agent: string): void {
    const n = (this.held.get(agent) ?? 1) - 1;
    if (n <= 0) this.held.delete(agent);
    else this.held.set(agent, n);
  }

  /** The end of a report `admit` let in: `refused` when it was not accepted, `bytes` read of its body. */
  done(agent: string, now: number, outcome: { refused: boolean; bytes: number }): void {
    const n = (this.inFlight.get(agent) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(agent);
    else this.inFlight.set(agent, n);
    if (!outcome.refused && outcome.bytes <= this.o.freeBytes) return;
    let b = this.refill(agent, now);
    if (b === undefined) {
      b = { refused: this.o.refusedBurst, bytes: this.o.bytesBurst, at: now };
      this.buckets.set(agent, b);
    }
    if (outcome.refused) b.refused -= 1;
    // Bytes may go below zero: a report is read whole, and the debt delays the next one.
    b.bytes -= outcome.bytes;
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
  }

  /** The agent's bucket brought up to `now`, or undefined when it has none (or it is full again). */
  private refill(agent: string, now: number): Bucket | undefined {
    const b = this.buckets.get(agent);
    if (b === undefined) return undefined;
    const seconds = Math.max(0, now - b.at) / 1000;
    b.at = now;
    b.refused = Math.min(this.o.refusedBurst, b.refused + seconds * this.o.refusedPerSecond);
    b.bytes = Math.min(this.o.bytesBurst, b.bytes + seconds * this.o.bytesPerSecond);
    if (b.refused >= this.o.refusedBurst && b.bytes >= this.o.bytesBurst) {
      this.buckets.delete(agent);
      return undefined;
    }
    return b;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const agent of [...this.buckets.keys()]) this.refill(agent, now);
  }
}
