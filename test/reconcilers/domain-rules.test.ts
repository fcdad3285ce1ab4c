/**
 * Table tests for the seed 000 rows of issue 12 (Watchdoc WSC domains), each named after the
 * seed rule it checks, asserting the commands, the plan's blockers and what status says is
 * missing and from whom.
 */
import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';
import type { AgentSpec } from '../helpers/observed.ts';
import {
  ALL_STAGED,
  BEFORE,
  CONVERGED,
  LAST_SEEN,
  MASTER,
  MASTER_DONE,
  at,
  domain,
  fleet,
  member,
  phaseMessage,
  phaseReason,
  planOf,
  result,
  run,
  sent,
  world,
} from './domain-fixtures.ts';

const REACHABLE = 'every server of the domain must be reachable before anything is propagated or applied';

describe('seed 000: "ils doivent être accessibles" — every server reachable before the package is propagated', () => {
  it.each([
    {
      name: 'master updated by hand, one slave offline',
      agents: { ...MASTER_DONE, 'wd-lille': at('6.1.3', { online: false }) },
      missing: `slave wd-lille offline since ${LAST_SEEN}`,
    },
    {
      name: 'master updated by hand, one slave never reported',
      agents: Object.fromEntries(Object.entries(MASTER_DONE).filter(([n]) => n !== 'wd-lille')),
      missing: 'slave wd-lille has never reported',
    },
    {
      name: 'propagation done, one slave offline (apply is held too)',
      agents: { ...ALL_STAGED, 'wd-nantes': at('6.1.3', { staged: '6.1.4', online: false }) },
      missing: `slave wd-nantes offline since ${LAST_SEEN}`,
    },
    {
      name: 'half the slaves applied, the master offline',
      agents: { ...ALL_STAGED, [MASTER]: at('6.1.4', { online: false }), 'wd-lille': at('6.1.4') },
      missing: `master ${MASTER} offline since ${LAST_SEEN}`,
    },
  ])('no slave is staged or applied while a server is unreachable, whatever started: $name', ({ agents, missing }) => {
    const r = run(domain(), world(agents));
    expect(sent(r)).toEqual([]);
    expect(r.plan.length).toBeGreaterThan(0);
    for (const s of r.plan) expect(s.blockedBy).toEqual({ category: 'waiting', reason: 'ServerUnreachable', message: `${REACHABLE}: ${missing}` });
    expect(r.status.phase).toBe('Waiting');
    expect(phaseReason(r)).toBe('ServerUnreachable');
    expect(phaseMessage(r)).toBe(`${REACHABLE}: ${missing}`);
    const who = missing.split(' ')[1]!;
    expect(member(r, who)).toMatchObject({ state: 'Waiting', message: missing });
  });

  it('an agent whose report does not say it is online counts as unreachable', () => {
    const obs = world(MASTER_DONE);
    const lille = obs.agents.get('wd-lille')!;
    (obs.agents as Map<string, unknown>).set('wd-lille', { ...lille, online: undefined });
    const r = run(domain(), obs);
    expect(sent(r)).toEqual([]);
    expect(phaseMessage(r)).toBe(`${REACHABLE}: slave wd-lille offline since ${lille.lastSeen}`);
  });

  it('a controller-managed master is not updated while a slave is unreachable', () => {
    const r = run(domain({ update: 'Controller' }), world({ ...BEFORE, 'wd-paris-s1': at('6.1.3', { online: false }) }));
    expect(sent(r)).toEqual([]);
    expect(planOf(r).slice(0, 2)).toEqual([`stage ${MASTER} [ServerUnreachable]`, `apply ${MASTER} [ServerUnreachable]`]);
  });

  it('a command already running is not re-sent, and nothing new starts, while another server is offline', () => {
    const agents = { ...ALL_STAGED, 'wd-lille': at('6.1.3', { staged: '6.1.4', results: [result('wd-lille', 'apply', 'running')] }), 'wd-nantes': at('6.1.3', { staged: '6.1.4', online: false }) };
    const r = run(domain(), world(agents));
    expect(sent(r)).toEqual([]);
    expect(planOf(r)).toEqual(['apply wd-lille [CommandRunning]', 'apply wd-nantes [ServerUnreachable]', 'apply wd-paris-s1 [ServerUnreachable]']);
    expect(member(r, 'wd-lille')?.state).toBe('Updating');
  });

  it('once the server reports again, the rollout continues where it was', () => {
    const r = run(domain(), world(MASTER_DONE));
    expect(sent(r)).toEqual(['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1']);
  });
});

