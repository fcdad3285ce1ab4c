/**
 * Issue 12, row "governance": installs, restarts and migrations happen only inside a
 * maintenance window — what disrupts is decided per kind by ONE table (disruptive.ts), read by
 * the window, the freeze and pause. Table tests on synthetic reconciler results: per kind and
 * action, outside a window / inside a freeze / while paused, which commands are held (with
 * which reason) and which go on.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../protocol/action.ts';
import type { ReconcileResult } from '../../reconcilers/contract.ts';
import { clusterMidUpdate, DISRUPTION, disruptionOf } from '../../reconcilers/governance/disruptive.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { GOVERNANCE_STEPS } from '../../reconcilers/governance/steps.ts';
import type { RolloutPolicy, TimeWindow } from '../../reconcilers/model/desired.ts';
import type { AgentSpec } from '../helpers/observed.ts';
import { NOW, observed, running } from '../helpers/observed.ts';
import { fakeReconciler, result, target, UMS, UMS_NEW, UMS_OLD, type GovKind, type SynthWork } from './synthetic.ts';

// NOW is Sunday 2026-11-22 10:00Z (11:00 in Paris): the weeknight window is closed, the year-end freeze open.
const WEEKNIGHTS: TimeWindow = { name: 'weeknights', schedule: '0 22 * * 1-5', duration: '4h', timeZone: 'Europe/Paris' };
const ALWAYS: TimeWindow = { from: '2026-01-01T00:00:00Z', until: '2027-01-01T00:00:00Z' };
const YEAR_END: TimeWindow = { name: 'year-end', from: '2026-11-20T00:00:00+01:00', until: '2026-11-25T00:00:00+01:00' };

const CONTROLS: Readonly<Record<'window' | 'freeze' | 'pause', { policy: RolloutPolicy; reason: string }>> = {
  window: { policy: { windows: [WEEKNIGHTS] }, reason: 'OutsideMaintenanceWindow' },
  freeze: { policy: { freezes: [YEAR_END] }, reason: 'ChangeFreeze' },
  pause: { policy: { paused: true }, reason: 'Paused' },
};

type Scene = 'none' | 'not-started' | 'update-mode' | 'mixed' | 'unknown' | 'servers-done';

/** What the UMS servers report in each scene (load balancer and console at the old version). */
const UMS_SCENES: Readonly<Record<Exclude<Scene, 'none'>, Record<string, AgentSpec>>> = {
  'not-started': { 'ums-1': srv(UMS_OLD, 'normal'), 'ums-2': srv(UMS_OLD, 'normal'), 'ums-3': srv(UMS_OLD, 'normal') },
  // ums-2 was updated first and waits in update mode on its local copy of the database.
  'update-mode': { 'ums-1': srv(UMS_OLD, 'normal'), 'ums-2': srv(UMS_NEW, 'update'), 'ums-3': srv(UMS_OLD, 'normal') },
  // ums-2 runs the release; no mode is reported, but two versions in one cluster is mid-update.
  mixed: { 'ums-1': srv(UMS_OLD), 'ums-2': srv(UMS_NEW), 'ums-3': srv(UMS_OLD) },
  // ums-2 never reported; the others run the old version in normal mode: cannot tell.
  unknown: { 'ums-1': srv(UMS_OLD, 'normal'), 'ums-3': srv(UMS_OLD, 'normal') },
  'servers-done': { 'ums-1': srv(UMS_NEW, 'normal'), 'ums-2': srv(UMS_NEW, 'normal'), 'ums-3': srv(UMS_NEW, 'normal') },
};

function srv(version: string, mode?: 'normal' | 'update'): AgentSpec {
  return { components: [running(UMS, version, mode ? { mode } : {})] };
}

function obsOf(kind: GovKind, scene: Scene) {
  if (kind !== 'HACluster' || scene === 'none') return observed({});
  return observed({ ...UMS_SCENES[scene], 'ums-lb-1': { components: [running(UMS, UMS_OLD)] }, 'ums-console': { components: [running(UMS, UMS_OLD)] } });
}

function run(kind: GovKind, scene: Scene, work: readonly SynthWork[], policy: RolloutPolicy): ReconcileResult {
  return governed(kind, fakeReconciler(kind, work), GOVERNANCE_STEPS)(target(kind, policy), obsOf(kind, scene), undefined, NOW);
}

const w = (member: string, action: Action): SynthWork => ({ member, action });
const sent = (r: ReconcileResult) => r.commands.map((c) => `${c.action} ${c.member}`);
const heldWith = (r: ReconcileResult) => r.plan.filter((s) => !s.runnable).map((s) => `${s.action} ${s.member} [${s.blockedBy?.reason}]`);

/**
 * Per kind and scene: the work the reconciler wants, what goes on outside the window, and what
 * goes on in a freeze and while paused (downloads excepted, the same).
 */
