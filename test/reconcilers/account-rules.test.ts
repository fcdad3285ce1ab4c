/**
 * Issue 12, Account rows (seeds 001 W360 Core, 003 ceBox): each table states a vendor rule
 * and checks the commands, the plan's blockers and what status says is missing.
 */
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { productionAdmitted, type PromotionDetails } from '../../reconcilers/account/promotion.ts';
import { ACCOUNT_CATALOGUE, ACCOUNT_PRECONDITIONS, ACCOUNT_STEP_NAMES } from '../../reconcilers/account/reconcile.ts';
import { parseStatusFile, renderStatus } from '../../controller/status/render-status.ts';
import type { AgentSpec } from '../helpers/observed.ts';
import { NOW, T, at, blockerOf, cmds, fleet, headline, member, reconcile, releases, spec, steps, wrsAt } from './account-fixtures.ts';

const ok = (id: string) => ({ id, status: 'succeeded' as const, at: new Date(NOW - 60_000).toISOString() });
const throughGit = (s: TargetStatus): TargetStatus => parseStatusFile(renderStatus(s, null, NOW)).status!;
const promotion = (r: ReconcileResult) => r.status.details?.['promotion'] as PromotionDetails;
const HOUR = 3_600_000;

// ------------------------------------------------------------------ row 1

describe('devices are updated only after their WRS was updated AND restarted (seeds 001, 003)', () => {
  const PARIS = 'acme-wrs-paris';
  it.each([
    {
      name: 'WRS reports pendingRestart while already serving the new version: the WRS restarts, its devices wait',
      paris: wrsAt('4.3.0', { pendingRestart: true, serves: ['4.2.1', '4.3.0'] }),
      sent: ['restart acme-wrs-paris 4.3.0'],
      reason: 'WaitingForRepositoryServer',
      message: 'WRS acme-wrs-paris does not serve 4.3.0 yet: it runs 4.3.0 once restarted (restart pending)',
    },
    {
      name: 'our apply succeeded and our restart did not, without pendingRestart: the restart is still due',
      paris: wrsAt('4.3.0', { results: [ok(commandId(T, PARIS, 'apply', '4.3.0'))] }),
      sent: ['restart acme-wrs-paris 4.3.0'],
      reason: 'WaitingForRepositoryServer',
      message: 'WRS acme-wrs-paris does not serve 4.3.0 yet: it runs 4.3.0 once restarted (restart pending)',
    },
    {
      name: 'WRS reports no served versions: unknown, held, and status names the missing observation',
      paris: at('4.3.0'),
      sent: [],
      reason: 'ObservationMissing',
      message: 'no served versions reported by acme-wrs-paris',
    },
    {
      name: 'WRS never reported: unknown, held',
      paris: null,
      sent: [],
      reason: 'WaitingForRepositoryServer',
      message: 'WRS acme-wrs-paris has never reported',
    },
    {
      name: 'WRS reports no version: unknown, held',
      paris: at(undefined, { serves: ['4.3.0'] }),
      sent: ['apply acme-wrs-paris 4.3.0'],
      reason: 'ObservationMissing',
      message: 'no w360-core version reported by acme-wrs-paris',
    },
    {
      name: 'WRS serves the new version but still runs the old one',
      paris: wrsAt('4.2.1', { serves: ['4.2.1', '4.3.0'] }),
      sent: ['apply acme-wrs-paris 4.3.0'],
      reason: 'WaitingForRepositoryServer',
      message: 'WRS acme-wrs-paris does not serve 4.3.0 yet: it runs 4.2.1',
    },
    {
      name: 'WRS runs the version but reports it stopped',
      paris: wrsAt('4.3.0', { state: 'stopped' }),
      sent: [],
      reason: 'WaitingForRepositoryServer',
      message: 'WRS acme-wrs-paris does not serve 4.3.0 yet: it is stopped',
    },
    { name: 'WRS runs and serves the version, restarted: its devices go', paris: wrsAt('4.3.0'), sent: ['apply ws-001 4.3.0', 'apply ws-002 4.3.0'], reason: undefined, message: undefined },
  ])('$name', ({ paris, sent, reason, message }) => {
    const r = reconcile(spec(), fleet('4.3.0', { [PARIS]: paris, 'ws-001': at('4.2.1'), 'ws-002': at('4.2.1') }));
    expect(cmds(r)).toEqual(sent);
    for (const d of ['ws-001', 'ws-002']) {
      if (reason === undefined) {
        expect(blockerOf(r, d)).toBeUndefined();
        continue;
      }
      expect(blockerOf(r, d)).toMatchObject({ category: 'waiting', reason, message });
      expect(member(r, d)).toMatchObject({ state: 'Waiting', message });
    }
    // the account says it: progressing on the WRS, or waiting on what is missing
    if (reason !== undefined && sent.length === 0) expect(headline(r).message.startsWith(message!)).toBe(true);
  });

  it('ceBox (seed 003): the same gate holds for ceBox OS devices behind a WRS', () => {
    const product = 'cebox-os';
    const s = spec({}, product);
    const r = reconcile(s, fleet('4.3.0', { [PARIS]: wrsAt('4.3.0', { product, pendingRestart: true }), 'ws-001': at('4.2.1', { product }) }, product));
    expect(cmds(r)).toEqual(['restart acme-wrs-paris 4.3.0']);
    expect(blockerOf(r, 'ws-001')?.reason).toBe('WaitingForRepositoryServer');
  });

  it('remote devices (télétravail) fetch from the cloud and never wait for a WRS (seeds 001, 003)', () => {
    const r = reconcile(spec(), fleet('4.2.1', { [PARIS]: null, 'acme-wrs-lyon': at('4.3.0', { pendingRestart: true }) }));
    expect(cmds(r)).toContain('apply laptop-901 4.3.0');
    expect(blockerOf(r, 'laptop-901')).toBeUndefined();
  });

  it('the order over passes: WRS apply, WRS restart, then devices, then device restarts', () => {
    const s = spec({ devices: [{ name: 'ws-001', repositoryServer: PARIS }] , repositoryServers: [{ name: PARIS }] });
    const p1 = reconcile(s, { [PARIS]: wrsAt('4.2.1'), 'ws-001': at('4.2.1') });
    expect(steps(p1)).toEqual(['apply acme-wrs-paris 4.3.0: runnable', 'restart acme-wrs-paris 4.3.0: WaitingForInstall', 'apply ws-001 4.3.0: WaitingForRepositoryServer', 'restart ws-001 4.3.0: WaitingForInstall']);
    const p2 = reconcile(s, { [PARIS]: wrsAt('4.2.1', { version: '4.3.0', pendingRestart: true, serves: ['4.2.1', '4.3.0'] }), 'ws-001': at('4.2.1') }, { previous: p1.status });
    expect(cmds(p2)).toEqual(['restart acme-wrs-paris 4.3.0']);
    const p3 = reconcile(s, { [PARIS]: wrsAt('4.3.0', { serves: ['4.2.1', '4.3.0'] }), 'ws-001': at('4.2.1') }, { previous: p2.status });
    expect(cmds(p3)).toEqual(['apply ws-001 4.3.0']);
    const p4 = reconcile(s, { [PARIS]: wrsAt('4.3.0'), 'ws-001': at('4.3.0', { pendingRestart: true }) }, { previous: p3.status });
    expect(cmds(p4)).toEqual(['restart ws-001 4.3.0']);
  });
});

