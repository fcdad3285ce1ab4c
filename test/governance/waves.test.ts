import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { approvalDigest } from '../../reconcilers/governance/approval-digest.ts';
import { durationMs, maxWaveCount, planWaves } from '../../reconcilers/governance/wave-plan.ts';
import { MemberLocator, wavesStep, type WavesDetails } from '../../reconcilers/governance/waves.ts';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import type { ApprovalTrust } from '../../reconcilers/model/approval-trust.ts';
import type { AccountSpec, CountOrPercent, DomainSpec, RolloutPolicy } from '../../reconcilers/model/desired.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import { RECONCILERS } from '../../reconcilers/registry.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

/**
 * Waves and approval gates (issue 8, items 1 and 2), through the real Account and Domain
 * reconcilers as `versiond plan` and `versiond run` call them (RECONCILERS: each kind's
 * reconciler with the governance steps after it).
 */

// ------------------------------------------------------------------ fixtures

const P = 'w360-core';
const T = 'account/acme';
const RELEASES = [release('w360-core-4.2.1', P, '4.2.1'), release('w360-core-4.3.0', P, '4.3.0', ['stable']), release('w360-core-4.4.0', P, '4.4.0', ['next'])];
const VERIFIED = { 'w360-core-4.2.1': 'verified', 'w360-core-4.3.0': 'verified', 'w360-core-4.4.0': 'verified' } as const;
const MINUTE = 60_000;
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `ws-${String(i + 1).padStart(2, '0')}`);

/** ACME with `devices` remote devices (no WRS in their way) and one WRS nobody depends on. */
function account(devices: readonly string[], rollout?: RolloutPolicy, over: Partial<AccountSpec> = {}): AccountSpec {
  return {
    product: P,
    defaultTag: 'stable',
    restartPolicy: 'Immediate',
    autoUpdate: false,
    repositoryServers: [{ name: 'wrs-paris' }],
    devices: devices.map((name) => ({ name, repositoryServer: 'cloud' })),
    installMedia: { generatedFor: '4.3.0' },
    ...(rollout ? { rollout } : {}),
    ...over,
  };
}

const at = (version: string, extra: Omit<AgentSpec, 'components'> & { pendingRestart?: boolean } = {}): AgentSpec => {
  const { pendingRestart, ...rest } = extra;
  return { components: [running(P, version, pendingRestart ? { pendingRestart } : {})], ...rest };
};
const result = (member: string, action: 'apply' | 'restart', status: CommandResult['status'], message?: string, atMs = NOW - MINUTE): CommandResult => ({
  id: commandId(T, member, action, '4.3.0'),
  status,
  at: new Date(atMs).toISOString(),
  ...(message ? { message } : {}),
});

/** Every device and the WRS at `version`, then the overrides. */
function fleet(devices: readonly string[], version: string, over: Record<string, AgentSpec | null> = {}): Record<string, AgentSpec> {
  const out: Record<string, AgentSpec> = { 'wrs-paris': at('4.3.0') };
  for (const d of devices) out[d] = at(version);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Approvals count as written here (their provenance is tested in test/trust/); `trust` overrides. */
function plan(spec: AccountSpec, agents: Record<string, AgentSpec>, previous?: TargetStatus, now = NOW,
  trust: ApprovalTrust | null = { mode: 'as-written' }): ReconcileResult {
  const d = { ...input(desired('Account', 'acme', spec), RELEASES), ...(trust ? { approvalTrust: trust } : {}) };
  return RECONCILERS.Account!(d, observed(agents, VERIFIED), previous, now);
}

const cmds = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
const waves = (r: ReconcileResult): WavesDetails => (r.status.details?.rollout as { waves: WavesDetails }).waves;
const blockerOf = (r: ReconcileResult, member: string, action = 'apply') => r.plan.find((s) => s.member === member && s.action === action)?.blockedBy;
const memberOf = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name)!;
const condition = (r: ReconcileResult, type: string) => r.status.conditions.find((c) => c.type === type)!;
const digestOf = (r: ReconcileResult, wave: number): string => waves(r).waves[wave - 1]!.approval!.digest;

const FOUR = names(4);
/** 1 device, then half, then everyone: waves of 1, 1 and 2 devices. */
const THREE_WAVES: CountOrPercent[] = [1, '50%', '100%'];

// ------------------------------------------------------------------ membership

