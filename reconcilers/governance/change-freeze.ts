/**
 * Change freezes (issue 8, item 4): `spec.rollout.freezes`, recurring or fixed windows during
 * which nothing starts — not even staging (a download is a change a freeze forbids too: it
 * loads the network and the disks of the machines people rely on during the freeze).
 *
 * While a freeze is open: every command is held but the steps `finishing` an update the servers
 * report being in the middle of (disruptive.ts: a UMS cluster in update mode gets its other
 * servers installed, its schema migrated and every server back to normal mode — seed 004; a
 * WRS or a device installed and waiting for its restart waits, like in a window); phase
 * Waiting, reason `ChangeFreeze`; a pass is asked for at its end (overlapping
 * or back-to-back freezes are joined). While none is open and work is left, a pass is asked for
 * when the next one starts, so nothing new goes out once it has.
 *
 * Details (`status.details.rollout.freeze`):
 *   { frozen: boolean,
 *     until?, untilLocal?, freeze?,        while frozen: the end (ISO, local) and which freeze
 *     nextAt?, nextAtLocal?, next?,        while not: when the next one starts, and which
 *     held: number,                        commands held in this pass
 *     freezes: WindowView[] }              every declared freeze and its state (time-windows.ts)
 */
import type { Blocker } from '../contract.ts';
import { invalidWindow } from './invalid-window.ts';
import { blocker as reasonBlocker } from './reasons.ts';
import { disruptionOf, finishingMembers, forEachHeld, holdableLeft, listNames, nothingToDo, unknownSuffix } from './safe-point.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';
import { formatLocal, iso, labelOf, timeZoneOf, viewOf, windowsAt } from './time-windows.ts';

export const CHANGE_FREEZE_REASON = 'ChangeFreeze';

export const changeFreeze: GovernanceStep = {
  name: 'freeze',
  kinds: ['Domain', 'Account', 'HACluster'],
  idle: { byPolicy: (policy) => (policy?.freezes ?? []).length === 0 },
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined {
    const freezes = ctx.policy?.freezes ?? [];
    if (freezes.length === 0 || nothingToDo(ctx)) return undefined;
    const invalid = invalidWindow(ctx, freezes, 'freezes');
    if (invalid !== undefined) return invalid;

    const views = freezes.map((f) => viewOf(f, ctx.now));
    const state = windowsAt(freezes, ctx.now);
    if (!state.open) {
      const next = state.next;
      if (next === undefined) return { details: { frozen: false, held: 0, freezes: views } };
      const f = freezes[next.index]!;
      return {
        requeueAfter: next.opensAt - ctx.now,
        details: { frozen: false, nextAt: iso(next.opensAt), nextAtLocal: formatLocal(next.opensAt, timeZoneOf(f)), next: labelOf(f), held: 0, freezes: views },
      };
    }

    const f = freezes[state.index]!;
    const untilLocal = formatLocal(state.closesAt, timeZoneOf(f));
    const d = disruptionOf(ctx);
    const why = unknownSuffix(ctx, d);
    const blocker: Blocker = reasonBlocker(CHANGE_FREEZE_REASON, `change freeze ${labelOf(f)} until ${untilLocal}: nothing starts, not even downloads${why}`);
    const holds = new Map<string, Blocker>();
    forEachHeld(ctx, d, false, (c) => holds.set(c.id, blocker));
    const details = { frozen: true, until: iso(state.closesAt), untilLocal, freeze: labelOf(f), held: holds.size, freezes: views };
    // Only finishing left (or steps people and devices do themselves): the freeze changes nothing.
    if (holds.size === 0 && !holdableLeft(ctx, d, false)) return { requeueAfter: state.closesAt - ctx.now, details };
    const finishing = finishingMembers(ctx, d);
    const message = finishing.length === 0 ? blocker.message : `${blocker.message}; ${listNames(finishing)} ${finishing.length === 1 ? 'finishes its' : 'finish their'} update`;
    return {
      holds,
      reason: CHANGE_FREEZE_REASON,
      message,
      note: `change freeze until ${untilLocal}`,
      requeueAfter: state.closesAt - ctx.now,
      details,
    };
  },
};