interface Row {
  readonly rule: string;
  readonly kind: GovKind;
  readonly scene: Scene;
  readonly work: readonly SynthWork[];
  readonly outsideWindow: readonly string[];
  readonly freezeAndPause: readonly string[];
}

const ROWS: readonly Row[] = [
  {
    rule: 'Account (seeds 001, 003): a download goes on outside the window; installs and restarts of WRS, ceBox and devices wait for it',
    kind: 'Account',
    scene: 'none',
    work: [w('wrs-paris', 'restart'), w('cebox', 'apply'), w('cebox', 'restart'), w('ws-001', 'stage'), w('ws-001', 'apply'), w('ws-002', 'restart')],
    outsideWindow: ['stage ws-001'],
    freezeAndPause: [],
  },
  {
    rule: 'Account: a WRS restart right after our own install is still a restart during office hours: it waits',
    kind: 'Account',
    scene: 'none',
    work: [w('wrs-paris', 'restart')],
    outsideWindow: [],
    freezeAndPause: [],
  },
  {
    rule: 'Domain (seed 000): propagation (stage) goes on outside the window; the install (apply) waits',
    kind: 'Domain',
    scene: 'none',
    work: [w('wd-lille', 'stage'), w('wd-nantes', 'stage'), w('wd-lille', 'apply')],
    outsideWindow: ['stage wd-lille', 'stage wd-nantes'],
    freezeAndPause: [],
  },
  {
    rule: 'HACluster (seed 004) not started: the installer is distributed; the backup and the first server wait for the window',
    kind: 'HACluster',
    scene: 'not-started',
    work: [w('ums-1', 'stage'), w('ums-lb-1', 'stage'), w('ums-console', 'stage'), w('ums-2', 'backup'), w('ums-2', 'apply')],
    outsideWindow: ['stage ums-1', 'stage ums-lb-1', 'stage ums-console'],
    freezeAndPause: [],
  },
  {
    rule: 'HACluster not started: a migrate or end-update-mode the reconciler would send does not finish anything observed: held',
    kind: 'HACluster',
    scene: 'not-started',
    work: [w('ums-3', 'migrate'), w('ums-1', 'end-update-mode')],
    outsideWindow: [],
    freezeAndPause: [],
  },
  {
    rule: 'HACluster with a server in update mode: the other servers, the migration and the return to normal mode go on ("sofort", seed 004); LB, console and backup wait',
    kind: 'HACluster',
    scene: 'update-mode',
    work: [w('ums-1', 'stage'), w('ums-1', 'apply'), w('ums-3', 'migrate'), w('ums-2', 'end-update-mode'), w('ums-lb-1', 'apply'), w('ums-console', 'apply'), w('ums-lb-1', 'stage'), w('ums-2', 'backup')],
    outsideWindow: ['stage ums-1', 'apply ums-1', 'migrate ums-3', 'end-update-mode ums-2', 'stage ums-lb-1'],
    freezeAndPause: ['stage ums-1', 'apply ums-1', 'migrate ums-3', 'end-update-mode ums-2'],
  },
  {
    rule: 'HACluster whose first server already runs the release (no mode reported): mid-update, the next server goes on',
    kind: 'HACluster',
    scene: 'mixed',
    work: [w('ums-1', 'apply')],
    outsideWindow: ['apply ums-1'],
    freezeAndPause: ['apply ums-1'],
  },
  {
    rule: 'HACluster where a server reports nothing: unknown is not mid-update, the server apply waits',
    kind: 'HACluster',
    scene: 'unknown',
    work: [w('ums-1', 'apply')],
    outsideWindow: [],
    freezeAndPause: [],
  },
  {
    rule: 'HACluster whose servers are all back in normal mode: the load balancer and the console wait for the window',
    kind: 'HACluster',
    scene: 'servers-done',
    work: [w('ums-lb-1', 'apply'), w('ums-console', 'apply')],
    outsideWindow: [],
    freezeAndPause: [],
  },
];

