/**
 * Maintenance windows (issue 8, item 4): `spec.rollout.windows`, recurring or fixed. Installs,
 * restarts, migrations and backups (every command that changes what runs, `changesWhatRuns`)
 * start only while one is open; staging (download and verify, nothing installed) goes on at
 * any time, so the window is spent installing, not downloading.
 *
 * Outside every window: those commands are held, but never one that finishes an update a member
 * is in the middle of (safe-point.ts); phase Waiting, reason `OutsideMaintenanceWindow`, its
 * message giving the next opening in the window's own time zone; a pass is asked for at that
 * opening. While a window is open nothing is held and a pass is asked for at its closing
 * (overlapping or back-to-back windows are joined), so nothing new starts after it. When no
 * window ever opens again (only fixed windows, all past), the target is Blocked
 * (`NoMaintenanceWindow`): a person must declare one.
 *
 * Details (`status.details.rollout.window`):
 *   { open: boolean,
 *     closesAt?, closesAtLocal?, window?,   while open: when the open span ends, and which window
 *     opensAt?, opensAtLocal?, next?,       while closed: the next opening, and which window
 *     held: number,                         commands held in this pass
 *     windows: WindowView[] }               every declared window and its state (time-windows.ts)
 */
import type { Blocker } from '../contract.ts';
import { invalidWindow } from './invalid-window.ts';
import { beginsLeft, finishesAnUpdate, nothingToDo } from './safe-point.ts';
import { changesWhatRuns, type GovernanceContext, type GovernanceStep, type GovernanceVerdict } from './step.ts';
import { formatLocal, iso, labelOf, timeZoneOf, viewOf, windowsAt } from './time-windows.ts';

export const OUTSIDE_WINDOW_REASON = 'OutsideMaintenanceWindow';
export const NO_WINDOW_REASON = 'NoMaintenanceWindow';

export const maintenanceWindow: GovernanceStep = {
  name: 'window',
  kinds: ['Domain', 'Account', 'HACluster'],
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined {
    const windows = ctx.policy?.windows ?? [];
    if (windows.length === 0 || nothingToDo(ctx)) return undefined;
    const invalid = invalidWindow(ctx, windows, 'windows');
    if (invalid !== undefined) return invalid;

    const views = windows.map((w) => viewOf(w, ctx.now));
    const state = windowsAt(windows, ctx.now);
    if (state.open) {
      const w = windows[state.index]!;
      return {
        requeueAfter: state.closesAt - ctx.now,
        details: { open: true, closesAt: iso(state.closesAt), closesAtLocal: formatLocal(state.closesAt, timeZoneOf(w)), window: labelOf(w), held: 0, windows: views },
      };
    }

    const next = state.next;
    const blocker: Blocker =
      next === undefined
        ? {
            category: 'stalled',
            reason: NO_WINDOW_REASON,
            message: 'no maintenance window opens again (every one declared has passed): installs, restarts, migrations and backups cannot start until spec.rollout.windows declares one',
          }
        : {
            category: 'waiting',
            reason: OUTSIDE_WINDOW_REASON,
            message: `outside the maintenance windows: installs, restarts, migrations and backups wait for ${labelOf(windows[next.index]!)} opening ${formatLocal(next.opensAt, timeZoneOf(windows[next.index]!))}; downloads go on`,
          };
    const holds = new Map<string, Blocker>();
    for (const c of ctx.inner.commands) if (changesWhatRuns(c) && !finishesAnUpdate(c, ctx)) holds.set(c.id, blocker);
    const details =
      next === undefined
        ? { open: false, held: holds.size, windows: views }
        : { open: false, opensAt: iso(next.opensAt), opensAtLocal: formatLocal(next.opensAt, timeZoneOf(windows[next.index]!)), next: labelOf(windows[next.index]!), held: holds.size, windows: views };
    const requeue = next === undefined ? {} : { requeueAfter: next.opensAt - ctx.now };
    // Only staging and finishing left to do (or steps people and devices do themselves): the window changes nothing.
    const needsWindow = holds.size > 0 || beginsLeft(ctx, true);
    if (!needsWindow) return { ...requeue, details };
    return {
      holds,
      phase: next === undefined ? 'Blocked' : 'Waiting',
      reason: blocker.reason,
      message: blocker.message,
      note: next === undefined ? 'no maintenance window ahead' : `next maintenance window ${formatLocal(next.opensAt, timeZoneOf(windows[next.index]!))}`,
      ...requeue,
      details,
    };
  },
};
