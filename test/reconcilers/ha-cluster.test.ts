/**
 * The HACluster reconciler against seed 004 (IGEL UMS HA, zero downtime): preflight (installer on
 * every component, no orphan entries, a fresh backup, clocks within a minute), no downgrade across
 * major.minor, servers one at a time in update mode, the last one migrates the schema, all back to
 * normal mode, then load balancers, then consoles. Every test is named after the rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { Command, ConditionType, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { END_UPDATE_MODE_ACTION, HA_CLUSTER_REQUEUE, HA_CLUSTER_STEPS, HELD_BACK_MESSAGE, configDigest, reconcileHACluster, type PreflightCheck } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { BackupMode, HAClusterSpec, Member } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, observed, release, type AgentSpec } from '../helpers/observed.ts';
import { prng } from '../helpers/prng.ts';

// ------------------------------------------------------------------ fixtures

const PRODUCT = 'igel-ums';
const OLD = '12.07.100';
const V = '12.08.110';
const RELEASES = [
  release('igel-ums-12.07.100', PRODUCT, OLD),
  release('igel-ums-12.08.110', PRODUCT, V),
  release('igel-ums-12.08.120', PRODUCT, '12.08.120'),
];
const TARGET = 'hacluster/ums-prod' as const;
const SERVERS = ['ums-1', 'ums-2', 'ums-3'];
const ORDER = ['ums-2', 'ums-1', 'ums-3'];
const LBS = ['ums-lb-1'];
const CONSOLES = ['ums-console-admin', 'ums-console-helpdesk'];
const REGISTERED = [...SERVERS, ...LBS];
const iso = (ms: number): string => new Date(ms).toISOString();
/** The rollout started an hour before NOW (see PREVIOUS). */
const START = NOW - 3_600_000;
const LAST_SEEN = iso(NOW - 5_000);
const FRESH_BACKUP = iso(START + 600_000);
const STALE_BACKUP = iso(START - 86_400_000);
const VERIFIED = { 'igel-ums-12.08.110': 'verified', 'igel-ums-12.07.100': 'verified', 'igel-ums-12.08.120': 'verified' } as const;

interface ClusterOpts {
  release?: string;
  servers?: readonly string[];
  loadBalancers?: readonly string[];
  consoles?: readonly string[];
  updateOrder?: readonly string[] | null;
  backup?: BackupMode;
  maxClockSkewSeconds?: number;
  orphanCheck?: boolean;
}

function spec(o: ClusterOpts = {}): HAClusterSpec {
  const members = (names: readonly string[]): Member[] => names.map((name) => ({ name }));
  return {
    release: o.release ?? 'igel-ums-12.08.110',
    servers: members(o.servers ?? SERVERS),
    loadBalancers: members(o.loadBalancers ?? LBS),
    consoles: members(o.consoles ?? CONSOLES),
    ...(o.updateOrder === null ? {} : { updateOrder: o.updateOrder ?? ORDER }),
    preflight: { maxClockSkewSeconds: o.maxClockSkewSeconds ?? 60, backup: o.backup ?? 'Command', orphanCheck: o.orphanCheck ?? true },
  };
}

const cluster = (o: ClusterOpts = {}) => input(desired('HACluster', 'ums-prod', spec(o)), RELEASES);

interface Comp {
  version?: string;
  mode?: 'normal' | 'update';
  state?: ComponentReport['state'];
  /** Version staged and verified; false: nothing staged. Default: the desired version. */
  staged?: string | false;
  verified?: boolean;
  results?: CommandResult[];
  online?: boolean;
  /** Agent clock minus lastSeen, in seconds. */
  clockOffset?: number;
  lastBackup?: string | null;
  registered?: readonly string[] | null;
  /** When the running version was installed (agents report it per component). */
  installedAt?: string;
}

/** A UMS component's agent: running `version` (12.07.100), normal mode, holding the installer, clock in sync. */
function ums(role: 'server' | 'other', c: Comp = {}): AgentSpec {
  const component: ComponentReport = {
    product: PRODUCT,
    version: c.version ?? OLD,
    state: c.state ?? 'running',
    ...(role === 'server' ? { mode: c.mode ?? 'normal' } : {}),
    ...(c.staged === false ? {} : { staged: { version: c.staged ?? V, verified: c.verified ?? true } }),
    ...(c.installedAt !== undefined ? { installedAt: c.installedAt } : {}),
  };
  const facts = {
    clock: iso(Date.parse(LAST_SEEN) + (c.clockOffset ?? 0) * 1000),
    ...(role === 'server' && c.lastBackup !== null ? { lastBackup: c.lastBackup ?? FRESH_BACKUP } : {}),
    ...(role === 'server' && c.registered !== null ? { registeredMembers: c.registered ?? REGISTERED } : {}),
  };
  return { online: c.online ?? true, lastSeen: LAST_SEEN, components: [component], results: c.results ?? [], facts };
}

/** Every component, ready for the update (installer staged, fresh backup, no orphans, clocks in sync), with overrides. */
function fleet(over: Readonly<Record<string, Comp>> = {}, names = { servers: SERVERS, lbs: LBS, consoles: CONSOLES }): Record<string, AgentSpec> {
  return Object.fromEntries([
    ...names.servers.map((n) => [n, ums('server', over[n])]),
    ...[...names.lbs, ...names.consoles].map((n) => [n, ums('other', over[n])]),
  ]);
}

const world = (agents: Record<string, AgentSpec>, artifacts: Readonly<Record<string, ArtifactCheck['status'] | ArtifactCheck>> = VERIFIED): Observed => observed(agents, artifacts);

/** The status of the pass that noticed the new release an hour ago (nothing staged then: the preflight had not passed). */
const PREVIOUS: TargetStatus = reconcileHACluster(cluster(), world(fleet(Object.fromEntries([...SERVERS, ...LBS, ...CONSOLES].map((n) => [n, { staged: false }])))), undefined, START).status;

/** `previous: null` runs without a previous status (a first pass, or a lost status). */
const run = (d = cluster(), obs = world(fleet()), previous: TargetStatus | null = PREVIOUS, now = NOW): ReconcileResult => reconcileHACluster(d, obs, previous ?? undefined, now);
const sent = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
const cond = (r: ReconcileResult, type: ConditionType) => r.status.conditions.find((c) => c.type === type);
const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name);
const check = (r: ReconcileResult, name: string) => (r.status.details?.['preflight'] as PreflightCheck[] | undefined)?.find((c) => c.name === name);
const result = (name: string, action: Action, status: CommandResult['status'], message?: string, version = V, at = iso(NOW - 60_000)): CommandResult => ({
  id: commandId(TARGET, name, action, version),
  status,
  ...(message ? { message } : {}),
  at,
});

