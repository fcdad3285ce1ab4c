/**
 * Maintenance windows (issue 8, item 4): `spec.rollout.windows`, recurring or fixed. What
 * disrupts a member starts only while one is open; what it is, per kind and action, is the
 * table in disruptive.ts — installs and restarts of devices, WRS, ceBoxes and print servers,
 * a UMS cluster's backup and first server, its load balancers and consoles. Downloads go on
 * at any time, so the window is spent installing, not downloading.
 *
 * Outside every window: disruptive commands are held, but never a step `finishing` an update
 * the servers report being in the middle of (a UMS cluster in update mode: the other servers,
 * the migration, the return to normal mode — seed 004, disruptive.ts); phase Waiting, reason
 * `OutsideMaintenanceWindow`, its message giving the next opening in the window's own time
 * zone; a pass is asked for at that opening. While a window is open nothing is held and a pass
 * is asked for at its closing (overlapping or back-to-back windows are joined), so nothing new
 * starts after it. When no window ever opens again (only fixed windows, all past), the target
 * is Blocked (`NoMaintenanceWindow`): a person must declare one.
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
import { blocker as reasonBlocker } from './reasons.ts';
import { disruptionOf, forEachHeld, holdableLeft, nothingToDo, unknownSuffix } from './safe-point.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';
import { formatLocal, iso, labelOf, timeZoneOf, viewOf, windowsAt } from './time-windows.ts';

export const OUTSIDE_WINDOW_REASON = 'OutsideMaintenanceWindow';
export const NO_WINDOW_REASON = 'NoMaintenanceWindow';

export const maintenanceWindow: GovernanceStep = {
  name: 'window',
  kinds: ['Domain', 'Account', 'HACluster'],
  idle: { byPolicy: (policy) => (policy?.windows ?? []).length === 0 },
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
    const d = disruptionOf(ctx);
    const holds = new Map<string, Blocker>();
    const why = unknownSuffix(ctx, d);
    const opening = next === undefined ? '' : `${labelOf(windows[next.index]!)} opening ${formatLocal(next.opensAt, timeZoneOf(windows[next.index]!))}`;
    const blocker: Blocker =
      next === undefined
        ? reasonBlocker(
            NO_WINDOW_REASON,
            'no maintenance window opens again (every one declared has passed): installs, restarts, migrations and ' +
              `backups cannot start until spec.rollout.windows declares one${why}`,
          )
        : reasonBlocker(
            OUTSIDE_WINDOW_REASON,
            `outside the maintenance windows: installs, restarts, migrations and backups wait for ${opening}; downloads go on${why}`,
          );
    forEachHeld(ctx, d, true, (c) => holds.set(c.id, blocker));
    const details =
      next === undefined
        ? { open: false, held: holds.size, windows: views }
        : { open: false, opensAt: iso(next.opensAt), opensAtLocal: formatLocal(next.opensAt, timeZoneOf(windows[next.index]!)), next: labelOf(windows[next.index]!), held: holds.size, windows: views };
    const requeue = next === undefined ? {} : { requeueAfter: next.opensAt - ctx.now };
    // Only downloads and finishing left to do (or steps people and devices do themselves): the window changes nothing.
    const needsWindow = holds.size > 0 || holdableLeft(ctx, d, true);
    if (!needsWindow) return { ...requeue, details };
    return {
      holds,
      reason: next === undefined ? NO_WINDOW_REASON : OUTSIDE_WINDOW_REASON,
      message: blocker.message,
      note: next === undefined ? 'no maintenance window ahead' : `next maintenance window ${formatLocal(next.opensAt, timeZoneOf(windows[next.index]!))}`,
      ...requeue,
      details,
    };
  },
};
