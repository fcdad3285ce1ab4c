/**
 * When a maintenance window or a freeze is open, when it closes and when it next opens — on the
 * local wall clock of its time zone, daylight saving included (Europe/Paris 2026: clocks jump
 * from 02:00 to 03:00 on 29 March and fall back from 03:00 to 02:00 on 25 October).
 */
import { describe, expect, it } from 'vitest';
import type { TimeWindow } from '../../reconcilers/model/desired.ts';
import { describeWindow, formatLocal, nextOpening, parseDuration, spanAt, viewOf, windowProblem, windowsAt } from '../../reconcilers/governance/time-windows.ts';

const PARIS = 'Europe/Paris';
const at = (isoString: string): number => Date.parse(isoString);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z'));
const nightly = (schedule: string, duration: string, name?: string): TimeWindow => ({ ...(name ? { name } : {}), schedule, duration, timeZone: PARIS });

describe('durations', () => {
  it.each([
    ['30m', 1_800_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['0m', undefined],
    ['4 h', undefined],
    ['1w', undefined],
  ])('%s is %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('a recurring window, local to its time zone', () => {
  it.each([
    // [window, now, open span (opensAt, closesAt) or undefined]
    ['winter: 22:00 CET is 21:00Z, 8h later is 06:00 CET', nightly('0 22 * * *', '8h'), '2026-11-22T22:30:00Z', ['2026-11-22T21:00:00Z', '2026-11-23T05:00:00Z']],
    ['summer: 22:00 CEST is 20:00Z', nightly('0 22 * * *', '8h'), '2026-07-01T21:00:00Z', ['2026-07-01T20:00:00Z', '2026-07-02T04:00:00Z']],
    ['closed in the afternoon', nightly('0 22 * * *', '8h'), '2026-11-22T14:00:00Z', undefined],
    ['the closing instant is outside', nightly('0 22 * * *', '8h'), '2026-11-23T05:00:00Z', undefined],
    ['the opening instant is inside', nightly('0 22 * * *', '8h'), '2026-11-22T21:00:00Z', ['2026-11-22T21:00:00Z', '2026-11-23T05:00:00Z']],
    ['weekdays only: Saturday night is closed', nightly('0 22 * * 1-5', '4h'), '2026-11-21T22:00:00Z', undefined],
    ['a window that started on Friday is still open on Saturday', nightly('0 22 * * 5', '2d'), '2026-11-21T12:00:00Z', ['2026-11-20T21:00:00Z', '2026-11-22T21:00:00Z']],
    // Daylight saving: durations are wall-clock time.
    ['spring forward: 22:00 CET to 06:00 CEST lasts 7 real hours', nightly('0 22 * * *', '8h'), '2026-03-29T03:30:00Z', ['2026-03-28T21:00:00Z', '2026-03-29T04:00:00Z']],
    ['fall back: 22:00 CEST to 06:00 CET lasts 9 real hours', nightly('0 22 * * *', '8h'), '2026-10-25T04:30:00Z', ['2026-10-24T20:00:00Z', '2026-10-25T05:00:00Z']],
    ['an opening in the skipped hour (02:30) opens at the transition (03:00 CEST)', nightly('30 2 * * *', '1h'), '2026-03-29T01:10:00Z', ['2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']],
    ['a window inside the skipped hour is not lost: it lasts its duration from the transition', nightly('10 2 * * *', '30m'), '2026-03-29T01:20:00Z', ['2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']],
    ['an opening in the repeated hour (02:30) opens at its first occurrence (CEST)', nightly('30 2 * * *', '1h'), '2026-10-25T00:45:00Z', ['2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z']],
    ['… and is still open during the second 02:30 (CET), closing at 03:30 CET', nightly('30 2 * * *', '1h'), '2026-10-25T01:45:00Z', ['2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z']],
  ] as const)('%s', (_title, window, now, span) => {
    const s = spanAt(window, at(now));
    expect(s === undefined ? undefined : [iso(s.opensAt), iso(s.closesAt)]).toEqual(span === undefined ? undefined : [...span]);
  });

  it.each([
    ['from Sunday morning, the next weekday opening is Monday 22:00 CET', nightly('0 22 * * 1-5', '4h'), '2026-11-22T10:00:00Z', '2026-11-23T21:00:00Z', 'Mon 2026-11-23 22:00 Europe/Paris'],
    ['while open, the next opening is the one after', nightly('0 22 * * *', '8h'), '2026-11-22T22:00:00Z', '2026-11-23T21:00:00Z', 'Mon 2026-11-23 22:00 Europe/Paris'],
    ['across the spring transition: 22:00 CEST is 20:00Z', nightly('0 22 * * *', '8h'), '2026-03-29T12:00:00Z', '2026-03-29T20:00:00Z', 'Sun 2026-03-29 22:00 Europe/Paris'],
    ['an opening in the skipped hour is the transition itself', nightly('30 2 * * *', '1h'), '2026-03-28T12:00:00Z', '2026-03-29T01:00:00Z', 'Sun 2026-03-29 03:00 Europe/Paris'],
    ['a yearly freeze, months away', nightly('0 0 20 12 *', '15d'), '2026-03-01T00:00:00Z', '2026-12-19T23:00:00Z', 'Sun 2026-12-20 00:00 Europe/Paris'],
  ] as const)('%s', (_title, window, now, opensAt, local) => {
    const next = nextOpening(window, at(now));
    expect(iso(next?.opensAt)).toBe(opensAt);
    expect(formatLocal(next!.opensAt, PARIS)).toBe(local);
  });

  it('a window that never opens (30 February) has no next opening', () => {
    expect(nextOpening(nightly('0 0 30 2 *', '1h'), at('2026-11-22T10:00:00Z'))).toBeUndefined();
  });

  it('agrees with its own list of openings every 13 minutes across both transitions', () => {
    for (const window of [nightly('0 22 * * *', '8h'), nightly('30 2 * * *', '1h'), nightly('*/40 1-3 * * *', '25m'), nightly('0 1 * * 0', '3h')]) {
      for (const [from, to] of [['2026-03-26T00:00:00Z', '2026-04-01T00:00:00Z'], ['2026-10-22T00:00:00Z', '2026-10-28T00:00:00Z']] as const) {
        const openings: { opensAt: number; closesAt: number }[] = [];
        for (let o = nextOpening(window, at(from) - 2 * 86_400_000); o !== undefined && o.opensAt < at(to); o = nextOpening(window, o.opensAt)) openings.push(o);
        for (let t = at(from); t < at(to); t += 13 * 60_000) {
          const latest = openings.filter((o) => o.opensAt <= t).pop();
          const expected = latest !== undefined && t < latest.closesAt ? latest : undefined;
          expect(spanAt(window, t), `${describeWindow(window)} at ${iso(t)}`).toEqual(expected);
        }
      }
    }
  });
});

describe('a fixed window', () => {
  const yearEnd: TimeWindow = { name: 'year-end', from: '2026-12-20T00:00:00+01:00', until: '2027-01-04T00:00:00+01:00' };
  it.each([
    ['2026-12-19T22:59:59Z', undefined],
    ['2026-12-19T23:00:00Z', ['2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z']],
    ['2027-01-03T22:59:59Z', ['2026-12-19T23:00:00Z', '2027-01-03T23:00:00Z']],
    ['2027-01-03T23:00:00Z', undefined],
  ] as const)('at %s: %j', (now, span) => {
    const s = spanAt(yearEnd, at(now));
    expect(s === undefined ? undefined : [iso(s.opensAt), iso(s.closesAt)]).toEqual(span === undefined ? undefined : [...span]);
  });

  it('opens next at its start, and never again once it has passed', () => {
    expect(iso(nextOpening(yearEnd, at('2026-11-22T10:00:00Z'))?.opensAt)).toBe('2026-12-19T23:00:00Z');
    expect(nextOpening(yearEnd, at('2026-12-25T10:00:00Z'))).toBeUndefined();
  });

  it('is described in UTC', () => {
    expect(describeWindow(yearEnd)).toBe('"year-end" (2026-12-19 23:00 UTC to 2027-01-03 23:00 UTC)');
  });
});

describe('a set of windows', () => {
  it('is open while any is, until none is: back-to-back windows are joined', () => {
    const windows = [nightly('0 22 * * *', '2h', 'evening'), nightly('0 0 * * *', '2h', 'night')];
    const state = windowsAt(windows, at('2026-11-22T22:30:00Z'));
    expect(state).toEqual({ open: true, index: 0, opensAt: at('2026-11-22T21:00:00Z'), closesAt: at('2026-11-23T01:00:00Z') });
  });

  it('is closed until the first of them opens next', () => {
    const windows = [nightly('0 22 * * 1-5', '4h', 'weeknights'), { name: 'saturday', schedule: '0 6 * * 6', duration: '6h', timeZone: 'America/New_York' }];
    expect(windowsAt(windows, at('2026-11-21T10:00:00Z'))).toEqual({
      open: false,
      next: { index: 1, opensAt: at('2026-11-21T11:00:00Z'), closesAt: at('2026-11-21T17:00:00Z') },
    });
    expect(windowsAt(windows, at('2026-11-22T10:00:00Z'))).toEqual({
      open: false,
      next: { index: 0, opensAt: at('2026-11-23T21:00:00Z'), closesAt: at('2026-11-24T01:00:00Z') },
    });
  });

  it('has no next opening when every window has passed', () => {
    expect(windowsAt([{ from: '2025-01-01T00:00:00Z', until: '2025-01-02T00:00:00Z' }], at('2026-11-22T10:00:00Z'))).toEqual({ open: false });
  });
});

describe('a window opening and closing, with an injected clock', () => {
  it('closed → opens at its opening → closes at its closing, each instant told in advance', () => {
    const windows = [nightly('0 22 * * 1-5', '4h', 'weeknights')];
    let now = at('2026-11-22T10:00:00Z'); // Sunday
    const closed = windowsAt(windows, now);
    expect(closed.open).toBe(false);
    const opensAt = closed.open ? NaN : closed.next!.opensAt;
    expect(viewOf(windows[0]!, now)).toEqual({
      name: 'weeknights', schedule: '0 22 * * 1-5', duration: '4h', timeZone: PARIS,
      open: false, opensAt: '2026-11-23T21:00:00.000Z', opensAtLocal: 'Mon 2026-11-23 22:00 Europe/Paris',
    });

    now = opensAt - 1;
    expect(windowsAt(windows, now).open).toBe(false);
    now = opensAt;
    const open = windowsAt(windows, now);
    expect(open).toMatchObject({ open: true, closesAt: at('2026-11-24T01:00:00Z') });
    expect(viewOf(windows[0]!, now)).toMatchObject({ open: true, closesAt: '2026-11-24T01:00:00.000Z', closesAtLocal: 'Tue 2026-11-24 02:00 Europe/Paris' });

    now = at('2026-11-24T01:00:00Z') - 1;
    expect(windowsAt(windows, now).open).toBe(true);
    now = at('2026-11-24T01:00:00Z');
    expect(windowsAt(windows, now)).toEqual({ open: false, next: { index: 0, opensAt: at('2026-11-24T21:00:00Z'), closesAt: at('2026-11-25T01:00:00Z') } });
  });
});

describe('windows that cannot be evaluated say why', () => {
  it.each([
    [nightly('0 25 * * *', '1h'), 'cron expression "0 25 * * *": hour "25": 25 is out of range 0-23'],
    [{ schedule: '0 22 * * *', duration: '1h', timeZone: 'Mars/Olympus' }, 'unknown time zone "Mars/Olympus"'],
    [nightly('0 22 * * *', '1 hour'), 'duration "1 hour" is not a duration such as 30m, 4h or 2d'],
    [{ from: 'soon', until: '2027-01-01T00:00:00Z' }, 'from "soon" is not a date-time'],
  ] as const)('%j', (window, problem) => {
    expect(windowProblem(window as TimeWindow)).toBe(problem);
    expect(viewOf(window as TimeWindow, at('2026-11-22T10:00:00Z'))).toMatchObject({ open: false, problem });
  });
});
