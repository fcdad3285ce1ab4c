import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import {
  DISTRIBUTION_SERVER_REQUEUE,
  DISTRIBUTION_SERVER_STEPS,
  reconcileDistributionServer,
  type DistributionServerDetails,
  type SyncDetail,
} from '../../reconcilers/distribution-server/reconcile.ts';
import type { DistributionServer, DistributionServerSpec, ScheduledSync } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ContentFile, ContentInventory } from '../../protocol/content.ts';
import type { CredentialCheck, Observed } from '../../reconcilers/observed.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import { DesiredStateLoader } from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { locateRepository } from '../../controller/git/repository.ts';
import { EXAMPLE_REPO } from '../helpers/git-repo.ts';
import { NOW, desired, input, observed, type AgentSpec } from '../helpers/observed.ts';

// ------------------------------------------------------------------ fixtures
//
// NOW is Sunday 2026-11-22T10:00Z (11:00 in Paris, CET). The Paris server's schedules (as in
// example-repo/distribution-servers/ds-paris.yaml):
//   monthly-patches    second Tuesday + 4 days at 02:00 Paris: last run Sat 14 Nov 01:00Z, next Sat 12 Dec 01:00Z
//   daily-definitions  03:30 Paris: last run 22 Nov 02:30Z, next 23 Nov 02:30Z

const T = 'distributionserver/ds-paris';
const DS = 'ds-paris';
const HQ = 'console-hq';
const BERLIN = 'console-berlin';
const CRED = 'ivanti-ds-paris';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (t: number): string => new Date(t).toISOString();

const TODAY_DAILY = '2026-11-22T02:30:00.000Z';
const NEXT_DAILY = Date.parse('2026-11-23T02:30:00Z');
const LAST_MONTHLY = '2026-11-14T01:00:00.000Z';

const file = (path: string, digit: string): ContentFile => ({ path, sha256: digit.repeat(64) });

/** What console-hq downloaded. */
const CONSOLE: ContentInventory = {
  'engines-definitions': [file('engines/av-engine-5.2.dll', '1'), file('definitions/defs-2026-11-22.dat', '2')],
  patches: [file('patches/kb5046617.msu', '3'), file('patches/kb5046613.msu', '4'), file('patches/office-kb5002651.cab', '5')],
};
/** The same content on the server: nothing to copy. */
const UP_TO_DATE: ContentInventory = CONSOLE;
/** The server lacks the office patch, holds an older kb5046613 and yesterday's definitions. */
const BEHIND: ContentInventory = {
  'engines-definitions': [file('engines/av-engine-5.2.dll', '1'), file('definitions/defs-2026-11-22.dat', '9')],
  patches: [file('patches/kb5046617.msu', '3'), file('patches/kb5046613.msu', '8'), file('patches/local-only.txt', '7')],
};

const MONTHLY: ScheduledSync = {
  name: 'monthly-patches',
  content: 'patches',
  console: HQ,
  schedule: { frequency: 'monthly', week: 'second', weekday: 'tuesday', delayDays: 4, at: '02:00', timeZone: 'Europe/Paris' },
};
const DAILY: ScheduledSync = {
  name: 'daily-definitions',
  content: 'engines-definitions',
  console: HQ,
  schedule: { frequency: 'daily', at: '03:30', timeZone: 'Europe/Paris' },
};

function spec(over: Partial<DistributionServerSpec> = {}): DistributionServerSpec {
  return { address: '\\\\ds-paris.corp.example\\SecurityControls', credentialRef: CRED, downloadSourceFor: [], syncs: [MONTHLY, DAILY], ...over };
}

interface World {
  /** console-hq's report; null: it never reported. */
  readonly console?: AgentSpec | null;
  /** ds-paris's report; null: it never reported. */
  readonly server?: AgentSpec | null;
  readonly credential?: CredentialCheck | null;
  readonly extra?: Record<string, AgentSpec>;
}

function world(w: World = {}): Observed {
  const agents: Record<string, AgentSpec> = { ...w.extra };
  const c = w.console === undefined ? { facts: { content: CONSOLE, downloading: false } } : w.console;
  const s = w.server === undefined ? { facts: { content: BEHIND } } : w.server;
  if (c !== null) agents[HQ] = c;
  if (s !== null) agents[DS] = s;
  const cred = w.credential === undefined ? { ref: CRED, usable: true } : w.credential;
  return { ...observed(agents), credentials: new Map(cred === null ? [] : [[cred.ref, cred]]) };
}

interface Opts {
  readonly previous?: TargetStatus;
  readonly now?: number;
  /** Console identity; null: none. */
  readonly consoleId?: string | null;
}

function reconcile(s: DistributionServerSpec, obs: Observed, o: Opts = {}): ReconcileResult {
  const inp = input(desired('DistributionServer', DS, s), []);
  const consoleId = o.consoleId === undefined ? HQ : o.consoleId;
  return reconcileDistributionServer(consoleId === null ? inp : { ...inp, consoleId }, obs, o.previous, o.now ?? NOW);
}

/** The status of a pass at `at` with no previous status: the memory a controller started then would hold. */
const startedAt = (at: number, s: DistributionServerSpec = spec(), obs: Observed = world()): TargetStatus => reconcile(s, obs, { now: at }).status;
/** Yesterday's status: today's 02:30Z daily run is due at NOW. */
const YESTERDAY = (): TargetStatus => startedAt(NOW - DAY);

