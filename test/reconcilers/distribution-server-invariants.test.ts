/**
 * Seed 002 invariants, over many passes of the reconciler against a small simulated console
 * and server whose observations evolve: facts missing field by field, offline or never
 * reported agents, a console downloading, a server already up to date or updated out of
 * band, results the console forgets, no earlier status, a status written by another console
 * or at another revision. After every pass, for every command sent:
 *  - it is never sent to a server that is a download source of the sending console;
 *  - it is sent by the console that owns the schedule, and only by this controller's console;
 *  - the console reports it is not downloading (a console that does not say is not idle);
 *  - the credential is known usable;
 *  - it carries exactly the files the console holds that the server lacks or holds outdated;
 *  - it is not a run that failed, as far as status (Git) or the console's results know.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import type { DistributionServerSpec, ScheduledSync } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ContentFile, ContentInventory } from '../../protocol/content.ts';
import type { CredentialCheck, Observed } from '../../reconcilers/observed.ts';
import { observed, type AgentSpec } from '../helpers/observed.ts';
import { BERLIN, CRED, DAILY, DS, HOUR, HQ, MONTHLY, NOW, reconcile, spec } from './distribution-server-fixtures.ts';

type Sets = 'engines-definitions' | 'patches';
const SETS: readonly Sets[] = ['engines-definitions', 'patches'];

// ------------------------------------------------------------------ the generated scenario

/** Mostly `usual`, now and then one of the others: enough passes where everything holds and a sync is sent. */
function mostly<T extends string>(usual: T, weight: number, ...others: T[]): fc.Arbitrary<T> {
  const rare = others.map((o) => ({ arbitrary: fc.constant(o), weight: 1 }));
  return fc.oneof({ arbitrary: fc.constant(usual), weight }, ...rare);
}

const consoleState = mostly('ok', 10, 'offline', 'never', 'noContent', 'noDownloadState', 'downloading');
const serverState = mostly('ok', 10, 'offline', 'never', 'noContent');
const credentialState = mostly('usable', 12, 'unusable', 'absent', 'noMap');
const specChange = mostly('none', 6, 'newRunNow', 'newRunNow', 'removeRunNow', 'restoreRunNow', 'changeSchedule');
/** For one pass: the server is the console's download source, the sync is another console's, or no --console-id. */
const desiredTwist = mostly('none', 12, 'downloadSource', 'otherOwner', 'noIdentity');
const statusChange = mostly('keep', 16, 'drop', 'otherConsole', 'otherRevision');
const outcome = mostly('succeed', 4, 'fail', 'fail', 'fail', 'running', 'lost');

const stepArb = fc.record({
  console: consoleState,
  server: serverState,
  credential: credentialState,
  spec: specChange,
  twist: desiredTwist,
  status: statusChange,
  outcome,
  forgetResults: fc.boolean(),
  newDownload: fc.boolean(),
  outOfBand: fc.boolean(),
  /** Minutes to the next pass: a minute to three days. */
  advance: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 3 * 24 * 60 })),
});
type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

const scenarioArb = fc.record({
  /** The server starts behind, at the console's content, or ahead of it (extra files). */
  start: fc.constantFrom('behind', 'equal', 'ahead'),
  /** Minutes before NOW the first pass happens. */
  offset: fc.integer({ min: 0, max: 40 * 24 * 60 }),
  /** Which syncs the server has; `all` copies both sets. */
  syncs: fc.constantFrom('both', 'all', 'daily'),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30 }),
});

// ------------------------------------------------------------------ the simulated world

const digest = (n: number): string => n.toString(16).padStart(64, '0');

interface Model {
  consoleFiles: Record<Sets, ContentFile[]>;
  serverFiles: Record<Sets, ContentFile[]>;
  /** The console keeps only the latest sync result for this server (result-book.ts). */
  result: CommandResult | undefined;
  /** Commands the console received and has not finished. */
  pending: Command | undefined;
  counter: number;
  runNow: string | undefined;
  lastRunNow: string | undefined;
  scheduleAt: string;
}