/** Mid-rollout: servers done so far run V in update mode (their apply succeeded). */
const updated = (extra: Comp = {}): Comp => ({ version: V, mode: 'update', staged: false, ...extra });
/** Servers finish in update order, ten minutes apart: the one updated last installed last. */
const installedAtOf = (name: string): string => iso(START + 1_200_000 + ORDER.indexOf(name) * 600_000);
const done = (name: string): Comp => updated({ results: [result(name, 'apply', 'succeeded', undefined, V, installedAtOf(name))], installedAt: installedAtOf(name) });
const normal = (extra: Comp = {}): Comp => ({ version: V, mode: 'normal', staged: false, ...extra });

// ------------------------------------------------------------------ rules

describe('seed 004: the cluster names a release that exists, whose package verified', () => {
  it('an unknown release blocks the cluster (ReleaseNotFound) and nothing is sent', () => {
    const r = run(cluster({ release: 'igel-ums-99.1.1' }), world(fleet()), null);
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'ReleaseNotFound' });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.members.map((m) => [m.name, m.role])).toEqual([
      ['ums-2', 'server'], ['ums-1', 'server'], ['ums-3', 'server'], ['ums-lb-1', 'load-balancer'], ['ums-console-admin', 'console'], ['ums-console-helpdesk', 'console'],
    ]);
  });

  it.each([
    { name: 'not checked yet', artifacts: {} as Record<string, ArtifactCheck['status']> },
    { name: 'still being checked', artifacts: { 'igel-ums-12.08.110': 'pending' as const } },
  ])('a package $name: Waiting VerifyingPackage, nothing sent (not even stage or backup)', ({ artifacts }) => {
    const r = run(cluster(), world(fleet({ 'ums-2': { staged: false, lastBackup: STALE_BACKUP } }), artifacts));
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'VerifyingPackage' });
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBe(HA_CLUSTER_REQUEUE.verifyingPackage);
  });

  it('a package that failed verification: Blocked PackageNotSecure, nothing sent', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': { staged: false } }), { 'igel-ums-12.08.110': { release: 'igel-ums-12.08.110', status: 'failed', reason: 'signature does not verify' } }));
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'PackageNotSecure', message: 'package not secure: signature does not verify' });
    expect(r.commands).toEqual([]);
    for (const s of r.plan) expect(s.runnable).toBe(false);
  });
});

describe('seed 004: no downgrade across major.minor (the database schema); within one major.minor it is allowed', () => {
  it('12.08.110 -> 12.07.100 is stalled (SchemaDowngrade) with the reason, and nothing is sent', () => {
    const r = run(cluster({ release: 'igel-ums-12.07.100' }), world(fleet(Object.fromEntries(SERVERS.map((n) => [n, normal({ staged: OLD })])))), null);
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'SchemaDowngrade',
      message: '12.08.110 -> 12.07.100 lowers the database schema 12.8 -> 12.7: UMS can only downgrade within one major.minor (install a separate HA network and restore a backup of that schema)',
    });
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    for (const s of r.plan) expect(s).toMatchObject({ runnable: false, blockedBy: { category: 'stalled', reason: 'SchemaDowngrade' } });
  });

  it('one server already on 12.08 is enough to stall a move of the cluster to 12.07', () => {
    const r = run(cluster({ release: 'igel-ums-12.07.100' }), world(fleet({ 'ums-2': normal({ staged: OLD }) })), null);
    expect(cond(r, 'Stalled')?.reason).toBe('SchemaDowngrade');
    expect(member(r, 'ums-2')?.message).toContain('runs 12.08.110');
    expect(r.commands).toEqual([]);
  });

  it('12.08.120 -> 12.08.110 (same schema 12.8) moved back by Git proceeds like an update: preflight, then the first server in update order', () => {
    const obs = world(fleet(Object.fromEntries(SERVERS.map((n) => [n, { version: '12.08.120', lastBackup: iso(NOW) }]))));
    const before = reconcileHACluster(cluster({ release: 'igel-ums-12.08.120' }), obs, undefined, START).status;
    const r = run(cluster(), obs, before);
    expect(cond(r, 'Stalled')?.status).toBe('False');
    expect(sent(r)).toEqual(['apply ums-2']);
    expect(r.status.phase).toBe('Progressing');
    expect(r.status.details?.['rollbackFrom']).toBe('12.08.120');
    // the next pass remembers the rollback (the previous status now says 12.08.110)
    expect(sent(run(cluster(), obs, r.status))).toEqual(['apply ums-2']);
  });

  it('a server newer within the major.minor that Git did not roll back is MemberAhead: Blocked, left alone, nothing sent', () => {
    const r = run(cluster(), world(fleet({ 'ums-1': { version: '12.08.120' } })));
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ reason: 'MemberAhead', message: expect.stringContaining('server ums-1 runs 12.08.120, newer than 12.08.110') });
    expect(member(r, 'ums-1')?.state).toBe('Ahead');
    expect(r.commands).toEqual([]);
  });
});