const details = (r: ReconcileResult): DistributionServerDetails => r.status.details as unknown as DistributionServerDetails;
const sync = (r: ReconcileResult, name: string): SyncDetail => details(r).syncs.find((s) => s.name === name)!;
const condition = (r: ReconcileResult, type: string) => r.status.conditions.find((c) => c.type === type)!;
const steps = (r: ReconcileResult): string[] => r.plan.map((p) => `${p.action} ${p.member} ${p.version}: ${p.runnable ? 'runnable' : p.blockedBy?.reason}`);
const idOf = (syncName: string, key: string): string => commandId(T, DS, 'sync', `${syncName}@${key}`);
const DAILY_ID = idOf('daily-definitions', `scheduled ${TODAY_DAILY}`);
const result = (id: string, status: CommandResult['status'], message?: string): CommandResult => ({ id, status, at: '2026-11-22T09:45:00.000Z', ...(message ? { message } : {}) });
const consoleWith = (over: Partial<AgentSpec> = {}, facts: Partial<NonNullable<AgentSpec['facts']>> = {}): AgentSpec => ({ facts: { content: CONSOLE, downloading: false, ...facts }, ...over });

/** Passes one after the other, each given the previous one's status (through JSON, as a status file would). */
function chain(passes: readonly { obs: Observed; now: number; s?: DistributionServerSpec }[], start?: TargetStatus): ReconcileResult[] {
  const out: ReconcileResult[] = [];
  let previous = start;
  for (const p of passes) {
    const r = reconcile(p.s ?? spec(), p.obs, { now: p.now, ...(previous ? { previous } : {}) });
    out.push(r);
    previous = JSON.parse(JSON.stringify(r.status)) as TargetStatus;
  }
  return out;
}

// ------------------------------------------------------------------ shape

describe('reconcileDistributionServer — shape (seed 002)', () => {
  it('runs its named steps in order', () => {
    expect(DISTRIBUTION_SERVER_STEPS).toEqual(['reconcileCredential', 'reconcileOwnership', 'reconcileSchedules', 'reconcileContent', 'reconcileSyncs', 'reconcileReport']);
  });

  it('reports one member, the server itself, with the content sets it receives', () => {
    const r = reconcile(spec(), world());
    expect(r.status.members).toEqual([
      {
        name: DS,
        agent: DS,
        role: 'distribution-server',
        desired: 'engines-definitions + patches',
        observed: '3 files missing or outdated',
        state: 'Updated',
        message: r.status.conditions[0]!.message,
      },
    ]);
    expect(r.status.target).toBe(T);
    expect(r.status.observedRevision).toBe('c0ffee0000000000000000000000000000000000');
  });

  it('the server agent defaults to the server name and can be named (`spec.agent`)', () => {
    const r = reconcile(spec({ agent: 'ds-paris-agent' }), world({ server: null, extra: { 'ds-paris-agent': { facts: { content: UP_TO_DATE } } } }));
    expect(r.status.members[0]!.agent).toBe('ds-paris-agent');
    expect(r.status.summary).toBe('2 syncs, 0 files missing or outdated');
  });
});

// ------------------------------------------------------------------ rule 1: credential

describe('rule 1 — the credential the console uses for the server must resolve (seed 002)', () => {
  it.each([
    { name: 'unusable, with the store\'s reason', credential: { ref: CRED, usable: false, reason: 'password expired on 2026-11-15' }, why: 'password expired on 2026-11-15' },
    { name: 'unusable, no reason given', credential: { ref: CRED, usable: false }, why: 'not usable' },
  ])('a credential $name blocks the server with CredentialUnavailable and sends nothing (seed 002)', ({ credential, why }) => {
    const r = reconcile(spec(), world({ credential }), { previous: YESTERDAY() });
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'CredentialUnavailable', message: `credential "${CRED}" for ${DS} cannot be used: ${why}` });
    expect(condition(r, 'Ready').status).toBe('False');
    expect(r.commands).toEqual([]);
    // the due daily sync is still in the plan, held by the credential
    expect(steps(r)).toEqual([`sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}: CredentialUnavailable`]);
    expect(sync(r, 'daily-definitions')).toMatchObject({ state: 'Waiting', handledThrough: iso(Date.parse(TODAY_DAILY) - DAY) });
    expect(r.status.members[0]!.state).toBe('Waiting');
    expect(r.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.credential);
  });

  it.each([
    { name: 'a credential the store does not report', obs: (): Observed => world({ credential: null }) },
    { name: 'no `credentials` map at all (nothing resolved)', obs: (): Observed => ({ agents: world().agents, artifacts: world().artifacts }) },
  ])('$name is unknown, not usable: Waiting, CredentialUnknown, nothing sent (seed 002)', ({ obs }) => {
    const r = reconcile(spec(), obs(), { previous: YESTERDAY() });
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'CredentialUnknown',
      message: `credential for ${DS} not known usable: no credential "${CRED}" reported by the controller credential store`,
    });
    expect(r.commands).toEqual([]);
    expect(steps(r)).toEqual([`sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}: CredentialUnknown`]);
    expect(r.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.credential);
  });

  it('a due sync held by a credential runs once the credential is fixed (seed 002)', () => {
    const [held, fixed] = chain([{ obs: world({ credential: null }), now: NOW }, { obs: world(), now: NOW + 60_000 }], YESTERDAY());
    expect(held!.commands).toEqual([]);
    expect(fixed!.commands.map((c) => c.id)).toEqual([DAILY_ID]);
  });
});

