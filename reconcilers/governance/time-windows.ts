/**
 * When a maintenance window or a change freeze is open (issue 8): recurring windows (a cron
 * `schedule` read in `timeZone`, open for `duration`) and fixed ones (`from` … `until`).
 *
 * Daylight saving (tested with Europe/Paris), following distribution-server/schedule.ts:
 * - the cron is read on the local wall clock: `0 22 * * *` opens at 22:00 local all year;
 * - a `duration` is wall-clock time too: `0 22 * * *` for `8h` closes at 06:00 local, also on
 *   the nights the clocks change (the window then lasts 7 or 9 real hours);
 * - an opening or closing at a local time that does not exist (spring forward, 02:30 in Paris
 *   on the last Sunday of March) happens at the transition (03:00 local); a window that would
 *   thereby shrink to nothing lasts its duration from its opening instead — a window is never
 *   silently lost;
 * - a local time that happens twice (fall back) counts at its first occurrence.
 *
 * Every search is bounded and steps by day (see cron.ts). Pure: `now` is always a parameter.
 */
import { wallClock, zonedToEpoch } from '../distribution-server/schedule.ts';
import type { TimeWindow } from '../model/desired.ts';
import { civilFromDays, nextCronMatch, parseCron, previousCronMatch, weekdayOf, type Cron } from './cron.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A window declared wrong (the schema and `validate` normally refuse it first). */
export class WindowError extends Error {
  override readonly name = 'WindowError';
}

/** One opening: open from `opensAt` (included) to `closesAt` (excluded), epoch ms. */
export interface Span {
  readonly opensAt: number;
  readonly closesAt: number;
}

const DURATION = /^([1-9][0-9]{0,4})(m|h|d)$/;
const UNIT_MS = { m: MINUTE, h: HOUR, d: DAY } as const;

/** `30m`, `4h`, `2d` in ms; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = typeof text === 'string' ? DURATION.exec(text) : null;
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

type Compiled =
  | { readonly kind: 'recurring'; readonly cron: Cron; readonly durationMs: number; readonly timeZone: string }
  | { readonly kind: 'fixed'; readonly from: number; readonly until: number };

/** Windows are frozen desired-state objects reused across passes: each is compiled once. */
const compiled = new WeakMap<TimeWindow, Compiled>();

function compile(w: TimeWindow): Compiled {
  let c = compiled.get(w);
  if (c !== undefined) return c;
  if ('schedule' in w) {
    const durationMs = parseDuration(w.duration);
    if (durationMs === undefined) throw new WindowError(`duration ${JSON.stringify(w.duration)} is not a duration such as 30m, 4h or 2d`);
    try {
      wallClock(0, w.timeZone);
    } catch {
      throw new WindowError(`unknown time zone ${JSON.stringify(w.timeZone)}`);
    }
    c = { kind: 'recurring', cron: parseCron(w.schedule), durationMs, timeZone: w.timeZone };
  } else {
    const from = Date.parse(w.from);
    const until = Date.parse(w.until);
    if (Number.isNaN(from)) throw new WindowError(`from ${JSON.stringify(w.from)} is not a date-time`);
    if (Number.isNaN(until)) throw new WindowError(`until ${JSON.stringify(w.until)} is not a date-time`);
    c = { kind: 'fixed', from, until };
  }
  compiled.set(w, c);
  return c;
}

/** Why a window cannot be evaluated, or undefined when it can (a cron, duration or zone error). */
export function windowProblem(w: TimeWindow): string | undefined {
  try {
    compile(w);
    return undefined;
  } catch (e) {
    if (e instanceof Error && (e.name === 'WindowError' || e.name === 'CronError')) return e.message;
    throw e;
  }
}

/** How far the UTC offset moves within a day of `t` (0 away from a transition). */
function offsetSpread(t: number, timeZone: string): number {
  const offsets = [t - DAY, t, t + DAY].map((x) => {
    const s = Math.floor(x / 1000) * 1000;
    return wallClock(s, timeZone) - s;
  });
  return Math.max(...offsets) - Math.min(...offsets);
}

function closingOf(c: Extract<Compiled, { kind: 'recurring' }>, openWall: number, opensAt: number): number {
  const closesAt = zonedToEpoch(openWall + c.durationMs, c.timeZone);
  return closesAt > opensAt ? closesAt : opensAt + c.durationMs;
}

/**
 * The opening in force at `t` (opensAt ≤ t < closesAt), if the window is open. Closings grow
 * with openings, so the latest opening at or before `t` decides.
 */
export function spanAt(w: TimeWindow, t: number): Span | undefined {
  const c = compile(w);
  if (c.kind === 'fixed') return c.from <= t && t < c.until ? { opensAt: c.from, closesAt: c.until } : undefined;
  const wallT = wallClock(t, c.timeZone);
  const margin = offsetSpread(t, c.timeZone);
  // An opening older than its duration (plus any DST shift) has closed: no need to look further back.
  const lookback = Math.ceil((c.durationMs + margin) / DAY) + 2;
  let wall = previousCronMatch(c.cron, wallT + margin, lookback);
  while (wall !== undefined) {
    const opensAt = zonedToEpoch(wall, c.timeZone);
    if (opensAt <= t) {
      const closesAt = closingOf(c, wall, opensAt);
      return closesAt > t ? { opensAt, closesAt } : undefined;
    }
    wall = previousCronMatch(c.cron, wall - MINUTE, lookback);
  }
  return undefined;
}

