/**
 * The open wave told to the Account reconciler (issue 16, reconcilers/governance/wave-hold.ts)
 * is a shortcut, never a different answer: over generated accounts, observations and previous
 * statuses, the governed reconciler with the wave hold gives, byte for byte, what it gives
 * without — commands, plan, status, requeue — and it does take the shortcut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { ACCOUNT_WAVE_HOLD, reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { GOVERNANCE_STEPS } from '../../reconcilers/governance/steps.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { AccountSpec, CountOrPercent, RolloutPolicy } from '../../reconcilers/model/desired.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

const P = 'w360-core';
const T = 'account/acme';
const RELEASES = [
  release('w360-core-4.2.1', P, '4.2.1'),
  release('w360-core-4.3.0', P, '4.3.0', ['stable']),
  release('w360-core-4.4.0', P, '4.4.0'),
];
const VERIFIED = { 'w360-core-4.2.1': 'verified', 'w360-core-4.3.0': 'verified', 'w360-core-4.4.0': 'verified' } as const;
const MINUTE = 60_000;

let accepted = 0;
let refused = 0;
const withHold = governed('Account', reconcileAccount, GOVERNANCE_STEPS, {
  ...ACCOUNT_WAVE_HOLD,
  onResult: (ok) => (ok ? accepted++ : refused++),
});
const plain = governed('Account', reconcileAccount, GOVERNANCE_STEPS);

/** What a device reports, and what our earlier commands did on it. */
const deviceState = fc.constantFrom(
  'old', 'old', 'old', 'old', 'new', 'newPendingRestart', 'ahead', 'unreadable', 'offline', 'offlineLong', 'never',
  'applyFailed', 'applyRunning', 'applySucceeded', 'restartRunning', 'noProduct',
);
const wrsState = fc.constantFrom('serves', 'serves', 'serves', 'old', 'offline', 'never');
const step = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom<CountOrPercent>('5%', '10%', '25%', '50%', '100%'));

const scenario = fc.record({
  devices: fc.array(fc.record({ state: deviceState, cloud: fc.boolean(), wrs: fc.integer({ min: 0, max: 1 }) }), {
    minLength: 1,
    maxLength: 40,
  }),
  wrs: fc.tuple(wrsState, wrsState),
  ring: fc.integer({ min: 0, max: 3 }),
  steps: fc.array(step, { minLength: 1, maxLength: 4 }),
  maxUnavailable: fc.option(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom<CountOrPercent>('10%', '50%'))),
  failureThreshold: fc.option(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom<CountOrPercent>('20%'))),
  gate: fc.option(fc.integer({ min: 1, max: 4 })),
  approve: fc.boolean(),
  stragglerAfter: fc.option(fc.constantFrom('30m', '2h')),
  restartPolicy: fc.constantFrom('Immediate', 'Immediate', 'LeaveToUser'),
  /** The previous status: none, the pass before on the same observations, or one naming a wave. */
  previous: fc.constantFrom('none', 'pass', 'pass', 'wave2', 'wave9'),
  window: fc.constantFrom('none', 'none', 'none', 'closed'),
  mandatory: fc.constantFrom(false, false, false, true),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

const result = (member: string, action: 'apply' | 'restart', status: CommandResult['status']): CommandResult => ({
  id: commandId(T, member, action, '4.3.0'),
  status,
  at: new Date(NOW - MINUTE).toISOString(),
});

function agentOf(name: string, state: string): AgentSpec | null {
  const at = (v: string, pendingRestart = false): AgentSpec => ({
    components: [running(P, v, pendingRestart ? { pendingRestart } : {})],
  });
  switch (state) {
    case 'old': return at('4.2.1');
    case 'new': return at('4.3.0');
    case 'newPendingRestart': return at('4.3.0', true);
    case 'ahead': return at('4.4.0');
    case 'unreadable': return at('four');
    case 'offline': return { ...at('4.2.1'), online: false, lastSeen: new Date(NOW - 10 * MINUTE).toISOString() };
    case 'offlineLong': return { ...at('4.2.1'), online: false, lastSeen: new Date(NOW - 300 * MINUTE).toISOString() };
    case 'never': return null;
    case 'applyFailed': return { ...at('4.2.1'), results: [result(name, 'apply', 'failed')] };
    case 'applyRunning': return { ...at('4.2.1'), results: [result(name, 'apply', 'running')] };
    case 'applySucceeded': return { ...at('4.2.1'), results: [result(name, 'apply', 'succeeded')] };
    case 'restartRunning': return { ...at('4.3.0', true), results: [result(name, 'restart', 'running')] };
    default: return { components: [] };
  }
}

