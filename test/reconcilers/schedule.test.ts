import { describe, expect, it } from 'vitest';
import { describeSchedule, nextRun, previousRun, scheduleProblem, wallClock, zonedToEpoch } from '../../reconcilers/distribution-server/schedule.ts';
import type { Schedule, WeekOfMonth, Weekday } from '../../reconcilers/model/desired.ts';

const ms = (s: string): number => Date.parse(s);
const iso = (t: number): string => new Date(t).toISOString();
const PARIS = 'Europe/Paris';

const daily = (at: string, timeZone = PARIS): Schedule => ({ frequency: 'daily', at, timeZone });
const weekly = (weekday: Weekday, at: string, timeZone = PARIS): Schedule => ({ frequency: 'weekly', weekday, at, timeZone });
const monthly = (week: WeekOfMonth, weekday: Weekday, delayDays: number, at: string, timeZone = PARIS): Schedule => ({ frequency: 'monthly', week, weekday, delayDays, at, timeZone });

/** Local wall clock of an instant, `YYYY-MM-DD HH:MM:SS`. */
const local = (t: number, timeZone: string): string => iso(wallClock(t, timeZone)).slice(0, 19).replace('T', ' ');

describe('local time ↔ UTC by Intl offset probing (seed 002 schedules are local to a time zone)', () => {
  it.each([
    { name: 'winter time (CET, +01:00)', wall: '2026-01-15T02:30:00Z', zone: PARIS, utc: '2026-01-15T01:30:00.000Z' },
    { name: 'summer time (CEST, +02:00)', wall: '2026-07-15T02:30:00Z', zone: PARIS, utc: '2026-07-15T00:30:00.000Z' },
    { name: 'spring forward: 02:30 does not exist, the first valid instant after it is 03:00 CEST', wall: '2026-03-29T02:30:00Z', zone: PARIS, utc: '2026-03-29T01:00:00.000Z' },
    { name: 'spring forward: 02:00 itself does not exist either', wall: '2026-03-29T02:00:00Z', zone: PARIS, utc: '2026-03-29T01:00:00.000Z' },
    { name: 'spring forward: 03:00 is the transition', wall: '2026-03-29T03:00:00Z', zone: PARIS, utc: '2026-03-29T01:00:00.000Z' },
    { name: 'fall back: 02:30 happens twice, the first (CEST) is taken', wall: '2026-10-25T02:30:00Z', zone: PARIS, utc: '2026-10-25T00:30:00.000Z' },
    { name: 'fall back: 03:00 happens once (CET)', wall: '2026-10-25T03:00:00Z', zone: PARIS, utc: '2026-10-25T02:00:00.000Z' },
    { name: 'UTC', wall: '2026-03-29T02:30:00Z', zone: 'UTC', utc: '2026-03-29T02:30:00.000Z' },
    { name: 'half-hour zone (Asia/Kolkata, +05:30)', wall: '2026-03-29T02:30:00Z', zone: 'Asia/Kolkata', utc: '2026-03-28T21:00:00.000Z' },
    { name: 'half-hour DST (Lord Howe, 02:00 → 02:30 on 2026-10-04): 02:15 runs at 02:30', wall: '2026-10-04T02:15:00Z', zone: 'Australia/Lord_Howe', utc: '2026-10-03T15:30:00.000Z' },
    { name: 'New York spring forward (2026-03-08, 02:00 → 03:00)', wall: '2026-03-08T02:30:00Z', zone: 'America/New_York', utc: '2026-03-08T07:00:00.000Z' },
  ])('$name', ({ wall, zone, utc }) => {
    expect(iso(zonedToEpoch(ms(wall), zone))).toBe(utc);
  });
});

