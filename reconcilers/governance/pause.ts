/**
 * Pause and resume (issue 8, item 5): `spec.rollout.paused: true` suspends the rollout at the
 * next safe point; `false` (or removing it) resumes it, in a commit like any other change.
 *
 * While paused every command is held but the steps `finishing` an update the servers report
 * being in the middle of (disruptive.ts, the same table as windows and freezes): a UMS cluster
 * with a server in update mode gets its other servers installed, its schema migrated by the
 * last one and every server back to normal mode — seed 004: a paused cluster is never left
 * decoupled on a copy of its database; its load balancers and consoles wait. A WRS or a device
 * installed and waiting for its restart waits too (it runs its old version meanwhile: a safe
 * point). Nothing new starts, not even downloads. Phase `Paused`, reason `Paused`, `(paused)` in the summary. A
 * target with nothing left to do keeps its phase (a converged target stays Converged) and only
 * says `paused` in its summary. No requeue: resuming is a commit, which triggers a pass.
 *
 * Details (`status.details.rollout.pause`):
 *   { paused: true,
 *     held: number,           commands held in this pass
 *     finishing: string[],    members finishing their update (the first 20, status order)
 *     finishingCount: number }
 */
import type { Blocker } from '../contract.ts';
import { blocker } from './reasons.ts';
import { disruptionOf, finishingMembers, forEachHeld, listNames, nothingToDo, unknownSuffix } from './safe-point.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';

export const PAUSED_REASON = 'Paused';

/** Members named in details, at most: a paused account of a million devices must not write them all. */
const MAX_LISTED = 20;

const PAUSED_MESSAGE = 'rollout paused (spec.rollout.paused: true): resumes when it is set back to false';

export const pause: GovernanceStep = {
  name: 'pause',
  kinds: ['Domain', 'Account', 'HACluster'],
  idle: { byPolicy: (policy) => policy?.paused !== true },
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined {
    if (ctx.policy?.paused !== true) return undefined;
    const d = disruptionOf(ctx);
    const why = unknownSuffix(ctx, d);
    const paused: Blocker = blocker(PAUSED_REASON, `${PAUSED_MESSAGE}${why}`);
    const holds = new Map<string, Blocker>();
    forEachHeld(ctx, d, false, (c) => holds.set(c.id, paused));
    const finishing = finishingMembers(ctx, d);
    const details = { paused: true, held: holds.size, finishing: finishing.slice(0, MAX_LISTED), finishingCount: finishing.length };
    if (nothingToDo(ctx)) return { note: 'paused', details };
    const waitFor = finishing.length === 0 ? '' : `; ${listNames(finishing)} ${finishing.length === 1 ? 'finishes its' : 'finish their'} update first`;
    return {
      holds,
      reason: PAUSED_REASON,
      message: `rollout paused (spec.rollout.paused: true): nothing new starts${waitFor}; set it back to false to resume${why}`,
      note: 'paused',
      details,
    };
  },
};