// ------------------------------------------------------------------ row 2

describe('production gets a version only after the test phase succeeded (seed 001)', () => {
  const RING = { tag: 'test', repositoryServers: ['acme-wrs-paris'], devices: ['ws-001'] };
  const PRODUCTION = ['acme-wrs-lyon', 'ws-002', 'ws-101', 'laptop-901'];
  const ringAt = (v: string, done: string[], over: Record<string, AgentSpec | null> = {}) =>
    fleet('4.2.1', { ...Object.fromEntries(done.map((m) => [m, m.startsWith('acme-wrs') ? wrsAt(v, { serves: ['4.2.1', v] }) : at(v)])), ...over });
  const prodCmds = (r: ReconcileResult) => r.commands.filter((c) => PRODUCTION.includes(c.member));

  it.each([
    {
      name: 'no earlier status (first pass after a start, or plan) and the ring not converged: production is held',
      agents: ringAt('4.3.0', ['acme-wrs-paris']),
      previous: undefined,
      held: '4.3.0 has not converged on the test ring yet (1/2 test members); not yet at 4.3.0, restarted: ws-001; no earlier status in Git records it as tested',
    },
    {
      name: 'no earlier status and every ring member reports it installed and restarted: production goes',
      agents: ringAt('4.3.0', ['acme-wrs-paris', 'ws-001']),
      previous: undefined,
      held: undefined,
    },
    {
      name: 'a ring member reports it with a restart pending: not converged',
      agents: { ...ringAt('4.3.0', ['acme-wrs-paris']), 'ws-001': at('4.3.0', { pendingRestart: true }) },
      previous: undefined,
      held: '4.3.0 has not converged on the test ring yet (1/2 test members); not yet at 4.3.0, restarted: ws-001; no earlier status in Git records it as tested',
    },
    {
      name: 'a ring member never reported: not converged',
      agents: ringAt('4.3.0', ['acme-wrs-paris'], { 'ws-001': null }),
      previous: undefined,
      held: '4.3.0 has not converged on the test ring yet (1/2 test members); not yet at 4.3.0, restarted: ws-001; no earlier status in Git records it as tested',
    },
  ])('$name', ({ agents, previous, held }) => {
    const r = reconcile(spec({ testRing: RING }), agents, { previous });
    if (held === undefined) {
      // ws-002 is behind the test WRS, which runs and serves 4.3.0: it goes at once
      expect(prodCmds(r).map((c) => c.member)).toEqual(['acme-wrs-lyon', 'ws-002', 'laptop-901']);
      expect(promotion(r).production?.via).toBe('test-ring');
      return;
    }
    expect(prodCmds(r)).toEqual([]);
    for (const m of ['acme-wrs-lyon', 'laptop-901']) {
      expect(blockerOf(r, m)).toEqual({ category: 'waiting', reason: 'AwaitingTestRing', message: held });
      expect(member(r, m)).toMatchObject({ state: 'Waiting', message: held });
    }
    expect(promotion(r).held).toEqual({ version: '4.3.0', message: held, steps: expect.any(Number) });
    expect(promotion(r).held!.steps, 'the production steps that wait for the gate').toBeGreaterThan(0);
  });

  it('the status committed in Git (details.promotion.tested) admits what converged earlier, once the ring moved on', () => {
    const converged = reconcile(spec({ testRing: RING }), ringAt('4.3.0', ['acme-wrs-paris', 'ws-001']), { releases: releases('4.2.1', '4.3.0') });
    expect(promotion(converged).tested.map((t) => t.version)).toEqual(['4.3.0']);
    const moved = fleet('4.2.1', { 'acme-wrs-paris': wrsAt('4.4.0', { pendingRestart: true }), 'ws-001': at('4.3.0') });
    const withGit = reconcile(spec({ testRing: RING }), moved, { releases: releases('4.3.0', '4.4.0'), previous: throughGit(converged.status), now: NOW + HOUR });
    expect(prodCmds(withGit).map((c) => c.member)).toEqual(['acme-wrs-lyon', 'laptop-901']);
    // without that status nothing says 4.3.0 was tested: held, and status says what is missing
    const without = reconcile(spec({ testRing: RING }), moved, { releases: releases('4.3.0', '4.4.0'), now: NOW + HOUR });
    expect(prodCmds(without)).toEqual([]);
    expect(member(without, 'ws-101').message).toBe(
      '4.3.0 has not converged on the test ring, which runs 4.4.0: production waits until it has, or until spec.promotion.override lets it through; no earlier status in Git records it as tested',
    );
  });

  it('spec.promotion.override names the version: production goes without the ring, and status says why', () => {
    const s = spec({ testRing: RING, promotion: { override: { version: '4.3.0', reason: 'CVE fix' } } });
    const r = reconcile(s, ringAt('4.3.0', []));
    expect(prodCmds(r).map((c) => c.member)).toEqual(['acme-wrs-lyon', 'laptop-901']);
    expect(r.status.reminders).toContain('4.3.0 was let into production without converging on the test ring, by spec.promotion.override: CVE fix');
  });

  it('production members already running the version are never held: nothing to do', () => {
    const r = reconcile(spec({ testRing: RING }), ringAt('4.3.0', ['acme-wrs-paris', 'ws-002', 'ws-101', 'acme-wrs-lyon', 'laptop-901']));
    for (const m of PRODUCTION) expect(member(r, m).state, m).toBe('Updated');
    expect(r.plan.filter((p) => PRODUCTION.includes(p.member))).toEqual([]);
  });

  it('held production reads Waiting/AwaitingTestRing when nothing else moves', () => {
    const r = reconcile(spec({ testRing: RING }), ringAt('4.3.0', ['acme-wrs-paris'], { 'ws-001': at('4.2.1', { online: false }) }));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(headline(r)).toMatchObject({ type: 'Reconciling', reason: 'AwaitingTestRing' });
    expect(headline(r).message).toContain('no earlier status in Git records it as tested');
  });

  it('plan (no long-running memory) and run decide the same from the same status in Git', () => {
    const passes = [ringAt('4.3.0', []), ringAt('4.3.0', ['acme-wrs-paris']), ringAt('4.3.0', ['acme-wrs-paris', 'ws-001'])];
    let previous: TargetStatus | undefined;
    for (const [i, agents] of passes.entries()) {
      const run = reconcile(spec({ testRing: RING }), agents, { previous, now: NOW + i * HOUR });
      const plan = reconcile(spec({ testRing: RING }), agents, { previous: previous && throughGit(previous), now: NOW + i * HOUR });
      expect(plan.commands).toEqual(run.commands);
      expect(plan.plan).toEqual(run.plan);
      expect(plan.status.conditions).toEqual(run.status.conditions);
      previous = run.status;
    }
  });
});

