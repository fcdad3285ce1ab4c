import type { Blocker } from '../contract.ts';
import type { TimeWindow } from '../model/desired.ts';
import { blocker } from './reasons.ts';
import { disruptionOf, forEachHeld } from './safe-point.ts';
import type { GovernanceContext, GovernanceVerdict } from './step.ts';
import { windowProblem } from './time-windows.ts';

/**
 * A window that cannot be evaluated (`validate` reports it; the controller normally never acts
 * on such a file): the target is Blocked and everything is held — guessing when a freeze or a
 * window is open would be worse than stopping. Everything but the steps `finishing` a UMS
 * cluster observed mid-update (disruptive.ts): those go on in and out of every window and
 * freeze, so what the file says does not change them, and stopping them would leave the
 * servers decoupled on a copy of the database (seed 004).
 */
export function invalidWindow(
  ctx: GovernanceContext,
  windows: readonly TimeWindow[],
  field: 'windows' | 'freezes',
): GovernanceVerdict | undefined {
  for (const [i, w] of windows.entries()) {
    const problem = windowProblem(w);
    if (problem === undefined) continue;
    const b: Blocker = blocker('InvalidWindow', `spec.rollout.${field}[${i}]: ${problem}`);
    const holds = new Map<string, Blocker>();
    forEachHeld(ctx, disruptionOf(ctx), false, (c) => holds.set(c.id, b));
    return { holds, reason: 'InvalidWindow', message: b.message, details: { invalid: b.message } };
  }
  return undefined;
}