describe('seed 004: preflight — nothing is applied until every named check passes', () => {
  it('all four checks pass: they are reported, the time is recorded, and the first server in update order gets apply', () => {
    const r = run();
    expect(r.status.details?.['preflight']).toEqual([
      { name: 'installer-distributed', status: 'satisfied', passed: true, message: 'the installer 12.08.110 is staged and verified on all 6 components' },
      { name: 'no-orphans', status: 'satisfied', passed: true, message: 'the 4 registered servers and load balancers (reported by ums-2, ums-1, ums-3) are all in this file' },
      { name: 'fresh-backup', status: 'satisfied', passed: true, message: `database backup of ${FRESH_BACKUP}, taken after the rollout started (${iso(START)})` },
      { name: 'clock-skew', status: 'satisfied', passed: true, message: 'the clocks of 4 servers and load balancers differ by at most 0 s (allowed 60 s)' },
    ]);
    expect(r.status.details?.['preflightPassedAt']).toBe(iso(NOW));
    expect(sent(r)).toEqual(['apply ums-2']);
    expect(r.commands[0]).toMatchObject({ id: commandId(TARGET, 'ums-2', 'apply', V), agent: 'ums-2', delivery: 'mailbox', product: PRODUCT, version: V, artifact: { release: 'igel-ums-12.08.110', version: V } });
  });

  it('installer-distributed: stage (with the artifact) goes to every component missing it — servers, load balancer, console — and no server is applied', () => {
    const r = run(cluster(), world(fleet({ 'ums-1': { staged: false }, 'ums-lb-1': { staged: false }, 'ums-console-helpdesk': { staged: '12.07.100' } })));
    expect(sent(r)).toEqual(['stage ums-1', 'stage ums-lb-1', 'stage ums-console-helpdesk']);
    for (const c of r.commands) expect(c.artifact?.sha256).toBe('a'.repeat(64));
    expect(check(r, 'installer-distributed')).toMatchObject({ passed: false, message: 'the installer 12.08.110 is not staged and verified yet on ums-1, ums-lb-1, ums-console-helpdesk' });
    expect(r.plan.find((s) => s.member === 'ums-2' && s.action === 'apply')?.blockedBy).toMatchObject({ reason: 'WaitingForInstaller' });
    expect(r.status.phase).toBe('Progressing');
    expect(cond(r, 'Reconciling')?.reason).toBe('DistributingInstaller');
    expect(r.status.details?.['preflightPassedAt']).toBeUndefined();
  });

  it('installer-distributed: an offline console holds every server back, and says so', () => {
    const r = run(cluster(), world(fleet({ 'ums-console-admin': { staged: false, online: false } })));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ reason: 'MemberOffline', message: `console ums-console-admin offline since ${LAST_SEEN}` });
  });

  it.each([
    { name: 'one orphan', registered: [...REGISTERED, 'ums-old-4'], expected: 'ums-old-4' },
    { name: 'two orphans (server and load balancer)', registered: ['ums-old-4', ...REGISTERED, 'ums-lb-old'], expected: 'ums-old-4, ums-lb-old' },
  ])('no-orphans: $name registered in the cluster but missing from the file blocks the update (OrphanMembers), naming them', ({ registered, expected }) => {
    const r = run(cluster(), world(fleet(Object.fromEntries(SERVERS.map((n) => [n, { registered }])))));
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'OrphanMembers' });
    expect(cond(r, 'Stalled')?.message).toContain(`not in this file: ${expected}; delete them in UMS Console > UMS Administration > UMS Network`);
    expect(check(r, 'no-orphans')?.passed).toBe(false);
    expect(r.commands).toEqual([]);
    const apply = r.plan.find((s) => s.member === 'ums-2' && s.action === 'apply');
    expect(apply).toMatchObject({ runnable: false, blockedBy: { category: 'stalled', reason: 'OrphanMembers' } });
    expect(apply?.blockedBy?.message).toContain('no-orphans: orphan entries');
  });

  it('no-orphans: the lists of the ONLINE servers count (an offline one may be stale), and an orphan any of them reports holds', () => {
    const obs = world(fleet({ 'ums-2': { online: false, registered: [...REGISTERED, 'ghost'] }, 'ums-1': { registered: REGISTERED }, 'ums-3': { registered: REGISTERED } }));
    expect(check(run(cluster(), obs), 'no-orphans')).toMatchObject({ passed: true, message: expect.stringContaining('reported by ums-1, ums-3') });
    const one = world(fleet({ 'ums-2': { online: false }, 'ums-1': { registered: REGISTERED }, 'ums-3': { registered: [...REGISTERED, 'ghost'] } }));
    expect(check(run(cluster(), one), 'no-orphans')).toMatchObject({ passed: false, message: expect.stringContaining('not in this file: ghost') });
  });

  it('no-orphans: disabled by preflight.orphanCheck: false', () => {
    const r = run(cluster({ orphanCheck: false }), world(fleet(Object.fromEntries(SERVERS.map((n) => [n, { registered: [...REGISTERED, 'ghost'] }])))));
    expect(check(r, 'no-orphans')?.passed).toBe(true);
    expect(sent(r)).toEqual(['apply ums-2']);
  });

  it('fresh-backup (Command): a stale backup makes the controller ask the first server in update order for one; no server is applied', () => {
    const stale = fleet(Object.fromEntries(SERVERS.map((n) => [n, { lastBackup: STALE_BACKUP }])));
    const r = run(cluster(), world(stale));
    expect(sent(r)).toEqual(['backup ums-2']);
    expect(r.commands[0]).toMatchObject({ id: commandId(TARGET, 'ums-2', 'backup', V), action: 'backup', version: V });
    expect(r.commands[0]?.artifact).toBeUndefined();
    expect(check(r, 'fresh-backup')).toMatchObject({ passed: false, message: `the last database backup (${STALE_BACKUP}) is older than the rollout start (${iso(START)}); taking a database backup on server ums-2` });
    expect(r.status.phase).toBe('Progressing');
    expect(cond(r, 'Reconciling')?.reason).toBe('TakingBackup');
  });

  it.each([
    { status: 'running' as const, phase: 'Progressing', reason: 'TakingBackup', passes: false },
    { status: 'failed' as const, phase: 'Failed', reason: 'BackupFailed', passes: false },
    { status: 'succeeded' as const, phase: 'Progressing', reason: 'UpdatingServer', passes: true },
  ])('fresh-backup (Command): the backup is sent once and tracked by its id — $status', ({ status, phase, reason, passes }) => {
    const r = run(cluster(), world(fleet({ 'ums-2': { lastBackup: STALE_BACKUP, results: [result('ums-2', 'backup', status, 'disk full')] }, 'ums-1': { lastBackup: null }, 'ums-3': { lastBackup: null } })));
    expect(r.commands.filter((c) => c.action === 'backup')).toEqual([]);
    expect(r.status.phase).toBe(phase);
    expect(r.status.conditions.find((c) => c.status === 'True')?.reason).toBe(reason);
    expect(check(r, 'fresh-backup')?.passed).toBe(passes);
    expect(sent(r)).toEqual(passes ? ['apply ums-2'] : []);
  });

  it('fresh-backup (External): the controller sends no backup and waits for one to be reported (WaitingForBackup)', () => {
    const r = run(cluster({ backup: 'External' }), world(fleet(Object.fromEntries(SERVERS.map((n) => [n, { lastBackup: STALE_BACKUP }])))));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')?.reason).toBe('WaitingForBackup');
    expect(r.plan[0]).toMatchObject({ member: 'ums-2', action: 'backup', runnable: false, performedBy: 'operator', blockedBy: { reason: 'WaitingForBackup' } });
    // …and proceeds once an agent reports one newer than the rollout start
    expect(sent(run(cluster({ backup: 'External' }), world(fleet({ 'ums-3': { lastBackup: iso(NOW - 1000) } }))))).toEqual(['apply ums-2']);
  });

  it('fresh-backup: the rollout start is kept from the previous status while the release is unchanged, and reset when it changes', () => {
    expect(run().status.rolloutStartedAt).toBe(iso(START));
    const moved = run(cluster({ release: 'igel-ums-12.08.120' }), world(fleet({}, undefined)));
    expect(moved.status.rolloutStartedAt).toBe(iso(NOW));
    expect(check(moved, 'fresh-backup')?.passed).toBe(false);
  });

  it.each([
    { offset: 61, passes: false },
    { offset: -61, passes: false },
    { offset: 60, passes: true },
    { offset: -60, passes: true },
  ])('clock-skew: a clock $offset s off the others passes: $passes (at most one minute)', ({ offset, passes }) => {
    const r = run(cluster(), world(fleet({ 'ums-3': { clockOffset: offset } })));
    expect(check(r, 'clock-skew')?.passed).toBe(passes);
    if (passes) {
      expect(sent(r)).toEqual(['apply ums-2']);
    } else {
      expect(r.commands).toEqual([]);
      expect(r.status.phase).toBe('Blocked');
      const stalled = cond(r, 'Stalled');
      expect(stalled).toMatchObject({ status: 'True', reason: 'ClockSkew' });
      expect(stalled?.message).toContain('clocks differ by 61 s, more than the 60 s allowed');
      expect(stalled?.message).toContain(`server ums-3 (${offset > 0 ? '+' : ''}${offset} s)`);
    }
  });

  it('clock-skew: the limit comes from preflight.maxClockSkewSeconds; load balancers count (they are in the HA network), consoles do not', () => {
    const obs = world(fleet({ 'ums-lb-1': { clockOffset: 20 }, 'ums-console-admin': { clockOffset: 600 } }));
    expect(check(run(cluster({ maxClockSkewSeconds: 15 }), obs), 'clock-skew')).toMatchObject({ passed: false, message: expect.stringContaining('load balancer ums-lb-1 (+20 s)') });
    expect(check(run(cluster({ maxClockSkewSeconds: 20 }), obs), 'clock-skew')?.passed).toBe(true);
  });

  it('every failing check is reported at once; the plan blocker lists them all', () => {
    const r = run(cluster(), world(fleet({ 'ums-1': { clockOffset: 120, registered: null, lastBackup: null }, 'ums-2': { registered: ['ghost', ...REGISTERED], lastBackup: null }, 'ums-3': { lastBackup: null } })));
    expect((r.status.details?.['preflight'] as PreflightCheck[]).map((c) => [c.name, c.passed])).toEqual([
      ['installer-distributed', true],
      ['no-orphans', false],
      ['fresh-backup', false],
      ['clock-skew', false],
    ]);
    expect(sent(r)).toEqual(['backup ums-2']);
    const blocker = r.plan.find((s) => s.action === 'apply' && s.member === 'ums-2')?.blockedBy;
    expect(blocker).toMatchObject({ category: 'stalled', reason: 'OrphanMembers' });
    expect(blocker?.message).toMatch(/^preflight: no-orphans: .*; fresh-backup: .*; clock-skew: /);
  });
});