// ------------------------------------------------------------------ row 3

describe('moving the tag (or the ceBox infrastructure release) back is a planned rollback (seeds 001, 003)', () => {
  /** The status committed at the base revision: every member desired (and ran) 4.3.0. */
  const base = (): TargetStatus => throughGit(reconcile(spec(), fleet('4.3.0'), { now: NOW - HOUR }).status);

  it('previous status desired 4.3.0, desired now 4.2.1, members at 4.3.0: apply 4.2.1 to the WRS, restart, then devices', () => {
    const back = { releases: releases('4.2.1') };
    const r1 = reconcile(spec(), fleet('4.3.0'), { ...back, previous: base() });
    expect(steps(r1)).toEqual([
      'apply acme-wrs-paris 4.2.1: runnable',
      'apply acme-wrs-lyon 4.2.1: runnable',
      'restart acme-wrs-paris 4.2.1: WaitingForInstall',
      'restart acme-wrs-lyon 4.2.1: WaitingForInstall',
      'apply ws-001 4.2.1: WaitingForRepositoryServer',
      'apply ws-002 4.2.1: WaitingForRepositoryServer',
      'apply ws-101 4.2.1: WaitingForRepositoryServer',
      'apply laptop-901 4.2.1: runnable',
      'restart ws-001 4.2.1: WaitingForInstall',
      'restart ws-002 4.2.1: WaitingForInstall',
      'restart ws-101 4.2.1: WaitingForInstall',
      'restart laptop-901 4.2.1: WaitingForInstall',
    ]);
    expect(blockerOf(r1, 'ws-001')?.message).toBe('WRS acme-wrs-paris does not serve 4.2.1 yet: it runs 4.3.0');
    expect(r1.status.phase).toBe('Progressing');
    // the WRS installed 4.2.1, restart pending: restart, the devices still wait
    const r2 = reconcile(spec(), fleet('4.3.0', { 'acme-wrs-paris': wrsAt('4.2.1', { pendingRestart: true }), 'acme-wrs-lyon': wrsAt('4.2.1', { pendingRestart: true }) }), { ...back, previous: throughGit(r1.status) });
    expect(cmds(r2)).toEqual(['restart acme-wrs-paris 4.2.1', 'restart acme-wrs-lyon 4.2.1', 'apply laptop-901 4.2.1']);
    expect(blockerOf(r2, 'ws-001')?.message).toBe('WRS acme-wrs-paris does not serve 4.2.1 yet: it runs 4.2.1 once restarted (restart pending)');
    // restarted and serving 4.2.1: the devices follow
    const r3 = reconcile(spec(), fleet('4.3.0', { 'acme-wrs-paris': wrsAt('4.2.1'), 'acme-wrs-lyon': wrsAt('4.2.1'), 'laptop-901': at('4.2.1') }), { ...back, previous: throughGit(r2.status) });
    expect(cmds(r3)).toEqual(['apply ws-001 4.2.1', 'apply ws-002 4.2.1', 'apply ws-101 4.2.1']);
  });

  it('the ceBox infrastructure release moved back: one apply of the previous release (seed 003)', () => {
    const infra = (r: string) => spec({ infrastructure: { release: r } });
    const agents = { ...fleet('4.3.0'), 'acme-infrastructure': at('2026.11.0', { product: 'cebox-cloud' }) };
    const before = throughGit(reconcile(infra('cebox-cloud-2026.11.0'), agents, { now: NOW - HOUR }).status);
    const r = reconcile(infra('cebox-cloud-2026.10.2'), agents, { previous: before });
    expect(cmds(r)).toEqual(['apply infrastructure 2026.10.2']);
    // without the earlier status the newer release is left alone, for a person to decide
    const none = reconcile(infra('cebox-cloud-2026.10.2'), agents);
    expect(none.commands).toEqual([]);
    expect(member(none, 'infrastructure').state).toBe('Ahead');
  });

  it('without a previous status a member newer than desired is MemberAhead: Blocked, stalled, never downgraded', () => {
    const r = reconcile(spec(), fleet('4.3.0'), { releases: releases('4.2.1') });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(headline(r)).toMatchObject({ type: 'Stalled', reason: 'MemberAhead' });
    expect(member(r, 'ws-001')).toMatchObject({ state: 'Ahead', observed: '4.3.0', desired: '4.2.1' });
  });

  it('a previous status in which the member already desired the lower version and was left alone keeps it Ahead', () => {
    const ahead = reconcile(spec(), fleet('4.3.0'), { releases: releases('4.2.1') });
    const again = reconcile(spec(), fleet('4.3.0'), { releases: releases('4.2.1'), previous: throughGit(ahead.status) });
    expect(again.commands).toEqual([]);
    expect(again.status.phase).toBe('Blocked');
  });
});