// ------------------------------------------------------------------ rule 2: ownership

describe('rule 2 — only the owning console runs a schedule (seed 002)', () => {
  const berlinDaily: ScheduledSync = { ...DAILY, name: 'berlin-daily', console: BERLIN, runNow: 'please' };

  it('a schedule of another console is reported as such and never runs, even due and with a runNow (seed 002)', () => {
    const s = spec({ syncs: [berlinDaily] });
    const r = reconcile(s, world(), { previous: startedAt(NOW - DAY, s) });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(sync(r, 'berlin-daily')).toEqual({
      name: 'berlin-daily',
      content: 'engines-definitions',
      owner: BERLIN,
      owned: false,
      schedule: 'daily at 03:30 (Europe/Paris)',
      state: 'NotOwned',
      message: 'owned by console console-berlin: reported here, run only by its owner (another console may only delete it)',
      nextRun: iso(NEXT_DAILY),
    });
    expect(r.status.phase).toBe('Converged');
    expect(condition(r, 'Ready').message).toBe(`no sync of ${DS} is owned by console ${HQ}; 1 sync of other consoles reported only`);
    // nothing owned: nothing to wake up for
    expect(r.requeueAfter).toBeUndefined();
  });

  it('next to an owned schedule, only the owned one runs and sets the requeue (seed 002)', () => {
    const s = spec({ syncs: [{ ...berlinDaily, schedule: { frequency: 'daily', at: '01:00', timeZone: 'UTC' } }, DAILY] });
    const r = reconcile(s, world(), { previous: startedAt(NOW - DAY, s) });
    expect(r.commands.map((c) => c.params?.['sync'])).toEqual(['daily-definitions']);
    expect(r.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.syncing);
    const quiet = reconcile(s, world(), { previous: startedAt(NOW, s), now: NOW + 1 });
    expect(quiet.requeueAfter).toBe(NEXT_DAILY - NOW - 1); // Berlin's 01:00Z tomorrow is sooner, but not ours
  });

  it('the same schedule runs on its owner: console-berlin runs berlin-daily (seed 002)', () => {
    const s = spec({ syncs: [berlinDaily] });
    const obs = world({ extra: { [BERLIN]: consoleWith() } });
    const r = reconcile(s, obs, { consoleId: BERLIN });
    expect(r.commands.map((c) => [c.agent, c.params?.['sync']])).toEqual([[BERLIN, 'berlin-daily']]);
  });

  it('a controller with no console identity runs nothing and says so: Waiting, NoConsoleIdentity (seed 002)', () => {
    const r = reconcile(spec({ syncs: [{ ...DAILY, runNow: 'x' }, MONTHLY] }), world(), { consoleId: null });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'NoConsoleIdentity' });
    expect(condition(r, 'Reconciling').message).toBe(`this controller has no console identity (--console-id): it runs none of the 2 syncs of ${DS}, only reports them`);
    expect(r.requeueAfter).toBeUndefined();
    expect(details(r).console).toBeNull();
    expect(details(r).syncs.map((s) => [s.state, s.owned])).toEqual([
      ['NotOwned', false],
      ['NotOwned', false],
    ]);
    // the file status report is still made, against the owner's downloads
    expect(r.status.summary).toBe('2 syncs, 3 files missing or outdated');
  });

  it('a server that is this console\'s own download source is never its sync destination: Blocked (seed 002)', () => {
    const r = reconcile(spec({ downloadSourceFor: [HQ] }), world(), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled')).toMatchObject({ reason: 'DownloadSourceDestination', message: `${DS} is the download source of console ${HQ}: it cannot be a sync destination of that console` });
  });
});

// ------------------------------------------------------------------ rule 3: schedules