describe('nextRun / previousRun — daily (seed 002)', () => {
  it.each([
    { name: 'later the same day', s: daily('03:30'), after: '2026-11-22T01:00:00Z', next: '2026-11-22T02:30:00.000Z' },
    { name: 'strictly after: at a run, the next is the next day', s: daily('03:30'), after: '2026-11-22T02:30:00Z', next: '2026-11-23T02:30:00.000Z' },
    { name: 'across the year end', s: daily('00:15', 'UTC'), after: '2026-12-31T23:00:00Z', next: '2027-01-01T00:15:00.000Z' },
    { name: 'midnight', s: daily('00:00', 'UTC'), after: '2026-02-28T00:00:00Z', next: '2026-03-01T00:00:00.000Z' },
    // Europe/Paris, 2026-03-29: clocks jump from 02:00 to 03:00 (01:00Z)
    { name: 'DST spring: the day before, 02:30 CET', s: daily('02:30'), after: '2026-03-28T00:00:00Z', next: '2026-03-28T01:30:00.000Z' },
    { name: 'DST spring: 02:30 does not exist, runs at 03:00 CEST', s: daily('02:30'), after: '2026-03-28T12:00:00Z', next: '2026-03-29T01:00:00.000Z' },
    { name: 'DST spring: the day after, 02:30 CEST', s: daily('02:30'), after: '2026-03-29T01:00:00Z', next: '2026-03-30T00:30:00.000Z' },
    // Europe/Paris, 2026-10-25: clocks go back from 03:00 to 02:00 (01:00Z)
    { name: 'DST fall: 02:30 happens twice, runs at the first (CEST)', s: daily('02:30'), after: '2026-10-24T12:00:00Z', next: '2026-10-25T00:30:00.000Z' },
    { name: 'DST fall: runs once — after the first 02:30, the next is the day after', s: daily('02:30'), after: '2026-10-25T00:30:00Z', next: '2026-10-26T01:30:00.000Z' },
    { name: 'DST fall: between the two 02:30s, still the day after', s: daily('02:30'), after: '2026-10-25T01:00:00Z', next: '2026-10-26T01:30:00.000Z' },
  ])('$name', ({ s, after, next }) => {
    expect(iso(nextRun(s, ms(after)))).toBe(next);
  });

  it.each([
    { name: 'at a run, the run itself', s: daily('03:30'), at: '2026-11-22T02:30:00Z', prev: '2026-11-22T02:30:00.000Z' },
    { name: 'a millisecond before, the day before', s: daily('03:30'), at: '2026-11-22T02:29:59.999Z', prev: '2026-11-21T02:30:00.000Z' },
    { name: 'DST spring day', s: daily('02:30'), at: '2026-03-29T05:00:00Z', prev: '2026-03-29T01:00:00.000Z' },
    { name: 'DST spring, before the transition', s: daily('02:30'), at: '2026-03-29T00:59:59Z', prev: '2026-03-28T01:30:00.000Z' },
    { name: 'DST fall, at the second 02:30: the first one', s: daily('02:30'), at: '2026-10-25T01:30:00Z', prev: '2026-10-25T00:30:00.000Z' },
  ])('previousRun: $name', ({ s, at, prev }) => {
    expect(iso(previousRun(s, ms(at)))).toBe(prev);
  });
});

describe('nextRun / previousRun — weekly (seed 002)', () => {
  it.each([
    { name: 'the coming Monday', s: weekly('monday', '06:00'), after: '2026-11-22T10:00:00Z', next: '2026-11-23T05:00:00.000Z' },
    { name: 'on the day, already past: a week later', s: weekly('sunday', '06:00'), after: '2026-11-22T10:00:00Z', next: '2026-11-29T05:00:00.000Z' },
    { name: 'on the day, still to come', s: weekly('sunday', '12:00'), after: '2026-11-22T10:00:00Z', next: '2026-11-22T11:00:00.000Z' },
    { name: 'Sunday 02:30 on the spring-forward Sunday: 03:00 CEST', s: weekly('sunday', '02:30'), after: '2026-03-23T00:00:00Z', next: '2026-03-29T01:00:00.000Z' },
    { name: 'Sunday 02:30 on the fall-back Sunday: first occurrence', s: weekly('sunday', '02:30'), after: '2026-10-19T00:00:00Z', next: '2026-10-25T00:30:00.000Z' },
  ])('$name', ({ s, after, next }) => {
    expect(iso(nextRun(s, ms(after)))).toBe(next);
  });

  it('previousRun is the last Monday at or before', () => {
    expect(iso(previousRun(weekly('monday', '06:00'), ms('2026-11-22T10:00:00Z')))).toBe('2026-11-16T05:00:00.000Z');
    expect(iso(previousRun(weekly('monday', '06:00'), ms('2026-11-23T05:00:00Z')))).toBe('2026-11-23T05:00:00.000Z');
  });
});

