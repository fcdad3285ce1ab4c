/**
 * Maintenance windows, change freezes and pause (issue 8, items 4 and 5; issue 12), applied by
 * `governed()` after the real reconcilers: installs and restarts only inside a window while
 * staging goes on outside; a freeze stops everything, staging included; a pause stops the
 * rollout at the next safe point — for a UMS cluster, once its servers are out of update mode.
 * The per-kind table itself is tested on synthetic results in disruptive.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Command, DesiredInput, ReconcileResult, Reconciler, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import { changeFreeze } from '../../reconcilers/governance/change-freeze.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { maintenanceWindow } from '../../reconcilers/governance/maintenance-window.ts';
import { pause } from '../../reconcilers/governance/pause.ts';
import type { GovernanceContext } from '../../reconcilers/governance/step.ts';
import { GOVERNANCE_STEPS } from '../../reconcilers/governance/steps.ts';
import { versionPolicy } from '../../reconcilers/governance/version-policy.ts';
import { reconcileHACluster } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { HAClusterSpec, RolloutPolicy, TimeWindow } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { RECONCILERS } from '../../reconcilers/registry.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

const STEPS = [versionPolicy, changeFreeze, maintenanceWindow, pause];
const at = (isoString: string): number => Date.parse(isoString);
const iso = (ms: number): string => new Date(ms).toISOString();
const sent = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
const planOf = (r: ReconcileResult): string[] => r.plan.map((s) => `${s.action} ${s.member}${s.runnable ? '' : ` [${s.blockedBy?.reason}]`}`);
const reconciling = (r: ReconcileResult) => r.status.conditions.find((c) => c.type === 'Reconciling');
/** What a step is given after `reconcile`, to read its own verdict (a reconciler's sooner requeue hides the step's in the merge). */
function contextOf<K extends 'Domain' | 'HACluster'>(reconcile: Reconciler<K>, d: DesiredInput<K>, obs: Observed, now: number): GovernanceContext {
  const inner = reconcile(d, obs, undefined, now);
  const policy = (d.object.spec as { rollout?: RolloutPolicy }).rollout;
  return { desired: d, observed: obs, previous: undefined, now, inner, policy, inProgress: new Set(inner.status.members.filter((m) => m.state === 'Updating').map((m) => m.name)) };
}
const rollout = (r: ReconcileResult, step: string) => (r.status.details?.['rollout'] as Record<string, Record<string, unknown>> | undefined)?.[step];

// NOW is Sunday 2026-11-22 10:00Z (11:00 in Paris).
const WEEKNIGHTS: TimeWindow = { name: 'weeknights', schedule: '0 22 * * 1-5', duration: '4h', timeZone: 'Europe/Paris' };
const MONDAY_22H = at('2026-11-23T21:00:00Z');
const TUESDAY_02H = at('2026-11-24T01:00:00Z');

// ------------------------------------------------------------------ a Watchdoc domain (seed 000)

const WD = 'watchdoc';
const WD_RELEASES = [release('watchdoc-6.1.3', WD, '6.1.3'), release('watchdoc-6.1.4', WD, '6.1.4')];
const domainReconciler = governed('Domain', reconcileDomain, STEPS);
function domain(rollout?: RolloutPolicy) {
  return input(
    desired('Domain', 'print-paris', {
      release: 'watchdoc-6.1.4',
      master: { name: 'wd-master', update: 'Manual' },
      slaves: [{ name: 'wd-lille', sync: 'mailbox' }, { name: 'wd-nantes', sync: 'mailbox' }],
      ...(rollout ? { rollout } : {}),
    }),
    WD_RELEASES,
  );
}
const slave = (staged: boolean): AgentSpec => ({ components: [{ ...running(WD, '6.1.3'), ...(staged ? { staged: { version: '6.1.4', verified: true } } : {}) }] });
/** The master was updated by hand; the slaves run 6.1.3, holding 6.1.4 staged or not. */
const masterDone = (staged: boolean): Observed =>
  observed({ 'wd-master': { components: [running(WD, '6.1.4')] }, 'wd-lille': slave(staged), 'wd-nantes': slave(staged) }, { 'watchdoc-6.1.4': 'verified' });