describe('rule 3 — schedules: next run, requeue, no replay of missed history (seed 002)', () => {
  it('each sync reports its schedule and next run; the requeue is the soonest next run (seed 002)', () => {
    const r = reconcile(spec(), world());
    expect(details(r).syncs.map((s) => [s.name, s.schedule, s.nextRun])).toEqual([
      ['monthly-patches', 'monthly on the second tuesday + 4 days at 02:00 (Europe/Paris)', '2026-12-12T01:00:00.000Z'],
      ['daily-definitions', 'daily at 03:30 (Europe/Paris)', iso(NEXT_DAILY)],
    ]);
    expect(r.requeueAfter).toBe(NEXT_DAILY - NOW);
  });

  it('a first pass does not fire missed runs: it starts at the last scheduled run and waits for the next (seed 002)', () => {
    const r = reconcile(spec(), world());
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Converged');
    expect(details(r).syncs.map((s) => [s.name, s.state, s.handledThrough, s.lastRun])).toEqual([
      ['monthly-patches', 'Scheduled', LAST_MONTHLY, undefined],
      ['daily-definitions', 'Scheduled', TODAY_DAILY, undefined],
    ]);
  });

  it('once the scheduled time passes, the sync runs (seed 002)', () => {
    const before = startedAt(Date.parse(TODAY_DAILY) - 1);
    const r = reconcile(spec(), world(), { previous: before, now: Date.parse(TODAY_DAILY) });
    expect(r.commands.map((c) => c.id)).toEqual([DAILY_ID]);
  });

  it('a changed schedule starts again from its own last run rather than replaying (seed 002)', () => {
    const moved: ScheduledSync = { ...DAILY, schedule: { ...DAILY.schedule, at: '09:00' } }; // 08:00Z today, after yesterday's memory
    const r = reconcile(spec({ syncs: [moved] }), world(), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(sync(r, 'daily-definitions').handledThrough).toBe('2026-11-22T08:00:00.000Z');
  });

  it('an owned sync with an invalid schedule is Blocked (InvalidSchedule); the others still run (seed 002)', () => {
    const broken: ScheduledSync = { ...MONTHLY, schedule: { ...MONTHLY.schedule, timeZone: 'Europe/Atlantis' } };
    const r = reconcile(spec({ syncs: [broken, DAILY] }), world(), { previous: YESTERDAY() });
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled')).toMatchObject({ reason: 'InvalidSchedule', message: 'sync monthly-patches has an invalid schedule: unknown time zone "Europe/Atlantis"' });
    expect(sync(r, 'monthly-patches').state).toBe('InvalidSchedule');
    expect(r.commands.map((c) => c.id)).toEqual([DAILY_ID]);
  });
});

// ------------------------------------------------------------------ rule 4: due, runNow

describe('rule 4 — a sync is due when a scheduled run passed since its last run, or on a new runNow (seed 002)', () => {
  it('the scheduled run after the recorded one is due: one sync command (seed 002)', () => {
    const r = reconcile(spec(), world(), { previous: YESTERDAY() });
    expect(r.commands.map((c) => c.id)).toEqual([DAILY_ID]);
    expect(steps(r)).toEqual([`sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}: runnable`]);
    expect(sync(r, 'daily-definitions').run).toEqual({ key: `scheduled ${TODAY_DAILY}`, command: DAILY_ID, files: 1 });
    expect(sync(r, 'monthly-patches').state).toBe('Scheduled');
  });

  it('several missed scheduled runs make one run, of the latest (seed 002)', () => {
    const r = reconcile(spec(), world(), { previous: startedAt(NOW - 3 * DAY) });
    expect(r.commands.map((c) => c.id)).toEqual([DAILY_ID]);
  });

  it.each([
    { name: 'a runNow seen for the first time runs (it is an explicit request)', previousRunNow: undefined, runNow: 'r1', runs: true },
    { name: 'the runNow value already run does not run again', previousRunNow: 'r1', runs: false },
    { name: 'a new runNow value runs', previousRunNow: 'r1', runNow: 'r2', runs: true },
    { name: 'removing runNow runs nothing', previousRunNow: 'r1', runNow: undefined, runs: false },
  ])('$name (seed 002)', ({ previousRunNow, runNow = 'r1', runs }) => {
    const withRunNow = (v: string | undefined): DistributionServerSpec => spec({ syncs: [{ ...MONTHLY, ...(v !== undefined ? { runNow: v } : {}) }] });
    // a previous pass that ran `previousRunNow` (nothing to copy: recorded at once)
    const previous = previousRunNow === undefined ? startedAt(NOW - HOUR, spec({ syncs: [MONTHLY] })) : reconcile(withRunNow(previousRunNow), world({ server: { facts: { content: UP_TO_DATE } } }), { now: NOW - HOUR }).status;
    if (previousRunNow !== undefined) expect(details({ status: previous } as ReconcileResult).syncs[0]!.lastRunNow).toBe(previousRunNow);
    const r = reconcile(withRunNow(runNow), world(), { previous });
    expect(r.commands.map((c) => c.version)).toEqual(runs ? [`monthly-patches@runNow ${runNow}`] : []);
  });

  it('runNow runs once per value: sent, succeeded, recorded, not run again (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: '2026-11-22T09:50:00Z' }] });
    const id = idOf('monthly-patches', 'runNow 2026-11-22T09:50:00Z');
    const [sent, again, done, after] = chain([
      { obs: world(), now: NOW, s },
      { obs: world(), now: NOW + 60_000, s },
      { obs: world({ console: consoleWith({ results: [result(id, 'succeeded')] }) }), now: NOW + 120_000, s },
      { obs: world(), now: NOW + 180_000, s },
    ]);
    expect(sent!.commands.map((c) => c.id)).toEqual([id]);
    expect(again!.commands.map((c) => c.id)).toEqual([id]); // re-sent within the run: same id, harmless
    expect(done!.commands).toEqual([]);
    expect(sync(done!, 'monthly-patches')).toMatchObject({ lastRunNow: '2026-11-22T09:50:00Z', lastRun: '2026-11-22T09:45:00.000Z', state: 'Scheduled' });
    expect(after!.commands).toEqual([]);
    expect(after!.status.phase).toBe('Converged');
  });

  it('a runNow while a scheduled run is due makes one run covering both (seed 002)', () => {
    const s = spec({ syncs: [MONTHLY, { ...DAILY, runNow: 'now' }] });
    const key = `scheduled ${TODAY_DAILY} + runNow now`;
    const [r, done] = chain(
      [
        { obs: world(), now: NOW, s },
        { obs: world({ console: consoleWith({ results: [result(idOf('daily-definitions', key), 'succeeded')] }) }), now: NOW + 60_000, s },
      ],
      startedAt(NOW - DAY, spec()),
    );
    expect(r!.commands.map((c) => c.version)).toEqual([`daily-definitions@${key}`]);
    expect(sync(done!, 'daily-definitions')).toMatchObject({ handledThrough: TODAY_DAILY, lastRunNow: 'now' });
    expect(done!.commands).toEqual([]);
  });
});

