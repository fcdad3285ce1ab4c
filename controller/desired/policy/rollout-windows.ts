import type { Account, Domain, HACluster, TimeWindow } from '../../../reconcilers/model/desired.ts';
import { cronNeverMatches, tryParseCron } from '../../../reconcilers/governance/cron.ts';
import { parseDuration } from '../../../reconcilers/governance/time-windows.ts';
import type { Finding } from '../diagnostics.ts';
import { at, perDocument } from './context.ts';

/** A recurring window or freeze lasts at most this long: beyond a year it is never closed, and its searches grow with it. */
export const MAX_WINDOW_DURATION = '366d';
const MAX_WINDOW_MS = parseDuration(MAX_WINDOW_DURATION)!;

/**
 * Maintenance windows and change freezes (`spec.rollout.windows`, `spec.rollout.freezes`,
 * issue 8) beyond what the schema can say, each finding pointing at its field:
 *   - a `schedule` is a five-field cron expression (reconcilers/governance/cron.ts) — the
 *     finding names the field and the value at fault: `hour "25": 25 is out of range 0-23`;
 *   - it matches some day (`0 0 30 2 *` never does: the window would never open);
 *   - a `duration` is at most a year;
 *   - a fixed window ends after it starts (`until` after `from`).
 */
export const rolloutWindows = perDocument(
  (ctx) => [...ctx.domains, ...ctx.accounts, ...ctx.clusters],
  function rolloutWindows(obj: Domain | Account | HACluster): Finding[] {
    const rollout = obj.spec.rollout;
    if (rollout === undefined) return [];
    const out: Finding[] = [];
    for (const list of ['windows', 'freezes'] as const) {
      for (const [i, w] of (rollout[list] ?? []).entries()) out.push(...checkWindow(obj, w, ['spec', 'rollout', list, i]));
    }
    return out;
  },
);

function checkWindow(obj: Domain | Account | HACluster, w: TimeWindow, field: readonly (string | number)[]): Finding[] {
  if ('schedule' in w) {
    const out: Finding[] = [];
    const parsed = tryParseCron(w.schedule);
    if (!parsed.ok) out.push({ code: 'CRON_SYNTAX', data: { expression: w.schedule, detail: parsed.error.detail }, ...at(obj, [...field, 'schedule']) });
    else if (cronNeverMatches(parsed.cron)) out.push({ code: 'CRON_NEVER_MATCHES', data: { expression: w.schedule }, ...at(obj, [...field, 'schedule']) });
    const ms = parseDuration(w.duration);
    if (ms !== undefined && ms > MAX_WINDOW_MS) out.push({ code: 'WINDOW_DURATION_TOO_LONG', data: { duration: w.duration, max: MAX_WINDOW_DURATION }, ...at(obj, [...field, 'duration']) });
    return out;
  }
  const from = Date.parse(w.from);
  const until = Date.parse(w.until);
  if (Number.isNaN(from) || Number.isNaN(until) || until > from) return [];
  return [{ code: 'WINDOW_ENDS_BEFORE_START', data: { from: w.from, until: w.until }, ...at(obj, [...field, 'until']) }];
}