describe('maintenance windows: installs and restarts inside a window only, staging at any time', () => {
  it('outside the window staging goes on, and the status says when installs can start, in the window\'s time zone', () => {
    const r = domainReconciler(domain({ windows: [WEEKNIGHTS] }), masterDone(false), undefined, NOW);
    expect(sent(r)).toEqual(['stage wd-lille', 'stage wd-nantes']);
    expect(r.status.phase).toBe('Waiting');
    expect(reconciling(r)).toMatchObject({
      status: 'True',
      reason: 'OutsideMaintenanceWindow',
      message: 'outside the maintenance windows: installs, restarts, migrations and backups wait for "weeknights" opening Mon 2026-11-23 22:00 Europe/Paris; downloads go on',
    });
    expect(r.status.summary).toMatch(/\(next maintenance window Mon 2026-11-23 22:00 Europe\/Paris\)$/);
    expect(r.requeueAfter).toBeLessThanOrEqual(MONDAY_22H - NOW);
    expect(maintenanceWindow.decide(contextOf(reconcileDomain, domain({ windows: [WEEKNIGHTS] }), masterDone(false), NOW))?.requeueAfter).toBe(MONDAY_22H - NOW);
  });

  it('a window opening and closing (injected clock): applies go out only while it is open', () => {
    const d = domain({ windows: [WEEKNIGHTS] });
    // Sunday: everything is staged; the applies wait.
    const sunday = domainReconciler(d, masterDone(true), undefined, NOW);
    expect(sent(sunday)).toEqual([]);
    expect(planOf(sunday)).toEqual(['apply wd-lille [OutsideMaintenanceWindow]', 'apply wd-nantes [OutsideMaintenanceWindow]']);
    expect(sunday.plan[0]?.blockedBy?.message).toContain('opening Mon 2026-11-23 22:00 Europe/Paris');
    expect(maintenanceWindow.decide(contextOf(reconcileDomain, d, masterDone(true), NOW))?.requeueAfter).toBe(MONDAY_22H - NOW);
    expect(rollout(sunday, 'window')).toEqual({
      open: false, opensAt: iso(MONDAY_22H), opensAtLocal: 'Mon 2026-11-23 22:00 Europe/Paris', next: '"weeknights"', held: 2,
      windows: [{ name: 'weeknights', schedule: '0 22 * * 1-5', duration: '4h', timeZone: 'Europe/Paris', open: false, opensAt: iso(MONDAY_22H), opensAtLocal: 'Mon 2026-11-23 22:00 Europe/Paris' }],
    });

    // One second before the opening: still nothing.
    expect(sent(domainReconciler(d, masterDone(true), sunday.status, MONDAY_22H - 1000))).toEqual([]);

    // At the opening the applies go out, and a pass is asked for at the closing.
    const opened = domainReconciler(d, masterDone(true), sunday.status, MONDAY_22H);
    expect(sent(opened)).toEqual(['apply wd-lille', 'apply wd-nantes']);
    expect(opened.status.phase).toBe('Progressing');
    expect(rollout(opened, 'window')).toMatchObject({ open: true, closesAt: iso(TUESDAY_02H), closesAtLocal: 'Tue 2026-11-24 02:00 Europe/Paris', window: '"weeknights"', held: 0 });
    expect(maintenanceWindow.decide(contextOf(reconcileDomain, d, masterDone(true), MONDAY_22H))?.requeueAfter).toBe(TUESDAY_02H - MONDAY_22H);

    // At the closing, what has not started waits for Tuesday night.
    const closed = domainReconciler(d, masterDone(true), opened.status, TUESDAY_02H);
    expect(sent(closed)).toEqual([]);
    expect(closed.status.phase).toBe('Waiting');
    expect(reconciling(closed)?.message).toContain('opening Tue 2026-11-24 22:00 Europe/Paris');
  });

  it('a target with nothing to do is not touched: same status as without a window', () => {
    const converged = observed({ 'wd-master': { components: [running(WD, '6.1.4')] }, 'wd-lille': { components: [running(WD, '6.1.4')] }, 'wd-nantes': { components: [running(WD, '6.1.4')] } }, { 'watchdoc-6.1.4': 'verified' });
    expect(domainReconciler(domain({ windows: [WEEKNIGHTS], freezes: [WEEKNIGHTS] }), converged, undefined, NOW)).toEqual(reconcileDomain(domain(), converged, undefined, NOW));
  });

  it('no window ahead (only past fixed windows): Blocked, a person must declare one', () => {
    const r = domainReconciler(domain({ windows: [{ from: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' }] }), masterDone(true), undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(r.status.conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'NoMaintenanceWindow' });
  });
});

describe('change freezes: nothing starts, not even staging', () => {
  const YEAR_END: TimeWindow = { name: 'year-end', from: '2026-11-20T00:00:00+01:00', until: '2026-11-25T00:00:00+01:00' };
  const END = at('2026-11-24T23:00:00Z');

  it('a freeze stops staging, says until when, and asks for a pass at its end', () => {
    const d = domain({ freezes: [YEAR_END] });
    const r = domainReconciler(d, masterDone(false), undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(planOf(r)).toEqual(['stage wd-lille [ChangeFreeze]', 'stage wd-nantes [ChangeFreeze]', 'apply wd-lille [ChangeFreeze]', 'apply wd-nantes [ChangeFreeze]']);
    expect(r.status.phase).toBe('Waiting');
    expect(reconciling(r)).toMatchObject({ reason: 'ChangeFreeze', message: 'change freeze "year-end" until Tue 2026-11-24 23:00 UTC: nothing starts, not even downloads' });
    expect(r.status.summary).toMatch(/\(change freeze until Tue 2026-11-24 23:00 UTC\)$/);
    expect(changeFreeze.decide(contextOf(reconcileDomain, d, masterDone(false), NOW))?.requeueAfter).toBe(END - NOW);
    expect(rollout(r, 'freeze')).toMatchObject({ frozen: true, until: iso(END), freeze: '"year-end"', held: 2 });

    const after = domainReconciler(d, masterDone(false), r.status, END);
    expect(sent(after)).toEqual(['stage wd-lille', 'stage wd-nantes']);
    expect(rollout(after, 'freeze')).toMatchObject({ frozen: false, held: 0 });
  });

  it('before a freeze, work goes on and a pass is asked for when it starts', () => {
    const nextWeek: TimeWindow = { name: 'audit', schedule: '0 0 * * 1', duration: '1d', timeZone: 'Europe/Paris' };
    const r = domainReconciler(domain({ freezes: [nextWeek] }), masterDone(false), undefined, NOW);
    expect(sent(r)).toEqual(['stage wd-lille', 'stage wd-nantes']);
    expect(changeFreeze.decide(contextOf(reconcileDomain, domain({ freezes: [nextWeek] }), masterDone(false), NOW))?.requeueAfter).toBe(at('2026-11-22T23:00:00Z') - NOW);
    expect(rollout(r, 'freeze')).toMatchObject({ frozen: false, nextAt: '2026-11-22T23:00:00.000Z', nextAtLocal: 'Mon 2026-11-23 00:00 Europe/Paris', next: '"audit"' });
  });

  it('a freeze outranks an open window, and both are reported', () => {
    const always: TimeWindow = { from: '2026-01-01T00:00:00Z', until: '2027-01-01T00:00:00Z' };
    const r = domainReconciler(domain({ freezes: [YEAR_END], windows: [always] }), masterDone(true), undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(reconciling(r)?.reason).toBe('ChangeFreeze');
    expect(rollout(r, 'window')).toMatchObject({ open: true });
  });
});

// ------------------------------------------------------------------ a W360 account (seeds 001, 003)

const P = 'w360-core';
const ACCOUNT_RELEASES = [release('w360-core-4.2.1', P, '4.2.1'), release('w360-core-4.3.0', P, '4.3.0', ['stable'])];
const accountReconciler = governed('Account', reconcileAccount, STEPS);
function account(rollout: RolloutPolicy) {
  return input(
    desired('Account', 'acme', {
      product: P, defaultTag: 'stable', restartPolicy: 'Immediate', autoUpdate: false,
      repositoryServers: [{ name: 'wrs-paris' }], devices: [{ name: 'ws-001', repositoryServer: 'wrs-paris' }], rollout,
    }),
    ACCOUNT_RELEASES,
  );
}
const T = 'account/acme' as const;
const succeeded = (id: string): CommandResult => ({ id, status: 'succeeded', at: iso(NOW - 60_000) });

describe('a restart is disruptive in every case (issue 12): it waits for the window, and for the end of a pause', () => {
  it('a WRS restart waits for the window, even right after our own install: a restart in office hours is what a window prevents', () => {
    const ours = observed({ 'wrs-paris': { components: [running(P, '4.3.0')], results: [succeeded(commandId(T, 'wrs-paris', 'apply', '4.3.0'))] }, 'ws-001': { components: [running(P, '4.2.1')] } }, { 'w360-core-4.3.0': 'verified' });
    const r = accountReconciler(account({ windows: [WEEKNIGHTS] }), ours, undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(planOf(r)).toContain('restart wrs-paris [OutsideMaintenanceWindow]');

    const byHand = observed({ 'wrs-paris': { components: [running(P, '4.3.0', { pendingRestart: true })] }, 'ws-001': { components: [running(P, '4.2.1')] } }, { 'w360-core-4.3.0': 'verified' });
    const held = accountReconciler(account({ windows: [WEEKNIGHTS] }), byHand, undefined, NOW);
    expect(sent(held)).toEqual([]);
    expect(planOf(held)).toContain('restart wrs-paris [OutsideMaintenanceWindow]');
  });

  it('pause holds the restart of a WRS, ours or not: installed and not restarted, it runs its old version (a safe point)', () => {
    const ours = observed({ 'wrs-paris': { components: [running(P, '4.3.0')], results: [succeeded(commandId(T, 'wrs-paris', 'apply', '4.3.0'))] }, 'ws-001': { components: [running(P, '4.2.1')] } }, { 'w360-core-4.3.0': 'verified' });
    const r = accountReconciler(account({ paused: true }), ours, undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Paused');
    expect(r.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Paused', message: 'rollout paused (spec.rollout.paused: true): nothing new starts; set it back to false to resume' });
    expect(rollout(r, 'pause')).toMatchObject({ paused: true, finishing: [], finishingCount: 0 });
  });
});

describe('pause and resume', () => {
  it('pause holds everything not yet started, staging included; the summary says paused; resuming sends it', () => {
    const paused = domainReconciler(domain({ paused: true }), masterDone(false), undefined, NOW);
    expect(sent(paused)).toEqual([]);
    expect(paused.status.phase).toBe('Paused');
    expect(paused.status.summary).toMatch(/\(paused\)$/);
    expect(pause.decide(contextOf(reconcileDomain, domain({ paused: true }), masterDone(false), NOW))?.requeueAfter).toBeUndefined(); // resuming is a commit
    expect(planOf(paused).slice(0, 2)).toEqual(['stage wd-lille [Paused]', 'stage wd-nantes [Paused]']);

    const resumed = domainReconciler(domain({ paused: false }), masterDone(false), paused.status, NOW + 60_000);
    expect(sent(resumed)).toEqual(['stage wd-lille', 'stage wd-nantes']);
    expect(resumed.status.phase).toBe('Progressing');
  });

  it('a converged target that is paused stays Converged and says paused', () => {
    const converged = observed({ 'wd-master': { components: [running(WD, '6.1.4')] }, 'wd-lille': { components: [running(WD, '6.1.4')] }, 'wd-nantes': { components: [running(WD, '6.1.4')] } }, { 'watchdoc-6.1.4': 'verified' });
    const r = domainReconciler(domain({ paused: true }), converged, undefined, NOW);
    expect(r.status.phase).toBe('Converged');
    expect(r.status.summary).toMatch(/\(paused\)$/);
  });
});

// ------------------------------------------------------------------ an IGEL UMS HA cluster (seed 004)

const UMS = 'igel-ums';
const OLD = '12.07.100';
const V = '12.08.110';
const UMS_RELEASES = [release('igel-ums-12.07.100', UMS, OLD), release('igel-ums-12.08.110', UMS, V)];
const SERVERS = ['ums-1', 'ums-2', 'ums-3'];
const ORDER = ['ums-2', 'ums-1', 'ums-3'];
const OTHERS = ['ums-lb-1', 'ums-console'];
const haReconciler = governed('HACluster', reconcileHACluster, STEPS);

function cluster(rollout?: RolloutPolicy) {
  const spec: HAClusterSpec = {
    release: 'igel-ums-12.08.110',
    servers: SERVERS.map((name) => ({ name })),
    loadBalancers: [{ name: 'ums-lb-1' }],
    consoles: [{ name: 'ums-console' }],
    updateOrder: ORDER,
    preflight: { maxClockSkewSeconds: 60, backup: 'Command', orphanCheck: true },
    ...(rollout ? { rollout } : {}),
  };
  return input(desired('HACluster', 'ums-prod', spec), UMS_RELEASES);
}

interface SimAgent {
  version: string;
  mode: 'normal' | 'update';
  state: ComponentReport['state'];
  staged?: { version: string; verified: boolean };
  lastBackup?: string;
  results: CommandResult[];
  /** Commands under way, with the passes left before they finish. */
  pending: { command: Command; passes: number }[];
  ran: Set<string>;
}

/**
 * Fake UMS agents around the governed HACluster reconciler. A command runs for `passes` passes
 * (apply: 2, so a server is seen mid-update), reported `running`, then: stage → staged,
 * backup → a fresh backup, apply → the release running in update mode, migrate → every server
 * back to normal mode but those listed `stuck`, end-update-mode → normal mode.
 */
function simulation(stuck: readonly string[] = []) {
  const agents = new Map<string, SimAgent>();
  for (const n of [...SERVERS, ...OTHERS]) agents.set(n, { version: OLD, mode: 'normal', state: 'running', results: [], pending: [], ran: new Set() });
  let status: TargetStatus | undefined;
  let now = NOW;
  const log: string[] = [];

  const snapshot = (): Observed =>
    observed(
      Object.fromEntries(
        [...agents].map(([n, a]) => {
          const server = SERVERS.includes(n);
          const component: ComponentReport = { product: UMS, version: a.version, state: a.state, ...(server ? { mode: a.mode } : {}), ...(a.staged ? { staged: { ...a.staged } } : {}) };
          const facts = { clock: iso(now - 5_000), ...(server ? { registeredMembers: [...SERVERS, 'ums-lb-1'], ...(a.lastBackup ? { lastBackup: a.lastBackup } : {}) } : {}) };
          return [n, { lastSeen: iso(now - 5_000), components: [component], results: [...a.results], facts }];
        }),
      ),
      { 'igel-ums-12.08.110': 'verified' },
    );

  const finish = (a: SimAgent, c: Command): void => {
    if (c.action === 'stage') a.staged = { version: c.version!, verified: true };
    if (c.action === 'backup') a.lastBackup = iso(now - 1000);
    if (c.action === 'apply') {
      a.version = c.version!;
      delete a.staged;
      a.state = 'running';
    }
    if (c.action === 'migrate') for (const s of SERVERS) if (!stuck.includes(s)) agents.get(s)!.mode = 'normal';
    if (c.action === 'end-update-mode') a.mode = 'normal';
    a.results = a.results.map((r) => (r.id === c.id ? { ...r, status: 'succeeded', at: iso(now - 1000) } : r));
  };

  /** One pass at `reconciler`'s hands: agents progress, the controller reconciles, agents take the commands. */
  const pass = (reconcile: Reconciler<'HACluster'>, d: ReturnType<typeof cluster>): ReconcileResult => {
    now += 30_000;
    for (const a of agents.values()) {
      for (const p of a.pending) if (--p.passes === 0) finish(a, p.command);
      a.pending = a.pending.filter((p) => p.passes > 0);
    }
    const r = reconcile(d, snapshot(), status, now);
    for (const c of r.commands) {
      log.push(`${c.action} ${c.member}`);
      const a = agents.get(c.agent)!;
      if (a.ran.has(c.id)) continue;
      a.ran.add(c.id);
      a.pending.push({ command: c, passes: c.action === 'apply' ? 2 : 1 });
      a.results.push({ id: c.id, status: 'running', at: iso(now) });
      if (c.action === 'apply' && SERVERS.includes(c.member)) {
        a.mode = 'update';
        a.state = 'installing';
      }
    }
    status = r.status;
    return r;
  };

  /** Passes until `line` (`apply ums-1`) is sent. */
  const until = (line: string, reconcile: Reconciler<'HACluster'>, d: ReturnType<typeof cluster>): void => {
    for (let i = 0; i < 30; i++) if (sent(pass(reconcile, d)).includes(line)) return;
    throw new Error(`${line} never sent`);
  };
  return { agents, pass, until, log };
}

describe('pause in the middle of an HA rollout lets the cluster finish its servers (seed 004: "sofort")', () => {
  it('paused while ums-1 installs: the servers finish, the schema is migrated, update mode ends; LB and console wait; resuming sends them', () => {
    const sim = simulation();
    sim.until('apply ums-1', haReconciler, cluster());
    expect(sim.agents.get('ums-1')).toMatchObject({ mode: 'update', state: 'installing' });

    // Paused while ums-1 installs and ums-2 waits in update mode: the cluster is mid-update (observed), it finishes.
    const paused = cluster({ paused: true });
    const seen: string[] = [];
    let r: ReconcileResult | undefined;
    for (let i = 0; i < 15; i++) {
      r = sim.pass(haReconciler, paused);
      seen.push(...sent(r));
      expect(r.status.phase).toBe('Paused');
    }
    expect(seen).toContain('apply ums-3');
    expect(seen).toContain('migrate ums-3');
    expect(seen.filter((l) => l.includes('ums-lb-1') || l.includes('ums-console'))).toEqual([]);
    for (const s of SERVERS) expect(sim.agents.get(s)).toMatchObject({ version: V, mode: 'normal', state: 'running' });
    expect(planOf(r!)).toContain('apply ums-lb-1 [Paused]');

    // Resumed: the load balancer, the console, converged.
    for (let i = 0; i < 20 && r!.status.phase !== 'Converged'; i++) r = sim.pass(haReconciler, cluster({ paused: false }));
    expect(r!.status.phase).toBe('Converged');
    expect(sim.log.filter((l) => l.startsWith('apply ums-') || l.startsWith('migrate'))).toEqual(['apply ums-2', 'apply ums-1', 'apply ums-3', 'migrate ums-3', 'apply ums-lb-1', 'apply ums-console']);
  });

  it('paused while the last server updates: it finishes, migrates the schema and every server leaves update mode; the load balancer waits', () => {
    const sim = simulation(['ums-2']);
    sim.until('apply ums-3', haReconciler, cluster());
    const paused = cluster({ paused: true });
    const seen: string[] = [];
    let r: ReconcileResult | undefined;
    for (let i = 0; i < 8; i++) {
      r = sim.pass(haReconciler, paused);
      seen.push(...sent(r));
      expect(r.status.phase).toBe('Paused');
    }
    expect(seen).toEqual(['migrate ums-3', 'end-update-mode ums-2']);
    for (const s of SERVERS) expect(sim.agents.get(s)).toMatchObject({ version: V, mode: 'normal', state: 'running' });
    expect(sim.agents.get('ums-lb-1')?.version).toBe(OLD);
    expect(planOf(r!)).toContain('apply ums-lb-1 [Paused]');
  });

  it('a pause before the first server holds even the installer and the backup', () => {
    const sim = simulation();
    const r = sim.pass(haReconciler, cluster({ paused: true }));
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Paused');
  });
});

describe('a window closing in the middle of an HA rollout: the cluster finishes its servers, the rest waits (seed 004, issue 12)', () => {
  it('outside the window the servers finish, the schema is migrated and update mode ends; LB and console wait for the next opening', () => {
    const sim = simulation();
    sim.until('apply ums-1', haReconciler, cluster());
    // From here on the window is closed (the next one opens Monday 22:00 Paris).
    const closed = cluster({ windows: [WEEKNIGHTS] });
    const seen: string[] = [];
    let r: ReconcileResult | undefined;
    for (let i = 0; i < 15; i++) {
      r = sim.pass(haReconciler, closed);
      seen.push(...sent(r));
    }
    expect(seen).toContain('apply ums-3');
    expect(seen).toContain('migrate ums-3');
    expect(seen.filter((l) => l.includes('ums-lb-1') || l.includes('ums-console'))).toEqual([]);
    for (const s of SERVERS) expect(sim.agents.get(s)).toMatchObject({ version: V, mode: 'normal', state: 'running' });
    expect(planOf(r!)).toContain('apply ums-lb-1 [OutsideMaintenanceWindow]');
    expect(r!.status.phase).toBe('Waiting');
  });

  it('a window closed before the first server: the installer is distributed, the backup and the first server wait', () => {
    const sim = simulation();
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(...sent(sim.pass(haReconciler, cluster({ windows: [WEEKNIGHTS] }))));
    expect(seen.every((l) => l.startsWith('stage '))).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    for (const s of SERVERS) expect(sim.agents.get(s)).toMatchObject({ version: OLD, mode: 'normal' });
  });
});

describe('invariant, on the real HACluster reconciler: outside a window, in a freeze or paused, only a cluster observed mid-update finishes', () => {
  const FREEZE_NOW: TimeWindow = { from: '2026-11-20T00:00:00Z', until: '2026-11-30T00:00:00Z' };
  const CONTROL: Record<string, RolloutPolicy | undefined> = { none: undefined, closed: { windows: [WEEKNIGHTS] }, freeze: { freezes: [FREEZE_NOW] }, pause: { paused: true } };
  /** The oracle, from the snapshot the reconciler was given: a server in update mode, or two versions among the servers. */
  const midUpdate = (obs: Observed): boolean => {
    const comps = SERVERS.map((n) => obs.agents.get(n)?.components.find((c) => c.product === UMS));
    if (comps.some((c) => c?.mode === 'update')) return true;
    const versions = comps.map((c) => c?.version).filter((v): v is string => v !== undefined);
    return versions.includes(V) && versions.some((v) => v !== V);
  };

  it('holds at every pass, whatever the schedule of controls and stuck servers', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('none', 'closed', 'freeze', 'pause'), { minLength: 10, maxLength: 40 }), fc.subarray(SERVERS), (schedule, stuck) => {
        const sim = simulation(stuck);
        for (const control of schedule) {
          const checked: Reconciler<'HACluster'> = (d, obs, prev, now) => {
            const r = haReconciler(d, obs, prev, now);
            if (control === 'none') return r;
            const mid = midUpdate(obs);
            for (const c of r.commands) {
              const finishing = mid && SERVERS.includes(c.member) && ['stage', 'apply', 'migrate', 'end-update-mode'].includes(c.action);
              const ok = finishing || (control === 'closed' && c.action === 'stage');
              if (!ok) throw new Error(`${control}: ${c.action} ${c.member} sent (mid-update: ${mid})`);
            }
            return r;
          };
          sim.pass(checked, cluster(CONTROL[control]));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('the steps are registered, in the documented order, for every kind with spec.rollout', () => {
  it('version policy, freezes, windows, pause — before the waves', () => {
    const names = GOVERNANCE_STEPS.map((s) => s.name);
    const mine = ['version-policy', 'freeze', 'window', 'pause'];
    expect(names.filter((n) => mine.includes(n))).toEqual(mine);
    expect(names.indexOf('pause')).toBeLessThan(names.length - 1); // waves come last
    for (const s of STEPS) expect(s.kinds).toEqual(['Domain', 'Account', 'HACluster']);
  });

  it('versiond plan and run apply them: the registry\'s Domain reconciler honours a pause', () => {
    const r = RECONCILERS.Domain!(domain({ paused: true }), masterDone(false), undefined, NOW);
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Paused');
  });
});
