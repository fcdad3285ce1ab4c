/**
 * Calendar arithmetic of distribution-server syncs (seed 002): when a `daily`, `weekly` or
 * `monthly` ("the second Tuesday, plus N days") schedule runs, local to an IANA time zone.
 *
 * Pure: no clock, no library. Local ↔ UTC conversion probes offsets with
 * `Intl.DateTimeFormat(..., { timeZone, hourCycle: 'h23', year, month, day, hour, minute, second })`,
 * whose time-zone data is deterministic for a given Node build.
 *
 * Daylight-saving rules (documented behaviour, tested with Europe/Paris 2026):
 * - A local time that does not exist (spring forward, e.g. 02:30 on 2026-03-29 in Paris,
 *   where clocks jump from 02:00 to 03:00) runs at the first valid instant after it: the
 *   transition itself (03:00 local, 01:00Z). The run is neither skipped nor shifted by the
 *   length of the gap.
 * - A local time that occurs twice (fall back, e.g. 02:30 on 2026-10-25 in Paris) runs once,
 *   at its first occurrence (02:30 CEST, 00:30Z).
 *
 * Monthly: the `week`-th `weekday` of the month (`first`..`fourth`, or `last`), plus
 * `delayDays` (0..31) calendar days, which may land in the next month or (last Saturday of
 * January + 31) the one after; each month of the calendar gives exactly one run, so runs stay
 * in month order.
 */
import type { Schedule, WeekOfMonth, Weekday } from '../model/desired.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