describe('wave membership: cumulative steps over the members in file order', () => {
  it.each([
    { steps: [1, '50%', '100%'], total: 4, waves: [[0, 1], [1, 2], [2, 4]] },
    { steps: [1, '5%', '25%', '100%'], total: 100, waves: [[0, 1], [1, 5], [5, 25], [25, 100]] },
    { steps: [1, '5%', '25%', '100%'], total: 3, waves: [[0, 1], [1, 1], [1, 1], [1, 3]], why: 'a share rounds up to at least one member; numbers stay those of the file' },
    { steps: ['10%'], total: 15, waves: [[0, 2], [2, 15]], why: 'a last step below the count is followed by one more wave' },
    { steps: [2, 5], total: 20, waves: [[0, 2], [2, 5], [5, 20]] },
    { steps: [5, 2, '100%'], total: 10, waves: [[0, 5], [5, 5], [5, 10]], why: 'sizes never go down' },
    { steps: [10, 50], total: 4, waves: [[0, 4], [4, 4]], why: 'sizes are capped at the count' },
    { steps: [0, '0%', 3], total: 4, waves: [[0, 1], [1, 1], [1, 3], [3, 4]], why: 'a wave is at least one member (validate refuses 0)' },
    { steps: ['100%'], total: 0, waves: [] },
  ] as { steps: CountOrPercent[]; total: number; waves: number[][]; why?: string }[])('$steps of $total members -> $waves', ({ steps, total, waves: want }) => {
    expect(planWaves(steps, total).map((w) => [w.start, w.end])).toEqual(want);
    expect(planWaves(steps, total).map((w) => w.number)).toEqual(want.map((_, i) => i + 1));
    expect(planWaves(steps, total).length).toBeLessThanOrEqual(maxWaveCount(steps));
  });

  it.each([
    ['30m', 30 * MINUTE],
    ['4h', 240 * MINUTE],
    ['2d', 2880 * MINUTE],
    ['0m', undefined],
    ['4 h', undefined],
  ] as const)('stragglerAfter %s is %s ms', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });
});

// ------------------------------------------------------------------ which members are in waves

describe('finding a member among a million without a map of a million names', () => {
  const list = names(6).map((name) => ({ name, agent: name, role: 'device', desired: '4.3.0', state: 'Pending' as const }));
  it.each([
    { order: 'member order, then again (applies, then restarts)', lookups: ['ws-01', 'ws-03', 'ws-06', 'ws-02', 'ws-05'] },
    { order: 'any order', lookups: ['ws-06', 'ws-01', 'ws-05', 'ws-02', 'ws-04', 'ws-03', 'ws-06'] },
  ])('$order', ({ lookups }) => {
    const locate = new MemberLocator(list, new Set(['wrs-paris']));
    expect(lookups.map((n) => locate.indexOf(n))).toEqual(lookups.map((n) => list.findIndex((m) => m.name === n)));
    expect(locate.indexOf('wrs-paris')).toBe(-1);
    expect(locate.indexOf('nobody')).toBe(-1);
    expect(locate.indexOf('ws-04')).toBe(3);
  });
});

