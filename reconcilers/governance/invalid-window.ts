import type { Blocker } from '../contract.ts';
import type { TimeWindow } from '../model/desired.ts';
import type { GovernanceContext, GovernanceVerdict } from './step.ts';
import { windowProblem } from './time-windows.ts';

/**
 * A window that cannot be evaluated (`validate` reports it; the controller normally never acts
 * on such a file): the target is Blocked and everything is held — guessing when a freeze or a
 * window is open would be worse than stopping.
 */
export function invalidWindow(ctx: GovernanceContext, windows: readonly TimeWindow[], field: 'windows' | 'freezes'): GovernanceVerdict | undefined {
  for (const [i, w] of windows.entries()) {
    const problem = windowProblem(w);
    if (problem === undefined) continue;
    const blocker: Blocker = { category: 'stalled', reason: 'InvalidWindow', message: `spec.rollout.${field}[${i}]: ${problem}` };
    return {
      holds: new Map(ctx.inner.commands.map((c) => [c.id, blocker])),
      phase: 'Blocked',
      reason: blocker.reason,
      message: blocker.message,
      details: { invalid: blocker.message },
    };
  }
  return undefined;
}