describe('seed 004: servers are updated ONE AT A TIME, in update order; never two in update mode', () => {
  it('the next server is applied only once the previous one reports the new version, running, in update mode', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2') })));
    expect(sent(r)).toEqual(['apply ums-1']);
    expect(r.status.summary).toBe('1 of 3 servers updated to 12.08.110');
    expect(member(r, 'ums-2')).toMatchObject({ state: 'Updating', observed: V, message: expect.stringContaining('update mode on a local copy of the database and keeps serving devices') });
    expect(r.plan.map((s) => `${s.action} ${s.member}${s.runnable ? '' : ` [${s.blockedBy?.reason}]`}`)).toEqual([
      'apply ums-1',
      'apply ums-3 [WaitingForServer]',
      'migrate ums-3 [WaitingForServers]',
      'apply ums-lb-1 [WaitingForServers]',
      'apply ums-console-admin [WaitingForServers]',
      'apply ums-console-helpdesk [WaitingForServers]',
    ]);
  });

  it.each([
    { name: 'still installing', comp: { mode: 'update' as const, state: 'installing' as const } },
    { name: 'our apply succeeded, in update mode, not reporting the new version yet', comp: { mode: 'update' as const, results: [result('ums-2', 'apply', 'succeeded')] } },
    { name: 'our apply is running', comp: { results: [result('ums-2', 'apply', 'running')] } },
    { name: 'reports the new version but is not running yet', comp: { version: V, mode: 'update' as const, state: 'installing' as const } },
  ])('the server being updated ($name) holds the next one back; nothing is re-sent', ({ comp }) => {
    const r = run(cluster(), world(fleet({ 'ums-2': comp })));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Progressing');
    expect(cond(r, 'Reconciling')?.reason).toBe('UpdatingServer');
    expect(r.plan.find((s) => s.member === 'ums-1')?.blockedBy?.reason).toBe('WaitingForServer');
  });

  it('a server reporting update mode counts, whatever the controller thinks: someone running the installer on ums-3 holds ums-1 back', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2'), 'ums-3': { mode: 'update' } })));
    expect(r.commands).toEqual([]);
    expect(r.plan.find((s) => s.member === 'ums-1')).toMatchObject({ action: 'apply', runnable: false, blockedBy: { reason: 'ServerInUpdateMode', message: expect.stringContaining('server ums-3 is being updated') } });
  });

  it('the next server in update mode without any apply of this rollout (by hand, or of an earlier release) waits for a person: nothing is sent', () => {
    const r = run(cluster({ release: 'igel-ums-12.08.120' }), world(fleet({ 'ums-2': { version: V, mode: 'update', staged: '12.08.120' }, ...Object.fromEntries(['ums-1', 'ums-3', ...LBS, ...CONSOLES].map((n) => [n, { staged: '12.08.120', lastBackup: iso(NOW) }])) })));
    expect(r.status.details?.['preflightPassedAt']).toBe(iso(NOW));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ reason: 'ServerInUpdateMode', message: expect.stringContaining('server ums-2 is in update mode at 12.08.110, not started by this rollout') });
  });

  it('without updateOrder, servers go in declaration order', () => {
    expect(sent(run(cluster({ updateOrder: null }), world(fleet()), null))).toEqual(['backup ums-1']);
    const prev = reconcileHACluster(cluster({ updateOrder: null }), world(fleet()), undefined, START).status;
    expect(sent(run(cluster({ updateOrder: null }), world(fleet()), prev))).toEqual(['apply ums-1']);
  });

  it('an offline next server waits; the servers after it are not skipped', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2'), 'ums-1': { online: false } })));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ reason: 'MemberOffline', message: `server ums-1 offline since ${LAST_SEEN}` });
  });

  it.each([
    { name: 'stopped in update mode', comp: updated({ state: 'stopped', results: [result('ums-2', 'apply', 'succeeded')] }), reason: 'ServerCrashed', text: 'server ums-2 crashed during the update (state stopped, update mode, version 12.08.110)' },
    { name: 'failed, still on the old version, in update mode', comp: { mode: 'update' as const, state: 'failed' as const }, reason: 'ServerCrashed', text: 'crashed during the update (state failed' },
    { name: 'its apply reported failed', comp: { results: [result('ums-2', 'apply', 'failed', 'installer exited with 1')] }, reason: 'ApplyFailed', text: 'apply of 12.08.110 failed on server ums-2: installer exited with 1' },
  ])('a server that crashed during its update ($name) stops the rollout: Failed, nothing further, never the next server', ({ comp, reason, text }) => {
    const r = run(cluster(), world(fleet({ 'ums-2': comp, 'ums-lb-1': { staged: false } })));
    expect(r.status.phase).toBe('Failed');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason });
    expect(cond(r, 'Stalled')?.message).toContain(text);
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    expect(member(r, 'ums-2')?.state).toBe('Failed');
    expect(r.plan.find((s) => s.member === 'ums-1')).toMatchObject({ runnable: false, blockedBy: { reason: 'RolloutStopped' } });
    // the next pass, same world: still stopped, still nothing
    expect(run(cluster(), world(fleet({ 'ums-2': comp })), r.status).commands).toEqual([]);
  });

  it('a crash of the second server stops the rollout too: the third is never applied', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2'), 'ums-1': updated({ state: 'stopped', version: OLD, results: [result('ums-1', 'apply', 'running')] }) })));
    expect(r.status.phase).toBe('Failed');
    expect(r.commands).toEqual([]);
  });
});