describe('only devices (Account) and slaves (Domain) are in waves', () => {
  it('a WRS and the cloud infrastructure are never held: the reconciler orders them (seeds 001, 003)', () => {
    const spec = account(FOUR, { waves: { steps: THREE_WAVES } }, { infrastructure: { release: 'cebox-cloud-2026.11.0' } });
    const rels = [...RELEASES, release('cebox-cloud-2026.11.0', 'cebox-cloud', '2026.11.0')];
    const agents = fleet(FOUR, '4.2.1', { 'wrs-paris': at('4.2.1'), 'acme-infrastructure': { components: [running('cebox-cloud', '2026.10.2')] } });
    const r = RECONCILERS.Account!(input(desired('Account', 'acme', spec), rels), observed(agents, { ...VERIFIED, 'cebox-cloud-2026.11.0': 'verified' }), undefined, NOW);
    expect(cmds(r)).toEqual(['apply infrastructure', 'apply wrs-paris', 'apply ws-01']);
    expect(waves(r)).toMatchObject({ role: 'device', members: 4, current: 1 });
  });

  it('test-ring devices are not in waves: the ring is the canary production waits for, wherever the file lists it', () => {
    const devices = [...FOUR, 'ws-ring'];
    const spec = account(devices, { waves: { steps: THREE_WAVES, approvalRequired: [2] } }, { testRing: { tag: 'next', devices: ['ws-ring'] } });
    const r = plan(spec, fleet(devices, '4.2.1'));
    expect(cmds(r)).toContain('apply ws-ring');
    expect(r.commands.find((c) => c.member === 'ws-ring')?.version).toBe('4.4.0');
    expect(waves(r).members).toBe(4);
    expect(waves(r).waves.flatMap((w) => w.members)).toEqual(FOUR);
  });

  it('without spec.rollout.waves the result is the reconciler\'s own: no details, nothing held', () => {
    const r = plan(account(FOUR), fleet(FOUR, '4.2.1'));
    expect(cmds(r)).toEqual(['apply ws-01', 'apply ws-02', 'apply ws-03', 'apply ws-04']);
    expect(r.status.details?.rollout).toBeUndefined();
  });

  it('a domain stages to every slave at once (downloading changes nothing), and applies wave by wave (seed 000)', () => {
    const slaves = ['wd-s1', 'wd-s2', 'wd-s3'];
    const spec: DomainSpec = {
      release: 'watchdoc-6.1.4',
      master: { name: 'wd-master', update: 'Controller' },
      slaves: slaves.map((name) => ({ name, sync: 'mailbox' as const })),
      rollout: { waves: { steps: [1, '100%'], approvalRequired: [2] } },
    };
    const rels = [release('watchdoc-6.1.3', 'watchdoc', '6.1.3'), release('watchdoc-6.1.4', 'watchdoc', '6.1.4')];
    const wd = (v: string, staged?: string): AgentSpec => ({ components: [{ product: 'watchdoc', version: v, state: 'running', ...(staged ? { staged: { version: staged, verified: true } } : {}) }] });
    const run = (agents: Record<string, AgentSpec>) =>
      RECONCILERS.Domain!(input(desired('Domain', 'branches', spec), rels), observed(agents, { 'watchdoc-6.1.4': 'verified' }), undefined, NOW);

    const staging = run({ 'wd-master': wd('6.1.4'), 'wd-s1': wd('6.1.3'), 'wd-s2': wd('6.1.3'), 'wd-s3': wd('6.1.3') });
    expect(cmds(staging)).toEqual(['stage wd-s1', 'stage wd-s2', 'stage wd-s3']);

    const applying = run({ 'wd-master': wd('6.1.4'), 'wd-s1': wd('6.1.3', '6.1.4'), 'wd-s2': wd('6.1.3', '6.1.4'), 'wd-s3': wd('6.1.3', '6.1.4') });
    expect(cmds(applying)).toEqual(['apply wd-s1']);
    expect(blockerOf(applying, 'wd-s2')).toMatchObject({ reason: 'WaitingForWave' });
    const gate = run({ 'wd-master': wd('6.1.4'), 'wd-s1': wd('6.1.4'), 'wd-s2': wd('6.1.3', '6.1.4'), 'wd-s3': wd('6.1.3', '6.1.4') });
    expect(cmds(gate)).toEqual([]);
    expect(blockerOf(gate, 'wd-s2')).toMatchObject({ reason: 'AwaitingApproval' });
    expect(gate.status.phase).toBe('Waiting');
    const details = waves(applying);
    expect(details).toMatchObject({ role: 'slave', members: 3, current: 1 });
    // the domain's product is its release's
    expect(digestOf(applying, 2)).toBe(
      approvalDigest({ target: 'domain/branches', wave: 2, product: 'watchdoc', members: [{ name: 'wd-s2', desired: '6.1.4' }, { name: 'wd-s3', desired: '6.1.4' }] }),
    );
  });
});

// ------------------------------------------------------------------ waves in order

