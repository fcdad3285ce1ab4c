/**
 * Governance on the engine (issue 12): every reason a governance step sets is in one catalogue
 * (reasons.ts) and decides the phase in the merge; a question answered from observations is
 * unknown when they are missing, and unknown holds; an approval naming a wave that does not
 * exist is said to be so, at run time as `validate` says it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MemberStatus, ReconcileResult, Reconciler } from '../../reconcilers/contract.ts';
import { COMMON_REASONS } from '../../reconcilers/engine/reasons.ts';
import { CHANGE_FREEZE_REASON } from '../../reconcilers/governance/change-freeze.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { NO_WINDOW_REASON, OUTSIDE_WINDOW_REASON } from '../../reconcilers/governance/maintenance-window.ts';
import { PAUSED_REASON } from '../../reconcilers/governance/pause.ts';
import { GOVERNANCE_CATALOGUE, GOVERNANCE_REASONS } from '../../reconcilers/governance/reasons.ts';
import type { GovernanceStep } from '../../reconcilers/governance/step.ts';
import { GOVERNANCE_STEPS } from '../../reconcilers/governance/steps.ts';
import { MANDATORY_REASON, SCHEMA_FENCE_REASON, versionPolicy } from '../../reconcilers/governance/version-policy.ts';
import { WAVE_REASONS, wavesStep, type WavesDetails } from '../../reconcilers/governance/waves.ts';
import type { Release, RolloutPolicy } from '../../reconcilers/model/desired.ts';
import { NOW, desired, input, observed, release, running } from '../helpers/observed.ts';
import { fakeReconciler, result, W360, type SynthWork } from './synthetic.ts';

const GOVERNANCE_DIR = join(import.meta.dirname, '../../reconcilers/governance');

describe('the governance reason catalogue', () => {
  it('holds every reason the steps export, and no common reason is redefined', () => {
    const exported = [OUTSIDE_WINDOW_REASON, NO_WINDOW_REASON, CHANGE_FREEZE_REASON, PAUSED_REASON, MANDATORY_REASON, SCHEMA_FENCE_REASON, 'InvalidWindow', ...Object.values(WAVE_REASONS)];
    for (const r of exported) expect(GOVERNANCE_REASONS, r).toHaveProperty(r);
    for (const r of Object.keys(GOVERNANCE_REASONS)) expect(COMMON_REASONS, r).not.toHaveProperty(r);
    expect(GOVERNANCE_CATALOGUE['ObservationMissing']).toBe(COMMON_REASONS.ObservationMissing);
  });

  it('holds every reason written in the governance sources (grep `reason:` and `blocker(`)', () => {
    const found = new Set<string>();
    for (const f of readdirSync(GOVERNANCE_DIR).filter((n) => n.endsWith('.ts') && n !== 'reasons.ts')) {
      const text = readFileSync(join(GOVERNANCE_DIR, f), 'utf8');
      for (const m of text.matchAll(/(?:reason:\s*|blocker\(\s*)'([A-Z][A-Za-z]+)'/g)) found.add(m[1]!);
      for (const m of text.matchAll(/_REASON\s*=\s*'([A-Z][A-Za-z]+)'/g)) found.add(m[1]!);
    }
    expect(found.size).toBeGreaterThan(5);
    for (const r of found) expect(GOVERNANCE_CATALOGUE, r).toHaveProperty(r);
  });

  it.each([
    ['WaveFailed', 'Failed'],
    ['MandatoryVersionSkipped', 'Blocked'],
    ['InvalidWindow', 'Blocked'],
    ['Paused', 'Paused'],
    ['AwaitingApproval', 'Waiting'],
    ['ObservationMissing', 'Waiting'],
  ] as const)('a verdict with reason %s gives phase %s, from the catalogue', (reason, phase) => {
    const step: GovernanceStep = { name: 'probe', kinds: ['Domain'], decide: () => ({ reason, message: 'probe' }) };
    const r = governed('Domain', fakeReconciler('Domain', [{ member: 'wd-lille', action: 'apply' }]) as Reconciler<'Domain'>, [step])(
      input(desired('Domain', 'print-paris', { release: 'watchdoc-6.1.4', master: { name: 'wd-master', update: 'Manual' }, slaves: [] }), []),
      observed({}),
      undefined,
      NOW,
    );
    expect(r.status.phase).toBe(phase);
  });

  it('a verdict with a reason not in the catalogue is a bug: it fails loudly', () => {
    const step: GovernanceStep = { name: 'probe', kinds: ['Domain'], decide: () => ({ reason: 'Whatever' as never, message: 'probe' }) };
    const run = () =>
      governed('Domain', fakeReconciler('Domain', []) as Reconciler<'Domain'>, [step])(
        input(desired('Domain', 'print-paris', { release: 'watchdoc-6.1.4', master: { name: 'wd-master', update: 'Manual' }, slaves: [] }), []),
        observed({}),
        undefined,
        NOW,
      );
    expect(run).toThrow(/not in the catalogue/);
  });
});

// ------------------------------------------------------------------ the mandatory version, when the version is unknown

const mandatory = (r: Release): Release => ({ ...r, spec: { ...r.spec, mandatory: true } });
const ACCOUNT_RELEASES = [release('w360-core-4.2.1', W360, '4.2.1'), mandatory(release('w360-core-4.2.5', W360, '4.2.5')), release('w360-core-4.3.0', W360, '4.3.0', ['stable'])];

function account(rollout?: RolloutPolicy) {
  return input(
    desired('Account', 'acme', {
      product: W360, defaultTag: 'stable', restartPolicy: 'Immediate', autoUpdate: false,
      repositoryServers: [{ name: 'wrs-paris' }],
      devices: [{ name: 'ws-001', repositoryServer: 'wrs-paris' }, { name: 'ws-002', repositoryServer: 'wrs-paris' }],
      ...(rollout ? { rollout } : {}),
    }),
    ACCOUNT_RELEASES,
  );
}

const APPLY_ALL: SynthWork[] = [{ member: 'wrs-paris', action: 'apply' }, { member: 'ws-001', action: 'apply' }, { member: 'ws-002', action: 'apply' }];
const sent = (r: ReconcileResult) => r.commands.map((c) => `${c.action} ${c.member}`);

describe('version policy: a member whose version is unknown is held, never passed (unknown is not "no skip")', () => {
  const reconcile = governed('Account', fakeReconciler('Account', APPLY_ALL) as Reconciler<'Account'>, [versionPolicy]);

  it('a device that never reported, while 4.2.5 is mandatory below 4.3.0: its apply waits, status says what is missing', () => {
    // ws-001 reports 4.2.5 (nothing skipped); the WRS reported without the product (a first install skips nothing); ws-002 never reported.
    const obs = observed({ 'ws-001': { components: [running(W360, '4.2.5')] }, 'wrs-paris': { components: [] } });
    const r = reconcile(account(), obs, undefined, NOW);
    expect(sent(r)).toEqual(['apply wrs-paris', 'apply ws-001']);
    expect(r.plan.find((s) => s.member === 'ws-002')?.blockedBy).toEqual({
      category: 'waiting',
      reason: 'ObservationMissing',
      message: 'no version reported by ws-002: whether 4.2.5 (mandatory) would be skipped is unknown, so its update waits',
    });
    expect(r.status.phase).toBe('Waiting');
    expect((r.status.details?.['rollout'] as Record<string, unknown>)['version-policy']).toEqual({ unknown: { count: 1, members: ['ws-002'] } });
  });

  it('a version that cannot be compared is unknown too', () => {
    const obs = observed({ 'ws-001': { components: [running(W360, '4.2.5')] }, 'ws-002': { components: [running(W360, 'latest')] }, 'wrs-paris': { components: [] } });
    const r = reconcile(account(), obs, undefined, NOW);
    expect(sent(r)).toEqual(['apply wrs-paris', 'apply ws-001']);
    expect(r.plan.find((s) => s.member === 'ws-002')?.blockedBy?.message).toMatch(/^no comparable version reported by ws-002/);
  });

  it('a known skip outranks an unknown in the phase (Blocked, MandatoryVersionSkipped); the unknown member still waits', () => {
    const obs = observed({ 'ws-001': { components: [running(W360, '4.2.1')] }, 'wrs-paris': { components: [] } });
    const r = reconcile(account(), obs, undefined, NOW);
    expect(r.status.phase).toBe('Blocked');
    expect(r.status.conditions.find((c) => c.type === 'Stalled')?.reason).toBe('MandatoryVersionSkipped');
    expect(sent(r)).toEqual(['apply wrs-paris']);
    expect(r.plan.find((s) => s.member === 'ws-002')?.blockedBy?.reason).toBe('ObservationMissing');
  });
});

// ------------------------------------------------------------------ an approval naming a wave that does not exist

describe('an approval naming a wave that does not exist says so at run time (status details and message)', () => {
  /** ws-001 (wave 1) is done; ws-002 (wave 2, gated) is next. */
  const inner: Reconciler<'Account'> = (d, o, p, now) => {
    const r = result('Account', [{ member: 'ws-002', action: 'apply' }], 'Progressing', p?.conditions, now);
    const members: MemberStatus[] = r.status.members.map((m) => (m.name === 'ws-001' ? { ...m, state: 'Updated', observed: '4.3.0' } : m));
    return { ...r, status: { ...r.status, members } };
  };
  const policy: RolloutPolicy = {
    waves: { steps: [1, '100%'], approvalRequired: [2] },
    approvals: [
      { wave: 7, digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', by: 'ada@example.com' },
      { wave: 1, digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', by: 'bob@example.com' },
    ],
  };

  it('details list it as no-such-wave, with the same words as validate; the gate still waits and says why nothing opened it', () => {
    const r = governed('Account', inner, [wavesStep])(account(policy), observed({}), undefined, NOW);
    expect(sent(r)).toEqual([]);
    const waves = (r.status.details?.['rollout'] as { waves: WavesDetails }).waves;
    expect(waves.state).toBe('awaiting-approval');
    expect(waves.unusedApprovals).toEqual([
      { wave: 7, by: 'ada@example.com', why: 'no-such-wave', message: 'wave 7 does not exist: spec.rollout.waves.steps make at most 2 waves (counting the one implied after a last step below 100%); this approval has no effect' },
      { wave: 1, by: 'bob@example.com', why: 'not-required', message: 'wave 1 does not require approval (spec.rollout.waves.approvalRequired is [2]); this approval has no effect' },
    ]);
    const message = r.status.conditions.find((c) => c.type === 'Reconciling')?.message ?? '';
    expect(message).toContain('(an approval by ada@example.com: wave 7 does not exist: spec.rollout.waves.steps make at most 2 waves');
    expect(message).not.toContain('does not require approval');
  });

  it('the registry runs the same step: GOVERNANCE_STEPS ends with waves', () => {
    expect(GOVERNANCE_STEPS[GOVERNANCE_STEPS.length - 1]).toBe(wavesStep);
  });
});