// ------------------------------------------------------------------ row 5: fail closed

describe('preconditions fail closed: unknown holds and says what is missing (seeds 001, 003)', () => {
  it.each([
    { name: 'a package never checked', artifacts: {}, who: 'laptop-901', reason: 'VerifyingPackage', message: 'waiting for package w360-core-4.3.0 to be verified (sha256 and signature)' },
    { name: 'a device that never reported', agents: { 'ws-001': null }, who: 'ws-001', reason: 'DeviceOffline', message: 'device ws-001 has never reported' },
    { name: 'a device whose version does not read', agents: { 'ws-001': at('four-dot-three') }, who: 'ws-001', reason: 'ObservationMissing', message: 'no readable version (it reports "four-dot-three") reported by ws-001' },
    { name: 'the infrastructure agent never reported', s: spec({ infrastructure: { release: 'cebox-cloud-2026.11.0' } }), who: 'infrastructure', reason: 'InfrastructureOffline', message: 'infrastructure agent acme-infrastructure has never reported' },
  ])('$name', ({ artifacts, agents, who, reason, message, s }) => {
    const base = fleet('4.2.1', { 'acme-wrs-paris': wrsAt('4.3.0'), 'acme-wrs-lyon': wrsAt('4.3.0') });
    const r = reconcile(s ?? spec(), fleet('4.2.1', { ...base, ...(agents ?? {}) }), artifacts ? { artifacts } : {});
    expect(r.commands.some((c) => c.member === who)).toBe(false);
    expect(blockerOf(r, who)).toMatchObject({ reason, message });
    expect(member(r, who)).toMatchObject({ state: 'Waiting', message });
  });
});