describe('each wave starts once the one before is done', () => {
  it.each([
    { name: 'nobody updated yet', updated: [], current: 1, sent: ['apply ws-01'] },
    { name: 'wave 1 done', updated: ['ws-01'], current: 2, sent: ['apply ws-02'] },
    { name: 'waves 1 and 2 done', updated: ['ws-01', 'ws-02'], current: 3, sent: ['apply ws-03', 'apply ws-04'] },
    { name: 'a device of wave 3 already there does not make wave 2 done', updated: ['ws-01', 'ws-04'], current: 2, sent: ['apply ws-02'] },
  ])('$name: wave $current rolls out, later waves wait', ({ updated, current, sent }) => {
    const r = plan(account(FOUR, { waves: { steps: THREE_WAVES } }), fleet(FOUR, '4.2.1', Object.fromEntries(updated.map((d) => [d, at('4.3.0')]))));
    expect(cmds(r)).toEqual(sent);
    expect(waves(r).current).toBe(current);
    expect(waves(r).waves.map((w) => w.state)).toEqual([1, 2, 3].map((k) => (k < current ? 'done' : k === current ? 'current' : 'pending')));
    expect(r.status.summary).toContain(`(wave ${current}/3)`);
    for (const d of FOUR.filter((d) => !updated.includes(d) && !sent.includes(`apply ${d}`))) {
      const wave = FOUR.indexOf(d) < 2 ? 2 : 3;
      const message = wave === current + 1 ? `in wave ${wave} of 3: starts once wave ${current} is done` : `in wave ${wave} of 3: starts after wave ${wave - 1}; wave ${current} is rolling out`;
      expect(blockerOf(r, d)).toEqual({ category: 'waiting', reason: 'WaitingForWave', message });
      expect(memberOf(r, d)).toMatchObject({ state: 'Waiting', message });
    }
  });

  it('a device of a later wave with nothing to send yet (offline) still says which wave it is in', () => {
    const r = plan(account(FOUR, { waves: { steps: THREE_WAVES } }), fleet(FOUR, '4.2.1', { 'ws-04': at('4.2.1', { online: false, lastSeen: ago(MINUTE) }) }));
    expect(memberOf(r, 'ws-04')).toMatchObject({ state: 'Waiting', message: 'in wave 3 of 3: starts after wave 2; wave 1 is rolling out' });
    expect(blockerOf(r, 'ws-04')?.reason).toBe('WaitingForWave');
  });

  it('every wave done: nothing held, no note, current is null', () => {
    const r = plan(account(FOUR, { waves: { steps: THREE_WAVES } }), fleet(FOUR, '4.3.0'));
    expect(r.status.phase).toBe('Converged');
    expect(r.status.summary).toBe('4/4 devices at 4.3.0, 1/1 WRS');
    expect(waves(r)).toMatchObject({ current: null, state: 'done', stragglers: [] });
    expect(waves(r).waves.map((w) => w.state)).toEqual(['done', 'done', 'done']);
  });

  it('a device being restarted after its install is in flight: it counts as started in its wave', () => {
    const r = plan(account(FOUR, { waves: { steps: THREE_WAVES, maxUnavailable: 1 } }), fleet(FOUR, '4.2.1', { 'ws-01': at('4.3.0', { pendingRestart: true }) }));
    expect(cmds(r)).toEqual(['restart ws-01']);
    expect(waves(r).waves[0]).toMatchObject({ state: 'current', updating: 1 });
  });
});

// ------------------------------------------------------------------ stragglers

describe('stragglers: offline longer than stragglerAfter does not hold a wave back', () => {
  const rollout = (stragglerAfter?: string): RolloutPolicy => ({ waves: { steps: THREE_WAVES, ...(stragglerAfter ? { stragglerAfter } : {}) } });

  it.each([
    { name: 'offline for 3 h, stragglerAfter 2h', ws01: at('4.2.1', { online: false, lastSeen: ago(180 * MINUTE) }), after: '2h', straggler: true },
    // How long a member that never reported has been offline is unknown (a controller that lost its
    // inventory sees every member so): unknown is not "long enough", its wave waits for it.
    { name: 'never reported, stragglerAfter 2h', ws01: null, after: '2h', straggler: false },
    { name: 'offline for 1 h, stragglerAfter 2h', ws01: at('4.2.1', { online: false, lastSeen: ago(60 * MINUTE) }), after: '2h', straggler: false },
    { name: 'offline for 3 days, no stragglerAfter', ws01: at('4.2.1', { online: false, lastSeen: ago(3 * 1440 * MINUTE) }), after: undefined, straggler: false },
  ])('$name: straggler $straggler', ({ ws01, after, straggler }) => {
    const r = plan(account(FOUR, rollout(after)), fleet(FOUR, '4.2.1', { 'ws-01': ws01 }));
    if (straggler) {
      expect(waves(r).stragglers).toEqual(['ws-01']);
      expect(waves(r).waves[0]).toMatchObject({ state: 'done', stragglers: 1 });
      expect(cmds(r)).toEqual(['apply ws-02']);
    } else {
      expect(waves(r).stragglers).toEqual([]);
      expect(waves(r).current).toBe(1);
      expect(cmds(r)).toEqual([]);
      expect(waves(r).neverReported).toBe(ws01 === null ? 1 : undefined);
    }
  });

  it('the wave is looked at again when its offline member becomes a straggler', () => {
    // everyone else is done: only the straggler timer can bring the account back
    const spec = account(FOUR, rollout('2h'));
    const agents = fleet(FOUR, '4.3.0', { 'ws-01': at('4.2.1', { online: false, lastSeen: ago(90 * MINUTE) }) });
    const r = plan(spec, agents);
    expect(r.requeueAfter).toBeLessThanOrEqual(30 * MINUTE + 1);
    // the waves step's own ask (the reconciler may ask sooner, for its own reasons)
    const d = input(desired('Account', 'acme', spec), RELEASES);
    const obs = observed(agents, VERIFIED);
    const inner = reconcileAccount(d, obs, undefined, NOW);
    const ctx = { desired: d, observed: obs, previous: undefined, now: NOW, inner, policy: spec.rollout, inProgress: new Set<string>() };
    expect(wavesStep.decide(ctx)?.requeueAfter).toBe(30 * MINUTE + 1);
  });

  it('a straggler back online catches up at once, and the rollout does not go back to its wave', () => {
    const spec = account(FOUR, rollout('2h'));
    const away = plan(spec, fleet(FOUR, '4.2.1', { 'ws-01': at('4.2.1', { online: false, lastSeen: ago(180 * MINUTE) }), 'ws-02': at('4.3.0') }));
    expect(waves(away)).toMatchObject({ current: 3, stragglers: ['ws-01'] });
    // ws-01 reports again: it gets its apply with wave 3, which goes on
    const back = plan(spec, fleet(FOUR, '4.2.1', { 'ws-02': at('4.3.0') }), away.status, NOW + MINUTE);
    expect(cmds(back)).toEqual(['apply ws-01', 'apply ws-03', 'apply ws-04']);
    expect(waves(back)).toMatchObject({ current: 3, stragglers: ['ws-01'] });
    // once it is done it is no longer a straggler
    const done = plan(spec, fleet(FOUR, '4.3.0'), back.status, NOW + 2 * MINUTE);
    expect(waves(done)).toMatchObject({ current: null, stragglers: [] });
  });

  it('without the previous status (versiond plan) a straggler back online is a member of its wave again', () => {
    const r = plan(account(FOUR, rollout('2h')), fleet(FOUR, '4.2.1', { 'ws-02': at('4.3.0') }));
    expect(waves(r).current).toBe(1);
    expect(cmds(r)).toEqual(['apply ws-01']);
  });

  it('an offline member of a wave not reached yet is not a straggler: it waits for its wave', () => {
    const r = plan(account(FOUR, rollout('2h')), fleet(FOUR, '4.2.1', { 'ws-04': null }));
    expect(waves(r).stragglers).toEqual([]);
    expect(waves(r).waves[2]!.stragglers).toBe(0);
  });
});