// ------------------------------------------------------------------ rule 5: download in progress

describe('rule 5 — a sync due while the console downloads waits, then runs (seed 002)', () => {
  it('waits with WaitingForDownload while the console downloads, then runs when the download is done (seed 002)', () => {
    const downloading = world({ console: consoleWith({}, { downloading: true }) });
    const [w1, w2, ran] = chain(
      [
        { obs: downloading, now: NOW },
        { obs: downloading, now: NOW + 60_000 },
        { obs: world(), now: NOW + 120_000 },
      ],
      YESTERDAY(),
    );
    for (const w of [w1!, w2!]) {
      expect(w.commands).toEqual([]);
      expect(w.status.phase).toBe('Waiting');
      expect(condition(w, 'Reconciling')).toMatchObject({ reason: 'WaitingForDownload', message: `daily-definitions due, waiting: console ${HQ} is downloading new content; the sync runs once the download is done` });
      expect(steps(w)).toEqual([`sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}: WaitingForDownload`]);
      expect(w.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.waiting);
      expect(w.status.members[0]!.state).toBe('Waiting');
    }
    // the queued run is the same run: same key, same command id
    expect(ran!.commands.map((c) => c.id)).toEqual([DAILY_ID]);
    expect(ran!.status.phase).toBe('Progressing');
  });

  it('a sync not due is not affected by a download (seed 002)', () => {
    const r = reconcile(spec(), world({ console: consoleWith({}, { downloading: true }) }));
    expect(r.status.phase).toBe('Converged');
  });

  it.each([
    { name: 'the console never reported', w: { console: null }, reason: 'ConsoleNotReporting', msg: `console ${HQ} has never reported` },
    { name: 'the console is offline', w: { console: consoleWith({ online: false }) }, reason: 'ConsoleNotReporting', msg: `console ${HQ} is offline` },
    { name: 'the console reported no facts', w: { console: {} }, reason: 'ObservationMissing', msg: `no content reported by ${HQ}; no download state reported by ${HQ}` },
    { name: 'the console reported no download state', w: { console: { facts: { content: CONSOLE } } }, reason: 'ObservationMissing', msg: `no download state reported by ${HQ}` },
    { name: 'the server reported no content', w: { server: { facts: {} } }, reason: 'ObservationMissing', msg: `no content reported by ${DS}` },
    { name: 'the server never reported', w: { server: null }, reason: 'ServerNotReporting', msg: `server ${DS} (agent ${DS}) has never reported: its content is not known` },
    { name: 'the server is offline', w: { server: { online: false, facts: { content: BEHIND } } }, reason: 'ServerNotReporting', msg: `server ${DS} (agent ${DS}) is offline: its content is not known` },
  ])('a due sync also waits when $name (seed 002)', ({ w, reason, msg }) => {
    const r = reconcile(spec(), world(w as World), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling')).toMatchObject({ reason, message: `daily-definitions due, waiting: ${msg}` });
    expect(r.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.waiting);
  });
});

// ------------------------------------------------------------------ rule 6: only what is missing or outdated

describe('rule 6 — a sync copies only what is missing or outdated (seed 002)', () => {
  it('the command lists exactly the missing and outdated files of its set, never one already there with the same digest (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'go' }] });
    const r = reconcile(s, world());
    expect(r.commands).toEqual([
      {
        id: idOf('monthly-patches', 'runNow go'),
        target: T,
        member: DS,
        agent: HQ,
        action: 'sync',
        delivery: 'mailbox',
        version: 'monthly-patches@runNow go',
        params: {
          sync: 'monthly-patches',
          content: 'patches',
          address: '\\\\ds-paris.corp.example\\SecurityControls',
          credentialRef: CRED,
          files: [
            { path: 'patches/kb5046613.msu', sha256: '4'.repeat(64) },
            { path: 'patches/office-kb5002651.cab', sha256: '5'.repeat(64) },
          ],
        },
      },
    ]);
  });

  it('`all` copies what is missing or outdated in both sets (seed 002)', () => {
    const r = reconcile(spec({ syncs: [{ ...MONTHLY, content: 'all', runNow: 'go' }] }), world());
    expect((r.commands[0]!.params!['files'] as ContentFile[]).map((f) => f.path)).toEqual(['definitions/defs-2026-11-22.dat', 'patches/kb5046613.msu', 'patches/office-kb5002651.cab']);
  });

  it('digests compare case-insensitively; files only on the server are left alone (seed 002)', () => {
    const server: ContentInventory = { patches: [...CONSOLE.patches!.map((f) => ({ ...f, sha256: f.sha256.toUpperCase() })), file('patches/old.msu', 'a')] };
    const r = reconcile(spec({ syncs: [{ ...MONTHLY, runNow: 'go' }] }), world({ server: { facts: { content: server } } }));
    expect(r.commands).toEqual([]);
  });

  it('nothing missing: the run is recorded with nothing to copy, no command, Converged (seed 002)', () => {
    const r = reconcile(spec(), world({ server: { facts: { content: UP_TO_DATE } } }), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.phase).toBe('Converged');
    expect(sync(r, 'daily-definitions')).toMatchObject({ state: 'Scheduled', handledThrough: TODAY_DAILY, lastRun: iso(NOW), message: `last run (scheduled ${TODAY_DAILY}) had nothing to copy` });
    expect(r.requeueAfter).toBe(NEXT_DAILY - NOW);
  });

  it('a set the server never received counts as empty: everything of it is copied (seed 002)', () => {
    const r = reconcile(spec({ syncs: [{ ...MONTHLY, runNow: 'go' }] }), world({ server: { facts: { content: { 'engines-definitions': [] } } } }));
    expect((r.commands[0]!.params!['files'] as ContentFile[]).length).toBe(3);
  });
});

