/**
 * When the demo's rollouts have settled — "everything that can converge has converged": every
 * target has been reconciled at the current revision and none is Progressing (commands out),
 * the fleet has nothing left that will happen on its own (an agent to come back, an operator to
 * act), and the targets have stopped changing. Targets that all ended Converged, Blocked or Failed settle after a short pause (the
 * last status commit lands); otherwise after a longer quiet time, since a target may wait for
 * something no one in the demo will do (that is worth showing too: status says what).
 */
export interface SettleInput {
  readonly now: number;
  /** Phases and summaries of every target: any change restarts the clock. */
  readonly fingerprint: string;
  /** Every target reconciled at the current revision and none Progressing, and the fleet not busy. */
  readonly ready: boolean;
  /** Every target Converged, Blocked or Failed. */
  readonly final: boolean;
}

export class SettleWatch {
  private fingerprint = '';
  private since = 0;
  private settled = false;

  constructor(
    /** Quiet time when every target ended in a final phase. */
    private readonly finalMs: number,
    /** Quiet time otherwise. */
    private readonly quietMs: number,
  ) {}

  /** True once, when the rollouts settle; again after they change and settle anew. */
  observe(input: SettleInput): boolean {
    if (input.fingerprint !== this.fingerprint || !input.ready) {
      if (input.fingerprint !== this.fingerprint) this.settled = false;
      this.fingerprint = input.fingerprint;
      this.since = input.now;
      return false;
    }
    if (this.settled) return false;
    if (input.now - this.since < (input.final ? this.finalMs : this.quietMs)) return false;
    this.settled = true;
    return true;
  }
}