describe('per kind: what a closed window, a freeze and a pause hold (disruptive.ts)', () => {
  for (const row of ROWS) {
    it(`${row.rule}`, () => {
      const all = row.work.map((x) => `${x.action} ${x.member}`);
      for (const [name, control] of Object.entries(CONTROLS)) {
        const r = run(row.kind, row.scene, row.work, control.policy);
        const expected = name === 'window' ? row.outsideWindow : row.freezeAndPause;
        expect(sent(r), name).toEqual(expected);
        expect(heldWith(r), name).toEqual(all.filter((x) => !expected.includes(x)).map((x) => `${x} [${control.reason}]`));
        if (expected.length < all.length) {
          expect(r.status.phase, name).toBe(name === 'pause' ? 'Paused' : 'Waiting');
          expect(r.status.conditions.find((c) => c.type === (name === 'pause' ? 'Ready' : 'Reconciling'))?.reason, name).toBe(control.reason);
        }
      }
      // Inside an open window nothing is held.
      expect(sent(run(row.kind, row.scene, row.work, { windows: [ALWAYS] }))).toEqual(all);
    });
  }

  it('the held messages say what waits and until when, and an unknown cluster says what is missing from whom', () => {
    const r = run('HACluster', 'unknown', [w('ums-1', 'apply')], CONTROLS.window.policy);
    expect(r.plan[0]?.blockedBy?.message).toBe(
      'outside the maintenance windows: installs, restarts, migrations and backups wait for "weeknights" opening Mon 2026-11-23 22:00 Europe/Paris; downloads go on; cannot tell whether the cluster is mid-update: no version reported by ums-2',
    );
    expect(r.status.members.find((m) => m.name === 'ums-1')).toMatchObject({ state: 'Waiting' });
    const paused = run('HACluster', 'unknown', [w('ums-1', 'apply')], CONTROLS.pause.policy);
    expect(paused.status.conditions.find((c) => c.type === 'Ready')?.message).toContain('no version reported by ums-2');
  });

  it('pause and freeze name the members that finish their update', () => {
    const r = run('HACluster', 'update-mode', [w('ums-1', 'apply'), w('ums-lb-1', 'apply')], CONTROLS.pause.policy);
    expect(r.status.conditions.find((c) => c.type === 'Ready')?.message).toBe(
      'rollout paused (spec.rollout.paused: true): nothing new starts; ums-1 finishes its update first; set it back to false to resume',
    );
    expect((r.status.details?.['rollout'] as Record<string, unknown>)['pause']).toEqual({ paused: true, held: 1, finishing: ['ums-1'], finishingCount: 1 });
  });

  it('an invalid window holds everything (Blocked, InvalidWindow) but the steps finishing a mid-update cluster', () => {
    const bad: RolloutPolicy = { windows: [{ name: 'typo', schedule: '61 22 * * *', duration: '4h', timeZone: 'Europe/Paris' }] };
    const r = run('HACluster', 'update-mode', [w('ums-1', 'apply'), w('ums-3', 'migrate'), w('ums-lb-1', 'apply'), w('ums-lb-1', 'stage')], bad);
    expect(sent(r)).toEqual(['apply ums-1', 'migrate ums-3']);
    expect(heldWith(r)).toEqual(['apply ums-lb-1 [InvalidWindow]', 'stage ums-lb-1 [InvalidWindow]']);
    expect(r.status.phase).toBe('Blocked');
    const before = run('HACluster', 'not-started', [w('ums-1', 'apply'), w('ums-1', 'stage')], bad);
    expect(sent(before)).toEqual([]);
  });

  it('a DistributionServer is not governed: its syncs follow its own schedule (seed 002), the reconciler comes out unchanged', () => {
    const inner = fakeReconciler('Account', []);
    expect(governed('DistributionServer', inner as never, GOVERNANCE_STEPS)).toBe(inner);
    expect(Object.keys(DISRUPTION.DistributionServer)).toEqual(['sync']);
  });

  it('an action missing from the table is disruptive (unknown is never harmless)', () => {
    const ctx = { desired: target('Domain'), observed: observed({}), previous: undefined, now: NOW, inner: result('Domain', []), policy: undefined, inProgress: new Set<string>() };
    expect(disruptionOf(ctx).treat({ member: 'wd-lille', action: 'restart' })).toBe('disruptive');
    expect(disruptionOf(ctx).treat({ member: 'wd-lille', action: 'stage' })).toBe('download');
  });
});

describe('cluster-mid-update: read from what the servers report, never remembered', () => {
  const ctxOf = (scene: Scene) => ({ desired: target('HACluster'), observed: obsOf('HACluster', scene), previous: undefined, now: NOW, inner: result('HACluster', []), policy: undefined, inProgress: new Set<string>() });
  it.each([
    ['not-started', 'unsatisfied'],
    ['update-mode', 'satisfied'],
    ['mixed', 'satisfied'],
    ['unknown', 'unknown'],
    ['servers-done', 'unsatisfied'],
  ] as const)('%s → %s', (scene, status) => {
    expect(clusterMidUpdate.check(ctxOf(scene)).status).toBe(status);
  });

  it('a server reporting a version but no mode, the others agreeing: unknown (it may be in update mode)', () => {
    const obs = observed({ 'ums-1': srv(UMS_OLD, 'normal'), 'ums-2': srv(UMS_OLD), 'ums-3': srv(UMS_OLD, 'normal') });
    const a = clusterMidUpdate.check({ ...ctxOf('none'), observed: obs });
    expect(a).toMatchObject({ status: 'unknown', message: 'cannot tell whether the cluster is mid-update: no mode reported by ums-2' });
  });
});