// ------------------------------------------------------------------ the engine

describe('the Account runs on the engine: ordered named steps, catalogued reasons, named preconditions', () => {
  it('its steps, in the vendor order', () => {
    expect(ACCOUNT_STEP_NAMES).toEqual([
      'reconcileTags',
      'reconcilePackages',
      'reconcilePromotion',
      'reconcileInfrastructure',
      'reconcileRepositoryServers',
      'reconcileDevices',
      'reconcileInstallMedia',
      'summarise',
    ]);
  });

  it('every reason a plan step or the phase carries is in the catalogue, with its category', () => {
    const r = reconcile(spec({ testRing: { tag: 'test', devices: ['ws-001'] } }), fleet('4.2.1', { 'ws-002': null, 'acme-wrs-lyon': at('4.3.0') }));
    for (const s of r.plan) {
      const def = ACCOUNT_CATALOGUE[s.blockedBy?.reason ?? 'RollingOut'];
      expect(def, s.blockedBy?.reason).toBeDefined();
      if (s.blockedBy) expect(s.blockedBy.category).toBe(def!.category === 'stalled' ? 'stalled' : 'waiting');
    }
    for (const c of r.status.conditions) if (c.reason !== 'None') expect(ACCOUNT_CATALOGUE[c.reason], c.reason).toBeDefined();
  });

  it('every precondition names what it reads', () => {
    for (const p of [...ACCOUNT_PRECONDITIONS, productionAdmitted]) expect(p.reads.length, p.name).toBeGreaterThan(0);
  });
});