// ------------------------------------------------------------------ rule 7: completion

describe('rule 7 — completion by command id: succeeded is recorded, failed is not re-sent (seed 002)', () => {
  it('succeeded: the run is recorded (lastRun = the agent\'s time) and the sync is not due any more (seed 002)', () => {
    const [done, next] = chain(
      [
        { obs: world({ console: consoleWith({ results: [result(DAILY_ID, 'succeeded')] }) }), now: NOW },
        { obs: world(), now: NOW + HOUR },
      ],
      YESTERDAY(),
    );
    expect(done!.commands).toEqual([]);
    expect(sync(done!, 'daily-definitions')).toMatchObject({ state: 'Scheduled', lastRun: '2026-11-22T09:45:00.000Z', handledThrough: TODAY_DAILY });
    expect(sync(done!, 'daily-definitions').run).toBeUndefined();
    // the server has not reported the new file yet: listed for the next run, not a failure
    expect(done!.status.phase).toBe('Converged');
    expect(next!.commands).toEqual([]);
  });

  it('running: Progressing, not re-sent, the plan says so (seed 002)', () => {
    const r = reconcile(spec(), world({ console: consoleWith({ results: [result(DAILY_ID, 'running')] }) }), { previous: YESTERDAY() });
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Progressing');
    expect(steps(r)).toEqual([`sync ${DS} daily-definitions@scheduled ${TODAY_DAILY}: CommandRunning`]);
    expect(r.status.members[0]!.state).toBe('Updating');
    expect(r.requeueAfter).toBe(DISTRIBUTION_SERVER_REQUEUE.syncing);
  });

  it('failed: Failed with the agent\'s message, never re-sent for that run — even once the agent forgets the result (seed 002)', () => {
    const failedObs = world({ console: consoleWith({ results: [result(DAILY_ID, 'failed', 'access denied to \\\\ds-paris\\SecurityControls')] }) });
    const [failed, forgotten, tomorrow] = chain(
      [
        { obs: failedObs, now: NOW },
        { obs: world(), now: NOW + HOUR },
        { obs: world(), now: NEXT_DAILY },
      ],
      YESTERDAY(),
    );
    for (const r of [failed!, forgotten!]) {
      expect(r.commands).toEqual([]);
      expect(r.status.phase).toBe('Failed');
      expect(condition(r, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'SyncFailed',
        message: `sync daily-definitions (scheduled ${TODAY_DAILY}) failed on console ${HQ}: access denied to \\\\ds-paris\\SecurityControls`,
      });
      expect(r.status.members[0]!.state).toBe('Failed');
      expect(sync(r, 'daily-definitions').failed).toEqual({ key: `scheduled ${TODAY_DAILY}`, message: 'access denied to \\\\ds-paris\\SecurityControls' });
    }
    // the next scheduled run is a new run, with a new id
    expect(tomorrow!.commands.map((c) => c.id)).toEqual([idOf('daily-definitions', `scheduled ${iso(NEXT_DAILY)}`)]);
    expect(sync(tomorrow!, 'daily-definitions').failed).toBeUndefined();
  });

  it('a run still running when the next scheduled run comes: the next one waits for it, then runs (seed 002)', () => {
    const [sent, stillRunning, finished] = chain(
      [
        { obs: world(), now: NOW },
        { obs: world({ console: consoleWith({ results: [result(DAILY_ID, 'running')] }) }), now: NEXT_DAILY + 60_000 },
        { obs: world({ console: consoleWith({ results: [result(DAILY_ID, 'succeeded')] }) }), now: NEXT_DAILY + 120_000 },
      ],
      YESTERDAY(),
    );
    expect(sent!.commands.map((c) => c.id)).toEqual([DAILY_ID]);
    expect(stillRunning!.commands).toEqual([]);
    expect(stillRunning!.status.phase).toBe('Progressing');
    expect(steps(stillRunning!)).toEqual([`sync ${DS} daily-definitions@scheduled ${iso(NEXT_DAILY)}: CommandRunning`]);
    expect(sync(stillRunning!, 'daily-definitions').run).toEqual({ key: `scheduled ${TODAY_DAILY}`, command: DAILY_ID, files: 1 });
    expect(finished!.commands.map((c) => c.id)).toEqual([idOf('daily-definitions', `scheduled ${iso(NEXT_DAILY)}`)]);
  });

  it('a run sent and not yet reported is kept in Git while the next run waits, so its failure is never re-sent (seed 002)', () => {
    const NEXT_ID = idOf('daily-definitions', `scheduled ${iso(NEXT_DAILY)}`);
    const [sent, consoleAway, failedLate, forgotten] = chain(
      [
        { obs: world(), now: NOW },
        // the console stops reporting while the next scheduled run comes due: that run waits
        { obs: world({ console: null }), now: NEXT_DAILY + 60_000 },
        // back, it reports the first run failed; then it forgets that result
        { obs: world({ console: consoleWith({ results: [result(DAILY_ID, 'failed', 'disk full')] }) }), now: NEXT_DAILY + 120_000 },
        { obs: world(), now: NEXT_DAILY + 180_000 },
      ],
      YESTERDAY(),
    );
    expect(sent!.commands.map((c) => c.id)).toEqual([DAILY_ID]);
    expect(consoleAway!.commands).toEqual([]);
    // the run sent is what Git remembers, not the one that only came due
    expect(sync(consoleAway!, 'daily-definitions').run).toMatchObject({ command: DAILY_ID });
    // its failure settles it (the next run goes); forgotten by the console, it is still not re-sent
    for (const r of [failedLate!, forgotten!]) expect(r.commands.map((c) => c.id)).toEqual([NEXT_ID]);
  });

  it('a failed run is retried at once with a new runNow: a new run, with its own id (seed 002)', () => {
    const failed = reconcile(spec(), world({ console: consoleWith({ results: [result(DAILY_ID, 'failed', 'disk full')] }) }), { previous: YESTERDAY() }).status;
    const r = reconcile(spec({ syncs: [MONTHLY, { ...DAILY, runNow: 'retry' }] }), world(), { previous: failed, now: NOW + HOUR });
    // the failed scheduled run counts as run: the retry is the runNow alone
    expect(r.commands.map((c) => c.version)).toEqual(['daily-definitions@runNow retry']);
  });
});