describe('seed 004: the last server migrates the production schema, then every server returns to normal mode', () => {
  const allUpdated = { 'ums-2': done('ums-2'), 'ums-1': done('ums-1'), 'ums-3': done('ums-3') };

  it('once the last server reports the new version in update mode, it (and only it) is told to migrate', () => {
    const r = run(cluster(), world(fleet(allUpdated)));
    expect(sent(r)).toEqual(['migrate ums-3']);
    expect(r.commands[0]).toMatchObject({ id: commandId(TARGET, 'ums-3', 'migrate', V), version: V });
    expect(cond(r, 'Reconciling')).toMatchObject({ reason: 'MigratingSchema', message: `server ums-3, updated last (installedAt ${installedAtOf('ums-3')}), migrates the production database schema to 12.8` });
    expect(r.status.summary).toBe('3 of 3 servers updated to 12.08.110');
  });

  it('a running migration is not re-sent; a failed one fails the cluster and nothing follows', () => {
    const running = run(cluster(), world(fleet({ ...allUpdated, 'ums-3': updated({ results: [result('ums-3', 'apply', 'succeeded'), result('ums-3', 'migrate', 'running')] }) })));
    expect(running.commands).toEqual([]);
    expect(running.status.phase).toBe('Progressing');
    const failed = run(cluster(), world(fleet({ ...allUpdated, 'ums-3': updated({ installedAt: installedAtOf('ums-3'), results: [result('ums-3', 'migrate', 'failed', 'schema lock')] }) })));
    expect(failed.status.phase).toBe('Failed');
    expect(cond(failed, 'Stalled')).toMatchObject({ reason: 'MigrationFailed', message: 'migration of the production schema to 12.8 failed on server ums-3: schema lock' });
    expect(failed.commands).toEqual([]);
  });

  it('after a successful migration, a server still in update mode is stuck: the message names the action that ends it, and end-update-mode is sent once', () => {
    const at = (name: string) => ({ installedAt: installedAtOf(name) });
    const obs = world(fleet({ 'ums-2': normal(at('ums-2')), 'ums-1': updated(at('ums-1')), 'ums-3': normal({ ...at('ums-3'), results: [result('ums-3', 'migrate', 'succeeded')] }) }));
    const r = run(cluster(), obs);
    expect(sent(r)).toEqual(['end-update-mode ums-1']);
    expect(r.commands[0]?.id).toBe(commandId(TARGET, 'ums-1', 'end-update-mode', V));
    expect(member(r, 'ums-1')?.message).toBe(`still in update mode after the schema migration: end it with ${END_UPDATE_MODE_ACTION} (end-update-mode sent)`);
    expect(END_UPDATE_MODE_ACTION).toContain('End update mode for local UMS Server');
    expect(END_UPDATE_MODE_ACTION).toContain('UMS Administrator > Distributed UMS');
    expect(r.plan.find((s) => s.member === 'ums-lb-1')?.blockedBy?.reason).toBe('WaitingForServers');

    // once the id has a result and the server is still stuck, it is not re-sent: a person must act
    const again = run(cluster(), world(fleet({ 'ums-2': normal(at('ums-2')), 'ums-1': updated({ ...at('ums-1'), results: [result('ums-1', 'end-update-mode', 'succeeded')] }), 'ums-3': normal({ ...at('ums-3'), results: [result('ums-3', 'migrate', 'succeeded')] }) })));
    expect(again.commands).toEqual([]);
    expect(again.status.phase).toBe('Blocked');
    expect(cond(again, 'Stalled')?.reason).toBe('StuckInUpdateMode');
    expect(cond(again, 'Stalled')?.message).toContain('End update mode for local UMS Server');
  });

  it('a last server that reports normal mode migrated the schema itself: no migrate, the others are stuck', () => {
    const at = (name: string) => ({ installedAt: installedAtOf(name) });
    const r = run(cluster(), world(fleet({ 'ums-2': updated(at('ums-2')), 'ums-1': normal(at('ums-1')), 'ums-3': normal(at('ums-3')) })));
    expect(sent(r)).toEqual(['end-update-mode ums-2']);
  });
});

describe('seed 004: then load balancers, then consoles (a console is never updated before every server runs the new version)', () => {
  const serversDone = { 'ums-2': normal(), 'ums-1': normal(), 'ums-3': normal() };

  it('every server in normal mode: every load balancer gets apply; consoles wait for the load balancers', () => {
    const r = run(cluster({ loadBalancers: ['ums-lb-1', 'ums-lb-2'] }), world(fleet(serversDone, { servers: SERVERS, lbs: ['ums-lb-1', 'ums-lb-2'], consoles: CONSOLES })));
    expect(sent(r)).toEqual(['apply ums-lb-1', 'apply ums-lb-2']);
    expect(r.plan.find((s) => s.member === 'ums-console-admin')?.blockedBy?.reason).toBe('WaitingForLoadBalancers');
  });

  it('load balancers done: consoles get apply', () => {
    const r = run(cluster(), world(fleet({ ...serversDone, 'ums-lb-1': normal() })));
    expect(sent(r)).toEqual(['apply ums-console-admin', 'apply ums-console-helpdesk']);
  });

  it('while any server is not done, the console step says why it waits — older consoles cannot connect, newer ones are not used before the servers', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2') })));
    const step = r.plan.find((s) => s.member === 'ums-console-admin');
    expect(step).toMatchObject({ action: 'apply', runnable: false, blockedBy: { reason: 'WaitingForServers' } });
    expect(step?.blockedBy?.message).toContain('an older console cannot connect to a newer server, and a newer console is not used before the servers are done');
  });

  it('a load balancer left at another version (offline) is reported; it does not hold the consoles back', () => {
    const r = run(cluster(), world(fleet({ ...serversDone, 'ums-lb-1': { online: false } })));
    expect(sent(r)).toEqual(['apply ums-console-admin', 'apply ums-console-helpdesk']);
    expect(r.status.reminders).toEqual(['load balancer ums-lb-1 runs 12.07.100 while the servers run 12.08.110: it works with newer servers but should run the same version']);
  });

  it('done means every server and load balancer updated, running, in normal mode, and consoles updated: Converged', () => {
    const r = run(cluster(), world(fleet({ ...serversDone, 'ums-lb-1': normal(), 'ums-console-admin': normal(), 'ums-console-helpdesk': normal() })));
    expect(r.status.phase).toBe('Converged');
    expect(cond(r, 'Ready')).toMatchObject({ status: 'True', reason: 'Converged' });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    expect(r.status.summary).toBe('3 of 3 servers updated to 12.08.110');
    expect(r.status.members.every((m) => m.state === 'Updated')).toBe(true);
  });
});

