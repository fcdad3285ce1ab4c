import { describe, expect, it } from 'vitest';
import { parseStatusFile, renderStatus } from '../../controller/status/render-status.ts';
import { TESTED_LIMIT, type PromotionDetails } from '../../reconcilers/account/promotion.ts';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import type { AccountSpec, Release } from '../../reconcilers/model/desired.ts';
import { RECONCILERS } from '../../reconcilers/registry.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

/**
 * Promotion (issue 8, item 3): with a test ring, a version reaches the production members
 * (everyone on `defaultTag`) only after it converged on the test ring — remembered in
 * `status.details.promotion` — unless `spec.promotion.override` names it, with a reason.
 */

const P = 'w360-core';
const VERSIONS = ['4.1.0', '4.2.1', '4.3.0', '4.4.0'] as const;
const rel = (v: string): string => `${P}-${v}`;
const HOUR = 3_600_000;

/** `stable` (production) and `4.3-test` (the test ring) on the versions given. */
function releases(stable: string, test: string): Release[] {
  return VERSIONS.map((v) => release(rel(v), P, v, [...(v === stable ? ['stable'] : []), ...(v === test ? ['4.3-test'] : [])]));
}
const VERIFIED = Object.fromEntries(VERSIONS.map((v) => [rel(v), 'verified' as const]));

/** Paris WRS in the test ring with ws-001 and a remote laptop; Lyon WRS, ws-002, ws-101 and laptop-901 are production. */
const RING = { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices: ['ws-001', 'laptop-902'] };
function spec(over: Partial<AccountSpec> = {}): AccountSpec {
  return {
    product: P,
    defaultTag: 'stable',
    restartPolicy: 'Immediate',
    autoUpdate: false,
    repositoryServers: [{ name: 'wrs-paris' }, { name: 'wrs-lyon' }],
    devices: [
      { name: 'ws-001', repositoryServer: 'wrs-paris' },
      { name: 'ws-002', repositoryServer: 'wrs-paris' },
      { name: 'ws-101', repositoryServer: 'wrs-lyon' },
      { name: 'laptop-901', repositoryServer: 'cloud' },
      { name: 'laptop-902', repositoryServer: 'cloud' },
    ],
    testRing: RING,
    installMedia: { generatedFor: '4.3.0' },
    ...over,
  };
}
const MEMBERS = ['wrs-paris', 'wrs-lyon', 'ws-001', 'ws-002', 'ws-101', 'laptop-901', 'laptop-902'];
const PRODUCTION = ['wrs-lyon', 'ws-002', 'ws-101', 'laptop-901'];

function at(version: string, extra: Partial<ComponentReport> & { online?: boolean } = {}): AgentSpec {
  const { online, ...component } = extra;
  return { components: [running(P, version, component)], ...(online === undefined ? {} : { online }) };
}
/** Every member at `version`, then the overrides. */
function fleet(version: string, over: Record<string, AgentSpec> = {}): Record<string, AgentSpec> {
  return { ...Object.fromEntries(MEMBERS.map((m) => [m, at(version)])), ...over };
}
/** The test ring: its WRS serving both versions, the given ring members at 4.3.0, everyone else at 4.2.1. */
function ringAt430(...members: string[]): Record<string, AgentSpec> {
  const out = fleet('4.2.1');
  for (const m of members) out[m] = m === 'wrs-paris' ? at('4.3.0', { serves: ['4.2.1', '4.3.0'] }) : at('4.3.0');
  return out;
}

interface Run {
  readonly stable: string;
  readonly test?: string;
  readonly previous?: TargetStatus;
  readonly now?: number;
}
function reconcile(s: AccountSpec, agents: Record<string, AgentSpec>, o: Run): ReconcileResult {
  return reconcileAccount(input(desired('Account', 'acme', s), releases(o.stable, o.test ?? '4.3.0')), observed(agents, VERIFIED), o.previous, o.now ?? NOW);
}

const LET_IN = 'production ran 4.2.1 before the test ring was declared';
/**
 * The status (as committed in Git) of an account whose production was let to 4.2.1 while its
 * test ring tried 4.3.0. Production's admission is a fact from Git, never assumed: without it,
 * 4.2.1 would be held like any untested version.
 */
function inProductionAt421(): TargetStatus {
  const s = spec({ promotion: { override: { version: '4.2.1', reason: LET_IN } } });
  return reconcile(s, ringAt430(), { stable: '4.2.1', now: NOW - 24 * HOUR }).status;
}
const PENDING: Record<number, string> = { 0: 'wrs-paris, ws-001, laptop-902', 1: 'ws-001, laptop-902', 2: 'laptop-902' };