// ------------------------------------------------------------------ rule 8: the file status report

describe('rule 8 — the status is the file status report (seed 002)', () => {
  it('lists per content set what the server lacks or holds outdated; Converged between scheduled runs (seed 002)', () => {
    const r = reconcile(spec(), world());
    expect(details(r).content).toEqual({
      'engines-definitions': { console: HQ, missing: 0, outdated: 1, files: [{ path: 'definitions/defs-2026-11-22.dat', expected: '2'.repeat(64), found: '9'.repeat(64) }] },
      patches: {
        console: HQ,
        missing: 1,
        outdated: 1,
        files: [
          { path: 'patches/kb5046613.msu', expected: '4'.repeat(64), found: '8'.repeat(64) },
          { path: 'patches/office-kb5002651.cab', expected: '5'.repeat(64), found: null },
        ],
      },
    });
    expect(r.status.summary).toBe('2 syncs, 3 files missing or outdated');
    expect(r.status.phase).toBe('Converged');
    expect(condition(r, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Scheduled',
      message: `2 syncs of console ${HQ} up to date with their schedules; next: daily-definitions at ${iso(NEXT_DAILY)}; 3 files missing or outdated, copied by the next run`,
    });
    expect(r.plan).toEqual([]);
  });

  it('reports only the sets some sync copies, with singular wording (seed 002)', () => {
    const server: ContentInventory = { patches: CONSOLE.patches!.slice(0, 2) };
    const r = reconcile(spec({ syncs: [MONTHLY] }), world({ server: { facts: { content: server } } }));
    expect(Object.keys(details(r).content)).toEqual(['patches']);
    expect(r.status.summary).toBe('1 sync, 1 file missing or outdated');
    expect(r.status.members[0]!.desired).toBe('patches');
  });

  it('content nobody reported is said to be unknown (seed 002)', () => {
    const r = reconcile(spec(), world({ server: null }));
    expect(details(r).content.patches).toEqual({ console: HQ, unknown: `no content reported by ${DS}` });
    expect(r.status.summary).toBe('2 syncs, content not reported');
    expect(r.status.members[0]!.observed).toBeUndefined();
  });

  it('per sync: owner, owned, schedule, last run, next run, last runNow (seed 002)', () => {
    const s = spec({ syncs: [{ ...MONTHLY, runNow: 'r1' }, { ...DAILY, console: BERLIN }] });
    const previous = reconcile(s, world({ server: { facts: { content: UP_TO_DATE } } }), { now: NOW - HOUR }).status;
    const r = reconcile(s, world(), { previous });
    expect(details(r).syncs).toEqual([
      {
        name: 'monthly-patches',
        content: 'patches',
        owner: HQ,
        owned: true,
        schedule: 'monthly on the second tuesday + 4 days at 02:00 (Europe/Paris)',
        state: 'Scheduled',
        nextRun: '2026-12-12T01:00:00.000Z',
        lastRun: iso(NOW - HOUR),
        handledThrough: LAST_MONTHLY,
        lastRunNow: 'r1',
      },
      {
        name: 'daily-definitions',
        content: 'engines-definitions',
        owner: BERLIN,
        owned: false,
        schedule: 'daily at 03:30 (Europe/Paris)',
        state: 'NotOwned',
        message: 'owned by console console-berlin: reported here, run only by its owner (another console may only delete it)',
        nextRun: iso(NEXT_DAILY),
      },
    ]);
  });

  it('the status is unchanged while nothing changes: conditions keep their transition time (seed 002)', () => {
    const [a, b] = chain([
      { obs: world(), now: NOW },
      { obs: world(), now: NOW + HOUR },
    ]);
    expect(b!.status).toEqual(a!.status);
  });
});