const WEEKDAYS: readonly Weekday[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const WEEKS: readonly WeekOfMonth[] = ['first', 'second', 'third', 'fourth', 'last'];

/** Thrown for a schedule the schema should have refused (bad `at`, unknown time zone, weekday, week, delay). */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

// ------------------------------------------------------------------ local time ↔ UTC

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter per zone, memoised (it is the costly part; its output does not depend on the cache). */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new ScheduleError(`unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local wall-clock time of an instant, as if it were UTC: epoch ms of the local Y-M-D h:m:s (whole seconds). */
export function wallClock(epochMs: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(Math.floor(epochMs / 1000) * 1000)) {
    if (p.type !== 'literal') fields[p.type] = Number(p.value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = fields;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** UTC offset (ms) in force at an instant. */
function offsetAt(epochMs: number, timeZone: string): number {
  const t = Math.floor(epochMs / 1000) * 1000;
  return wallClock(t, timeZone) - t;
}

/**
 * The instant a local wall-clock time (given as epoch ms of that Y-M-D h:m as if UTC) happens
 * in `timeZone`: its first occurrence when it happens twice, the first valid instant after it
 * (the transition) when it does not exist. Offsets are probed a day either side of it, so
 * any single transition near it is seen.
 */
export function zonedToEpoch(wall: number, timeZone: string): number {
  const offsets = [...new Set([wall - DAY, wall, wall + DAY].map((t) => offsetAt(t, timeZone)))];
  let first: number | undefined;
  for (const o of offsets) {
    const t = wall - o;
    if (wallClock(t, timeZone) === wall && (first === undefined || t < first)) first = t;
  }
  if (first !== undefined) return first;
  // In a gap: the smallest whole second whose wall clock is at or after `wall` (the transition).
  let lo = wall - Math.max(...offsets); // wall clock before `wall`
  let hi = wall - Math.min(...offsets); // wall clock after `wall`
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (wallClock(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

// ------------------------------------------------------------------ civil days

/** Days since 1970-01-01 of a local calendar date (month 1..12; overflowing days roll over, as Date.UTC does). */
function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY;
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
function weekdayOf(dayNum: number): number {
  return (((dayNum + 4) % 7) + 7) % 7;
}

function yearMonthOf(dayNum: number): { year: number; month: number } {
  const d = new Date(dayNum * DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
}

/** The `week`-th `weekday` (0..6) of a month, as a day number. */
function nthWeekday(year: number, month: number, weekday: number, week: WeekOfMonth): number {
  if (week === 'last') {
    const last = dayNumber(year, month + 1, 0);
    return last - ((weekdayOf(last) - weekday + 7) % 7);
  }
  const first = dayNumber(year, month, 1);
  return first + ((weekday - weekdayOf(first) + 7) % 7) + 7 * WEEKS.indexOf(week);
}

// ------------------------------------------------------------------ schedules

interface Parsed {
  readonly timeZone: string;
  /** Minutes after local midnight. */
  readonly minutes: number;
  /** Local days of runs within [from, to], ascending. */
  readonly days: (from: number, to: number) => number[];
  /** Days from any day within which the next run (and the previous one, backwards) always falls. */
  readonly span: number;
}

function parse(schedule: Schedule): Parsed {
  // Read from YAML: a field that is not there must not fall back to a default (the host's zone).
  if (typeof schedule !== 'object' || schedule === null) throw new ScheduleError('no schedule');
  if (typeof schedule.timeZone !== 'string') throw new ScheduleError('no time zone');
  if (typeof schedule.at !== 'string') throw new ScheduleError('no "at" time');
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(schedule.at);
  if (!m) throw new ScheduleError(`"at" must be a 24-hour time HH:MM, not ${JSON.stringify(schedule.at)}`);
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  formatter(schedule.timeZone); // validates the zone
  const range = (from: number, to: number, keep: (d: number) => boolean): number[] => {
    const out: number[] = [];
    for (let d = from; d <= to; d++) if (keep(d)) out.push(d);
    return out;
  };
  switch (schedule.frequency) {
    case 'daily':
      return { timeZone: schedule.timeZone, minutes, span: 2, days: (from, to) => range(from, to, () => true) };
    case 'weekly': {
      const wd = weekdayIndex(schedule.weekday);
      const days = (from: number, to: number): number[] => range(from, to, (d) => weekdayOf(d) === wd);
      return { timeZone: schedule.timeZone, minutes, span: 9, days };
    }
    case 'monthly': {
      const wd = weekdayIndex(schedule.weekday);
      const week = schedule.week;
      if (!WEEKS.includes(week)) throw new ScheduleError(`unknown week ${JSON.stringify(week)}`);
      const delay = schedule.delayDays ?? 0;
      if (!Number.isInteger(delay) || delay < 0 || delay > 31) {
        throw new ScheduleError(`delayDays must be an integer from 0 to 31, not ${delay}`);
      }
      return {
        timeZone: schedule.timeZone,
        minutes,
        // Consecutive runs are at most 38 days apart (first Monday on the 1st, then on the 7th of a 31-day month).
        span: 40,
        days: (from, to) => {
          // A run of month k lands in month k, k+1 or (delay 31 from the 31st) k+2: start two months early.
          const start = yearMonthOf(from);
          const end = yearMonthOf(to);
          const out: number[] = [];
          for (let i = -2; ; i++) {
            const y = start.year + Math.floor((start.month - 1 + i) / 12);
            const mo = ((((start.month - 1 + i) % 12) + 12) % 12) + 1;
            if (y > end.year || (y === end.year && mo > end.month)) break;
            const d = nthWeekday(y, mo, wd, week) + delay;
            if (d >= from && d <= to) out.push(d);
          }
          return out;
        },
      };
    }
    default:
      throw new ScheduleError(`unknown frequency ${JSON.stringify((schedule as { frequency?: unknown }).frequency)}`);
  }
}

function weekdayIndex(weekday: Weekday): number {
  const i = WEEKDAYS.indexOf(weekday);
  if (i < 0) throw new ScheduleError(`unknown weekday ${JSON.stringify(weekday)}`);
  return i;
}

/**
 * The local days that may hold the run after (`ascending`) or before (descending) an instant:
 * from the day before its local date (a transition can move a run across midnight) to the
 * end of a window that always holds the next (previous) run.
 */
function candidates(schedule: Schedule, epochMs: number, ascending: boolean): { p: Parsed; days: number[] } {
  const p = parse(schedule);
  const today = Math.floor(wallClock(epochMs, p.timeZone) / DAY);
  if (ascending) return { p, days: p.days(today - 1, today + p.span) };
  return { p, days: p.days(today - p.span, today + 1).reverse() };
}

const instantOf = (p: Parsed, day: number): number => zonedToEpoch(day * DAY + p.minutes * MINUTE, p.timeZone);

/** The first run strictly after `afterEpochMs`. Throws `ScheduleError` for an invalid schedule. */
export function nextRun(schedule: Schedule, afterEpochMs: number): number {
  const { p, days } = candidates(schedule, afterEpochMs, true);
  for (const d of days) {
    const t = instantOf(p, d);
    if (t > afterEpochMs) return t;
  }
  throw new ScheduleError('no run found (internal error)');
}

/** The last run at or before `atOrBeforeEpochMs`. Throws `ScheduleError` for an invalid schedule. */
export function previousRun(schedule: Schedule, atOrBeforeEpochMs: number): number {
  const { p, days } = candidates(schedule, atOrBeforeEpochMs, false);
  for (const d of days) {
    const t = instantOf(p, d);
    if (t <= atOrBeforeEpochMs) return t;
  }
  throw new ScheduleError('no run found (internal error)');
}

/** Why a schedule cannot be used, or undefined when it is valid. */
export function scheduleProblem(schedule: Schedule): string | undefined {
  try {
    parse(schedule);
    return undefined;
  } catch (e) {
    if (e instanceof ScheduleError) return e.message;
    throw e;
  }
}

/** For people: `daily at 03:30 (Europe/Paris)`, `monthly on the second tuesday + 4 days at 02:00 (Europe/Paris)`. */
export function describeSchedule(schedule: Schedule): string {
  if (typeof schedule !== 'object' || schedule === null) return 'no schedule';
  const tail = `at ${schedule.at} (${schedule.timeZone})`;
  switch (schedule.frequency) {
    case 'daily':
      return `daily ${tail}`;
    case 'weekly':
      return `weekly on ${schedule.weekday} ${tail}`;
    case 'monthly': {
      const delay = schedule.delayDays ?? 0;
      const plus = delay ? ` + ${delay} day${delay === 1 ? '' : 's'}` : '';
      return `monthly on the ${schedule.week} ${schedule.weekday}${plus} ${tail}`;
    }
    default:
      return JSON.stringify(schedule);
  }
}