function initialModel(start: string): Model {
  const consoleFiles: Record<Sets, ContentFile[]> = {
    'engines-definitions': [
      { path: 'engines/av.dll', sha256: digest(1) },
      { path: 'definitions/defs.dat', sha256: digest(2) },
    ],
    patches: [{ path: 'patches/kb1.msu', sha256: digest(3) }],
  };
  const clone = (c: Record<Sets, ContentFile[]>): Record<Sets, ContentFile[]> => ({
    'engines-definitions': [...c['engines-definitions']],
    patches: [...c.patches],
  });
  const serverFiles =
    start === 'behind'
      ? { 'engines-definitions': [{ path: 'engines/av.dll', sha256: digest(9) }], patches: [] }
      : start === 'equal'
        ? clone(consoleFiles)
        : { ...clone(consoleFiles), patches: [...consoleFiles.patches, { path: 'patches/x.msu', sha256: digest(7) }] };
  const nothing = { result: undefined, pending: undefined, runNow: undefined, lastRunNow: undefined };
  return { consoleFiles, serverFiles, ...nothing, counter: 100, scheduleAt: '03:30' };
}

function specOf(m: Model, which: string, twist = 'none'): DistributionServerSpec {
  const owner = twist === 'otherOwner' ? BERLIN : HQ;
  const runNow = m.runNow !== undefined ? { runNow: m.runNow } : {};
  const schedule = { ...DAILY.schedule, at: m.scheduleAt };
  const daily: ScheduledSync = { ...DAILY, console: owner, schedule, ...runNow };
  const all: ScheduledSync = { ...daily, content: 'all' };
  const syncs = which === 'daily' ? [daily] : which === 'all' ? [all] : [MONTHLY, daily];
  return spec({ syncs, downloadSourceFor: twist === 'downloadSource' ? [HQ, 'console-lyon'] : ['console-lyon'] });
}

function observe(m: Model, s: Step): Observed {
  const agents: Record<string, AgentSpec> = {};
  const content: ContentInventory = { ...m.consoleFiles };
  const results = m.result ? [m.result] : [];
  switch (s.console) {
    case 'never':
      break;
    case 'offline':
      agents[HQ] = { online: false, results, facts: { content, downloading: false } };
      break;
    case 'noContent':
      agents[HQ] = { results, facts: { downloading: false } };
      break;
    case 'noDownloadState':
      agents[HQ] = { results, facts: { content } };
      break;
    default:
      agents[HQ] = { results, facts: { content, downloading: s.console === 'downloading' } };
  }
  const held: ContentInventory = { ...m.serverFiles };
  if (s.server === 'offline') agents[DS] = { online: false, facts: { content: held } };
  else if (s.server === 'noContent') agents[DS] = { facts: {} };
  else if (s.server !== 'never') agents[DS] = { facts: { content: held } };
  const base = observed(agents);
  if (s.credential === 'noMap') return base;
  const check: CredentialCheck =
    s.credential === 'usable' ? { ref: CRED, usable: true } : { ref: CRED, usable: false, reason: 'expired' };
  const creds = s.credential === 'absent' ? [] : [check];
  return { ...base, credentials: new Map(creds.map((c) => [c.ref, c])) };
}

/** The files of `sets` the console holds that the server lacks or holds outdated: an oracle apart from content.ts. */
function expectedFiles(obs: Observed, sets: readonly Sets[]): string[] {
  const c = obs.agents.get(HQ)!.facts!.content!;
  const sv = obs.agents.get(DS)!.facts!.content!;
  const out: string[] = [];
  for (const set of sets) {
    for (const f of c[set] ?? []) {
      const same = (h: ContentFile): boolean => h.path === f.path && h.sha256.toLowerCase() === f.sha256.toLowerCase();
      if (!(sv[set] ?? []).some(same)) out.push(`${f.path} ${f.sha256}`);
    }
  }
  return out.sort();
}