// ------------------------------------------------------------------ rule 9: determinism, restart

describe('rule 9 — deterministic and restart-safe (seed 002)', () => {
  it('the same input gives the same output, byte for byte, whatever the order agents list files in (seed 002)', () => {
    const shuffled: ContentInventory = { patches: [...CONSOLE.patches!].reverse(), 'engines-definitions': [...CONSOLE['engines-definitions']!].reverse() };
    const a = reconcile(spec(), world(), { previous: YESTERDAY() });
    const b = reconcile(spec(), world(), { previous: YESTERDAY() });
    const c = reconcile(spec(), world({ console: { facts: { content: shuffled, downloading: false } } }), { previous: YESTERDAY() });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).toBe(JSON.stringify(a));
  });

  it('restarting from the last status file continues at the same step: no repeat, no skip (seed 002)', () => {
    // a run in flight, then the controller is killed and restarted (the status went through a file)
    const [inflight] = chain([{ obs: world(), now: NOW }], YESTERDAY());
    const fromFile = JSON.parse(JSON.stringify(inflight!.status)) as TargetStatus;
    const resumed = reconcile(spec(), world(), { previous: fromFile, now: NOW + 60_000 });
    const continued = reconcile(spec(), world(), { previous: inflight!.status, now: NOW + 60_000 });
    expect(resumed).toEqual(continued);
    expect(resumed.commands.map((c) => c.id)).toEqual([DAILY_ID]); // the same run, not a new one
    // the same previous status always gives the same answer
    expect(reconcile(spec(), world(), { previous: fromFile, now: NOW + 60_000 })).toEqual(resumed);
  });

  it('a day of passes every 6 hours runs the daily sync exactly once per scheduled run (seed 002)', () => {
    const sent: string[] = [];
    let previous: TargetStatus | undefined = startedAt(NOW - 2 * DAY);
    for (let t = NOW - 2 * DAY + 6 * HOUR; t <= NOW + 2 * DAY; t += 6 * HOUR) {
      // the console finishes every sync it is given by the next pass
      const results = sent.map((id) => result(id, 'succeeded'));
      const r = reconcile(spec(), world({ console: consoleWith({ results }) }), { previous, now: t });
      for (const c of r.commands) if (!sent.includes(c.id)) sent.push(c.id);
      previous = JSON.parse(JSON.stringify(r.status)) as TargetStatus;
    }
    expect(sent).toEqual(['2026-11-21T02:30:00.000Z', TODAY_DAILY, iso(NEXT_DAILY), '2026-11-24T02:30:00.000Z'].map((slot) => idOf('daily-definitions', `scheduled ${slot}`)));
  });

  it('memory written by another console is not taken as its own (seed 002)', () => {
    const berlinStatus = reconcile(spec(), world(), { consoleId: BERLIN, now: NOW - DAY }).status;
    const r = reconcile(spec(), world(), { previous: berlinStatus });
    // console-hq sees its syncs for the first time: no replay
    expect(r.commands).toEqual([]);
  });
});

// ------------------------------------------------------------------ example repository

describe('example repository (seed 002)', () => {
  it('ds-paris and ds-berlin against the example observed snapshot', async () => {
    const state = await new DesiredStateLoader().load(await openDesiredSource(locateRepository(EXAMPLE_REPO)));
    const snapshot = await readObservedSnapshot(new URL('../../agent/example-observed.json', import.meta.url).pathname);
    if (!snapshot.ok) throw new Error('example snapshot invalid');
    const ds = (name: string) => state.objects.find((o): o is DistributionServer => o.kind === 'DistributionServer' && o.metadata.name === name)!;
    const run = (name: string) => reconcileDistributionServer({ object: ds(name), releases: input(ds(name), []).releases, revision: null, consoleId: HQ }, snapshot.observed, undefined, NOW);

    const paris = run('ds-paris');
    expect(paris.status.phase).toBe('Converged');
    expect(paris.status.summary).toBe('2 syncs, 2 files missing or outdated');
    expect(paris.commands).toEqual([]);

    const berlin = run('ds-berlin');
    expect(berlin.status.phase).toBe('Blocked');
    expect(condition(berlin, 'Stalled').message).toBe('credential "ivanti-ds-berlin" for ds-berlin cannot be used: password expired on 2026-11-15');
    expect(steps(berlin)).toEqual(['sync ds-berlin monthly-patches@runNow 2026-11-20T09:15:00Z: CredentialUnavailable']);
    expect(berlin.status.summary).toBe('2 syncs, 1 file missing or outdated');
  });
});
