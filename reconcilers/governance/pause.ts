/**
 * Pause and resume (issue 8, item 5): `spec.rollout.paused: true` suspends the rollout at the
 * next safe point; `false` (or removing it) resumes it, in a commit like any other change.
 *
 * While paused every command is held but those that finish an update a member is in the middle
 * of (safe-point.ts): an HA server being updated completes its update — once every server runs
 * the release the last one still gets `migrate` and the others `end-update-mode`, so a paused
 * cluster is never left in update mode — and a WRS whose install is done restarts. Nothing new
 * starts, not even staging. Phase `Paused`, reason `Paused`, `(paused)` in the summary. A
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
import { finishesAnUpdate, finishingMembers, listNames, nothingToDo } from './safe-point.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';

export const PAUSED_REASON = 'Paused';

/** Members named in details, at most: a paused account of a million devices must not write them all. */
const MAX_LISTED = 20;

const PAUSED: Blocker = { category: 'waiting', reason: PAUSED_REASON, message: 'rollout paused (spec.rollout.paused: true): resumes when it is set back to false' };

export const pause: GovernanceStep = {
  name: 'pause',
  kinds: ['Domain', 'Account', 'HACluster'],
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined {
    if (ctx.policy?.paused !== true) return undefined;
    const holds = new Map<string, Blocker>();
    for (const c of ctx.inner.commands) if (!finishesAnUpdate(c, ctx)) holds.set(c.id, PAUSED);
    const finishing = finishingMembers(ctx);
    const details = { paused: true, held: holds.size, finishing: finishing.slice(0, MAX_LISTED), finishingCount: finishing.length };
    if (nothingToDo(ctx)) return { note: 'paused', details };
    const waitFor = finishing.length === 0 ? '' : `; ${listNames(finishing)} ${finishing.length === 1 ? 'finishes its' : 'finish their'} update first`;
    return {
      holds,
      phase: 'Paused',
      reason: PAUSED_REASON,
      message: `rollout paused (spec.rollout.paused: true): nothing new starts${waitFor}; set it back to false to resume`,
      note: 'paused',
      details,
    };
  },
};
