/**
 * Seed 004 (IGEL UMS HA, zero downtime) — the rows of issue 12, as tables: each case is named
 * after the seed rule it checks and asserts the commands, the plan blocker and the status message
 * (what is missing, and from whom). Unknown is never yes.
 */
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { HA_CLUSTER_CATALOGUE, HA_CLUSTER_REASONS, reconcileHACluster, type PreflightCheck } from '../../reconcilers/ha-cluster/reconcile.ts';
import { COMMON_REASONS } from '../../reconcilers/engine/index.ts';
import type { HAClusterSpec } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, release } from '../helpers/observed.ts';

const P = 'igel-ums';
const OLD = '12.07.100';
const V = '12.08.110';
const T = 'hacluster/ums-prod' as const;
const RELEASES = [release('igel-ums-12.07.100', P, OLD), release('igel-ums-12.08.110', P, V)];
const iso = (ms: number): string => new Date(ms).toISOString();
const SEEN = iso(NOW - 5_000);
const START = NOW - 3_600_000;

interface Opts {
  servers?: string[];
  order?: string[];
  lbs?: string[];
  consoles?: string[];
  backup?: 'Command' | 'External';
}
function spec(o: Opts = {}): HAClusterSpec {
  const servers = o.servers ?? ['ums-1', 'ums-2', 'ums-3'];
  return {
    release: 'igel-ums-12.08.110',
    servers: servers.map((name) => ({ name })),
    loadBalancers: (o.lbs ?? ['ums-lb']).map((name) => ({ name })),
    consoles: (o.consoles ?? ['ums-console']).map((name) => ({ name })),
    updateOrder: o.order ?? servers,
    preflight: { maxClockSkewSeconds: 60, backup: o.backup ?? 'Command', orphanCheck: true },
  };
}
const cluster = (o: Opts = {}) => input(desired('HACluster', 'ums-prod', spec(o)), RELEASES);

/** A member's report: by default 12.07.100, running, normal mode, installer staged, clock in sync, a fresh backup. */
interface M {
  version?: string | null;
  mode?: 'normal' | 'update' | null;
  state?: ComponentReport['state'] | null;
  staged?: boolean;
  installedAt?: string;
  online?: boolean;
  clock?: string | null;
  lastBackup?: string | null;
  registered?: string[] | null;
  results?: CommandResult[];
  absent?: boolean;
}
const res = (member: string, action: Action, status: CommandResult['status'], at = iso(NOW - 60_000)): CommandResult => ({ id: commandId(T, member, action, V), status, at });
function agent(name: string, server: boolean, m: M, all: string[]): AgentObservation {
  const component: ComponentReport = {
    product: P,
    ...(m.version === null ? {} : { version: m.version ?? OLD }),
    ...(m.state === null ? {} : { state: m.state ?? 'running' }),
    ...(server && m.mode !== null ? { mode: m.mode ?? 'normal' } : {}),
    ...(m.staged === false ? {} : { staged: { version: V, verified: true } }),
    ...(m.installedAt !== undefined ? { installedAt: m.installedAt } : {}),
  };
  return {
    agent: name,
    online: m.online ?? true,
    lastSeen: SEEN,
    components: [component],
    results: m.results ?? [],
    facts: {
      ...(m.clock === null ? {} : { clock: m.clock ?? SEEN }),
      ...(server && m.lastBackup !== null ? { lastBackup: m.lastBackup ?? iso(START + 60_000) } : {}),
      ...(server && m.registered !== null ? { registeredMembers: m.registered ?? all } : {}),
    },
  };
}
function world(over: Record<string, M> = {}, o: Opts = {}, verified = true): Observed {
  const servers = o.servers ?? ['ums-1', 'ums-2', 'ums-3'];
  const lbs = o.lbs ?? ['ums-lb'];
  const cons = o.consoles ?? ['ums-console'];
  const registered = [...servers, ...lbs];
  const agents = new Map<string, AgentObservation>();
  for (const n of [...servers, ...lbs, ...cons]) if (!over[n]?.absent) agents.set(n, agent(n, servers.includes(n), over[n] ?? {}, registered));
  return { agents, artifacts: new Map([['igel-ums-12.08.110', { release: 'igel-ums-12.08.110', status: verified ? 'verified' : 'pending' }]]) };
}
/** The status of the pass that noticed the release (an hour ago): same rollout, rollout start = START. */
const prev = (o: Opts = {}): TargetStatus => reconcileHACluster(cluster(o), world({}, o), undefined, START).status;
/** `previous`: the status of an hour ago by default; `'none'`: no previous status (a restart, or plan without one). */
const run = (over: Record<string, M>, o: Opts = {}, previous: TargetStatus | 'none' | null = null): ReconcileResult =>
  reconcileHACluster(cluster(o), world(over, o), previous === null ? prev(o) : previous === 'none' ? undefined : previous, NOW);