describe('nextRun / previousRun — monthly, "Nth weekday + delay" (seed 002)', () => {
  it.each([
    // seed 002's own example: second Tuesday (Patch Tuesday) + 4 days
    { name: 'second Tuesday + 4: November 2026 (Tue 10 → Sat 14)', s: monthly('second', 'tuesday', 4, '02:00'), after: '2026-11-01T00:00:00Z', next: '2026-11-14T01:00:00.000Z' },
    { name: 'second Tuesday + 4: after November, December (Tue 8 → Sat 12)', s: monthly('second', 'tuesday', 4, '02:00'), after: '2026-11-22T10:00:00Z', next: '2026-12-12T01:00:00.000Z' },
    { name: 'second Tuesday + 4 in summer time (July 2026: Tue 14 → Sat 18)', s: monthly('second', 'tuesday', 4, '02:00'), after: '2026-07-01T00:00:00Z', next: '2026-07-18T00:00:00.000Z' },
    { name: 'first Monday + 0 (Feb 2026: Mon 2)', s: monthly('first', 'monday', 0, '08:00', 'UTC'), after: '2026-01-31T00:00:00Z', next: '2026-02-02T08:00:00.000Z' },
    { name: 'fourth Friday (Jan 2026: Fri 23)', s: monthly('fourth', 'friday', 0, '08:00', 'UTC'), after: '2026-01-01T00:00:00Z', next: '2026-01-23T08:00:00.000Z' },
    { name: 'last Friday + 4 crosses into the next month (Fri 30 Jan → Tue 3 Feb 2026)', s: monthly('last', 'friday', 4, '02:00', 'UTC'), after: '2026-01-20T00:00:00Z', next: '2026-02-03T02:00:00.000Z' },
    { name: 'last Thursday + 1 crosses the year (Thu 31 Dec 2026 → Fri 1 Jan 2027)', s: monthly('last', 'thursday', 1, '02:00', 'UTC'), after: '2026-12-15T00:00:00Z', next: '2027-01-01T02:00:00.000Z' },
    { name: 'delay 31: last Saturday of January (31) + 31 lands on 3 March 2026, past all of February', s: monthly('last', 'saturday', 31, '02:00', 'UTC'), after: '2026-02-15T00:00:00Z', next: '2026-03-03T02:00:00.000Z' },
    { name: 'delay 31 from the first Monday (Mon 6 Apr 2026 → Thu 7 May)', s: monthly('first', 'monday', 31, '02:00', 'UTC'), after: '2026-04-20T00:00:00Z', next: '2026-05-07T02:00:00.000Z' },
    { name: 'last Sunday 02:30: the spring-forward day, 03:00 CEST', s: monthly('last', 'sunday', 0, '02:30'), after: '2026-03-01T00:00:00Z', next: '2026-03-29T01:00:00.000Z' },
    { name: 'last Sunday 02:30: the fall-back day, first occurrence', s: monthly('last', 'sunday', 0, '02:30'), after: '2026-10-01T00:00:00Z', next: '2026-10-25T00:30:00.000Z' },
    { name: 'last Sunday 02:30: runs once on the fall-back day', s: monthly('last', 'sunday', 0, '02:30'), after: '2026-10-25T00:30:00Z', next: '2026-11-29T01:30:00.000Z' },
    { name: 'fourth Thursday + 3 lands on the spring-forward Sunday (Thu 26 → Sun 29 March 2026)', s: monthly('fourth', 'thursday', 3, '02:30'), after: '2026-03-02T00:00:00Z', next: '2026-03-29T01:00:00.000Z' },
  ])('$name', ({ s, after, next }) => {
    expect(iso(nextRun(s, ms(after)))).toBe(next);
  });

  it.each([
    { name: 'second Tuesday + 4: the November run', s: monthly('second', 'tuesday', 4, '02:00'), at: '2026-11-22T10:00:00Z', prev: '2026-11-14T01:00:00.000Z' },
    { name: 'second Tuesday + 4: before November\'s, October\'s (Tue 13 → Sat 17, CEST)', s: monthly('second', 'tuesday', 4, '02:00'), at: '2026-11-13T00:00:00Z', prev: '2026-10-17T00:00:00.000Z' },
    { name: 'delay 31: mid-February, the December run (Sat 27 Dec 2025 + 31 → Tue 27 Jan 2026)', s: monthly('last', 'saturday', 31, '02:00', 'UTC'), at: '2026-02-15T00:00:00Z', prev: '2026-01-27T02:00:00.000Z' },
    { name: 'delay 31: early March, still the December run', s: monthly('last', 'saturday', 31, '02:00', 'UTC'), at: '2026-03-03T01:59:59Z', prev: '2026-01-27T02:00:00.000Z' },
    { name: 'last Friday + 4: early February, the January run', s: monthly('last', 'friday', 4, '02:00', 'UTC'), at: '2026-02-03T02:00:00Z', prev: '2026-02-03T02:00:00.000Z' },
  ])('previousRun: $name', ({ s, at, prev }) => {
    expect(iso(previousRun(s, ms(at)))).toBe(prev);
  });
});