// ------------------------------------------------------------------ failure threshold

describe('failureThreshold: more failures in a wave than it tolerates halts the rollout', () => {
  const failed = (d: string, why = 'disk full') => at('4.2.1', { results: [result(d, 'apply', 'failed', why)] });

  it('the first failure halts by default: Failed, WaveFailed, naming the member and why; nothing else starts', () => {
    const six = names(6);
    const spec = account(six, { waves: { steps: [2, '100%'] } });
    const r = plan(spec, fleet(six, '4.2.1', { 'ws-01': failed('ws-01'), 'ws-02': at('4.3.0', { pendingRestart: true }) }));
    expect(r.status.phase).toBe('Failed');
    expect(condition(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'WaveFailed' });
    expect(condition(r, 'Stalled').message).toContain('wave 1 of 2 (2 devices → 4.3.0) failed: 1 failed, 0 tolerated (failureThreshold 0) — ws-01: apply 4.3.0 failed: disk full');
    expect(condition(r, 'Stalled').message).toContain('set spec.rollout.retryFailed');
    // the member in flight finishes (never half an update); nobody else starts
    expect(cmds(r)).toEqual(['restart ws-02']);
    expect(blockerOf(r, 'ws-03')).toEqual({ category: 'stalled', reason: 'WaveFailed', message: 'rollout halted: wave 1 of 2 failed (1 failed, 0 tolerated)' });
    expect(waves(r)).toMatchObject({ state: 'halted', current: 1 });
    expect(waves(r).waves[0]).toMatchObject({ state: 'halted', failed: [{ member: 'ws-01', message: 'apply 4.3.0 failed: disk full' }], failedCount: 1, tolerated: 0 });
    expect(r.status.summary).toContain('halted: wave 1/2 failed');
  });

  it.each([
    { threshold: 1, failures: 1, halted: false },
    { threshold: 1, failures: 2, halted: true },
    { threshold: '20%', failures: 1, halted: false, why: '20% of 5 tolerates 1' },
    { threshold: '30%', failures: 2, halted: true, why: '30% of 5 rounds down to 1' },
  ] as { threshold: CountOrPercent; failures: number; halted: boolean }[])('failureThreshold $threshold with $failures failed in a wave of 5: halted $halted', ({ threshold, failures, halted }) => {
    const ten = names(10);
    const over = Object.fromEntries(ten.slice(0, 5).map((d, i) => [d, i < failures ? failed(d) : at('4.3.0')]));
    const r = plan(account(ten, { waves: { steps: [5, '100%'], failureThreshold: threshold } }), fleet(ten, '4.2.1', over));
    if (halted) {
      expect(r.status.phase).toBe('Failed');
      expect(cmds(r)).toEqual([]);
    } else {
      // the tolerated failures stay listed; the next wave goes
      expect(waves(r)).toMatchObject({ current: 2 });
      expect(waves(r).waves[0]).toMatchObject({ state: 'done', failedCount: failures });
      expect(cmds(r)).toEqual(ten.slice(5).map((d) => `apply ${d}`));
    }
  });

  it('a commit that bumps retryFailed retries only the failed member, and the halt clears', () => {
    const spec = (retryFailed?: string) => account(FOUR, { waves: { steps: THREE_WAVES }, ...(retryFailed ? { retryFailed } : {}) });
    const agents = fleet(FOUR, '4.2.1', { 'ws-01': failed('ws-01') });
    expect(plan(spec(), agents).status.phase).toBe('Failed');
    const retried = plan(spec(new Date(NOW - 1000).toISOString()), agents);
    expect(retried.status.phase).toBe('Progressing');
    expect(cmds(retried)).toEqual(['apply ws-01']);
    expect(retried.commands[0]!.id).not.toBe(commandId(T, 'ws-01', 'apply', '4.3.0'));
    expect(waves(retried)).toMatchObject({ state: 'rolling-out', current: 1 });
  });
});