const sent = (r: ReconcileResult) => r.commands.map((c) => `${c.action} ${c.member}`);
const blocker = (r: ReconcileResult, member: string, action: Action) => r.plan.find((s) => s.member === member && s.action === action)?.blockedBy;
const check = (r: ReconcileResult, name: string) => (r.status.details?.['preflight'] as PreflightCheck[] | undefined)?.find((c) => c.name === name);
const condition = (r: ReconcileResult) => r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready') ?? r.status.conditions[0]!;
/** Updated by this rollout: the release in update mode, our apply succeeded at `min` minutes after START. */
const updated = (name: string, min: number, extra: M = {}): M => ({
  version: V,
  mode: 'update',
  staged: false,
  installedAt: iso(START + min * 60_000),
  results: [res(name, 'apply', 'succeeded', iso(START + min * 60_000))],
  ...extra,
});

// ------------------------------------------------------------------ row 1: clocks

describe('seed 004 step 4: "die Zeit auf den Servern des HA-Netzwerks" — every clock is checked before the update; unknown holds', () => {
  it.each([
    { name: 'a server that reports no clock', over: { 'ums-3': { clock: null } }, says: 'no clock reported by ums-3' },
    { name: 'two servers that report no clock', over: { 'ums-2': { clock: null }, 'ums-3': { clock: null } }, says: 'no clock reported by ums-2, ums-3' },
    { name: 'a server whose clock does not read', over: { 'ums-3': { clock: 'soon' } }, says: 'no readable clock reported by ums-3' },
    { name: 'an offline server (its clock is old)', over: { 'ums-3': { online: false } }, says: `no current clock (offline since ${SEEN}) reported by ums-3` },
    { name: 'a load balancer that reports no clock (it is in the HA network)', over: { 'ums-lb': { clock: null } }, says: 'no clock reported by ums-lb' },
    { name: 'every server silent about its clock (fewer than two clocks)', over: { 'ums-1': { clock: null }, 'ums-2': { clock: null }, 'ums-3': { clock: null }, 'ums-lb': { clock: null } }, says: 'no clock reported by ums-1, ums-2, ums-3, ums-lb' },
  ])('$name: no server is applied, the preflight and the status say "$says"', ({ over, says }) => {
    const r = run(over as Record<string, M>);
    expect(r.commands.filter((c) => c.action === 'apply')).toEqual([]);
    expect(check(r, 'clock-skew')).toMatchObject({ status: 'unknown', passed: false, message: says });
    expect(blocker(r, 'ums-1', 'apply')).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining(`clock-skew: ${says}`) });
    expect(r.status.conditions.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: expect.any(String), message: expect.stringContaining(says) });
  });

  it('a server that never reported at all: nothing is sent, and status says what is missing from it', () => {
    const r = run({ 'ums-3': { absent: true } });
    expect(r.commands).toEqual([]);
    expect(check(r, 'clock-skew')?.message).toBe('no clock reported by ums-3');
    expect(condition(r)).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining('no version reported by ums-3') });
  });

  it('a console is not part of the HA network: its clock is not compared', () => {
    const r = run({ 'ums-console': { clock: null } });
    expect(check(r, 'clock-skew')?.status).toBe('satisfied');
    expect(sent(r)).toEqual(['apply ums-1']);
  });

  it('a single-server cluster with its clock reported passes', () => {
    const o = { servers: ['ums-1'], lbs: [], consoles: [] };
    const r = run({}, o);
    expect(check(r, 'clock-skew')).toMatchObject({ status: 'satisfied', message: 'the clocks of 1 servers and load balancers differ by at most 0 s (allowed 60 s)' });
    expect(sent(r)).toEqual(['apply ums-1']);
    expect(run({ 'ums-1': { clock: null } }, o).commands).toEqual([]);
  });

  it('a known skew beyond the limit is unsatisfied (Blocked ClockSkew) even while another clock is unknown', () => {
    const r = run({ 'ums-2': { clock: iso(NOW + 115_000) }, 'ums-3': { clock: null } });
    expect(check(r, 'clock-skew')).toMatchObject({ status: 'unsatisfied' });
    expect(r.status.phase).toBe('Blocked');
    expect(r.commands).toEqual([]);
  });
});