/** The console finishes (or not) the command it holds; it may forget its results. */
function consoleActs(m: Model, s: Step, at: number): void {
  const c = m.pending;
  if (c !== undefined && s.console !== 'never' && s.console !== 'offline') {
    const when = new Date(at).toISOString();
    if (s.outcome === 'running') m.result = { id: c.id, status: 'running', at: when };
    else if (s.outcome === 'fail') {
      m.result = { id: c.id, status: 'failed', message: 'access denied', at: when };
      m.pending = undefined;
    } else if (s.outcome === 'succeed') {
      for (const f of c.params!['files'] as ContentFile[]) {
        const set: Sets = f.path.startsWith('patches/') ? 'patches' : 'engines-definitions';
        m.serverFiles[set] = [...m.serverFiles[set].filter((h) => h.path !== f.path), { ...f }];
      }
      m.result = { id: c.id, status: 'succeeded', at: when };
      m.pending = undefined;
    } else m.pending = undefined; // lost on the way
  }
  if (s.forgetResults) m.result = undefined;
  const put = (files: ContentFile[], f: ContentFile): ContentFile[] => [...files.filter((x) => x.path !== f.path), f];
  // the console downloads new definitions; a person copies a patch to the server by hand
  if (s.newDownload) {
    const defs = { path: 'definitions/defs.dat', sha256: digest(m.counter++) };
    m.consoleFiles['engines-definitions'] = put(m.consoleFiles['engines-definitions'], defs);
  }
  if (s.outOfBand) m.serverFiles.patches = put(m.serverFiles.patches, { path: 'patches/kb1.msu', sha256: digest(3) });
}

function changeSpec(m: Model, s: Step): void {
  switch (s.spec) {
    case 'newRunNow':
      if (m.runNow !== undefined) m.lastRunNow = m.runNow;
      m.runNow = `r${m.counter++}`;
      break;
    case 'removeRunNow':
      if (m.runNow !== undefined) m.lastRunNow = m.runNow;
      m.runNow = undefined;
      break;
    case 'restoreRunNow':
      // Only the last value comes back: going back to an older one is a new request (see the report).
      m.runNow ??= m.lastRunNow;
      break;
    case 'changeSchedule':
      m.scheduleAt = m.scheduleAt === '03:30' ? '05:00' : '03:30';
      break;
  }
}

// ------------------------------------------------------------------ the property

function check(
  r: ReconcileResult,
  obs: Observed,
  sp: DistributionServerSpec,
  consoleId: string | undefined,
  failedIds: ReadonlySet<string>,
): void {
  for (const c of r.commands) {
    const sync = sp.syncs.find((x) => x.name === c.params?.['sync']);
    // ownership: this controller's console, and the owner of the schedule
    expect(consoleId).toBeDefined();
    expect(c.agent).toBe(consoleId);
    expect(sync?.console).toBe(c.agent);
    // never to the console's own download source
    expect(sp.downloadSourceFor).not.toContain(c.agent);
    // the console reports it is not downloading, and is online
    const console = obs.agents.get(c.agent);
    expect(console?.online).toBe(true);
    expect(console?.facts?.downloading).toBe(false);
    // the credential is known usable
    expect(obs.credentials?.get(sp.credentialRef)?.usable).toBe(true);
    // exactly the missing or outdated files of the sync's sets
    const sets: readonly Sets[] = sync!.content === 'all' ? SETS : [sync!.content];
    const sent = (c.params!['files'] as ContentFile[]).map((f) => `${f.path} ${f.sha256}`).sort();
    expect(sent).toEqual(expectedFiles(obs, sets));
    expect(sent.length).toBeGreaterThan(0);
    // a failed run is never re-sent under the same run key
    expect(failedIds.has(c.id)).toBe(false);
  }
}