describe('seed 000: "A partir de la version 6.1 … propager" — propagation exists only from Watchdoc 6.1 on', () => {
  const BY_HAND = 'slave wd-lille runs 6.0.3: propagation reaches only Watchdoc 6.1 or later; update it by hand to 6.1.4 (or to 6.1 or later, and it is propagated to)';

  it('a slave below 6.1 is updated by hand: an operator step naming it and its version; it gets no stage', () => {
    const r = run(domain(), world({ ...MASTER_DONE, 'wd-lille': at('6.0.3') }));
    expect(sent(r)).toEqual(['stage wd-nantes', 'stage wd-paris-s1']);
    expect(r.plan[0]).toMatchObject({
      member: 'wd-lille',
      action: 'apply',
      runnable: false,
      performedBy: 'operator',
      blockedBy: { category: 'waiting', reason: 'PropagationUnsupported', message: BY_HAND },
    });
    expect(r.plan.filter((s) => s.member === 'wd-lille')).toHaveLength(1);
    expect(member(r, 'wd-lille')).toMatchObject({ state: 'Waiting', message: BY_HAND });
  });

  it('the domain waits for it: no slave is applied until it runs the release (or holds the package)', () => {
    const r = run(domain(), world({ ...ALL_STAGED, 'wd-lille': at('6.0.3') }));
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(phaseReason(r)).toBe('PropagationUnsupported');
    expect(phaseMessage(r)).toBe(BY_HAND);
    for (const s of r.plan.filter((x) => x.member !== 'wd-lille')) {
      expect(s.blockedBy).toEqual({ category: 'waiting', reason: 'WaitingForPropagation', message: 'waiting for wd-lille to be updated by hand (below 6.1)' });
    }
    // the operator updates it by hand: the others are applied
    expect(sent(run(domain(), world({ ...ALL_STAGED, 'wd-lille': at('6.1.4') })))).toEqual(['apply wd-nantes', 'apply wd-paris-s1']);
  });

  it.each([
    { reported: '6.1.0', propagated: true },
    { reported: '6.01.0', propagated: true },
    { reported: '6.1', propagated: true },
    { reported: '6.0.99', propagated: false },
    { reported: '6.00.9', propagated: false },
    { reported: '5.9.1', propagated: false },
    { reported: '6.1.0-rc.1', propagated: false },
  ])('versions compare as Watchdoc writes them: a slave at $reported is propagated to: $propagated', ({ reported, propagated }) => {
    const r = run(domain(), world({ ...MASTER_DONE, 'wd-lille': at(reported) }));
    expect(sent(r).includes('stage wd-lille')).toBe(propagated);
    if (!propagated) expect(r.plan[0]).toMatchObject({ member: 'wd-lille', performedBy: 'operator', blockedBy: { reason: 'PropagationUnsupported' } });
  });

  it.each([
    { name: 'a component without a version', agent: at(undefined), message: 'no version reported by wd-lille' },
    { name: 'no component at all', agent: { components: [] } as AgentSpec, message: 'no version reported by wd-lille' },
    { name: 'a version that is not one', agent: at('6.x'), message: 'slave wd-lille reports "6.x", which is not a version: no version reported by wd-lille' },
  ])('a slave that reports no version is unknown, never taken as 6.1 or later: $name', ({ agent, message }) => {
    const r = run(domain(), world({ ...MASTER_DONE, 'wd-lille': agent }));
    expect(sent(r)).toEqual(['stage wd-nantes', 'stage wd-paris-s1']);
    expect(r.plan[0]).toEqual({ target: 'domain/print-paris', member: 'wd-lille', action: 'stage', version: '6.1.4', runnable: false, blockedBy: { category: 'waiting', reason: 'ObservationMissing', message } });
    expect(member(r, 'wd-lille')).toMatchObject({ state: 'Waiting', message });
    // once every other slave holds it, the domain says what it waits for, and applies nothing
    const later = run(domain(), world({ ...ALL_STAGED, 'wd-lille': agent }));
    expect(sent(later)).toEqual([]);
    expect(phaseReason(later)).toBe('ObservationMissing');
    expect(phaseMessage(later)).toBe(message);
    for (const s of later.plan.filter((x) => x.action === 'apply')) expect(s.blockedBy?.message).toBe('waiting for propagation to finish on wd-lille: no version reported by wd-lille');
  });

  it('a release below 6.1 cannot be propagated at all: Blocked, saying why; nothing is sent', () => {
    const r = run(domain({ version: '6.0.5' }), world(fleet(at('6.0.5'), at('6.0.3')), { 'watchdoc-6.0.5': 'verified' }));
    const why = 'release watchdoc-6.0.5 is Watchdoc 6.0.5: propagation exists only from 6.1 on; name a release 6.1 or later, or update every server by hand';
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(phaseReason(r)).toBe('ReleaseNotPropagatable');
    expect(phaseMessage(r)).toBe(why);
    for (const s of r.plan) expect(s.blockedBy).toEqual({ category: 'stalled', reason: 'ReleaseNotPropagatable', message: why });
    expect(r.requeueAfter).toBeUndefined();
  });

  it('a domain already at a release below 6.1 is simply converged', () => {
    expect(run(domain({ version: '6.0.5' }), world(fleet(at('6.0.5'), at('6.0.5')), {})).status.phase).toBe('Converged');
  });

  it('a controller-managed master below 6.1 is updated by the controller (its agent does what a person does by hand)', () => {
    expect(sent(run(domain({ update: 'Controller' }), world({ ...BEFORE, [MASTER]: at('6.0.3') })))).toEqual([`stage ${MASTER}`]);
  });
});

