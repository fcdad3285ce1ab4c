/**
 * How long to wait before calling the controller again after a failure: exponential
 * (1 s, 2 s, 4 s, … capped at 60 s by default) with "equal jitter" — half the delay fixed,
 * half random — so a fleet that lost its controller neither hammers it nor comes back in
 * one synchronised wave when it returns. A success resets it.
 */
export interface BackoffOptions {
  /** First delay, default 1 s. */
  readonly initialMs?: number;
  /** Upper bound, default 60 s. */
  readonly maxMs?: number;
  /** Values in [0, 1); deterministic in tests and per agent (see `seeded-random.ts`). */
  readonly random: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions) {
    this.initialMs = options.initialMs ?? 1_000;
    this.maxMs = Math.max(options.maxMs ?? 60_000, this.initialMs);
    this.random = options.random;
  }

  /** Failures in a row so far. */
  get failuresInARow(): number {
    return this.failures;
  }

  /** The delay after one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 40));
    this.failures++;
    return this.jittered(base);
  }

  /** The longest delay, jittered: for failures that waiting a little will not fix (a wrong token). */
  longest(): number {
    this.failures++;
    return this.jittered(this.maxMs);
  }

  reset(): void {
    this.failures = 0;
  }

  private jittered(base: number): number {
    return Math.round(base / 2 + this.random() * (base / 2));
  }
}