const cmds = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member} ${c.version}`);
const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name)!;
const promotion = (r: ReconcileResult): PromotionDetails => r.status.details?.['promotion'] as PromotionDetails;
const blockedBy = (r: ReconcileResult, name: string): string[] => r.plan.filter((s) => s.member === name).map((s) => `${s.action}: ${s.runnable ? 'runnable' : s.blockedBy?.reason}`);
const condition = (r: ReconcileResult) => r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready') ?? r.status.conditions[0]!;
/** A status as it comes back from its file in Git (rendered, then parsed): the reconciler's only memory. */
const throughGit = (s: TargetStatus): TargetStatus => parseStatusFile(renderStatus(s, null, NOW)).status!;

describe('a version reaches production only after it converged on the test ring (issue 8)', () => {
  it.each([
    { name: 'no test member reports 4.3.0 yet', ring: [] as string[], converged: 0 },
    { name: 'the test WRS reports it', ring: ['wrs-paris'], converged: 1 },
    { name: 'two of three test members report it', ring: ['wrs-paris', 'ws-001'], converged: 2 },
  ])('the account tag moved to 4.3.0 before the test ring converged: production gets no command and waits — $name', ({ ring, converged }) => {
    const r = reconcile(spec(), ringAt430(...ring), { stable: '4.3.0', previous: inProductionAt421() });
    const message = `4.3.0 has not converged on the test ring yet (${converged}/3 test members); not yet at 4.3.0, restarted: ${PENDING[converged]}`;
    for (const m of PRODUCTION) {
      expect(r.commands.some((c) => c.member === m), m).toBe(false);
      expect(member(r, m), m).toMatchObject({ desired: '4.3.0', state: 'Waiting', message });
      expect(blockedBy(r, m)[0], m).toBe('apply: AwaitingTestRing');
    }
    // the test ring itself goes on
    expect(cmds(r).every((c) => ['wrs-paris', 'ws-001', 'laptop-902'].some((m) => c.includes(` ${m} `)))).toBe(true);
    expect(promotion(r)).toMatchObject({ testRing: { version: '4.3.0', converged, of: 3 }, tested: [], production: { version: '4.2.1', via: 'override', reason: LET_IN }, held: { version: '4.3.0', message } });
  });

  it('when nothing else progresses the account waits with AwaitingTestRing, and says so', () => {
    // the test ring is done but for a laptop that is switched off: nothing can be sent
    const r = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.3.0', previous: inProductionAt421() });
    const offline = { ...ringAt430('wrs-paris', 'ws-001'), 'laptop-902': at('4.2.1', { online: false }) };
    const waiting = reconcile(spec(), offline, { stable: '4.3.0', previous: inProductionAt421() });
    expect(waiting.commands).toEqual([]);
    expect(waiting.status.phase).toBe('Waiting');
    expect(condition(waiting)).toMatchObject({ type: 'Reconciling', reason: 'AwaitingTestRing' });
    expect(condition(waiting).message).toMatch(/^4\.3\.0 has not converged on the test ring yet \(2\/3 test members\); not yet at 4\.3\.0, restarted: laptop-902 \(and \d+ more waiting\); /);
    expect(blockedBy(waiting, 'laptop-902')).toEqual(['apply: DeviceOffline', 'restart: WaitingForInstall']);
    // while the ring still has commands in flight, the account progresses and the message names the hold
    const progressing = reconcile(spec(), ringAt430('wrs-paris'), { stable: '4.3.0', previous: inProductionAt421() });
    expect(progressing.status.phase).toBe('Progressing');
    expect(condition(progressing).message).toContain('production waits: 4.3.0 has not converged on the test ring yet (1/3 test members)');
    // every test member reports 4.3.0: it converged, production goes (behind the test WRS at once)
    expect(cmds(r)).toEqual(['apply wrs-lyon 4.3.0', 'apply ws-002 4.3.0', 'apply laptop-901 4.3.0']);
    expect(blockedBy(r, 'ws-101')[0]).toBe('apply: WaitingForRepositoryServer');
  });

  it('converging on the test ring is remembered in status (through Git), so production goes on after the ring moves on', () => {
    const converged = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.2.1', previous: inProductionAt421() });
    expect(promotion(converged).tested).toEqual([{ version: '4.3.0', at: new Date(NOW).toISOString() }]);
    // the vendor's test tag moves to 4.4.0 and the ring starts on it; production is then moved to 4.3.0
    const later = NOW + 2 * HOUR;
    const r = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.3.0', test: '4.4.0', previous: throughGit(converged.status), now: later });
    expect(cmds(r)).toContain('apply wrs-lyon 4.3.0');
    expect(promotion(r)).toMatchObject({
      testRing: { version: '4.4.0', converged: 0, of: 3 },
      tested: [{ version: '4.3.0', at: new Date(NOW).toISOString() }],
      production: { version: '4.3.0', via: 'test-ring', at: new Date(later).toISOString() },
    });
    expect(promotion(r).held).toBeUndefined();
    // and a version the ring never converged on is held, saying where the ring is
    const skipped = reconcile(spec(), ringAt430(), { stable: '4.4.0', test: '4.4.0', previous: throughGit(r.status), now: later + HOUR });
    expect(member(skipped, 'ws-101').message).toBe('4.4.0 has not converged on the test ring yet (0/3 test members); not yet at 4.4.0, restarted: wrs-paris, ws-001, laptop-902');
    const elsewhere = reconcile(spec(), ringAt430(), { stable: '4.4.0', test: '4.3.0', previous: throughGit(r.status), now: later + HOUR });
    expect(member(elsewhere, 'ws-101').message).toBe('4.4.0 has not converged on the test ring, which runs 4.3.0: production waits until it has, or until spec.promotion.override lets it through');
  });

  it(`the memory keeps the last ${TESTED_LIMIT} tested versions, each once, newest last`, () => {
    const old = Array.from({ length: TESTED_LIMIT }, (_, i) => ({ version: `3.${i}.0`, at: new Date(NOW - (TESTED_LIMIT - i) * HOUR).toISOString() }));
    const previous: TargetStatus = { ...inProductionAt421(), details: { promotion: { tested: old, production: { version: '4.2.1', via: 'test-ring', at: old[0]!.at } } } };
    const r = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.2.1', previous });
    const tested = promotion(r).tested;
    expect(tested).toHaveLength(TESTED_LIMIT);
    expect(tested[0]!.version).toBe('3.1.0');
    expect(tested.at(-1)).toEqual({ version: '4.3.0', at: new Date(NOW).toISOString() });
    const again = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.2.1', previous: r.status, now: NOW + HOUR });
    expect(promotion(again).tested).toEqual(tested);
  });

  it.each([
    { name: 'a test WRS', wrs: ['wrs-paris'], devices: [], of: 1 },
    { name: 'test devices only', wrs: [], devices: ['ws-001', 'laptop-902'], of: 2 },
  ])('every declared test-ring member counts, installed and restarted — $name', ({ wrs, devices, of }) => {
    const ring = { tag: '4.3-test', repositoryServers: wrs, devices };
    const restarting = devices[0] ?? wrs[0]!;
    const pending = reconcile(spec({ testRing: ring }), { ...ringAt430(...wrs, ...devices), [restarting]: at('4.3.0', { pendingRestart: true }) }, { stable: '4.3.0', previous: inProductionAt421() });
    expect(promotion(pending).testRing).toEqual({ version: '4.3.0', converged: of - 1, of });
    expect(pending.commands.some((c) => PRODUCTION.includes(c.member))).toBe(false);
    const done = reconcile(spec({ testRing: ring }), ringAt430(...wrs, ...devices), { stable: '4.3.0', previous: inProductionAt421() });
    expect(promotion(done).testRing).toEqual({ version: '4.3.0', converged: of, of });
    expect(done.commands.some((c) => PRODUCTION.includes(c.member))).toBe(true);
  });

  it('a test ring without members can never converge: production is held and told why', () => {
    const r = reconcile(spec({ testRing: { tag: '4.3-test' } }), fleet('4.2.1'), { stable: '4.3.0', previous: inProductionAt421() });
    expect(r.commands).toEqual([]);
    expect(member(r, 'ws-101').message).toBe('4.3.0 cannot converge on the test ring: it has no members (declare testRing members, or spec.promotion.override with a reason)');
  });
});

describe('spec.promotion.override lets one version through, with its reason (issue 8)', () => {
  const REASON = 'CVE-2026-4242: the fix must reach every workstation today';
  it.each([
    { name: 'it names the production version', version: '4.3.0', sent: true, reminder: `4.3.0 was let into production without converging on the test ring, by spec.promotion.override: ${REASON}` },
    { name: 'it names another version', version: '4.2.9', sent: false, reminder: 'spec.promotion.override names 4.2.9, not the production version 4.3.0: it has no effect (remove it)' },
  ])('$name', ({ version, sent, reminder }) => {
    const r = reconcile(spec({ promotion: { override: { version, reason: REASON } } }), ringAt430(), { stable: '4.3.0', previous: inProductionAt421() });
    expect(r.commands.some((c) => c.member === 'wrs-lyon')).toBe(sent);
    expect(r.status.reminders).toContain(reminder);
    if (sent) {
      expect(cmds(r)).toEqual(['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0', 'apply laptop-902 4.3.0']);
      expect(promotion(r).production).toEqual({ version: '4.3.0', via: 'override', at: new Date(NOW).toISOString(), reason: REASON });
    } else {
      expect(member(r, 'wrs-lyon').state).toBe('Waiting');
    }
  });

  it('a version let through stays in production when the override is removed afterwards, and status keeps the reason', () => {
    const withOverride = reconcile(spec({ promotion: { override: { version: '4.3.0', reason: REASON } } }), ringAt430(), { stable: '4.3.0', previous: inProductionAt421() });
    const r = reconcile(spec(), ringAt430(), { stable: '4.3.0', previous: throughGit(withOverride.status), now: NOW + HOUR });
    expect(cmds(r)).toContain('apply wrs-lyon 4.3.0');
    expect(promotion(r).production).toMatchObject({ version: '4.3.0', via: 'override', reason: REASON });
    expect((r.status.reminders ?? []).some((x) => x.includes('override'))).toBe(false);
  });

  it('an override of a version that converged on the test ring is not needed, and status says so', () => {
    const r = reconcile(spec({ promotion: { override: { version: '4.3.0', reason: REASON } } }), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.3.0', previous: inProductionAt421() });
    expect(promotion(r).production?.via).toBe('test-ring');
    expect(r.status.reminders).toContain('spec.promotion.override is not needed: 4.3.0 converged on the test ring (remove it)');
  });

  it('an override without a test ring has no effect, and status says so', () => {
    const r = reconcile(spec({ testRing: undefined, promotion: { override: { version: '4.3.0', reason: REASON } } }), fleet('4.2.1'), { stable: '4.3.0' });
    expect(r.status.reminders).toContain('spec.promotion.override (4.3.0) has no effect: the account declares no test ring');
  });
});

describe('what the gate holds and does not hold (issue 8, issue 12)', () => {
  it('moving production back to an earlier version is a rollback, never held', () => {
    const promoted = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.3.0', previous: inProductionAt421() });
    expect(promotion(promoted).production).toMatchObject({ version: '4.3.0', via: 'test-ring' });
    // 4.1.0 never went through the test ring
    const back = reconcile(spec(), fleet('4.3.0'), { stable: '4.1.0', previous: throughGit(promoted.status), now: NOW + HOUR });
    expect(cmds(back)).toContain('apply wrs-lyon 4.1.0');
    expect(promotion(back).production).toMatchObject({ version: '4.1.0', via: 'rollback' });
  });

  it.each([
    { name: 'the first pass of a controller, or plan, with no earlier status', previous: (): TargetStatus | undefined => undefined, stable: '4.2.1', missing: true },
    {
      name: 'a test ring declared on an account already in production',
      previous: () => reconcile(spec({ testRing: undefined }), fleet('4.1.0'), { stable: '4.2.1', now: NOW - HOUR }).status,
      stable: '4.2.1',
      missing: false,
    },
    {
      name: 'a test ring declared in the same commit that moves production forward',
      previous: () => reconcile(spec({ testRing: undefined }), fleet('4.1.0'), { stable: '4.2.1', now: NOW - HOUR }).status,
      stable: '4.3.0',
      missing: false,
    },
  ])('without evidence that the test ring converged, production is held: there is no baseline — $name', ({ previous, stable, missing }) => {
    const r = reconcile(spec(), fleet('4.1.0'), { stable, previous: previous() });
    expect(r.commands.some((c) => c.member === 'wrs-lyon'), 'production moves').toBe(false);
    expect(promotion(r).production).toBeUndefined();
    expect(promotion(r).held?.version).toBe(stable);
    expect(member(r, 'ws-101').message?.endsWith('; no earlier status in Git records it as tested')).toBe(missing);
    // held on one pass is never admitted on the next (status read back from Git)
    const next = reconcile(spec(), fleet('4.1.0'), { stable, previous: throughGit(r.status), now: NOW + HOUR });
    expect(next.commands.some((c) => c.member === 'wrs-lyon')).toBe(false);
    // production members already running the version have nothing to do, held or not
    const there = reconcile(spec(), fleet(stable), { stable, previous: previous() });
    expect(there.plan.filter((p) => PRODUCTION.includes(p.member))).toEqual([]);
  });

  it('a production admission by the former "baseline" rule, read from Git, is not trusted', () => {
    const old = inProductionAt421();
    const baseline: TargetStatus = { ...old, details: { promotion: { tested: [], production: { version: '4.2.1', via: 'baseline', at: new Date(NOW - HOUR).toISOString() } } } };
    const r = reconcile(spec(), fleet('4.1.0'), { stable: '4.2.1', previous: baseline });
    expect(r.commands.some((c) => PRODUCTION.includes(c.member))).toBe(false);
    expect(promotion(r).held?.version).toBe('4.2.1');
  });

  it('a restarted controller and plan decide what a long-running controller decides: same status from Git, same result', () => {
    const steps = [ringAt430('wrs-paris'), ringAt430('wrs-paris', 'ws-001'), ringAt430('wrs-paris', 'ws-001', 'laptop-902')];
    let previous: TargetStatus | undefined = inProductionAt421();
    for (const [i, agents] of steps.entries()) {
      const now = NOW + i * HOUR;
      const longRunning = reconcile(spec(), agents, { stable: '4.3.0', previous, now });
      const fresh = reconcile(spec(), agents, { stable: '4.3.0', previous: throughGit(previous!), now });
      expect(fresh.commands).toEqual(longRunning.commands);
      expect(fresh.plan).toEqual(longRunning.plan);
      expect(fresh.status.phase).toBe(longRunning.status.phase);
      previous = longRunning.status;
    }
    expect(promotion(reconcile(spec(), steps[2]!, { stable: '4.3.0', previous })).production?.via).toBe('test-ring');
  });

  it('a WRS of the test ring follows the ring even when both tags name one untested release; production behind it waits', () => {
    const r = reconcile(spec(), fleet('4.2.1'), { stable: '4.3.0', test: '4.3.0', previous: inProductionAt421() });
    expect(cmds(r)).toEqual(['apply wrs-paris 4.3.0', 'apply laptop-902 4.3.0']);
    expect(member(r, 'wrs-lyon').state).toBe('Waiting');
    const served = reconcile(spec(), { ...fleet('4.2.1'), 'wrs-paris': at('4.3.0', { serves: ['4.2.1', '4.3.0'] }) }, { stable: '4.3.0', test: '4.3.0', previous: inProductionAt421() });
    expect(cmds(served)).toEqual(['apply ws-001 4.3.0', 'apply laptop-902 4.3.0']);
    expect(blockedBy(served, 'ws-002')[0]).toBe('apply: AwaitingTestRing');
  });

  it('with auto-update, a production WRS does not get the untested version to hand out, and device steps say why they wait', () => {
    const r = reconcile(spec({ autoUpdate: true }), ringAt430(), { stable: '4.3.0', previous: inProductionAt421() });
    expect(cmds(r)).toEqual(['apply wrs-paris 4.3.0']);
    expect(blockedBy(r, 'wrs-lyon')[0]).toBe('apply: AwaitingTestRing');
    expect(r.plan.find((s) => s.member === 'ws-101' && s.action === 'apply')).toMatchObject({ performedBy: 'device', blockedBy: { reason: 'AwaitingTestRing' } });
  });

  it('a tag that does not resolve decides nothing and keeps the memory', () => {
    const converged = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.3.0', previous: inProductionAt421() });
    const broken = reconcile(spec({ defaultTag: 'nope' }), fleet('4.3.0'), { stable: '4.3.0', previous: converged.status });
    expect(broken.status.phase).toBe('Blocked');
    expect(promotion(broken)).toEqual({ tested: promotion(converged).tested, production: promotion(converged).production });
  });

  it('an account without a test ring carries no promotion details, and forgets nothing it learnt', () => {
    expect(reconcile(spec({ testRing: undefined }), fleet('4.2.1'), { stable: '4.3.0' }).status.details).toBeUndefined();
    const converged = reconcile(spec(), ringAt430('wrs-paris', 'ws-001', 'laptop-902'), { stable: '4.2.1', previous: inProductionAt421() });
    const noRing = reconcile(spec({ testRing: undefined }), fleet('4.2.1'), { stable: '4.3.0', previous: converged.status });
    expect(promotion(noRing)).toEqual({ tested: [{ version: '4.3.0', at: new Date(NOW).toISOString() }] });
  });

  it('governance keeps the promotion details next to its own', () => {
    const object = desired('Account', 'acme', spec());
    const r = RECONCILERS.Account!(input(object, releases('4.3.0', '4.3.0')), observed(ringAt430(), VERIFIED), inProductionAt421(), NOW);
    expect(promotion(r).held?.version).toBe('4.3.0');
    expect(r.commands.some((c) => PRODUCTION.includes(c.member))).toBe(false);
  });
});