// ------------------------------------------------------------------ row 2: updated last

describe('seed 004: "Der zuletzt aktualisierte UMS Server erneuert das Schema" — the server updated LAST migrates, read from reports', () => {
  const order = { order: ['ums-1', 'ums-2', 'ums-3'] };
  it.each([
    {
      name: 'ums-3 (last in update order) was updated first, by hand: ums-2 was updated last and migrates',
      over: { 'ums-3': { version: V, mode: 'update' as const, staged: false, installedAt: iso(START) }, 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 20) },
      migrate: 'ums-2',
    },
    {
      name: 'no installedAt: the time our own apply succeeded decides',
      over: { 'ums-1': updated('ums-1', 30, { installedAt: undefined as unknown as string }), 'ums-2': updated('ums-2', 10), 'ums-3': updated('ums-3', 20) },
      migrate: 'ums-1',
    },
    {
      name: 'an earlier attempt updated ums-3 first; ums-1 finished last',
      over: { 'ums-3': updated('ums-3', 5), 'ums-2': updated('ums-2', 15), 'ums-1': updated('ums-1', 25) },
      migrate: 'ums-1',
    },
  ])('$name', ({ over, migrate }) => {
    const fixed = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as M]));
    const r = run(fixed, order);
    expect(sent(r)).toEqual([`migrate ${migrate}`]);
    expect(condition(r)).toMatchObject({ reason: 'MigratingSchema', message: expect.stringContaining(`server ${migrate}, updated last`) });
  });

  it('a server running the release with neither installedAt nor an apply of ours: migrate held, saying what is missing', () => {
    const r = run({ 'ums-3': { version: V, mode: 'update', staged: false }, 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 20) }, order);
    expect(r.commands).toEqual([]);
    expect(r.plan.find((s) => s.action === 'migrate')).toMatchObject({ runnable: false, blockedBy: { reason: 'ObservationMissing' } });
    expect(condition(r)).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining('which server was updated last is unknown: no install time (installedAt) reported by ums-3') });
    expect(r.plan.filter((s) => s.action === 'apply' && s.runnable)).toEqual([]);
  });

  it('two servers at the very same install time: Blocked LastServerAmbiguous, nothing sent', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 20), 'ums-3': updated('ums-3', 20) }, order);
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r)).toMatchObject({ reason: 'LastServerAmbiguous', message: expect.stringContaining('servers ums-2, ums-3 report the same install time') });
  });

  it('migrated = the server updated last is in normal mode (it renewed the schema), whatever the update order says: the others get end-update-mode', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 30, { mode: 'normal' }), 'ums-3': updated('ums-3', 20) }, order);
    expect(sent(r)).toEqual(['end-update-mode ums-1', 'end-update-mode ums-3']);
  });

  it('not migrated when only the last server in update order is in normal mode but another was updated after it', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 30), 'ums-3': updated('ums-3', 20, { mode: 'normal' }) }, order);
    expect(sent(r)).toEqual(['migrate ums-2']);
    expect(r.plan.find((s) => s.member === 'ums-lb')?.blockedBy?.reason).toBe('WaitingForServers');
  });

  it('our migrate of the release that succeeded on another server than the one updated last does not count', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 30), 'ums-3': updated('ums-3', 20, { results: [res('ums-3', 'apply', 'succeeded'), res('ums-3', 'migrate', 'succeeded')] }) }, order);
    expect(sent(r)).toEqual(['migrate ums-2']);
  });

  it('the server updated last reports no mode: migrate held ("no mode reported by ums-2")', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 30, { mode: null }), 'ums-3': updated('ums-3', 20) }, order);
    expect(r.commands).toEqual([]);
    expect(r.plan.find((s) => s.action === 'migrate')).toMatchObject({ member: 'ums-2', blockedBy: { reason: 'ObservationMissing', message: expect.stringContaining('no mode reported by ums-2') } });
  });
});

// ------------------------------------------------------------------ row 3: the other preconditions

