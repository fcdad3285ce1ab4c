/**
 * Cron expressions of maintenance windows and change freezes (issue 8): the classic five
 * fields `minute hour day-of-month month day-of-week`, read on a local wall clock.
 *
 *   field          values             names
 *   minute         0-59
 *   hour           0-23
 *   day-of-month   1-31
 *   month          1-12               jan … dec
 *   day-of-week    0-7 (0 and 7: Sunday)  sun … sat
 *
 * Each field is `*` or a comma list of `n`, `a-b`, `*\/n` and `a-b/n` (names are
 * case-insensitive and allowed wherever a number is). Nothing else: no seconds or year field,
 * no `?`, `L`, `W`, `#` or `@daily` macros — a reviewer must be able to read the expression
 * the same way every cron does.
 *
 * Day rule (Vixie cron, cronie, POSIX): when BOTH day-of-month and day-of-week are restricted,
 * a day matches if EITHER matches (`0 22 1 * 1` is the 1st of the month and every Monday);
 * otherwise both must. A field counts as restricted when it does not start with `*`, exactly
 * as Vixie cron decides it, so `0 0 *\/2 * 1` means odd days that are Mondays.
 *
 * Times here are "wall" instants: epoch ms of a local Y-M-D h:m read as if it were UTC (see
 * `wallClock` in distribution-server/schedule.ts); time zones are time-windows.ts's business.
 * Searches step day by day (skipping months that cannot match) and then pick the first
 * matching hour and minute of a matching day, so finding the next match a year away costs a
 * few hundred cheap steps, never a scan of every minute. Pure: no clock, no Date objects.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;

export type CronField = 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

/** Thrown by {@link parseCron}: `detail` names the field and the exact problem. */
export class CronError extends Error {
  override readonly name = 'CronError';
  readonly expression: string;
  readonly field: CronField | undefined;
  readonly detail: string;

  constructor(expression: string, field: CronField | undefined, detail: string) {
    super(`cron expression ${JSON.stringify(expression)}: ${detail}`);
    this.expression = expression;
    this.field = field;
    this.detail = detail;
  }
}

/** A parsed expression. Arrays of booleans are indexed by value (`months[12]` is December). */
export interface Cron {
  readonly expression: string;
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly daysOfMonth: readonly boolean[];
  readonly months: readonly boolean[];
  /** 0 = Sunday … 6 = Saturday (7 folded into 0). */
  readonly daysOfWeek: readonly boolean[];
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
  /** Allowed hours and minutes, ascending, for the searches. */
  readonly hourList: readonly number[];
  readonly minuteList: readonly number[];
}

interface FieldSpec {
  readonly field: CronField;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Index of names[0]: months are named from 1, days of the week from 0. */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { field: 'minute', min: 0, max: 59 },
  { field: 'hour', min: 0, max: 23 },
  { field: 'day-of-month', min: 1, max: 31 },
  { field: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], nameBase: 1 },
  { field: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], nameBase: 0 },
];

const q = (s: string): string => JSON.stringify(s);