describe('seed 000: the order of the procedure holds in every state', () => {
  it.each<{ name: string; artifacts: Record<string, ArtifactCheck['status'] | ArtifactCheck>; reason: string; phase: string }>([
    { name: 'not checked yet', artifacts: {}, reason: 'VerifyingPackage', phase: 'Waiting' },
    { name: 'being checked', artifacts: { 'watchdoc-6.1.4': 'pending' as const }, reason: 'VerifyingPackage', phase: 'Waiting' },
    { name: 'refused', artifacts: { 'watchdoc-6.1.4': 'failed' as const }, reason: 'PackageNotSecure', phase: 'Blocked' },
    { name: 'an unknown status', artifacts: { 'watchdoc-6.1.4': { release: 'watchdoc-6.1.4', status: 'maybe' as 'pending' } }, reason: 'VerifyingPackage', phase: 'Waiting' },
  ])('nothing at all while the package is not verified by the controller, even mid-rollout: $name', ({ artifacts, reason, phase }) => {
    for (const agents of [BEFORE, MASTER_DONE, ALL_STAGED]) {
      const r = run(domain({ update: 'Controller' }), world(agents, artifacts));
      expect(sent(r)).toEqual([]);
      expect(r.status.phase).toBe(phase);
      expect(phaseReason(r)).toBe(reason);
      for (const s of r.plan) expect(s.blockedBy?.reason).toBe(reason);
    }
  });

  it.each([
    { name: 'installing', master: at('6.1.4', { state: 'installing' }), message: `waiting for master ${MASTER} to finish installing 6.1.4` },
    { name: 'stopped', master: at('6.1.4', { state: 'stopped' }), message: `master ${MASTER} reports 6.1.4 but is stopped: propagation starts once it is running` },
    { name: 'reporting no state', master: at('6.1.4', { state: null }), message: `master ${MASTER} reports 6.1.4: no state reported by ${MASTER}` },
    { name: 'reporting no version', master: at(undefined), message: `no version reported by ${MASTER}` },
    { name: 'not reporting the component', master: { components: [] } as AgentSpec, message: `no version reported by ${MASTER}` },
  ])('the master first: no slave is staged while the master, $name, does not run the release', ({ master, message }) => {
    const r = run(domain(), world({ ...MASTER_DONE, [MASTER]: master }));
    expect(sent(r)).toEqual([]);
    expect(phaseMessage(r)).toBe(message);
    for (const s of r.plan.filter((x) => x.member !== MASTER)) expect(s.blockedBy?.message).toBe(message);
    expect(member(r, MASTER)?.message).toBe(message);
  });

  it('no slave is applied before every slave holds the verified package: a staged package that does not say it verified holds them all', () => {
    const r = run(domain(), world({ ...ALL_STAGED, 'wd-nantes': at('6.1.3', { staged: '6.1.4', verified: null }) }));
    const message = 'no verification of the staged 6.1.4 reported by wd-nantes';
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(phaseMessage(r)).toBe(message);
    expect(member(r, 'wd-nantes')).toMatchObject({ state: 'Waiting', message });
    expect(planOf(r)).toEqual(['stage wd-nantes [ObservationMissing]', 'apply wd-lille [ObservationMissing]', 'apply wd-nantes [ObservationMissing]', 'apply wd-paris-s1 [ObservationMissing]']);
    for (const s of r.plan.filter((x) => x.action === 'apply')) expect(s.blockedBy?.message).toBe(`waiting for propagation to finish on wd-nantes: ${message}`);
  });

  it('an apply that succeeded on a server reporting no state is held until it says, neither re-sent nor called a contradiction', () => {
    const r = run(domain(), world({ ...ALL_STAGED, 'wd-nantes': at('6.1.3', { state: null, results: [result('wd-nantes', 'apply', 'succeeded')] }) }));
    const message = 'apply of 6.1.4 succeeded on wd-nantes, which reports 6.1.3: no state reported by wd-nantes';
    expect(sent(r)).toEqual(['apply wd-lille', 'apply wd-paris-s1']);
    expect(member(r, 'wd-nantes')).toMatchObject({ state: 'Waiting', message });
    expect(r.plan.find((s) => s.member === 'wd-nantes')?.blockedBy).toEqual({ category: 'waiting', reason: 'ObservationMissing', message });
  });
});