describe('seed 004: every other precondition fails closed — unknown holds and says what is missing and from whom', () => {
  it('no-orphans: no online server reports the registered members → unknown, every server apply held', () => {
    const r = run({ 'ums-1': { registered: null }, 'ums-2': { registered: null }, 'ums-3': { registered: null, online: false } });
    expect(r.commands.filter((c) => c.action === 'apply')).toEqual([]);
    expect(check(r, 'no-orphans')).toMatchObject({ status: 'unknown', message: expect.stringContaining('no registered servers and load balancers (UMS Network) reported by ums-1, ums-2') });
    expect(blocker(r, 'ums-1', 'apply')?.message).toContain('no-orphans: no registered servers');
  });

  it.each([
    { name: 'absent on every server', lastBackup: null, says: 'no database backup reported' },
    { name: 'unparsable', lastBackup: 'last tuesday', says: 'ums-1 reports "last tuesday", not a time' },
  ])('fresh-backup: lastBackup $name → no backup; External waits for one, and nothing is applied', ({ lastBackup, says }) => {
    const over = { 'ums-1': { lastBackup }, 'ums-2': { lastBackup: null }, 'ums-3': { lastBackup: null } };
    const r = run(over as Record<string, M>, { backup: 'External' });
    expect(r.commands).toEqual([]);
    expect(check(r, 'fresh-backup')).toMatchObject({ passed: false, message: expect.stringContaining(says) });
    expect(condition(r)).toMatchObject({ reason: 'WaitingForBackup' });
  });

  it.each<{ name: string; over: Record<string, M>; says: string }>([
    { name: 'another server reports no mode', over: { 'ums-2': { mode: null } }, says: 'no mode reported by ums-2' },
    { name: 'another server reports no state', over: { 'ums-3': { state: null } }, says: 'no state reported by ums-3' },
    { name: 'another server never reported', over: { 'ums-3': { absent: true } }, says: 'no version reported by ums-3' },
  ])('one at a time: $name → whether it is being updated is unknown, so nothing is applied', ({ over, says }) => {
    const r = run(over);
    expect(r.commands.filter((c) => c.action === 'apply')).toEqual([]);
    expect(r.plan.find((s) => s.member === 'ums-1' && s.action === 'apply')?.blockedBy?.message).toContain(says);
    expect(condition(r).message).toContain(says);
  });

  it('one at a time, mid-rollout: a server not yet updated that reports no mode holds the next apply', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-3': { mode: null } });
    expect(r.commands).toEqual([]);
    expect(blocker(r, 'ums-2', 'apply')).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining('no mode reported by ums-3') });
    expect(condition(r).message).toContain('no mode reported by ums-3');
  });

  it('the next server itself reports no mode: held, never assumed normal', () => {
    const r = run({ 'ums-1': updated('ums-1', 10), 'ums-2': { mode: null } });
    expect(r.commands).toEqual([]);
    expect(blocker(r, 'ums-2', 'apply')).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining('no mode reported by ums-2') });
  });

  it('normal mode before load balancers and consoles: a server reporting no mode after the migration holds both', () => {
    const done = (name: string, min: number, extra: M = {}): M => updated(name, min, { mode: 'normal', ...extra });
    const r = run({ 'ums-1': done('ums-1', 10), 'ums-2': done('ums-2', 20, { mode: null }), 'ums-3': done('ums-3', 30) });
    expect(r.commands).toEqual([]);
    expect(blocker(r, 'ums-lb', 'apply')).toMatchObject({ reason: 'ObservationMissing', message: expect.stringContaining('no mode reported by ums-2') });
    expect(blocker(r, 'ums-console', 'apply')?.message).toContain('no mode reported by ums-2');
    expect(condition(r).message).toContain('no mode reported by ums-2');
  });

  it('no downgrade across major.minor: a server reporting no version holds everything ("no version reported by ums-2")', () => {
    const r = run({ 'ums-2': { version: null } });
    expect(r.commands).toEqual([]);
    expect(condition(r)).toMatchObject({ reason: 'ObservationMissing', message: 'the database schema of the cluster is unknown (no downgrade across major.minor): no version reported by ums-2' });
    for (const s of r.plan) expect(s.runnable).toBe(false);
  });

  it('nothing at all while the package is not verified — not even the migration', () => {
    const over = { 'ums-1': updated('ums-1', 10), 'ums-2': updated('ums-2', 20), 'ums-3': updated('ums-3', 30) };
    const obs = world(over, {}, false);
    const r = reconcileHACluster(cluster(), obs, prev(), NOW);
    expect(r.commands).toEqual([]);
    expect(condition(r)).toMatchObject({ reason: 'VerifyingPackage' });
  });
});

// ------------------------------------------------------------------ previous status