/** Parse or throw a {@link CronError}. */
export function parseCron(expression: string): Cron {
  if (typeof expression !== 'string') throw new CronError(String(expression), undefined, 'must be a string');
  const parts = expression.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    const hint = parts.length === 6 ? ' (a seconds or year field is not supported)' : '';
    throw new CronError(expression, undefined, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}${hint}`);
  }
  const sets = FIELDS.map((spec, i) => parseField(expression, spec, parts[i]!));
  const dow = sets[4]!;
  // Day-of-week 7 is Sunday, like 0.
  if (dow[7] === true) dow[0] = true;
  const minutes = sets[0]!;
  const hours = sets[1]!;
  return {
    expression,
    minutes,
    hours,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow.slice(0, 7),
    dayOfMonthRestricted: !parts[2]!.startsWith('*'),
    dayOfWeekRestricted: !parts[4]!.startsWith('*'),
    hourList: indexesOf(hours),
    minuteList: indexesOf(minutes),
  };
}

/** Parse without throwing. */
export function tryParseCron(expression: string): { ok: true; cron: Cron } | { ok: false; error: CronError } {
  try {
    return { ok: true, cron: parseCron(expression) };
  } catch (e) {
    if (e instanceof CronError) return { ok: false, error: e };
    throw e;
  }
}

function indexesOf(set: readonly boolean[]): number[] {
  const out: number[] = [];
  set.forEach((on, i) => {
    if (on) out.push(i);
  });
  return out;
}

function parseField(expression: string, spec: FieldSpec, text: string): boolean[] {
  const set: boolean[] = new Array<boolean>(spec.max + 1).fill(false);
  const fail = (detail: string): never => {
    throw new CronError(expression, spec.field, `${spec.field} ${q(text)}: ${detail}`);
  };
  for (const item of text.split(',')) {
    if (item === '') fail('empty item in the list');
    const slash = item.indexOf('/');
    const base = slash < 0 ? item : item.slice(0, slash);
    let step = 1;
    if (slash >= 0) {
      const s = item.slice(slash + 1);
      if (!/^[0-9]+$/.test(s)) fail(`step ${q(s)} is not a number`);
      step = Number(s);
      if (step < 1) fail('a step must be at least 1');
    }
    let from: number;
    let to: number;
    if (base === '*') {
      from = spec.min;
      to = spec.field === 'day-of-week' ? 6 : spec.max; // `*` is each day once, not Sunday twice
    } else {
      const dash = base.indexOf('-');
      if (dash < 0) {
        from = value(spec, base, fail);
        if (slash >= 0) fail(`a step needs a range: write ${base}-${spec.max}/${step} or */${step}`);
        to = from;
      } else {
        from = value(spec, base.slice(0, dash), fail);
        to = value(spec, base.slice(dash + 1), fail);
        if (to < from) fail(`range ${base} goes backwards (write ${base.slice(dash + 1)}-${base.slice(0, dash)}, or a list)`);
      }
    }
    for (let v = from; v <= to; v += step) set[v] = true;
  }
  return set;
}

function value(spec: FieldSpec, text: string, fail: (detail: string) => never): number {
  if (text === '') return fail('a range needs a value on both sides of "-"');
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) fail(`${n} is out of range ${spec.min}-${spec.max}`);
    return n;
  }
  const i = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (i >= 0) return i + (spec.nameBase ?? 0);
  const allowed = spec.names ? `a number ${spec.min}-${spec.max} or a name (${spec.names.join(', ')})` : `a number ${spec.min}-${spec.max}`;
  if (/^\?$|^L$|^LW$|^[0-9]+[LW]$|#/.test(text)) return fail(`${q(text)} is not supported (only numbers, *, lists, ranges and steps); expected ${allowed}`);
  return fail(`${q(text)} is not ${allowed}`);
}

// ------------------------------------------------------------------ calendar (no Date objects)

/** Day number (days since 1970-01-01) of a civil date; month 1..12. */
export function daysFromCivil(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY;
}

/** The civil date of a day number (Howard Hinnant's algorithm: exact for the proleptic Gregorian calendar). */
export function civilFromDays(dayNumber: number): { year: number; month: number; day: number } {
  const z = dayNumber + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
export function weekdayOf(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7;
}

const DAYS_IN_MONTH_MAX = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// ------------------------------------------------------------------ matching

/** The day (its month, day of month and weekday) is one the expression runs on. */
function dayMatches(cron: Cron, month: number, day: number, weekday: number): boolean {
  if (cron.months[month] !== true) return false;
  const dom = cron.daysOfMonth[day] === true;
  const dow = cron.daysOfWeek[weekday] === true;
  return cron.dayOfMonthRestricted && cron.dayOfWeekRestricted ? dom || dow : dom && dow;
}

/** The wall-clock minute `wall` (seconds ignored) is one the expression fires at. */
export function cronMatches(cron: Cron, wall: number): boolean {
  const dayNumber = Math.floor(wall / DAY);
  const minuteOfDay = Math.floor((wall - dayNumber * DAY) / MINUTE);
  const { month, day } = civilFromDays(dayNumber);
  return (
    cron.hours[Math.floor(minuteOfDay / 60)] === true &&
    cron.minutes[minuteOfDay % 60] === true &&
    dayMatches(cron, month, day, weekdayOf(dayNumber))
  );
}

/**
 * Whether the expression can never fire: no allowed day-of-month exists in any allowed month
 * (`0 0 30 2 *`, `0 0 31 4,6 *`). Every (month, day, weekday) combination that exists occurs
 * within the 400-year Gregorian cycle, so this is the only way an expression never matches.
 */
export function cronNeverMatches(cron: Cron): boolean {
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return !cron.months.some((on) => on);
  for (let m = 1; m <= 12; m++) {
    if (cron.months[m] !== true) continue;
    for (let d = 1; d <= DAYS_IN_MONTH_MAX[m]!; d++) if (cron.daysOfMonth[d] === true) return false;
  }
  return true;
}

/**
 * Days searched before giving up: 28 years, the cycle after which the Gregorian calendar
 * repeats its weekdays (bar century years), so a rare combination such as "the 29th of
 * February when it is a Monday" is still found; a usual window is found within days.
 */
export const CRON_SEARCH_DAYS = 28 * 366;

/** The first minute of a matching day at or after `minuteOfDay` (0..1439), if any. */
function firstTimeFrom(cron: Cron, minuteOfDay: number): number | undefined {
  const h0 = Math.floor(minuteOfDay / 60);
  const m0 = minuteOfDay % 60;
  for (const h of cron.hourList) {
    if (h < h0) continue;
    const from = h === h0 ? m0 : 0;
    for (const m of cron.minuteList) if (m >= from) return h * 60 + m;
  }
  return undefined;
}

/** The last minute of a matching day at or before `minuteOfDay` (0..1439), if any. */
function lastTimeUntil(cron: Cron, minuteOfDay: number): number | undefined {
  const h0 = Math.floor(minuteOfDay / 60);
  const m0 = minuteOfDay % 60;
  for (let i = cron.hourList.length - 1; i >= 0; i--) {
    const h = cron.hourList[i]!;
    if (h > h0) continue;
    const until = h === h0 ? m0 : 59;
    for (let j = cron.minuteList.length - 1; j >= 0; j--) {
      const m = cron.minuteList[j]!;
      if (m <= until) return h * 60 + m;
    }
  }
  return undefined;
}

/**
 * The first wall-clock minute strictly after `afterWall` the expression fires at, searching at
 * most `maxDays` days; undefined when there is none.
 */
export function nextCronMatch(cron: Cron, afterWall: number, maxDays = CRON_SEARCH_DAYS): number | undefined {
  const start = Math.floor(afterWall / MINUTE) * MINUTE + MINUTE;
  let day = Math.floor(start / DAY);
  let minuteOfDay = Math.floor((start - day * DAY) / MINUTE);
  const lastDay = day + maxDays;
  while (day <= lastDay) {
    const { year, month, day: dom } = civilFromDays(day);
    if (cron.months[month] !== true) {
      // The whole month cannot match: go to the 1st of the next one.
      day = daysFromCivil(year, month + 1, 1);
      minuteOfDay = 0;
      continue;
    }
    if (dayMatches(cron, month, dom, weekdayOf(day))) {
      const t = firstTimeFrom(cron, minuteOfDay);
      if (t !== undefined) return day * DAY + t * MINUTE;
    }
    day++;
    minuteOfDay = 0;
  }
  return undefined;
}

/**
 * The last wall-clock minute at or before `atOrBeforeWall` the expression fires at, searching
 * at most `maxDays` days back; undefined when there is none.
 */
export function previousCronMatch(cron: Cron, atOrBeforeWall: number, maxDays = CRON_SEARCH_DAYS): number | undefined {
  const start = Math.floor(atOrBeforeWall / MINUTE) * MINUTE;
  let day = Math.floor(start / DAY);
  let minuteOfDay = Math.floor((start - day * DAY) / MINUTE);
  const firstDay = day - maxDays;
  while (day >= firstDay) {
    const { year, month, day: dom } = civilFromDays(day);
    if (cron.months[month] !== true) {
      // The whole month cannot match: go to the last day of the previous one.
      day = daysFromCivil(year, month, 0);
      minuteOfDay = 1439;
      continue;
    }
    if (dayMatches(cron, month, dom, weekdayOf(day))) {
      const t = lastTimeUntil(cron, minuteOfDay);
      if (t !== undefined) return day * DAY + t * MINUTE;
    }
    day--;
    minuteOfDay = 1439;
  }
  return undefined;
}