describe('seed 000: never a downgrade unless Git moved the version down', () => {
  const previousOf = (desired: string, states: Record<string, string>, details?: Record<string, unknown>): TargetStatus => ({
    target: 'domain/print-paris',
    phase: 'Progressing',
    conditions: [],
    observedRevision: 'feedface00000000000000000000000000000000',
    summary: '',
    members: [MASTER, 'wd-lille', 'wd-nantes', 'wd-paris-s1'].map((n, i) => ({
      name: n,
      agent: n,
      role: i === 0 ? 'master' : 'slave',
      desired,
      observed: '6.1.5',
      state: (states[n] ?? 'Updated') as 'Updated',
    })),
    ...(details ? { details } : {}),
  });
  const AT_615 = fleet(at('6.1.4'), { 'wd-lille': at('6.1.5'), 'wd-nantes': at('6.1.4'), 'wd-paris-s1': at('6.1.4') });

  it.each([
    { name: 'no previous status (plan without status, a controller that lost it)', previous: undefined, downgraded: false },
    { name: 'a previous status of another revision at an older version', previous: previousOf('6.1.3', {}), downgraded: false },
    { name: 'a previous status at the same version, the slave Ahead', previous: previousOf('6.1.4', { 'wd-lille': 'Ahead' }), downgraded: false },
    { name: 'a previous status at the same version, no rollback recorded', previous: previousOf('6.1.4', { 'wd-lille': 'Waiting' }), downgraded: false },
    { name: 'a previous status where Git desired 6.1.5', previous: previousOf('6.1.5', {}), downgraded: true },
    { name: 'a rollback from 6.1.5 recorded by an earlier pass', previous: previousOf('6.1.4', { 'wd-lille': 'Updating' }, { rollback: { from: '6.1.5', to: '6.1.4' } }), downgraded: true },
    { name: 'a rollback recorded, but the slave was reported Ahead', previous: previousOf('6.1.4', { 'wd-lille': 'Ahead' }, { rollback: { from: '6.1.5', to: '6.1.4' } }), downgraded: false },
    { name: 'a rollback recorded for another version', previous: previousOf('6.1.4', { 'wd-lille': 'Updating' }, { rollback: { from: '6.1.5', to: '6.1.3' } }), downgraded: false },
  ])('a slave at 6.1.5 for a release 6.1.4: $name → downgraded: $downgraded', ({ previous, downgraded }) => {
    const r = run(domain(), world(AT_615), previous);
    expect(sent(r)).toEqual(downgraded ? ['stage wd-lille'] : []);
    if (downgraded) {
      expect(r.status.details).toEqual({ rollback: { from: '6.1.5', to: '6.1.4' } });
    } else {
      expect(member(r, 'wd-lille')).toMatchObject({ state: 'Ahead', message: 'slave wd-lille runs 6.1.5, newer than 6.1.4; not downgraded (commit a rollback in Git to downgrade it)' });
      expect(r.status.phase).toBe('Blocked');
      expect(phaseReason(r)).toBe('MemberAhead');
      expect(r.plan.some((s) => s.member === 'wd-lille')).toBe(false);
    }
  });

  it('Git moved 6.1.5 down to 6.1.4, but the slave runs 6.1.6 (out of band, never desired): left alone', () => {
    const r = run(domain(), world({ ...AT_615, 'wd-lille': at('6.1.6') }), previousOf('6.1.5', {}));
    expect(sent(r)).toEqual([]);
    expect(member(r, 'wd-lille')?.state).toBe('Ahead');
  });

  it('a server added to the domain since the previous status is never downgraded', () => {
    const prev = { ...previousOf('6.1.5', {}), members: previousOf('6.1.5', {}).members.filter((m) => m.name !== 'wd-lille') };
    expect(member(run(domain(), world(AT_615), prev), 'wd-lille')?.state).toBe('Ahead');
  });

  it('a master newer than desired without a rollback blocks the domain: nothing is propagated', () => {
    const r = run(domain({ update: 'Controller' }), world({ ...CONVERGED, [MASTER]: at('6.1.5'), 'wd-lille': at('6.1.3') }));
    expect(sent(r)).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(member(r, MASTER)?.state).toBe('Ahead');
    expect(r.plan.find((s) => s.member === 'wd-lille')?.blockedBy).toEqual({ category: 'stalled', reason: 'MemberAhead', message: `waiting for master ${MASTER} to reach 6.1.4` });
  });
});
