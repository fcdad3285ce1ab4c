/**
 * The open wave, told to the Account reconciler before it runs (issue 16): an account of a
 * million devices rolling out wave 1 would otherwise build a command for every device, and the
 * waves step would hold nearly all of them. With a `WaveHold`, a device of a later wave whose
 * next step is an `apply` gets no command: its steps are listed already held, exactly as the
 * waves step and the merge would have held them (`WaitingForWave`, same blocker, same shape).
 *
 * Only a hint: `governed.ts` checks it against the waves step's own decision on the result
 * (same current wave, rolling out, no other control active) and runs the reconciler again
 * without it otherwise. The hint comes from the previous status in Git, so `plan` and a
 * restarted controller take the same path; the answer never depends on it.
 */
import type { Blocker } from '../contract.ts';
import type { CountOrPercent } from '../model/desired.ts';
import { planWaves, type WaveBounds } from './wave-plan.ts';
import { waitingForWave } from './waves.ts';

export interface WaveHold {
  /** The current wave (0-based), as the hint has it. */
  readonly current: number;
  /** Wave members from this index on (devices outside the test ring, in file order) are in later waves. */
  readonly from: number;
  /** The WaitingForWave blocker of wave member `i` (i >= from). */
  blockerAt(i: number): Blocker;
}

/** What the reconciler withheld under a `WaveHold`: per wave member, and the first one's blocker. */
export interface Withheld {
  readonly flags: Uint8Array;
  count: number;
  first: Blocker | undefined;
}

/** The hold for `members` wave members with `current` (0-based) rolling out; undefined when no wave follows it. */
export function waveHold(steps: readonly CountOrPercent[], members: number, current: number): WaveHold | undefined {
  const bounds: WaveBounds[] = planWaves(steps, members);
  if (current < 0 || current >= bounds.length - 1) return undefined;
  const waiting = waitingForWave(bounds.length, current);
  // Reconcilers ask in member order: a cursor over the wave ends.
  let k = current + 1;
  return {
    current,
    from: bounds[current]!.end,
    blockerAt(i: number): Blocker {
      if (i < bounds[k]!.start) k = current + 1;
      while (i >= bounds[k]!.end && k < bounds.length - 1) k++;
      return waiting[k]!;
    },
  };
}

/** Room for what a reconciler withholds from `members` wave members. */
export function newWithheld(members: number): Withheld {
  return { flags: new Uint8Array(members), count: 0, first: undefined };
}
