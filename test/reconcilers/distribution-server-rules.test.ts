/**
 * Seed 002 (Ivanti distribution servers), one table row per precondition and per state the
 * code must not fail open in: each asserts the commands, the plan's blockers and what status
 * says is missing, and from whom.
 */
import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { SERVER_PRECONDITIONS } from '../../reconcilers/distribution-server/preconditions.ts';
import type { ScheduledSync } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import {
  BEHIND,
  CONSOLE,
  CRED,
  DAILY,
  DAILY_ID,
  DAY,
  DS,
  HOUR,
  HQ,
  MONTHLY,
  NEXT_DAILY,
  NOW,
  TODAY_DAILY,
  iso,
  YESTERDAY,
  details,
  headline,
  idOf,
  reconcile,
  spec,
  startedAt,
  steps,
  syncOf,
  world,
  type World,
} from './distribution-server-fixtures.ts';

const DUE = `sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}`;
const result = (id: string, status: CommandResult['status'], message?: string): CommandResult => ({
  id,
  status,
  at: '2026-11-22T09:45:00.000Z',
  ...(message ? { message } : {}),
});
/** An idle console reporting these results. */
const reporting = (...results: CommandResult[]): Observed =>
  world({ console: { facts: { content: CONSOLE, downloading: false }, results } });
/** A status as it comes back from its file. */
const fromFile = (status: TargetStatus): TargetStatus => JSON.parse(JSON.stringify(status)) as TargetStatus;
const UNKNOWN_CREDENTIAL = `credential for ${DS} not known usable: ` +
  `no credential "${CRED}" reported by the controller credential store`;

interface Row {
  readonly rule: string;
  readonly w: World;
  readonly phase: string;
  readonly reason: string;
  readonly message: string;
}