describe('schedule invariants over a whole year, across DST (seed 002)', () => {
  const zones = [PARIS, 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'UTC'];
  const schedules: { name: string; make: (z: string) => Schedule; perYear: [number, number] }[] = [
    { name: 'daily 02:30', make: (z) => daily('02:30', z), perYear: [365, 365] },
    { name: 'daily 00:00', make: (z) => daily('00:00', z), perYear: [365, 365] },
    { name: 'weekly sunday 02:15', make: (z) => weekly('sunday', '02:15', z), perYear: [52, 53] },
    { name: 'monthly last sunday + 0 at 02:30', make: (z) => monthly('last', 'sunday', 0, '02:30', z), perYear: [12, 12] },
    { name: 'monthly second tuesday + 4 at 02:00', make: (z) => monthly('second', 'tuesday', 4, '02:00', z), perYear: [12, 12] },
    { name: 'monthly last saturday + 31 at 23:59', make: (z) => monthly('last', 'saturday', 31, '23:59', z), perYear: [12, 12] },
  ];
  it.each(schedules.flatMap((s) => zones.map((zone) => ({ ...s, zone }))))(
    '$name in $zone: one run per local date, at the time or the first instant after a gap; next/previous agree',
    ({ make, zone, perYear }) => {
      const s = make(zone);
      const [hh, mm] = s.at.split(':').map(Number) as [number, number];
      const start = ms('2026-01-01T00:00:00Z') - 1;
      const end = ms('2027-01-01T00:00:00Z');
      const runs: number[] = [];
      for (let t = nextRun(s, start); t < end; t = nextRun(s, t)) runs.push(t);
      expect(runs.length).toBeGreaterThanOrEqual(perYear[0]);
      expect(runs.length).toBeLessThanOrEqual(perYear[1]);
      const dates = new Set<string>();
      for (const t of runs) {
        const wall = local(t, zone);
        const time = wall.slice(11, 16);
        if (time !== s.at) {
          // a nonexistent local time: the run is the transition, the second before it is earlier on the wall clock
          const before = wallClock(t - 1000, zone);
          const target = Date.UTC(Number(wall.slice(0, 4)), Number(wall.slice(5, 7)) - 1, Number(wall.slice(8, 10)), hh, mm);
          expect(before).toBeLessThan(target);
          expect(wallClock(t, zone)).toBeGreaterThan(target);
        }
        expect(dates.has(wall.slice(0, 10))).toBe(false);
        dates.add(wall.slice(0, 10));
        expect(previousRun(s, t)).toBe(t);
        const prevOfJustBefore = previousRun(s, t - 1);
        expect(prevOfJustBefore).toBeLessThan(t);
        expect(nextRun(s, prevOfJustBefore)).toBe(t);
      }
    },
  );
});

describe('schedule validation and description', () => {
  it.each([
    { name: 'unknown time zone', s: daily('02:30', 'Europe/Atlantis'), problem: 'unknown time zone "Europe/Atlantis"' },
    { name: 'bad time', s: daily('24:00'), problem: '"at" must be a 24-hour time HH:MM, not "24:00"' },
    { name: 'delay over 31', s: monthly('second', 'tuesday', 32, '02:00'), problem: 'delayDays must be an integer from 0 to 31, not 32' },
    { name: 'valid', s: monthly('second', 'tuesday', 4, '02:00'), problem: undefined },
  ])('scheduleProblem: $name', ({ s, problem }) => {
    expect(scheduleProblem(s)).toBe(problem);
  });

  it('an invalid schedule throws from nextRun and previousRun instead of returning nonsense', () => {
    expect(() => nextRun(daily('02:30', 'Nowhere/Land'), 0)).toThrow(/unknown time zone/);
    expect(() => previousRun(daily('2:30'), 0)).toThrow(/HH:MM/);
  });

  it.each([
    { s: daily('03:30'), text: 'daily at 03:30 (Europe/Paris)' },
    { s: weekly('monday', '06:00'), text: 'weekly on monday at 06:00 (Europe/Paris)' },
    { s: monthly('second', 'tuesday', 4, '02:00'), text: 'monthly on the second tuesday + 4 days at 02:00 (Europe/Paris)' },
    { s: monthly('last', 'friday', 1, '02:00'), text: 'monthly on the last friday + 1 day at 02:00 (Europe/Paris)' },
    { s: monthly('first', 'monday', 0, '02:00'), text: 'monthly on the first monday at 02:00 (Europe/Paris)' },
  ])('describeSchedule: $text', ({ s, text }) => {
    expect(describeSchedule(s)).toBe(text);
  });
});