describe('seed 004: memory from the previous status never opens a gate on its own', () => {
  it('a previous status that says the preflight passed does not skip it while no server was touched: a clock now off holds', () => {
    const passed = prev();
    expect(passed.details?.['preflightPassedAt']).toBe(iso(START));
    const later = reconcileHACluster(cluster(), world({ 'ums-3': { clock: null } }), passed, NOW + 60_000);
    expect(later.commands).toEqual([]);
    expect(check(later, 'clock-skew')?.message).toBe('no clock reported by ums-3');
    expect(later.status.details?.['preflightPassedAt']).toBeUndefined();
  });

  it('a server in update mode by hand does not count as "started": the preflight still holds the next server', () => {
    const r = run({ 'ums-1': { version: V, mode: 'update', staged: false, installedAt: iso(START) }, 'ums-3': { clock: null } });
    expect(r.commands).toEqual([]);
    expect(check(r, 'clock-skew')?.status).toBe('unknown');
  });

  it('without a previous status (a restart, or plan) the rollout start is now: an older backup is not fresh, a backup is asked for', () => {
    const r = run({}, {}, 'none');
    expect(sent(r)).toEqual(['backup ums-1']);
    expect(check(r, 'fresh-backup')?.passed).toBe(false);
  });

  it('a controller killed between its backup and its first status commit goes on: the agents date the rollout start', () => {
    const ours = { lastBackup: iso(NOW - 20 * 60_000), results: [res('ums-1', 'backup', 'succeeded', iso(NOW - 20 * 60_000))] };
    const r = run({ 'ums-1': ours }, {}, 'none');
    expect(check(r, 'fresh-backup')?.status).toBe('satisfied');
    expect(r.status.rolloutStartedAt).toBe(iso(NOW - 20 * 60_000));
    expect(sent(r)).toEqual(['apply ums-1']);
    // The same backup command result from long ago (an earlier attempt at this release) is not evidence.
    const old = { lastBackup: iso(NOW - 7 * 3_600_000), results: [res('ums-1', 'backup', 'succeeded', iso(NOW - 7 * 3_600_000))] };
    const stale = run({ 'ums-1': old }, {}, 'none');
    expect(check(stale, 'fresh-backup')?.status).not.toBe('satisfied');
    expect(sent(stale)).toEqual([]);
  });

  it('without a previous status mid-rollout, the agents say the rollout started: the same next step, no preflight again', () => {
    const withPrev = run({ 'ums-1': updated('ums-1', 10) });
    const without = run({ 'ums-1': updated('ums-1', 10) }, {}, 'none');
    expect(sent(without)).toEqual(sent(withPrev));
    expect(sent(without)).toEqual(['apply ums-2']);
  });

  it('a previous status of another release does not carry the rollout start, the preflight or the freeze', () => {
    const other = reconcileHACluster(input(desired('HACluster', 'ums-prod', { ...spec(), release: 'igel-ums-12.07.100' }), RELEASES), world(), undefined, START).status;
    const r = run({}, {}, other);
    expect(r.status.rolloutStartedAt).toBe(iso(NOW));
    expect(sent(r)).toEqual(['backup ums-1']);
  });

  it('a newer server within the major.minor without a Git rollback in the previous status is MemberAhead (Blocked), with or without previous', () => {
    for (const p of [undefined, prev()]) {
      const r = reconcileHACluster(cluster(), world({ 'ums-2': { version: '12.08.120' } }), p, NOW);
      expect(r.status.phase).toBe('Blocked');
      expect(condition(r).reason).toBe('MemberAhead');
      expect(r.commands).toEqual([]);
    }
  });
});

describe('the reasons: one catalogue, the common reasons unchanged', () => {
  it('every reason the kind lists is catalogued with a phase; common reasons keep their common meaning', () => {
    for (const r of HA_CLUSTER_REASONS) expect(HA_CLUSTER_CATALOGUE[r]?.phase, r).toBeDefined();
    for (const [r, def] of Object.entries(COMMON_REASONS)) expect(HA_CLUSTER_CATALOGUE[r], r).toEqual(def);
    expect(HA_CLUSTER_CATALOGUE['MemberAhead']?.phase).toBe('Blocked');
    expect(HA_CLUSTER_CATALOGUE['BackupFailed']?.phase).toBe('Failed');
    expect(HA_CLUSTER_CATALOGUE['ObservationMissing']?.phase).toBe('Waiting');
  });
});