describe('seed 002 — a due sync is held, and status says why, when a precondition is not known to hold', () => {
  const rows: Row[] = [
    {
      rule: 'the credential the console uses for the server is unusable: Blocked',
      w: { credential: { ref: CRED, usable: false, reason: 'password expired on 2026-11-15' } },
      phase: 'Blocked',
      reason: 'CredentialUnavailable',
      message: `credential "${CRED}" for ${DS} cannot be used: password expired on 2026-11-15`,
    },
    {
      rule: 'the credential store reports nothing for the credential: unknown, not usable',
      w: { credential: null },
      phase: 'Waiting',
      reason: 'CredentialUnknown',
      message: UNKNOWN_CREDENTIAL,
    },
    {
      rule: 'no credential checks at all (a snapshot without them): unknown, not usable',
      w: { credential: 'no-map' },
      phase: 'Waiting',
      reason: 'CredentialUnknown',
      message: UNKNOWN_CREDENTIAL,
    },
    {
      rule: 'a sync that falls while the console is downloading waits for the download',
      w: { console: { facts: { content: CONSOLE, downloading: true } } },
      phase: 'Waiting',
      reason: 'WaitingForDownload',
      message:
        `daily-definitions due, waiting: console ${HQ} is downloading new content; ` +
        'the sync runs once the download is done',
    },
    {
      rule: 'a console that does not report its download state is not taken as idle',
      w: { console: { facts: { content: CONSOLE } } },
      phase: 'Waiting',
      reason: 'ObservationMissing',
      message: `daily-definitions due, waiting: no download state reported by ${HQ}`,
    },
    {
      rule: 'a console that does not report what it downloaded has nothing known to copy',
      w: { console: { facts: { downloading: false } } },
      phase: 'Waiting',
      reason: 'ObservationMissing',
      message: `daily-definitions due, waiting: no content reported by ${HQ}`,
    },
    {
      rule: 'a console that never reported is neither idle nor known to hold content',
      w: { console: null },
      phase: 'Waiting',
      reason: 'ConsoleNotReporting',
      message: `daily-definitions due, waiting: console ${HQ} has never reported`,
    },
    {
      rule: 'an offline console cannot copy',
      w: { console: { online: false, facts: { content: CONSOLE, downloading: false } } },
      phase: 'Waiting',
      reason: 'ConsoleNotReporting',
      message: `daily-definitions due, waiting: console ${HQ} is offline`,
    },
    {
      rule: 'a server that reports no content: what it lacks is not known',
      w: { server: { facts: {} } },
      phase: 'Waiting',
      reason: 'ObservationMissing',
      message: `daily-definitions due, waiting: no content reported by ${DS}`,
    },
    {
      rule: 'a server that never reported: what it lacks is not known',
      w: { server: null },
      phase: 'Waiting',
      reason: 'ServerNotReporting',
      message:
        `daily-definitions due, waiting: server ${DS} (agent ${DS}) has never reported: ` + 'its content is not known',
    },
    {
      rule: 'an offline server: its last inventory may be stale',
      w: { server: { online: false, facts: { content: BEHIND } } },
      phase: 'Waiting',
      reason: 'ServerNotReporting',
      message: `daily-definitions due, waiting: server ${DS} (agent ${DS}) is offline: its content is not known`,
    },
  ];

  it.each(rows)('$rule (seed 002)', ({ w, phase, reason, message }) => {
    const r = reconcile(spec(), world(w), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(steps(r)).toEqual([`${DUE}: ${reason}`]);
    expect(r.plan[0]!.blockedBy?.message).toContain(message.replace(/^daily-definitions due, waiting: /, ''));
    expect(r.status.phase).toBe(phase);
    expect(headline(r)).toMatchObject({ reason, message });
    expect(syncOf(r, 'daily-definitions').state).toBe('Waiting');
    expect(r.status.members[0]!.state).toBe('Waiting');
  });

  it('each target-wide precondition names what it reads; status lists those a due sync checked (seed 002)', () => {
    for (const p of SERVER_PRECONDITIONS) expect(p.reads.length, p.name).toBeGreaterThan(0);
    const r = reconcile(spec(), world(), { previous: YESTERDAY() });
    const names = SERVER_PRECONDITIONS.map((p) => p.name);
    expect(details(r).preconditions?.map((c) => c.name)).toEqual(names);
    expect(details(r).preconditions?.every((c) => c.status === 'satisfied')).toBe(true);
  });

  it('every row clears once the fact is reported: the held run is the same run, same id (seed 002)', () => {
    for (const row of rows) {
      const held = reconcile(spec(), world(row.w), { previous: YESTERDAY() });
      const r = reconcile(spec(), world(), { previous: fromFile(held.status), now: NOW + 60_000 });
      expect(r.commands.map((c) => c.id), row.rule).toEqual([DAILY_ID]);
    }
  });

  it('a console that does not report its download state is not idle, even for a runNow (seed 002)', () => {
    const silent = world({ console: { facts: { content: CONSOLE } } });
    const r = reconcile(spec({ syncs: [{ ...MONTHLY, runNow: 'now' }] }), silent);
    expect(r.commands).toEqual([]);
    expect(steps(r)).toEqual([`sync ${DS} monthly-patches@runNow now: ObservationMissing`]);
    expect(details(r).preconditions).toContainEqual({
      name: 'console-ready',
      status: 'unknown',
      message: `no download state reported by ${HQ}`,
    });
  });
});

describe('seed 002 — ownership and download source', () => {
  it('only the owning console runs a schedule: another\'s, due and with a runNow, never runs (seed 002)', () => {
    const berlin: ScheduledSync = { ...DAILY, console: 'console-berlin', runNow: 'please' };
    const s = spec({ syncs: [berlin] });
    const r = reconcile(s, world(), { previous: startedAt(NOW - DAY, s) });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(syncOf(r, 'daily-definitions')).toMatchObject({ state: 'NotOwned', owned: false });
    const message = `no sync of ${DS} is owned by console ${HQ}; 1 sync of other consoles reported only`;
    expect(headline(r).message).toBe(message);
  });

  it('without a console identity nothing runs, and status says it is missing (seed 002)', () => {
    const s = spec({ syncs: [{ ...DAILY, runNow: 'x' }] });
    const r = reconcile(s, world(), { consoleId: null, previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    const none = `it runs none of the 1 sync of ${DS}, only reports them`;
    const message = `this controller has no console identity (--console-id): ${none}`;
    expect(headline(r)).toMatchObject({ reason: 'NoConsoleIdentity', message });
    const identity = expect.objectContaining({ name: 'console-identity', status: 'unknown' });
    expect(details(r).preconditions).toContainEqual(identity);
  });

  it('a server that is the console\'s own download source is not a sync destination: Blocked (seed 002)', () => {
    const r = reconcile(spec({ downloadSourceFor: [HQ] }), world(), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(steps(r)).toEqual([`${DUE}: DownloadSourceDestination`]);
    expect(headline(r)).toMatchObject({
      reason: 'DownloadSourceDestination',
      message: `${DS} is the download source of console ${HQ}: it cannot be a sync destination of that console`,
    });
    expect(r.status.phase).toBe('Blocked');
  });

  it('the download source of another console is a valid destination (seed 002)', () => {
    const r = reconcile(spec({ downloadSourceFor: ['console-berlin'] }), world(), { previous: YESTERDAY() });
    expect(r.commands.map((c) => c.id)).toEqual([DAILY_ID]);
  });
});

describe('seed 002 — schedules', () => {
  it('a schedule with no time zone is invalid, never read in the host\'s zone: Blocked (seed 002)', () => {
    const broken = { ...DAILY, schedule: { frequency: 'daily', at: '03:30' } } as unknown as ScheduledSync;
    const r = reconcile(spec({ syncs: [broken] }), world(), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    const message = 'sync daily-definitions has an invalid schedule: no time zone';
    expect(headline(r)).toMatchObject({ reason: 'InvalidSchedule', message });
  });

  it('a monthly delay beyond 31 days is invalid (seed 002: "de 31 jours maximum")', () => {
    const schedule = { ...MONTHLY.schedule, delayDays: 32 } as ScheduledSync['schedule'];
    const broken: ScheduledSync = { ...MONTHLY, schedule, runNow: 'go' };
    const r = reconcile(spec({ syncs: [broken] }), world());
    expect(r.commands).toEqual([]);
    expect(headline(r)).toMatchObject({
      reason: 'InvalidSchedule',
      message: 'sync monthly-patches has an invalid schedule: delayDays must be an integer from 0 to 31, not 32',
    });
  });
});

describe('seed 002 — no earlier status, or one from elsewhere: nothing unsafe, nothing twice', () => {
  it('no earlier status: a missed scheduled run is not replayed (seed 002)', () => {
    const r = reconcile(spec(), world());
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.phase).toBe('Converged');
  });

  it('no earlier status: a runNow runs, under the same id as before (harmless: missing files only) (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const r = reconcile(s, world());
    expect(r.commands.map((c) => c.id)).toEqual([idOf('monthly-patches', 'runNow r1')]);
    expect(r.commands[0]!.params!['files']).toEqual([{ path: 'patches/kb5046613.msu', sha256: '4'.repeat(64) }]);
  });

  it('no earlier status: the console\'s failed result for that id is taken, nothing re-sent (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const obs = reporting(result(idOf('monthly-patches', 'runNow r1'), 'failed', 'access denied'));
    const r = reconcile(s, obs);
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.phase).toBe('Failed');
    const message = `sync monthly-patches (runNow r1) failed on console ${HQ}: access denied`;
    expect(headline(r)).toMatchObject({ reason: 'SyncFailed', message });
  });

  it('no earlier status: the console\'s succeeded result for that id is taken, nothing re-sent (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const obs = reporting(result(idOf('monthly-patches', 'runNow r1'), 'succeeded'));
    const r = reconcile(s, obs);
    expect(r.commands).toEqual([]);
    expect(syncOf(r, 'monthly-patches')).toMatchObject({ lastRunNow: 'r1', state: 'Scheduled' });
  });

  it('a status from a revision with another schedule: the sync starts again, no replay (seed 002)', () => {
    const other = spec({ syncs: [MONTHLY, { ...DAILY, schedule: { ...DAILY.schedule, at: '01:00' } }] });
    const r = reconcile(spec(), world(), { previous: startedAt(NOW - DAY, other) });
    expect(r.commands).toEqual([]);
  });

  it('a failure stays once the console forgets it; its runNow removed and put back is not re-sent (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const id = idOf('monthly-patches', 'runNow r1');
    let previous: TargetStatus = reconcile(s, world(), { now: NOW }).status;
    const failedObs = reporting(result(id, 'failed', 'disk full'));
    const passes: [ReturnType<typeof spec>, Observed][] = [
      [s, failedObs],
      [s, world()], // the console forgot the result
      [spec({ syncs: [MONTHLY] }), world()], // runNow removed
      [s, world()], // and put back
    ];
    const out = passes.map(([sp, obs], i) => {
      const r = reconcile(sp, obs, { previous, now: NOW + (i + 1) * HOUR });
      previous = JSON.parse(JSON.stringify(r.status)) as TargetStatus;
      return r;
    });
    for (const r of out) {
      expect(r.commands).toEqual([]);
      expect(r.status.phase).toBe('Failed');
      expect(headline(r).message).toBe(`sync monthly-patches (runNow r1) failed on console ${HQ}: disk full`);
    }
  });

  it.each([
    { name: 'a revision that moves the sync to another console and back', between: { s: 'berlin', consoleId: HQ } },
    { name: 'a pass of a controller with no --console-id', between: { s: 'same', consoleId: null } },
    { name: 'a pass of the other console', between: { s: 'same', consoleId: 'console-berlin' } },
  ] as const)('$name neither forgets a failure nor re-runs its runNow (seed 002)', ({ between }) => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const moved = spec({ syncs: [{ ...MONTHLY, console: 'console-berlin', runNow: 'r1' }] });
    const id = idOf('monthly-patches', 'runNow r1');
    const failedObs = reporting(result(id, 'failed', 'disk full'));
    const failed = reconcile(s, failedObs, { previous: reconcile(s, world()).status, now: NOW + HOUR });
    expect(failed.status.phase).toBe('Failed');
    const opts = { previous: failed.status, now: NOW + 2 * HOUR, consoleId: between.consoleId };
    const via = reconcile(between.s === 'berlin' ? moved : s, world(), opts);
    expect(via.commands).toEqual([]);
    const carried = { lastRunNow: 'r1', failed: { key: 'runNow r1', message: 'disk full' }, memoryOf: HQ };
    expect(syncOf(via, 'monthly-patches')).toMatchObject(carried);
    // back at console-hq, the console has forgotten the result
    const back = reconcile(s, world(), { previous: fromFile(via.status), now: NOW + 3 * HOUR });
    expect(back.commands).toEqual([]);
    expect(back.status.phase).toBe('Failed');
    expect(headline(back).message).toBe(`sync monthly-patches (runNow r1) failed on console ${HQ}: disk full`);
  });

  it('a run that fails after a newer run became due is settled by its own id, and never re-sent (seed 002)', () => {
    const s = spec({ syncs: [MONTHLY, { ...DAILY, runNow: 'r1' }] });
    const runNowId = idOf('daily-definitions', 'runNow r1');
    const sent = reconcile(s, world(), { previous: startedAt(NOW - HOUR, spec()) });
    expect(sent.commands.map((c) => c.id)).toEqual([runNowId]);
    // the next daily run is due, the console downloads, and reports the runNow failed
    const failed = [result(runNowId, 'failed', 'disk full')];
    const downloading = { facts: { content: CONSOLE, downloading: true }, results: failed };
    const held = reconcile(s, world({ console: downloading }), { previous: fromFile(sent.status), now: NEXT_DAILY });
    expect(held.commands).toEqual([]);
    expect(steps(held)).toEqual([`sync ${DS} daily-definitions@scheduled ${iso(NEXT_DAILY)}: WaitingForDownload`]);
    expect(syncOf(held, 'daily-definitions')).toMatchObject({ lastRunNow: 'r1' });
    // the schedule moves (the daily run is no longer due) and the console forgot the result
    const moved = spec({ syncs: [MONTHLY, { ...DAILY, runNow: 'r1', schedule: { ...DAILY.schedule, at: '03:45' } }] });
    const after = reconcile(moved, world(), { previous: fromFile(held.status), now: NEXT_DAILY + 60_000 });
    expect(after.commands).toEqual([]);
    expect(after.status.phase).toBe('Failed');
    expect(headline(after).message).toBe(`sync daily-definitions (runNow r1) failed on console ${HQ}: disk full`);
  });

  it('a run that fails while no console decides (no --console-id) is settled, never re-sent (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }] });
    const id = idOf('monthly-patches', 'runNow r1');
    const sent = reconcile(s, world());
    expect(sent.commands.map((c) => c.id)).toEqual([id]);
    const blind = reconcile(s, reporting(result(id, 'failed', 'disk full')), {
      previous: fromFile(sent.status),
      now: NOW + 60_000,
      consoleId: null,
    });
    expect(blind.commands).toEqual([]);
    const carried = { failed: { key: 'runNow r1', message: 'disk full' }, memoryOf: HQ };
    expect(syncOf(blind, 'monthly-patches')).toMatchObject(carried);
    // console-hq decides again; its console forgot the result
    const back = reconcile(s, world(), { previous: fromFile(blind.status), now: NOW + 120_000 });
    expect(back.commands).toEqual([]);
    expect(back.status.phase).toBe('Failed');
  });
});