// ------------------------------------------------------------------ maxUnavailable

describe('maxUnavailable: members of a wave in flight at once', () => {
  const eight = names(8);
  it.each([
    { name: 'none in flight, limit 2', max: 2, over: {}, sent: ['ws-01', 'ws-02'] },
    { name: 'one installing, limit 2', max: 2, over: { 'ws-01': at('4.2.1', { results: [result('ws-01', 'apply', 'running')] }) }, sent: ['ws-02'] },
    { name: 'one restarting after its install, limit 2', max: 2, over: { 'ws-01': at('4.3.0', { pendingRestart: true }) }, sent: ['ws-02', 'ws-01'] },
    { name: 'two in flight, limit 2', max: 2, over: { 'ws-01': at('4.3.0', { pendingRestart: true }), 'ws-02': at('4.2.1', { results: [result('ws-02', 'apply', 'running')] }) }, sent: ['ws-01'] },
    { name: '25% of a wave of 4', max: '25%', over: {}, sent: ['ws-01'] },
    { name: '30% of a wave of 4 rounds up', max: '30%', over: {}, sent: ['ws-01', 'ws-02'] },
  ] as { name: string; max: CountOrPercent; over: Record<string, AgentSpec>; sent: string[] }[])('$name', ({ max, over, sent }) => {
    const r = plan(account(eight, { waves: { steps: [4, '100%'], maxUnavailable: max } }), fleet(eight, '4.2.1', over));
    expect(r.commands.map((c) => c.member)).toEqual(sent);
    const held = ['ws-01', 'ws-02', 'ws-03', 'ws-04'].filter((d) => !sent.includes(d) && !over[d]);
    for (const d of held) expect(blockerOf(r, d)?.reason).toBe('MaxUnavailable');
    expect(blockerOf(r, 'ws-05')?.reason).toBe('WaitingForWave');
  });

  it('details say the limit and how many are in flight', () => {
    const r = plan(account(eight, { waves: { steps: [4, '100%'], maxUnavailable: 2 } }), fleet(eight, '4.2.1', { 'ws-01': at('4.2.1', { results: [result('ws-01', 'apply', 'running')] }) }));
    expect(waves(r).maxUnavailable).toEqual({ limit: 2, inFlight: 2, held: 2 });
  });
});

// ------------------------------------------------------------------ approval gates