function build(sc: Scenario) {
  const names = sc.devices.map((_, i) => `ws-${String(i + 1).padStart(2, '0')}`);
  const rollout: RolloutPolicy = {
    waves: {
      steps: sc.steps,
      ...(sc.maxUnavailable !== null ? { maxUnavailable: sc.maxUnavailable } : {}),
      ...(sc.failureThreshold !== null ? { failureThreshold: sc.failureThreshold } : {}),
      ...(sc.gate !== null ? { approvalRequired: [sc.gate] } : {}),
      ...(sc.stragglerAfter !== null ? { stragglerAfter: sc.stragglerAfter } : {}),
    },
    ...(sc.window === 'closed'
      ? { windows: [{ name: 'never-now', start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' }] }
      : {}),
  } as RolloutPolicy;
  const spec: AccountSpec = {
    product: P,
    defaultTag: 'stable',
    restartPolicy: sc.restartPolicy as AccountSpec['restartPolicy'],
    autoUpdate: false,
    repositoryServers: [{ name: 'wrs-0' }, { name: 'wrs-1' }],
    devices: sc.devices.map((d, i) => ({ name: names[i]!, repositoryServer: d.cloud ? 'cloud' : `wrs-${d.wrs}` })),
    ...(sc.ring > 0 && sc.ring < names.length ? { testRing: { devices: names.slice(0, sc.ring) } } : {}),
    rollout,
  } as AccountSpec;
  const agents: Record<string, AgentSpec> = {};
  sc.wrs.forEach((w, i) => {
    const serving: AgentSpec = { components: [running(P, '4.3.0', { serves: ['4.2.1', '4.3.0'] })] };
    if (w === 'serves') agents[`wrs-${i}`] = serving;
    else if (w === 'old') agents[`wrs-${i}`] = { components: [running(P, '4.2.1', { serves: ['4.2.1'] })] };
    else if (w === 'offline') agents[`wrs-${i}`] = { ...serving, online: false };
  });
  sc.devices.forEach((d, i) => {
    const a = agentOf(names[i]!, d.state);
    if (a !== null) agents[names[i]!] = a;
  });
  const releases = sc.mandatory
    ? [release('w360-core-4.2.1', P, '4.2.1'), { ...release('w360-core-4.2.5', P, '4.2.5'), spec: { ...release('w360-core-4.2.5', P, '4.2.5').spec, mandatory: true } }, ...RELEASES.slice(1)]
    : RELEASES;
  const d = { ...input(desired('Account', 'acme', spec), releases as typeof RELEASES), approvalTrust: { mode: 'as-written' } as const };
  return { d, obs: observed(agents, { ...VERIFIED, 'w360-core-4.2.5': 'verified' }) };
}

function withApproval(d: ReturnType<typeof build>['d'], r: ReconcileResult): typeof d {
  const waves = (r.status.details?.rollout as { waves?: { waves: { number: number; approval?: { digest: string } }[] } })?.waves;
  const approvals = (waves?.waves ?? []).flatMap((w) => (w.approval ? [{ wave: w.number, digest: w.approval.digest, by: 'rev' }] : []));
  if (approvals.length === 0) return d;
  const spec = d.object.spec;
  return { ...d, object: { ...d.object, spec: { ...spec, rollout: { ...spec.rollout, approvals } } } } as typeof d;
}

function previousOf(sc: Scenario, d: ReturnType<typeof build>['d'], obs: ReturnType<typeof build>['obs']): TargetStatus | undefined {
  if (sc.previous === 'none') return undefined;
  const before = plain(d, obs, undefined, NOW - 5 * MINUTE).status;
  if (sc.previous === 'pass') return JSON.parse(JSON.stringify(before)) as TargetStatus;
  const current = sc.previous === 'wave2' ? 2 : 9;
  const rollout = { ...(before.details?.rollout as object), waves: { current, state: 'rolling-out' } };
  return { ...before, details: { ...before.details, rollout } };
}

describe('the wave hold: the Account reconciler told the open wave (issue 16)', () => {
  it('gives exactly what the plain governed pass gives, and is taken', () => {
    accepted = 0;
    refused = 0;
    let withheldSomething = 0;
    fc.assert(
      fc.property(scenario, (sc) => {
        let { d, obs } = build(sc);
        if (sc.approve) d = withApproval(d, plain(d, obs, undefined, NOW));
        const previous = previousOf(sc, d, obs);
        const before = accepted;
        const fast = withHold(d, obs, previous, NOW);
        const slow = plain(d, obs, previous, NOW);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
        if (accepted > before && fast.commands.length < reconcileAccount(d, obs, previous, NOW).commands.length) {
          withheldSomething++;
        }
      }),
      { numRuns: Number(process.env.WAVE_HOLD_RUNS ?? 1500) },
    );
    // The shortcut is exercised, withholding commands, not merely refused every time.
    expect(accepted).toBeGreaterThan(100);
    expect(withheldSomething).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(0);
  });

  it('a million-device account rolling out its first wave builds no command for the later waves', () => {
    const n = 2000;
    const names = Array.from({ length: n }, (_, i) => `ws-${i}`);
    const spec = {
      product: P,
      defaultTag: 'stable',
      restartPolicy: 'Immediate',
      autoUpdate: false,
      repositoryServers: [],
      devices: names.map((name) => ({ name, repositoryServer: 'cloud' })),
      rollout: { waves: { steps: [1, '5%', '25%', '100%'], maxUnavailable: '10%' } },
    } as unknown as AccountSpec;
    const agents = Object.fromEntries(names.map((name) => [name, { components: [running(P, '4.2.1')] }]));
    const d = input(desired('Account', 'acme', spec), RELEASES);
    const obs = observed(agents, VERIFIED);
    let inner = 0;
    const counting = governed('Account', reconcileAccount, GOVERNANCE_STEPS, {
      ...ACCOUNT_WAVE_HOLD,
      reconcile: (...args) => {
        const r = ACCOUNT_WAVE_HOLD.reconcile(...args);
        inner = r.commands.length;
        return r;
      },
    });
    const r = counting(d, obs, undefined, NOW);
    expect(r.commands.map((c) => c.member)).toEqual(['ws-0']);
    // wave 1 is one device: the reconciler itself built one command, not 2,000
    expect(inner).toBe(1);
    expect(JSON.stringify(r)).toBe(JSON.stringify(plain(d, obs, undefined, NOW)));
  });
});