/** The first opening strictly after `t`, if the window ever opens again. */
export function nextOpening(w: TimeWindow, t: number): Span | undefined {
  const c = compile(w);
  if (c.kind === 'fixed') return c.from > t && c.until > c.from ? { opensAt: c.from, closesAt: c.until } : undefined;
  const wallT = wallClock(t, c.timeZone);
  const margin = offsetSpread(t, c.timeZone);
  let wall = nextCronMatch(c.cron, wallT - margin - 1);
  while (wall !== undefined) {
    const opensAt = zonedToEpoch(wall, c.timeZone);
    if (opensAt > t) return { opensAt, closesAt: closingOf(c, wall, opensAt) };
    wall = nextCronMatch(c.cron, wall);
  }
  return undefined;
}

/** How many overlapping or back-to-back openings are followed to find when a set of windows closes. */
const MAX_CHAIN = 100;

/** The state of a set of windows at `now`: open (and until when), or closed (and when one opens next). */
export type WindowsState =
  | {
      readonly open: true;
      /** Index of a window open at `now` (the one that stays open longest). */
      readonly index: number;
      readonly opensAt: number;
      /** When no window of the set is open any more: overlapping and back-to-back openings are joined. */
      readonly closesAt: number;
    }
  | {
      readonly open: false;
      /** The window that opens first, and when; absent when none ever opens again. */
      readonly next?: { readonly index: number; readonly opensAt: number; readonly closesAt: number };
    };

export function windowsAt(windows: readonly TimeWindow[], now: number): WindowsState {
  let best: { index: number; span: Span } | undefined;
  windows.forEach((w, index) => {
    const span = spanAt(w, now);
    if (span !== undefined && (best === undefined || span.closesAt > best.span.closesAt)) best = { index, span };
  });
  if (best !== undefined) {
    const found: { index: number; span: Span } = best;
    let end = found.span.closesAt;
    for (let i = 0; i < MAX_CHAIN; i++) {
      let extended = end;
      for (const w of windows) {
        const s = spanAt(w, end);
        if (s !== undefined && s.closesAt > extended) extended = s.closesAt;
      }
      if (extended === end) break;
      end = extended;
    }
    return { open: true, index: found.index, opensAt: found.span.opensAt, closesAt: end };
  }
  let next: { index: number; opensAt: number; closesAt: number } | undefined;
  windows.forEach((w, index) => {
    const span = nextOpening(w, now);
    if (span !== undefined && (next === undefined || span.opensAt < next.opensAt)) next = { index, ...span };
  });
  return next === undefined ? { open: false } : { open: false, next };
}

// ------------------------------------------------------------------ for people

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** `Mon 2026-11-23 22:00 Europe/Paris` (local to `timeZone`), or `… UTC` without one. */
export function formatLocal(epochMs: number, timeZone?: string): string {
  const wall = timeZone === undefined ? Math.floor(epochMs / 1000) * 1000 : wallClock(epochMs, timeZone);
  const dayNumber = Math.floor(wall / DAY);
  const { year, month, day } = civilFromDays(dayNumber);
  const minutes = Math.floor((wall - dayNumber * DAY) / MINUTE);
  return `${WEEKDAYS[weekdayOf(dayNumber)]} ${year}-${pad(month)}-${pad(day)} ${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)} ${timeZone ?? 'UTC'}`;
}

/** The time zone a window's times are best shown in (a fixed window's: UTC). */
export function timeZoneOf(w: TimeWindow): string | undefined {
  return 'schedule' in w ? w.timeZone : undefined;
}

/** `"nightly" (0 22 * * 1-5 for 4h, Europe/Paris)` / `"year-end" (2026-12-20 00:00 UTC to 2027-01-04 00:00 UTC)`. */
export function describeWindow(w: TimeWindow): string {
  const name = w.name !== undefined ? `${JSON.stringify(w.name)} ` : '';
  if ('schedule' in w) return `${name}(${w.schedule} for ${w.duration}, ${w.timeZone})`;
  const from = Date.parse(w.from);
  const until = Date.parse(w.until);
  const show = (t: number, raw: string): string => (Number.isNaN(t) ? raw : formatLocal(t).slice(4));
  return `${name}(${show(from, w.from)} to ${show(until, w.until)})`;
}

/** How a window is named in messages: its `name`, else what it is. */
export function labelOf(w: TimeWindow): string {
  return w.name !== undefined ? JSON.stringify(w.name) : describeWindow(w);
}

/** A window as `status.details` and `plan` show it: what was declared, and its state at `now`. */
export interface WindowView {
  readonly name?: string;
  readonly schedule?: string;
  readonly duration?: string;
  readonly timeZone?: string;
  readonly from?: string;
  readonly until?: string;
  readonly open: boolean;
  /** ISO-8601 and local (`Mon 2026-11-23 22:00 Europe/Paris`) time the current opening closes, while open. */
  readonly closesAt?: string;
  readonly closesAtLocal?: string;
  /** The next opening, while closed; absent when it never opens again. */
  readonly opensAt?: string;
  readonly opensAtLocal?: string;
  /** The window could not be evaluated (a cron or zone error `validate` reports). */
  readonly problem?: string;
}

export function viewOf(w: TimeWindow, now: number): WindowView {
  const declared =
    'schedule' in w
      ? { ...(w.name !== undefined ? { name: w.name } : {}), schedule: w.schedule, duration: w.duration, timeZone: w.timeZone }
      : { ...(w.name !== undefined ? { name: w.name } : {}), from: w.from, until: w.until };
  const problem = windowProblem(w);
  if (problem !== undefined) return { ...declared, open: false, problem };
  const tz = timeZoneOf(w);
  const span = spanAt(w, now);
  if (span !== undefined) return { ...declared, open: true, closesAt: iso(span.closesAt), closesAtLocal: formatLocal(span.closesAt, tz) };
  const next = nextOpening(w, now);
  return next === undefined ? { ...declared, open: false } : { ...declared, open: false, opensAt: iso(next.opensAt), opensAtLocal: formatLocal(next.opensAt, tz) };
}

export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