describe('seed 004: configuration changes are frozen while the rollout runs (changes made in update mode are lost)', () => {
  /** The status right after the preflight passed and ums-2 got its apply. */
  const startedStatus = run().status;

  it('the digest of the configuration (spec without release) is recorded with the members in update order', () => {
    expect(startedStatus.details).toMatchObject({
      configDigest: configDigest(spec()),
      rolloutMembers: { servers: ORDER, loadBalancers: LBS, consoles: CONSOLES },
    });
    expect(configDigest(spec({ release: 'igel-ums-12.08.120' }))).toBe(configDigest(spec()));
    expect(configDigest(spec({ updateOrder: ['ums-1', 'ums-2', 'ums-3'] }))).not.toBe(configDigest(spec()));
  });

  it('a server added and the update order changed mid-rollout are held back and reported; the recorded order goes on', () => {
    const changed = cluster({ servers: [...SERVERS, 'ums-4'], updateOrder: ['ums-3', 'ums-1', 'ums-2', 'ums-4'], maxClockSkewSeconds: 5 });
    const obs = world(fleet({ 'ums-2': done('ums-2'), 'ums-4': {} }, { servers: [...SERVERS, 'ums-4'], lbs: LBS, consoles: CONSOLES }));
    const r = run(changed, obs, startedStatus);
    expect(sent(r)).toEqual(['apply ums-1']);
    expect(r.status.details?.['heldBack']).toEqual({ message: HELD_BACK_MESSAGE, added: ['ums-4'], removed: [] });
    expect(r.status.details?.['configDigest']).toBe(configDigest(spec()));
    expect(r.status.reminders?.[0]).toContain(HELD_BACK_MESSAGE);
    expect(member(r, 'ums-4')).toMatchObject({ role: 'server', state: 'Waiting', message: expect.stringContaining('held back until the rollout finishes') });
    expect(r.plan.find((s) => s.member === 'ums-4')?.blockedBy?.reason).toBe('HeldBack');
    expect(r.plan.find((s) => s.action === 'migrate')?.member).toBe('ums-3');
  });

  it('a server removed mid-rollout is no longer waited for', () => {
    const r = run(cluster({ servers: ['ums-1', 'ums-2'] }), world(fleet({ 'ums-2': done('ums-2'), 'ums-1': done('ums-1') }, { servers: ['ums-1', 'ums-2'], lbs: LBS, consoles: CONSOLES })), startedStatus);
    expect(r.status.details?.['heldBack']).toMatchObject({ removed: ['ums-3'] });
    expect(sent(r)).toEqual(['migrate ums-1']);
  });

  it('before the preflight passed, a change is simply taken: nothing is held back', () => {
    const r = run(cluster({ updateOrder: ['ums-1'] }), world(fleet({ 'ums-1': { clockOffset: 600 } })));
    expect(r.status.details?.['heldBack']).toBeUndefined();
    expect(r.status.details?.['configDigest']).toBe(configDigest(spec({ updateOrder: ['ums-1'] })));
  });

  it('once the recorded members are done, the held-back server joins and is updated', () => {
    const names = { servers: [...SERVERS, 'ums-4'], lbs: LBS, consoles: CONSOLES };
    const obs = world(fleet({ 'ums-2': normal(), 'ums-1': normal(), 'ums-3': normal(), 'ums-lb-1': normal(), 'ums-console-admin': normal(), 'ums-console-helpdesk': normal() }, names));
    const r = run(cluster({ servers: [...SERVERS, 'ums-4'] }), obs, startedStatus);
    expect(r.status.details?.['heldBack']).toBeUndefined();
    expect(sent(r)).toEqual(['apply ums-4']);
  });
});

describe('seed 004: the status is the installer\'s report — "n of m servers updated"', () => {
  it('summary, roles, desired and observed versions, revision and conditions', () => {
    const r = run(cluster(), world(fleet({ 'ums-2': done('ums-2') })));
    expect(r.status.target).toBe(TARGET);
    expect(r.status.observedRevision).toBe('c0ffee0000000000000000000000000000000000');
    expect(r.status.summary).toBe('1 of 3 servers updated to 12.08.110');
    expect(r.status.members.map((m) => [m.name, m.role, m.desired, m.observed, m.state])).toEqual([
      ['ums-2', 'server', V, V, 'Updating'],
      ['ums-1', 'server', V, OLD, 'Updating'],
      ['ums-3', 'server', V, OLD, 'Staged'],
      ['ums-lb-1', 'load-balancer', V, OLD, 'Staged'],
      ['ums-console-admin', 'console', V, OLD, 'Staged'],
      ['ums-console-helpdesk', 'console', V, OLD, 'Staged'],
    ]);
    expect(r.status.conditions.map((c) => [c.type, c.status])).toEqual([['Ready', 'False'], ['Reconciling', 'True'], ['Stalled', 'False']]);
    expect(r.requeueAfter).toBe(HA_CLUSTER_REQUEUE.progressing);
  });

  it('the steps are named and ordered', () => {
    expect(HA_CLUSTER_STEPS).toEqual([
      'reconcileRelease', 'reconcileVersionPolicy', 'reconcilePackage', 'reconcileServerHealth', 'reconcileInstaller', 'reconcilePreflight',
      'reconcileServers', 'reconcileSchemaMigration', 'reconcileNormalMode', 'reconcileLoadBalancers', 'reconcileConsoles', 'reconcileVerification',
    ]);
  });
});