describe('seed 002 invariants over many passes', () => {
  it('hold after every pass, whatever is missing, offline, forgotten or out of band', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const m = initialModel(sc.start);
        let now = NOW - sc.offset * 60_000;
        let previous: TargetStatus | undefined;
        /**
         * Failed runs the status in Git carries: runs sent since the status was last lost (it
         * holds them, and any pass settles them by id) that a pass saw fail. A failure only a
         * lost status knew, of a run the console forgot before a pass saw it, is known to nobody:
         * re-sending that run once breaks no rule (what the console reports now always counts).
         */
        let remembered = new Set<string>();
        let sentSinceLoss = new Set<string>();
        for (const s of sc.steps) {
          consoleActs(m, s, now);
          changeSpec(m, s);
          const sp = specOf(m, sc.syncs, s.twist);
          if (s.status === 'drop') {
            previous = undefined;
            remembered = new Set();
            sentSinceLoss = new Set();
          } else if (s.status === 'otherConsole') {
            previous = reconcile(sp, observe(m, s), { now: now - HOUR, consoleId: BERLIN }).status;
            remembered = new Set();
            sentSinceLoss = new Set();
          } else if (s.status === 'otherRevision') {
            const other = { ...sp, syncs: sp.syncs.map((x) => ({ ...x, schedule: { ...x.schedule, at: '00:15' } })) };
            previous = reconcile(other, observe(m, s), { now: now - HOUR }).status;
            remembered = new Set();
            sentSinceLoss = new Set();
          }
          const obs = observe(m, s);
          const consoleId = s.twist === 'noIdentity' ? undefined : HQ;
          const opts = { now, consoleId: consoleId ?? null, ...(previous ? { previous } : {}) };
          const r = reconcile(sp, obs, opts);
          const reported = s.console !== 'never' && m.result?.status === 'failed' ? [m.result.id] : [];
          check(r, obs, sp, consoleId, new Set([...remembered, ...reported]));
          for (const id of reported) if (sentSinceLoss.has(id)) remembered.add(id);
          for (const c of r.commands) sentSinceLoss.add(c.id);
          // a pass is a pure function: the same input gives the same output
          expect(reconcile(sp, obs, opts)).toEqual(r);
          for (const c of r.commands) m.pending = c;
          previous = JSON.parse(JSON.stringify(r.status)) as TargetStatus;
          now += s.advance * 60_000;
        }
      }),
      { numRuns: Number(process.env.DSRUNS ?? 400), ...(process.env.DSSEED ? { seed: Number(process.env.DSSEED) } : {}), ...(process.env.DSPATH ? { path: process.env.DSPATH, endOnFailure: true } : {}) },
    );
  });

  it('with every observation present and the console doing its work, every scheduled run is copied once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 30, max: 30 * 60 }), { minLength: 5, maxLength: 40 }), (gaps) => {
        const m = initialModel('behind');
        const s: Step = {
          ...{ console: 'ok', server: 'ok', credential: 'usable', spec: 'none', twist: 'none', status: 'keep' },
          ...{ outcome: 'succeed', forgetResults: false, newDownload: false, outOfBand: false, advance: 0 },
        };
        let now = NOW;
        let previous: TargetStatus | undefined = reconcile(specOf(m, 'daily'), observe(m, s), { now }).status;
        const ids = new Set<string>();
        for (const g of gaps) {
          now += g * 60_000;
          consoleActs(m, { ...s, newDownload: true }, now);
          const r = reconcile(specOf(m, 'daily'), observe(m, s), { now, previous });
          for (const c of r.commands) {
            if (m.pending?.id !== c.id) expect(ids.has(c.id)).toBe(false);
            ids.add(c.id);
            m.pending = c;
          }
          previous = JSON.parse(JSON.stringify(r.status)) as TargetStatus;
        }
      }),
      { numRuns: 100 },
    );
  });
});