describe('approval gates: a gated wave starts only once its exact plan is approved in Git', () => {
  const gated = (approvals: RolloutPolicy['approvals'] = []): RolloutPolicy => ({ waves: { steps: THREE_WAVES, approvalRequired: [2] }, approvals });
  const wave1Done = fleet(FOUR, '4.2.1', { 'ws-01': at('4.3.0') });
  const digest2 = approvalDigest({ target: T, wave: 2, product: P, members: [{ name: 'ws-02', desired: '4.3.0' }] });

  it('stops before the gated wave: Waiting, AwaitingApproval, with the digest to approve', () => {
    const r = plan(account(FOUR, gated()), wave1Done);
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'AwaitingApproval',
      message: `wave 2 of 3 (1 device → 4.3.0) awaits approval: add {wave: 2, digest: ${digest2}, by: …} to spec.rollout.approvals`,
    });
    expect(cmds(r)).toEqual([]);
    for (const d of ['ws-02', 'ws-03', 'ws-04']) expect(blockerOf(r, d)).toEqual({ category: 'waiting', reason: 'AwaitingApproval', message: `wave 2 of 3 awaits approval (digest ${digest2})` });
    expect(waves(r)).toMatchObject({ state: 'awaiting-approval', current: 2 });
    expect(waves(r).waves[1]!.approval).toEqual({ required: true, digest: digest2, approved: false });
    expect(r.status.summary).toContain('wave 2/3 awaits approval');
  });

  it('the digest is shown before the gate is reached, and an approval given in advance lets the wave go when its turn comes', () => {
    const early = plan(account(FOUR, gated()), fleet(FOUR, '4.2.1'));
    expect(early.status.phase).toBe('Progressing');
    expect(digestOf(early, 2)).toBe(digest2);
    const approved = plan(account(FOUR, gated([{ wave: 2, digest: digest2, by: 'ada@example.com' }])), wave1Done);
    expect(cmds(approved)).toEqual(['apply ws-02']);
    expect(waves(approved).waves[1]!.approval).toEqual({ required: true, digest: digest2, approved: true, by: 'ada@example.com', verified: false });
    expect(waves(approved).current).toBe(2);
  });

  it('the digest does not change as the wave progresses (nothing observed is in it)', () => {
    const spec = account(FOUR, gated());
    const states = [fleet(FOUR, '4.2.1'), wave1Done, fleet(FOUR, '4.2.1', { 'ws-01': at('4.3.0'), 'ws-02': at('4.3.0', { pendingRestart: true }) }), fleet(FOUR, '4.3.0')];
    expect(new Set(states.map((s) => digestOf(plan(spec, s), 2)))).toEqual(new Set([digest2]));
  });

  it.each([
    { name: 'a device added to the wave', change: (s: AccountSpec) => account([...FOUR, 'ws-05'], s.rollout) },
    { name: 'another version', change: (s: AccountSpec) => ({ ...s, defaultTag: 'next' }) },
  ])('a changed plan ($name) invalidates the approval: ApprovalOutdated, and a new digest is asked for', ({ change }) => {
    const spec = change(account(FOUR, gated([{ wave: 2, digest: digest2, by: 'ada@example.com' }])));
    const version = spec.defaultTag === 'stable' ? '4.3.0' : '4.4.0';
    const r = plan(spec, fleet([...FOUR, 'ws-05'], '4.2.1', { 'ws-01': at(version), 'wrs-paris': at(version) }));
    const fresh = digestOf(r, 2);
    expect(fresh).not.toBe(digest2);
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling').reason).toBe('ApprovalOutdated');
    expect(condition(r, 'Reconciling').message).toContain(`the approval of wave 2 of 3 by ada@example.com (${digest2}) no longer matches its plan`);
    expect(condition(r, 'Reconciling').message).toContain(`add {wave: 2, digest: ${fresh}, by: …}`);
    expect(waves(r).waves[1]!.approval).toEqual({ required: true, digest: fresh, approved: false, outdated: true, approvedDigest: digest2 });
    expect(waves(r).state).toBe('approval-outdated');
  });

  it('mid-wave, a changed plan holds the members not started yet; members in flight finish, members done stay done', () => {
    const six = names(6);
    const rollout = (approvals: RolloutPolicy['approvals']): RolloutPolicy => ({ waves: { steps: [1, 4, '100%'], approvalRequired: [2] }, approvals });
    const before = plan(account(six, rollout([])), fleet(six, '4.2.1', { 'ws-01': at('4.3.0') }));
    const approval = { wave: 2, digest: digestOf(before, 2), by: 'ada@example.com' };
    // wave 2 is ws-02..ws-04: ws-02 done, ws-03 restarting after its install, ws-04 not started;
    // then ws-03b is inserted after ws-03: wave 2 becomes ws-02, ws-03, ws-03b — another plan
    const grown = [...six.slice(0, 3), 'ws-03b', ...six.slice(3)];
    const r = plan(
      account(grown, rollout([approval])),
      fleet(grown, '4.2.1', { 'ws-01': at('4.3.0'), 'ws-02': at('4.3.0'), 'ws-03': at('4.3.0', { pendingRestart: true }) }),
    );
    expect(condition(r, 'Reconciling').reason).toBe('ApprovalOutdated');
    expect(cmds(r)).toEqual(['restart ws-03']);
    expect(blockerOf(r, 'ws-03b')?.reason).toBe('ApprovalOutdated');
    expect(blockerOf(r, 'ws-04')?.reason).toBe('ApprovalOutdated');
    expect(memberOf(r, 'ws-02').state).toBe('Updated');
  });

  it('a gate with nothing left to do from its wave on asks for nothing', () => {
    const r = plan(account(FOUR, gated()), fleet(FOUR, '4.3.0'));
    expect(r.status.phase).toBe('Converged');
    expect(waves(r).waves[1]!.approval).toMatchObject({ approved: false });
    expect(waves(r).state).toBe('done');
  });

  it('an approval that cannot be traced to its reviewer does not open the gate, and says why', () => {
    const approvals = [{ wave: 2, digest: digest2, by: 'bob@example.com' }];
    const why = 'the commit adding it (1a2b3c4) is signed by carol@example.com, not by bob@example.com';
    const r = plan(account(FOUR, gated(approvals)), wave1Done, undefined, NOW,
      { mode: 'verify', verdicts: [{ verified: false, reason: why }] });
    expect(cmds(r)).toEqual([]);
    expect(condition(r, 'Reconciling')).toMatchObject({ reason: 'ApprovalUnverified' });
    expect(condition(r, 'Reconciling').message).toContain(`by bob@example.com does not count — wave 2 of 3 (1 device → 4.3.0): ${why}`);
    expect(blockerOf(r, 'ws-02')).toMatchObject({ reason: 'ApprovalUnverified' });
    expect(waves(r).state).toBe('approval-unverified');
    expect(waves(r).waves[1]!.approval).toMatchObject({ approved: false, unverified: { by: 'bob@example.com', reason: why } });
  });

  it('a verified approval opens the gate even when an unverified one for the same digest comes first', () => {
    const approvals = [{ wave: 2, digest: digest2, by: 'mallory@example.com' }, { wave: 2, digest: digest2, by: 'bob@example.com' }];
    const r = plan(account(FOUR, gated(approvals)), wave1Done, undefined, NOW,
      { mode: 'verify', verdicts: [{ verified: false, reason: 'not signed' }, { verified: true }] });
    expect(cmds(r)).toEqual(['apply ws-02']);
    expect(waves(r).waves[1]!.approval).toEqual({ required: true, digest: digest2, approved: true, by: 'bob@example.com', verified: true });
  });

  it.each([
    { name: 'no trust at all (no approvers file)', trust: null, why: 'versiond runs without an approvers file' },
    { name: 'a verdict missing for the entry', trust: { mode: 'verify', verdicts: [] } as ApprovalTrust, why: 'its history was not read' },
  ])('unknown is not yes: $name holds the gate', ({ trust, why }) => {
    const r = plan(account(FOUR, gated([{ wave: 2, digest: digest2, by: 'bob@example.com' }])), wave1Done, undefined, NOW, trust);
    expect(cmds(r)).toEqual([]);
    expect(condition(r, 'Reconciling').reason).toBe('ApprovalUnverified');
    expect(condition(r, 'Reconciling').message).toContain(why);
  });

  it('an approval only counts for its own wave', () => {
    const r = plan(account(FOUR, { waves: { steps: THREE_WAVES, approvalRequired: [2, 3] }, approvals: [{ wave: 3, digest: digest2, by: 'ada@example.com' }] }), wave1Done);
    expect(condition(r, 'Reconciling').reason).toBe('AwaitingApproval');
  });

  it('a wave that failed outranks its gate: halted, not waiting', () => {
    const r = plan(account(FOUR, gated()), fleet(FOUR, '4.2.1', { 'ws-01': at('4.2.1', { results: [result('ws-01', 'apply', 'failed', 'no space')] }) }));
    expect(r.status.phase).toBe('Failed');
  });
});

// ------------------------------------------------------------------ a large account

describe('a large account', () => {
  it('lists at most 50 names per wave, the first and the last, and counts the rest', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `d-${String(i).padStart(4, '0')}`);
    const r = plan(account(many, { waves: { steps: ['1%', '10%', '100%'], approvalRequired: [3] } }), fleet(many, '4.2.1'));
    const w = waves(r);
    expect(w.waves.map((x) => x.size)).toEqual([10, 90, 900]);
    expect(w.waves[2]!.members).toHaveLength(50);
    expect(w.waves[2]!.members[0]).toBe('d-0100');
    expect(w.waves[2]!.members[49]).toBe('d-0999');
    expect(w.waves[2]!.omitted).toBe(850);
    expect(w.waves[0]!.members).toHaveLength(10);
    expect(w.waves[0]!.omitted).toBeUndefined();
    expect(r.commands).toHaveLength(10);
    // the digest covers every member, not the listed ones
    expect(digestOf(r, 3)).toBe(approvalDigest({ target: T, wave: 3, product: P, members: many.slice(100).map((name) => ({ name, desired: '4.3.0' })) }));
  });
});