describe('seed 004: a restarted controller continues at the same step — no server updated twice, none skipped', () => {
  it('the same (desired, observed, previous) gives the same result, byte for byte, at any later time', () => {
    const obs = world(fleet({ 'ums-2': done('ums-2') }));
    const a = run(cluster(), obs);
    const b = run(cluster(), obs, PREVIOUS, NOW);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const later = run(cluster(), obs, a.status, NOW + 600_000);
    expect(later.commands).toEqual(a.commands);
    expect(later.plan).toEqual(a.plan);
    expect(later.status).toEqual(a.status);
  });

  it('a controller killed in the middle (apply of ums-1 sent, not yet reported) re-sends the same command and does not touch ums-2 or ums-3', () => {
    const trace = simulate({ stopAfterCommand: 'apply ums-1' });
    const resumed = run(cluster(), trace.observed, trace.status, trace.now + 300_000);
    expect(resumed.commands.map((c) => c.id)).toEqual([commandId(TARGET, 'ums-1', 'apply', V)]);
    // even with the previous status lost, the update in progress is recognised: no preflight again, same step
    const lost = run(cluster(), trace.observed, null, trace.now + 300_000);
    expect(sent(lost)).toEqual(['apply ums-1']);
  });

  it('a controller restarted on every pass of a whole rollout updates each server exactly once, in order', () => {
    const trace = simulate({ restartEveryPass: true });
    expect(trace.executed.filter((c) => c.startsWith('apply ums-') && !c.includes('lb') && !c.includes('console'))).toEqual(['apply ums-2', 'apply ums-1', 'apply ums-3']);
    expect(trace.last.status.phase).toBe('Converged');
  });
});

describe('seed 004: a full simulated rollout 12.07.100 -> 12.08.110 (3 servers, 1 load balancer, 2 consoles)', () => {
  it('runs every step in the vendor order, each command once, each server applied exactly once', () => {
    const trace = simulate({});
    expect(trace.sent).toEqual([
      'stage ums-2', 'stage ums-1', 'stage ums-3', 'stage ums-lb-1', 'stage ums-console-admin', 'stage ums-console-helpdesk',
      'backup ums-2',
      'apply ums-2',
      'apply ums-1',
      'apply ums-3',
      'migrate ums-3',
      'apply ums-lb-1',
      'apply ums-console-admin', 'apply ums-console-helpdesk',
    ]);
    expect(trace.executed).toEqual(trace.sent);
    for (const s of SERVERS) expect(trace.executed.filter((c) => c === `apply ${s}`)).toHaveLength(1);
    expect(trace.maxServersUpdating).toBe(1);
    expect(trace.last.status.phase).toBe('Converged');
    expect(trace.last.status.summary).toBe('3 of 3 servers updated to 12.08.110');
    expect(trace.summaries).toContain('1 of 3 servers updated to 12.08.110');
    expect(trace.summaries).toContain('2 of 3 servers updated to 12.08.110');
  });

  it('with a server that crashes during its update, the rollout stops there', () => {
    const trace = simulate({ crash: 'ums-1' });
    expect(trace.executed.filter((c) => c.startsWith('apply'))).toEqual(['apply ums-2', 'apply ums-1']);
    expect(trace.last.status.phase).toBe('Failed');
    expect(trace.last.commands).toEqual([]);
  });
});

// ------------------------------------------------------------------ simulation

interface SimAgent {
  version: string;
  mode: 'normal' | 'update';
  state: NonNullable<ComponentReport['state']>;
  staged?: { version: string; verified: boolean };
  lastBackup?: string;
  results: CommandResult[];
  /** Commands received, finished on the agent's next report (one pass later). */
  pending: Command[];
  ran: Set<string>;
}

/**
 * Runs the reconciler against fake agents until converged. An agent runs a command id once
 * (a re-sent id is ignored), reports it `running` for one pass, then finishes it: stage → staged,
 * backup → lastBackup, apply → the version (servers: running in update mode), migrate → every
 * server back to normal mode, end-update-mode → normal mode.
 */
function simulate(opts: { restartEveryPass?: boolean; stopAfterCommand?: string; crash?: string }) {
  const agents = new Map<string, SimAgent>();
  for (const n of [...SERVERS, ...LBS, ...CONSOLES]) {
    agents.set(n, { version: OLD, mode: 'normal', state: 'running', results: [], pending: [], ran: new Set(), ...(SERVERS.includes(n) ? { lastBackup: STALE_BACKUP } : {}) });
  }
  const snapshot = (): Observed =>
    world(
      Object.fromEntries(
        [...agents].map(([n, a]) => {
          const isServer = SERVERS.includes(n);
          const component: ComponentReport = { product: PRODUCT, version: a.version, state: a.state, ...(isServer ? { mode: a.mode } : {}), ...(a.staged ? { staged: { ...a.staged } } : {}) };
          const facts = { clock: LAST_SEEN, ...(isServer ? { registeredMembers: REGISTERED, ...(a.lastBackup ? { lastBackup: a.lastBackup } : {}) } : {}) };
          return [n, { online: true, lastSeen: LAST_SEEN, components: [component], results: [...a.results], facts }];
        }),
      ),
    );
  const d = cluster();
  const sentLog: string[] = [];
  const executed: string[] = [];
  const summaries: string[] = [];
  let status: TargetStatus | undefined;
  let last: ReconcileResult | undefined;
  let maxServersUpdating = 0;
  let now = NOW;
  for (let pass = 1; pass <= 40; pass++) {
    now = NOW + pass * 30_000;
    // agents finish what they started on the previous pass
    for (const [n, a] of agents) {
      for (const c of a.pending) {
        const at = iso(now - 1000);
        if (c.action === 'stage') a.staged = { version: c.version!, verified: true };
        if (c.action === 'backup') a.lastBackup = at;
        if (c.action === 'apply') {
          a.version = c.version!;
          delete a.staged;
          a.state = opts.crash === n ? 'stopped' : 'running';
        }
        if (c.action === 'migrate') for (const s of SERVERS) agents.get(s)!.mode = 'normal';
        if (c.action === 'end-update-mode') a.mode = 'normal';
        a.results = a.results.map((r) => (r.id === c.id ? { ...r, status: 'succeeded', at } : r));
      }
      a.pending = [];
    }
    const obs = snapshot();
    const r = reconcileHACluster(d, obs, status, now);
    if (opts.restartEveryPass) expect(reconcileHACluster(d, obs, status, now)).toEqual(r);
    last = r;
    summaries.push(r.status.summary);
    for (const c of r.commands) {
      const line = `${c.action} ${c.member}`;
      sentLog.push(line);
      if (opts.stopAfterCommand === line) return { observed: obs, status: status!, now, sent: sentLog, executed, last: r, summaries, maxServersUpdating };
      const a = agents.get(c.agent)!;
      if (a.ran.has(c.id)) continue;
      a.ran.add(c.id);
      executed.push(line);
      a.pending.push(c);
      a.results.push({ id: c.id, status: 'running', at: iso(now) });
      if (c.action === 'apply' && SERVERS.includes(c.member)) {
        a.mode = 'update';
        a.state = 'installing';
      }
    }
    maxServersUpdating = Math.max(maxServersUpdating, SERVERS.filter((s) => agents.get(s)!.state === 'installing').length);
    status = r.status;
    if (r.status.phase === 'Converged' || r.status.phase === 'Failed') break;
  }
  return { observed: snapshot(), status: status!, now, sent: sentLog, executed, last: last!, summaries, maxServersUpdating };
}

