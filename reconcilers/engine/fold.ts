/**
 * The one fold from a pass's outcomes to the target's phase, reason and requeue, used by
 * every kind, so the same situation gives the same phase everywhere:
 *
 *   1. a target-wide Failed, then Blocked outcome (a person must act);
 *   2. else Paused, Progressing, then Waiting (work moving beats waiting);
 *   3. else a member-scoped stalled outcome (a failed workstation does not stop the others,
 *      but once nothing else moves it is what is left);
 *   4. else the fallback (Converged, or "verifying").
 * Ties go to the first outcome in step order. Requeue: the soonest `requeueMs` of every
 * outcome that is not stalled, none when the phase is stalled unless a stalled reason asks
 * to be polled (a fix outside Git raises no event).
 */
import type { Phase } from '../contract.ts';
import type { Outcome } from './pass.ts';
import { reasonDef, type ReasonCatalogue, type ReasonDef } from './reasons.ts';

export interface Folded {
  readonly phase: Phase;
  readonly reason: string;
  readonly message: string;
  readonly requeueAfter?: number;
}

function rank(def: ReasonDef): number {
  const member = def.scope === 'member';
  switch (def.phase) {
    case 'Failed':
      return member ? 7 : 0;
    case 'Blocked':
      return member ? 8 : 1;
    case 'Paused':
      return 2;
    case 'Progressing':
      return 3;
    case 'Waiting':
      return 4;
    case 'Converged':
      return 9;
  }
}

export function foldOutcomes(outcomes: readonly Outcome[], catalogue: ReasonCatalogue, fallback: Outcome): Folded {
  let best: { outcome: Outcome; def: ReasonDef; rank: number } | undefined;
  for (const outcome of outcomes) {
    const def = reasonDef(catalogue, outcome.reason);
    const r = rank(def);
    if (best === undefined || r < best.rank) best = { outcome, def, rank: r };
  }
  const chosen = best ?? { outcome: fallback, def: reasonDef(catalogue, fallback.reason) };
  const phase = chosen.def.phase;
  const stalled = phase === 'Blocked' || phase === 'Failed';
  let requeueAfter: number | undefined;
  for (const o of outcomes.length > 0 ? outcomes : [fallback]) {
    const def = reasonDef(catalogue, o.reason);
    if (def.requeueMs === undefined) continue;
    if (stalled !== (def.category === 'stalled')) continue;
    if (requeueAfter === undefined || def.requeueMs < requeueAfter) requeueAfter = def.requeueMs;
  }
  return {
    phase,
    reason: chosen.outcome.reason,
    message: chosen.outcome.message,
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
  };
}