// ------------------------------------------------------------------ property

describe('seed 004: PROPERTY — whatever the observed state, the ordering rules hold', () => {
  it('over 3000 random clusters of 2–5 servers, load balancers and consoles', () => {
    const rand = prng(0x004c1a55);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const chance = (p: number): boolean => rand() < p;
    let applies = 0;
    let migrates = 0;
    let consoles = 0;
    for (let i = 0; i < 3000; i++) {
      const servers = Array.from({ length: 2 + Math.floor(rand() * 4) }, (_, k) => `s${k}`);
      const lbs = Array.from({ length: Math.floor(rand() * 3) }, (_, k) => `lb${k}`);
      const cons = Array.from({ length: Math.floor(rand() * 3) }, (_, k) => `c${k}`);
      const order = chance(0.5) ? [...servers].sort(() => rand() - 0.5) : null;
      const d = cluster({ servers, loadBalancers: lbs, consoles: cons, updateOrder: order, backup: pick(['Command', 'External'] as const) });
      // a third of the clusters are late in the rollout (servers mostly done), so every step is reached
      const late = chance(0.33);
      const comp = (name: string, isServer: boolean): Comp => {
        const version = late && isServer ? pick([V, V, V, V, OLD]) : pick([OLD, OLD, V, V, '12.08.120']);
        const actions: Action[] = isServer ? ['apply', 'migrate', 'end-update-mode', 'backup', 'stage'] : ['apply', 'stage'];
        return {
          version,
          mode: isServer ? pick(late ? (['normal', 'normal', 'normal', 'update'] as const) : (['normal', 'normal', 'update'] as const)) : 'normal',
          state: late ? pick(['running', 'running', 'running', 'running', 'running', 'running', 'installing', 'stopped'] as const) : pick(['running', 'running', 'running', 'running', 'installing', 'stopped', 'failed'] as const),
          staged: chance(0.8) ? V : false,
          online: chance(0.9),
          clockOffset: chance(0.9) ? Math.floor(rand() * 40) : 90,
          lastBackup: pick([FRESH_BACKUP, STALE_BACKUP, null]),
          registered: chance(0.85) ? [...servers, ...lbs] : [...servers, ...lbs, 'orphan'],
          results: actions.filter(() => chance(0.2)).map((a) => result(name, a, pick(['running', 'succeeded', 'succeeded', 'failed'] as const))),
          ...(chance(0.9) ? { installedAt: iso(START + Math.floor(rand() * 3_000_000)) } : {}),
        };
      };
      const over = Object.fromEntries([...servers.map((n) => [n, comp(n, true)]), ...[...lbs, ...cons].map((n) => [n, comp(n, false)])]);
      const obs = world(fleet(over, { servers, lbs, consoles: cons }), chance(0.9) ? VERIFIED : { 'igel-ums-12.08.110': 'pending' });
      const previous = chance(0.5) ? reconcileHACluster(d, obs, undefined, START).status : undefined;
      const r = reconcileHACluster(d, obs, previous, NOW);
      const where = `case ${i}: ${JSON.stringify({ over, order, cmds: sent(r) })}`;

      // deterministic
      expect(reconcileHACluster(d, obs, previous, NOW), where).toEqual(r);

      const c = (name: string) => obs.agents.get(name)!.components[0]!;
      const isV = (name: string) => c(name).version === V;
      const finished = (name: string) => isV(name) && c(name).state === 'running';
      const serverApplies = r.commands.filter((x) => x.action === 'apply' && servers.includes(x.member));

      // at most one server apply in flight, and never while another server is in update mode and not finished
      expect(serverApplies.length, where).toBeLessThanOrEqual(1);
      for (const a of serverApplies) {
        applies++;
        expect(c(a.member).mode, where).toBe('normal');
        for (const other of servers.filter((s) => s !== a.member)) {
          expect(c(other).mode === 'update' && !finished(other), where).toBe(false);
          expect(c(other).state === 'installing', where).toBe(false);
        }
      }
      // migrate only to the server updated last (its installedAt), and only when every server reports the version, running
      const installedAt = (name: string) => Date.parse(c(name).installedAt ?? '');
      for (const m of r.commands.filter((x) => x.action === 'migrate')) {
        migrates++;
        for (const o of servers.filter((x) => x !== m.member)) expect(installedAt(o) < installedAt(m.member), where).toBe(true);
        expect(servers.every(finished), where).toBe(true);
      }
      // a console is applied only when every server runs the version in normal mode
      for (const _ of r.commands.filter((x) => x.action === 'apply' && cons.includes(x.member))) {
        consoles++;
        expect(servers.every((s) => finished(s) && c(s).mode === 'normal'), where).toBe(true);
      }
      // before the rollout started (no server has a result of our apply), a server apply only once every preflight check is satisfied
      const ourApply = (name: string) => obs.agents.get(name)!.results.some((x) => x.id === commandId(TARGET, name, 'apply', V));
      if (serverApplies.length > 0 && !servers.some(ourApply)) {
        expect((r.status.details?.['preflight'] as PreflightCheck[]).every((p) => p.status === 'satisfied'), where).toBe(true);
      }
      // a rollout stopped by a crashed server sends nothing; a pending package sends nothing
      const stalledBy = cond(r, 'Stalled')?.reason ?? '';
      const pending = obs.artifacts.get('igel-ums-12.08.110')?.status === 'pending';
      if (['ServerCrashed', 'ApplyFailed'].includes(stalledBy) || (pending && ![...servers, ...lbs, ...cons].every(isV))) expect(r.commands, where).toEqual([]);
      // (once every member runs the release, the package is not needed: migrate / end-update-mode may still go)
      if (pending) for (const x of r.commands) expect(['migrate', 'end-update-mode'], where).toContain(x.action);
      // commands are exactly the runnable plan steps, in order
      expect(r.plan.filter((s) => s.runnable).map((s) => `${s.action} ${s.member}`), where).toEqual(sent(r));
    }
    // the generator reaches every interesting branch
    expect(applies).toBeGreaterThan(20);
    expect(migrates).toBeGreaterThan(5);
    expect(consoles).toBeGreaterThan(5);
  });
});
