/**
 * The Domain reconciler against seed 000 (Watchdoc WSC: the master is updated first, the package
 * is propagated to the slaves, then applied; done when every server runs the same version).
 * Every test is named after the rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { artifactRef } from '../../reconcilers/artifact-ref.ts';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { Command, ConditionType, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { DOMAIN_REQUEUE, DOMAIN_STEPS, reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import type { MasterUpdate, Release, SyncMode } from '../../reconcilers/model/desired.ts';
import { isNewer, isValidVersion, versionsEqual } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';
import { prng } from '../helpers/prng.ts';

// ------------------------------------------------------------------ fixtures

const PRODUCT = 'watchdoc';
const R613 = release('watchdoc-6.1.3', PRODUCT, '6.1.3');
const R614 = release('watchdoc-6.1.4', PRODUCT, '6.1.4');
const R615 = release('watchdoc-6.1.5', PRODUCT, '6.1.5');
const RELEASES = [R613, R614, R615];
const TARGET = 'domain/print-paris' as const;
const MASTER = 'wd-master-1';
const SLAVES: readonly (readonly [string, SyncMode])[] = [
  ['wd-lille', 'mailbox'],
  ['wd-nantes', 'mailbox'],
  ['wd-paris-s1', 'bidirectional'],
];
const ALL = [MASTER, ...SLAVES.map(([n]) => n)];
const LAST_SEEN = '2026-11-21T18:30:00.000Z';

function domain(opts: { release?: string; update?: MasterUpdate; slaves?: readonly (readonly [string, SyncMode])[] } = {}) {
  return input(
    desired('Domain', 'print-paris', {
      release: opts.release ?? 'watchdoc-6.1.4',
      master: { name: MASTER, update: opts.update ?? 'Manual' },
      slaves: (opts.slaves ?? SLAVES).map(([name, sync]) => ({ name, sync })),
    }),
    RELEASES,
  );
}

/** An agent running watchdoc `version`, optionally holding `staged` (verified unless said otherwise). */
function at(version: string | undefined, extra: { staged?: string; verified?: boolean; reason?: string; online?: boolean; results?: CommandResult[] } = {}): AgentSpec {
  const component: ComponentReport =
    version === undefined ? { product: PRODUCT } : running(PRODUCT, version);
  const staged = extra.staged === undefined ? {} : { staged: { version: extra.staged, verified: extra.verified ?? true, ...(extra.reason ? { reason: extra.reason } : {}) } };
  return {
    components: [{ ...component, ...staged }],
    ...(extra.online === false ? { online: false, lastSeen: LAST_SEEN } : {}),
    ...(extra.results ? { results: extra.results } : {}),
  };
}

function result(member: string, action: Action, status: CommandResult['status'], message?: string, version = '6.1.4'): CommandResult {
  return { id: commandId(TARGET, member, action, version), status, ...(message ? { message } : {}), at: '2026-11-22T09:00:00.000Z' };
}

function world(
  agents: Readonly<Record<string, AgentSpec>>,
  artifacts: Readonly<Record<string, ArtifactCheck['status'] | ArtifactCheck>> = { 'watchdoc-6.1.4': 'verified' },
): Observed {
  return observed(agents, artifacts);
}

/** Every server at `master` / `slaves`. */
function fleet(master: AgentSpec, slaves: AgentSpec | Readonly<Record<string, AgentSpec>>): Record<string, AgentSpec> {
  const per = 'components' in slaves ? Object.fromEntries(SLAVES.map(([n]) => [n, slaves as AgentSpec])) : (slaves as Record<string, AgentSpec>);
  return { [MASTER]: master, ...Object.fromEntries(SLAVES.map(([n]) => [n, per[n] ?? at('6.1.3')])) };
}

const BEFORE = fleet(at('6.1.3'), at('6.1.3')); // nothing started
const MASTER_DONE = fleet(at('6.1.4'), at('6.1.3')); // master updated (by hand or not)
const ALL_STAGED = fleet(at('6.1.4'), at('6.1.3', { staged: '6.1.4' }));
const CONVERGED = fleet(at('6.1.4'), at('6.1.4'));

const run = (d = domain(), obs = world(BEFORE), previous?: TargetStatus, now = NOW): ReconcileResult => reconcileDomain(d, obs, previous, now);
const sent = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
const cond = (r: ReconcileResult, type: ConditionType) => r.status.conditions.find((c) => c.type === type);
const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name);
const planOf = (r: ReconcileResult) => r.plan.map((s) => `${s.action} ${s.member}${s.runnable ? '' : ` [${s.blockedBy?.reason}]`}`);

// ------------------------------------------------------------------ rules

describe('seed 000: the domain names a release that exists', () => {
  it('an unknown release blocks the domain (ReleaseNotFound, Stalled) and nothing is sent', () => {
    const r = run(domain({ release: 'watchdoc-9.9.9', update: 'Controller' }), world(MASTER_DONE));
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'ReleaseNotFound', message: 'release "watchdoc-9.9.9" is not declared' });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False' });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    expect(r.status.members.map((m) => [m.name, m.role])).toEqual([[MASTER, 'master'], ...SLAVES.map(([n]) => [n, 'slave'])]);
  });
});

describe('seed 000: the package must be valid and signed before anything is propagated', () => {
  it.each([
    { name: 'has not been checked yet', artifacts: {} as Record<string, ArtifactCheck['status']> },
    { name: 'is still being checked', artifacts: { 'watchdoc-6.1.4': 'pending' } as Record<string, ArtifactCheck['status']> },
  ])('a package that $name makes the domain wait (VerifyingPackage) and nothing is staged', ({ artifacts }) => {
    const r = run(domain({ update: 'Controller' }), world(MASTER_DONE, artifacts));
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ status: 'True', reason: 'VerifyingPackage' });
    expect(cond(r, 'Stalled')?.status).toBe('False');
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBe(DOMAIN_REQUEUE.verifyingPackage);
    expect(r.plan.length).toBeGreaterThan(0);
    for (const s of r.plan) expect(s).toMatchObject({ runnable: false, blockedBy: { category: 'waiting', reason: 'VerifyingPackage' } });
  });

  it.each([
    { update: 'Manual' as const, when: 'before the master is updated', agents: BEFORE },
    { update: 'Controller' as const, when: 'before the master is updated', agents: BEFORE },
    { update: 'Manual' as const, when: 'once the master runs it', agents: MASTER_DONE },
    { update: 'Controller' as const, when: 'once every slave holds it', agents: ALL_STAGED },
  ])('a signature that does not verify blocks and nothing is staged: $update master, $when', ({ update, agents }) => {
    const obs = world(agents, { 'watchdoc-6.1.4': { release: 'watchdoc-6.1.4', status: 'failed', reason: 'signature does not verify' } });
    const r = run(domain({ update }), obs);
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'PackageNotSecure', message: 'package not secure: signature does not verify' });
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    for (const s of r.plan) expect(s).toMatchObject({ runnable: false, blockedBy: { category: 'stalled', reason: 'PackageNotSecure' } });
  });
});

describe('seed 000: every server of the domain must be reachable before anything starts', () => {
  const offline = (spec: AgentSpec): AgentSpec => ({ ...spec, online: false, lastSeen: LAST_SEEN });
  it.each([
    { name: 'the master', agents: { ...BEFORE, [MASTER]: offline(at('6.1.3')) }, expected: [`master ${MASTER} offline since ${LAST_SEEN}`] },
    { name: 'a slave', agents: { ...BEFORE, 'wd-nantes': offline(at('6.1.3')) }, expected: [`slave wd-nantes offline since ${LAST_SEEN}`] },
    {
      name: 'a slave that never reported',
      agents: Object.fromEntries(Object.entries(BEFORE).filter(([n]) => n !== 'wd-lille')),
      expected: ['slave wd-lille has never reported'],
    },
    {
      name: 'the master and two slaves',
      agents: { ...BEFORE, [MASTER]: offline(at('6.1.3')), 'wd-lille': offline(at('6.1.3')), 'wd-paris-s1': offline(at('6.1.3')) },
      expected: [`master ${MASTER} offline since`, 'slave wd-lille offline since', 'slave wd-paris-s1 offline since'],
    },
  ])('before the update starts, $name unreachable makes the domain wait, names every unreachable server and sends nothing', ({ agents, expected }) => {
    const r = run(domain({ update: 'Controller' }), world(agents));
    expect(r.status.phase).toBe('Waiting');
    const reconciling = cond(r, 'Reconciling');
    expect(reconciling).toMatchObject({ status: 'True', reason: 'ServerUnreachable' });
    for (const e of expected) expect(reconciling?.message).toContain(e);
    expect(r.commands).toEqual([]);
    expect(r.requeueAfter).toBe(DOMAIN_REQUEUE.serverUnreachable);
    for (const s of r.plan) expect(s.blockedBy?.reason).toBe('ServerUnreachable');
  });

  it('once the master was updated by hand, an offline slave still holds every slave: nothing is propagated', () => {
    const r = run(domain(), world({ ...MASTER_DONE, 'wd-lille': at('6.1.3', { online: false }) }));
    expect(r.commands).toEqual([]);
    const blocker = { category: 'waiting', reason: 'ServerUnreachable', message: `every server of the domain must be reachable before anything is propagated or applied: slave wd-lille offline since ${LAST_SEEN}` };
    for (const s of r.plan) expect(s.blockedBy).toEqual(blocker);
    expect(member(r, 'wd-lille')).toMatchObject({ state: 'Waiting', message: `slave wd-lille offline since ${LAST_SEEN}` });
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({ reason: 'ServerUnreachable', message: blocker.message });
  });

  it('once every slave holds the package, an offline slave still holds every apply', () => {
    const r = run(domain(), world({ ...ALL_STAGED, 'wd-lille': at('6.1.3', { staged: '6.1.4', online: false }) }));
    expect(r.commands).toEqual([]);
    for (const s of r.plan) expect(s.blockedBy?.reason).toBe('ServerUnreachable');
    expect(member(r, 'wd-lille')?.state).toBe('Waiting');
    expect(member(r, 'wd-nantes')?.state).toBe('Staged');
  });

  it('a converged domain does not ask for reachability: an offline server that runs the release changes nothing', () => {
    expect(run(domain(), world({ ...CONVERGED, 'wd-lille': at('6.1.4', { online: false }) })).status.phase).toBe('Converged');
  });
});

describe('seed 000: the master is updated first', () => {
  it('a manual master is never sent a command; the domain waits and says so', () => {
    const r = run(domain({ update: 'Manual' }), world(BEFORE));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Waiting');
    expect(cond(r, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'WaitingForMaster',
      message: 'waiting for master wd-master-1 to be updated by hand to 6.1.4',
    });
    expect(cond(r, 'Stalled')?.status).toBe('False');
    expect(r.plan[0]).toEqual({
      target: TARGET,
      member: MASTER,
      action: 'apply',
      version: '6.1.4',
      runnable: false,
      blockedBy: { category: 'waiting', reason: 'WaitingForMaster', message: 'waiting for master wd-master-1 to be updated by hand to 6.1.4' },
      performedBy: 'operator',
    });
    for (const s of r.plan.slice(1)) expect(s.blockedBy?.message).toBe('waiting for master wd-master-1 to reach 6.1.4');
    expect(member(r, MASTER)).toMatchObject({ role: 'master', state: 'Waiting', observed: '6.1.3', desired: '6.1.4' });
    expect(r.requeueAfter).toBe(DOMAIN_REQUEUE.waitingForMaster);
  });

  it('a master that never updates keeps the domain waiting forever without errors piling up', () => {
    const d = domain({ update: 'Manual' });
    const obs = world(BEFORE);
    const first = run(d, obs, undefined, NOW);
    let previous = first.status;
    for (let pass = 1; pass <= 300; pass++) {
      const r = run(d, obs, previous, NOW + pass * 61_000);
      expect(r.status).toEqual(first.status);
      expect(JSON.stringify(r)).toBe(JSON.stringify({ ...first, status: first.status }));
      expect(r.commands).toEqual([]);
      expect(r.requeueAfter).toBe(DOMAIN_REQUEUE.waitingForMaster);
      previous = r.status;
    }
    expect(previous.phase).toBe('Waiting');
    expect(previous.conditions.find((c) => c.type === 'Stalled')?.status).toBe('False');
    expect(previous.conditions.every((c) => c.lastTransitionTime === new Date(NOW).toISOString())).toBe(true);
    expect(previous.rolloutStartedAt).toBe(new Date(NOW).toISOString());
  });

  it.each([
    { name: 'runs 6.1.3 and holds nothing', master: at('6.1.3'), commands: ['stage wd-master-1'], reason: 'UpdatingMaster', state: 'Updating' },
    { name: 'holds 6.1.4 staged and verified', master: at('6.1.3', { staged: '6.1.4' }), commands: ['apply wd-master-1'], reason: 'UpdatingMaster', state: 'Updating' },
    {
      name: 'is installing 6.1.4',
      master: at('6.1.3', { results: [result(MASTER, 'stage', 'succeeded'), result(MASTER, 'apply', 'running')] }),
      commands: [],
      reason: 'UpdatingMaster',
      state: 'Updating',
    },
    { name: 'runs 6.1.4', master: at('6.1.4'), commands: ['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1'], reason: 'Propagating', state: 'Updated' },
  ])('a controller-managed master is staged, then applied, then awaited before any slave: master $name', ({ master, commands, reason, state }) => {
    const r = run(domain({ update: 'Controller' }), world({ ...BEFORE, [MASTER]: master }));
    expect(sent(r)).toEqual(commands);
    expect(cond(r, 'Reconciling')?.reason).toBe(reason);
    expect(member(r, MASTER)?.state).toBe(state);
    for (const c of r.commands) if (c.member === MASTER) expect(c.delivery).toBe('push');
  });

  it('a master newer than the release is reported Ahead and not downgraded; nothing is propagated; a person decides', () => {
    const r = run(domain({ update: 'Controller' }), world({ ...BEFORE, [MASTER]: at('6.1.5') }));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')?.reason).toBe('MemberAhead');
    expect(member(r, MASTER)).toMatchObject({ state: 'Ahead', observed: '6.1.5' });
    expect(member(r, MASTER)?.message).toContain('newer than 6.1.4');
  });
});

describe('seed 000: the package is propagated (downloaded and verified, nothing installed) once the master runs it', () => {
  it('stage, with the artifact, goes to every slave that neither runs the release nor holds it verified', () => {
    const r = run(domain(), world(fleet(at('6.1.4'), { 'wd-lille': at('6.1.3'), 'wd-nantes': at('6.1.3', { staged: '6.1.4' }), 'wd-paris-s1': at('6.1.4') })));
    expect(r.commands).toEqual<Command[]>([
      {
        id: commandId(TARGET, 'wd-lille', 'stage', '6.1.4'),
        target: TARGET,
        member: 'wd-lille',
        agent: 'wd-lille',
        action: 'stage',
        delivery: 'mailbox',
        product: PRODUCT,
        version: '6.1.4',
        artifact: artifactRef(R614),
      },
    ]);
    expect(planOf(r)).toEqual(['stage wd-lille', 'apply wd-lille [WaitingForPropagation]', 'apply wd-nantes [WaitingForPropagation]']);
  });

  it('a version spelled differently (6.01.4) is the same version: nothing is sent to that slave', () => {
    const r = run(domain(), world(fleet(at('6.01.4'), { 'wd-lille': at('6.1.04'), 'wd-nantes': at('6.1.4'), 'wd-paris-s1': at('6.1.4') })));
    expect(r.status.phase).toBe('Converged');
  });

  it('a slave whose staged package does not verify fails with the reason and is never applied', () => {
    const r = run(domain(), world({ ...ALL_STAGED, 'wd-nantes': at('6.1.3', { staged: '6.1.4', verified: false, reason: 'certificate expired' }) }));
    expect(r.status.phase).toBe('Failed');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'PackageNotVerified' });
    expect(member(r, 'wd-nantes')).toMatchObject({ state: 'Failed' });
    expect(member(r, 'wd-nantes')?.message).toContain('certificate expired');
    expect(r.commands).toEqual([]);
    expect(r.plan.filter((s) => s.action === 'apply').every((s) => s.blockedBy?.message === 'waiting for propagation to finish on wd-nantes')).toBe(true);
  });
});

describe('seed 000: the update is applied only after propagation finished on every slave', () => {
  it.each([
    { name: 'no slave holds the package yet', agents: MASTER_DONE, commands: ['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1'], blockedOn: 'wd-lille, wd-nantes, wd-paris-s1' },
    {
      name: 'one slave is still downloading',
      agents: { ...ALL_STAGED, 'wd-nantes': at('6.1.3', { results: [result('wd-nantes', 'stage', 'running')] }) },
      commands: [],
      blockedOn: 'wd-nantes',
    },
    { name: 'one slave has not received it', agents: { ...ALL_STAGED, 'wd-paris-s1': at('6.1.3') }, commands: ['stage wd-paris-s1'], blockedOn: 'wd-paris-s1' },
    { name: 'every slave holds it', agents: ALL_STAGED, commands: ['apply wd-lille', 'apply wd-nantes', 'apply wd-paris-s1'], blockedOn: undefined },
    { name: 'every slave holds it or already runs it', agents: { ...ALL_STAGED, 'wd-nantes': at('6.1.4') }, commands: ['apply wd-lille', 'apply wd-paris-s1'], blockedOn: undefined },
  ])('apply comes only after propagation finished everywhere: $name', ({ agents, commands, blockedOn }) => {
    const r = run(domain(), world(agents));
    expect(sent(r)).toEqual(commands);
    const applies = r.plan.filter((s) => s.action === 'apply');
    if (blockedOn === undefined) expect(applies.every((s) => s.runnable)).toBe(true);
    else for (const s of applies) expect(s.blockedBy).toEqual({ category: 'waiting', reason: 'WaitingForPropagation', message: `waiting for propagation to finish on ${blockedOn}` });
  });
});

describe('seed 000: done means every server of the domain reports the same version', () => {
  it('every server reports the release version: Converged, Ready=True, nothing to do', () => {
    const r = run(domain(), world(CONVERGED));
    expect(r.status.phase).toBe('Converged');
    expect(cond(r, 'Ready')).toMatchObject({ status: 'True', reason: 'Converged', message: 'all 4 servers run 6.1.4' });
    expect(cond(r, 'Stalled')?.status).toBe('False');
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    expect(r.status.summary).toBe('4/4 servers at 6.1.4');
    expect(r.status.members.every((m) => m.state === 'Updated')).toBe(true);
  });

  it('a converged domain stays converged while a restarted controller re-checks the package', () => {
    expect(run(domain(), world(CONVERGED, {})).status.phase).toBe('Converged');
  });

  it('a slave newer than the release is reported Ahead, not downgraded, and the domain is Blocked, not converged', () => {
    const r = run(domain(), world({ ...CONVERGED, 'wd-paris-s1': at('6.1.5') }));
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(cond(r, 'Stalled')?.reason).toBe('MemberAhead');
    expect(member(r, 'wd-paris-s1')).toMatchObject({ state: 'Ahead', observed: '6.1.5' });
    expect(r.plan).toEqual([]);
    // ... and it stays so on the next pass.
    expect(run(domain(), world({ ...CONVERGED, 'wd-paris-s1': at('6.1.5') }), r.status, NOW + 60_000).status).toEqual(r.status);
  });

  it.each([
    { name: 'Git moved the release down (previous status at 6.1.4)', previous: true, rolledBack: true },
    { name: 'no previous status says the version moved down', previous: false, rolledBack: false },
  ])('an explicit rollback in Git downgrades normally, stage then apply, across passes: $name', ({ previous, rolledBack }) => {
    const before = run(domain({ update: 'Controller' }), world(CONVERGED)).status;
    const d = domain({ update: 'Controller', release: 'watchdoc-6.1.3' });
    const trace = simulate(d, CONVERGED, { 'watchdoc-6.1.3': 'verified' }, previous ? before : undefined);
    if (rolledBack) {
      expect(trace.passes).toEqual([
        ['stage wd-master-1'],
        ['apply wd-master-1'],
        ['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1'],
        ['apply wd-lille', 'apply wd-nantes', 'apply wd-paris-s1'],
      ]);
      expect(trace.last.status.phase).toBe('Converged');
      expect(trace.last.status.summary).toBe('4/4 servers at 6.1.3');
    } else {
      expect(trace.passes).toEqual([]);
      expect(trace.last.status.phase).toBe('Blocked');
      expect(trace.last.status.members.every((m) => m.state === 'Ahead')).toBe(true);
    }
  });
});

describe('seed 000: bidirectional slaves are pushed to; mailbox slaves get their commands when they call in', () => {
  it.each([
    { slave: 'wd-lille', delivery: 'mailbox' },
    { slave: 'wd-nantes', delivery: 'mailbox' },
    { slave: 'wd-paris-s1', delivery: 'push' },
  ])('$slave gets stage and apply by $delivery', ({ slave, delivery }) => {
    for (const agents of [MASTER_DONE, ALL_STAGED]) {
      const c = run(domain(), world(agents)).commands.find((x) => x.member === slave);
      expect(c?.delivery).toBe(delivery);
    }
  });

  it('a controller-managed master is pushed to', () => {
    expect(run(domain({ update: 'Controller' }), world(BEFORE)).commands.map((c) => c.delivery)).toEqual(['push']);
  });
});

describe('seed 000: a step that failed needs a person; it is reported and not retried', () => {
  it.each([
    { name: 'stage failed on a slave', update: 'Manual' as const, agents: { ...MASTER_DONE, 'wd-lille': at('6.1.3', { results: [result('wd-lille', 'stage', 'failed', 'disk full')] }) }, who: 'wd-lille', action: 'stage' as const, reason: 'StageFailed', agentMessage: 'disk full' },
    { name: 'apply failed on a slave', update: 'Manual' as const, agents: { ...ALL_STAGED, 'wd-nantes': at('6.1.3', { staged: '6.1.4', results: [result('wd-nantes', 'apply', 'failed', 'service did not restart')] }) }, who: 'wd-nantes', action: 'apply' as const, reason: 'ApplyFailed', agentMessage: 'service did not restart' },
    { name: 'apply failed on a controller-managed master', update: 'Controller' as const, agents: { ...BEFORE, [MASTER]: at('6.1.3', { staged: '6.1.4', results: [result(MASTER, 'apply', 'failed', 'WSC database locked')] }) }, who: MASTER, action: 'apply' as const, reason: 'ApplyFailed', agentMessage: 'WSC database locked' },
  ])('a command reported failed is not sent again; the member fails with the agent message: $name', ({ update, agents, who, action, reason, agentMessage }) => {
    const r = run(domain({ update }), world(agents));
    expect(r.status.phase).toBe('Failed');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason });
    expect(cond(r, 'Stalled')?.message).toContain(agentMessage);
    expect(member(r, who)).toMatchObject({ state: 'Failed' });
    expect(member(r, who)?.message).toContain(agentMessage);
    expect(r.commands.find((c) => c.member === who && c.action === action)).toBeUndefined();
    expect(r.plan.find((s) => s.member === who && s.action === action)).toMatchObject({ runnable: false, blockedBy: { category: 'stalled', reason } });
    // a failed slave apply does not stop the others being applied: they were all staged
    if (reason === 'ApplyFailed' && who !== MASTER) expect(sent(r)).toEqual(['apply wd-lille', 'apply wd-paris-s1']);
    // ... and the same is true on every later pass.
    expect(run(domain({ update }), world(agents), r.status, NOW + 600_000).commands).toEqual(r.commands);
  });

  it('a slave whose apply succeeded but which still reports the old version contradicts itself: flagged, never re-sent', () => {
    const agents = { ...ALL_STAGED, 'wd-nantes': at('6.1.3', { results: [result('wd-nantes', 'apply', 'succeeded')] }) };
    const r = run(domain(), world(agents));
    expect(r.status.phase).toBe('Failed');
    expect(cond(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'ReportContradictsResult' });
    expect(member(r, 'wd-nantes')).toMatchObject({ state: 'Failed' });
    expect(member(r, 'wd-nantes')?.message).toMatch(/apply of 6\.1\.4 succeeded on wd-nantes, yet it reports 6\.1\.3/);
    expect(r.commands.find((c) => c.member === 'wd-nantes')).toBeUndefined();
    expect(sent(r)).toEqual(['apply wd-lille', 'apply wd-paris-s1']);
  });

  it.each([
    { name: 'a stage', agents: { ...MASTER_DONE, 'wd-lille': at('6.1.3', { results: [result('wd-lille', 'stage', 'running')] }) }, expected: ['stage wd-nantes', 'stage wd-paris-s1'] },
    { name: 'an apply', agents: { ...ALL_STAGED, 'wd-lille': at('6.1.3', { staged: '6.1.4', results: [result('wd-lille', 'apply', 'running')] }) }, expected: ['apply wd-nantes', 'apply wd-paris-s1'] },
  ])('$name reported running is not sent again; the member is Updating', ({ agents, expected }) => {
    const r = run(domain(), world(agents));
    expect(sent(r)).toEqual(expected);
    expect(member(r, 'wd-lille')?.state).toBe('Updating');
    expect(r.status.phase).toBe('Progressing');
  });

  it('committing a new release after a failure starts a fresh attempt (new command ids)', () => {
    const agents = { ...MASTER_DONE, 'wd-lille': at('6.1.3', { results: [result('wd-lille', 'stage', 'failed', 'disk full')] }) };
    const r = run(domain({ release: 'watchdoc-6.1.5', update: 'Controller' }), world({ ...agents, [MASTER]: at('6.1.5') }, { 'watchdoc-6.1.5': 'verified' }));
    expect(r.status.phase).toBe('Progressing');
    expect(sent(r)).toEqual(['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1']);
  });
});

describe('seed 000: the status is the operation report', () => {
  it('it names the target, the revision, a one-line summary and every server with its role, desired and observed version and state', () => {
    const r = run(domain(), world({ ...MASTER_DONE, 'wd-nantes': at('6.1.4'), 'wd-paris-s1': at('6.1.3', { staged: '6.1.4' }) }));
    expect(r.status).toMatchObject({ target: TARGET, observedRevision: 'c0ffee0000000000000000000000000000000000', summary: '2/4 servers at 6.1.4', phase: 'Progressing' });
    expect(r.status.members).toEqual([
      { name: MASTER, agent: MASTER, role: 'master', desired: '6.1.4', observed: '6.1.4', state: 'Updated' },
      { name: 'wd-lille', agent: 'wd-lille', role: 'slave', desired: '6.1.4', observed: '6.1.3', state: 'Updating', message: 'staging 6.1.4 (download and verify, nothing installed)' },
      { name: 'wd-nantes', agent: 'wd-nantes', role: 'slave', desired: '6.1.4', observed: '6.1.4', state: 'Updated' },
      { name: 'wd-paris-s1', agent: 'wd-paris-s1', role: 'slave', desired: '6.1.4', observed: '6.1.3', state: 'Staged', message: 'waiting for propagation to finish on wd-lille' },
    ]);
  });

  it.each([
    { name: 'no previous status', previous: undefined, expected: new Date(NOW).toISOString() },
    { name: 'a previous status for the same version', previous: { desired: '6.1.4', startedAt: '2026-11-20T08:00:00.000Z' }, expected: '2026-11-20T08:00:00.000Z' },
    { name: 'a previous status for the same version spelled differently', previous: { desired: '6.01.4', startedAt: '2026-11-20T08:00:00.000Z' }, expected: '2026-11-20T08:00:00.000Z' },
    { name: 'a previous status for another version', previous: { desired: '6.1.3', startedAt: '2026-11-01T08:00:00.000Z' }, expected: new Date(NOW).toISOString() },
  ])('rolloutStartedAt is kept while the desired version stays, else it is now: $name', ({ previous, expected }) => {
    const prev = previous === undefined ? undefined : { ...run(domain(), world(MASTER_DONE)).status, rolloutStartedAt: previous.startedAt, members: [{ name: MASTER, agent: MASTER, role: 'master', desired: previous.desired, state: 'Pending' as const }] };
    expect(run(domain(), world(MASTER_DONE), prev, NOW).status.rolloutStartedAt).toBe(expected);
  });
});

describe('seed 000: the plan lists every step still needed, in the order it will happen', () => {
  it('master first, then stage on each slave, then apply on each slave, each blocked with the reason', () => {
    const r = run(domain(), world({ ...BEFORE }));
    expect(r.plan.map((s) => [s.member, s.action, s.runnable, s.blockedBy?.message, s.performedBy])).toEqual([
      [MASTER, 'apply', false, 'waiting for master wd-master-1 to be updated by hand to 6.1.4', 'operator'],
      ['wd-lille', 'stage', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
      ['wd-nantes', 'stage', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
      ['wd-paris-s1', 'stage', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
      ['wd-lille', 'apply', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
      ['wd-nantes', 'apply', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
      ['wd-paris-s1', 'apply', false, 'waiting for master wd-master-1 to reach 6.1.4', undefined],
    ]);
  });

  it.each([
    { name: 'before anything', update: 'Controller' as const, agents: BEFORE },
    { name: 'master staged', update: 'Controller' as const, agents: { ...BEFORE, [MASTER]: at('6.1.3', { staged: '6.1.4' }) } },
    { name: 'propagating, one slave offline', update: 'Manual' as const, agents: { ...MASTER_DONE, 'wd-nantes': at('6.1.3', { online: false }) } },
    { name: 'applying', update: 'Manual' as const, agents: ALL_STAGED },
    { name: 'converged', update: 'Manual' as const, agents: CONVERGED },
  ])('runnable plan steps are exactly the commands sent: $name', ({ update, agents }) => {
    const r = run(domain({ update }), world(agents));
    expect(r.plan.filter((s) => s.runnable).map((s) => `${s.action} ${s.member}`)).toEqual(sent(r));
    for (const s of r.plan) expect(s.runnable || s.blockedBy !== undefined).toBe(true);
  });
});

describe('seed 000 / design §1: level-triggered, deterministic, restartable', () => {
  it('runs its named steps in the seed order', () => {
    expect(DOMAIN_STEPS).toEqual([
      'reconcileRelease',
      'reconcilePackage',
      'reconcilePropagationSupport',
      'reconcileReachability',
      'reconcileMaster',
      'reconcilePropagation',
      'reconcileApply',
      'reconcileVerification',
    ]);
  });

  const scenarios = [
    { name: 'manual master waiting', update: 'Manual' as const, agents: BEFORE },
    { name: 'controller master', update: 'Controller' as const, agents: BEFORE },
    { name: 'propagating', update: 'Manual' as const, agents: MASTER_DONE },
    { name: 'applying', update: 'Manual' as const, agents: ALL_STAGED },
    { name: 'failed', update: 'Manual' as const, agents: { ...ALL_STAGED, 'wd-nantes': at('6.1.3', { staged: '6.1.4', verified: false, reason: 'bad signature' }) } },
    { name: 'converged', update: 'Manual' as const, agents: CONVERGED },
  ];

  it.each(scenarios)('the same input gives the same output, byte for byte: $name', ({ update, agents }) => {
    const a = run(domain({ update }), world(agents), undefined, NOW);
    const b = run(domain({ update }), world(structuredClone(agents)), undefined, NOW);
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const again = run(domain({ update }), world(agents), a.status, NOW + 30_000);
    expect(JSON.stringify(run(domain({ update }), world(agents), a.status, NOW + 30_000))).toBe(JSON.stringify(again));
  });

  it('members and commands follow declaration order', () => {
    const reversed = [...SLAVES].reverse();
    const r = run(domain({ slaves: reversed }), world(MASTER_DONE));
    expect(r.status.members.map((m) => m.name)).toEqual([MASTER, ...reversed.map(([n]) => n)]);
    expect(r.commands.map((c) => c.member)).toEqual(reversed.map(([n]) => n));
  });

  it.each(scenarios)('a controller restarted mid-rollout sends the same commands, repeating and skipping no step: $name', ({ update, agents }) => {
    const before = run(domain({ update }), world(agents));
    const restarted = run(domain({ update }), world(agents), before.status, NOW + 5_000);
    expect(restarted.commands).toEqual(before.commands);
    expect(restarted.plan).toEqual(before.plan);
    // even with its status file lost, the commands are the same: they derive from what is observed
    expect(run(domain({ update }), world(agents), undefined, NOW + 5_000).commands).toEqual(before.commands);
  });

  it.each([
    { update: 'Manual' as const, expected: [['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1'], ['apply wd-lille', 'apply wd-nantes', 'apply wd-paris-s1']] },
    { update: 'Controller' as const, expected: [['stage wd-master-1'], ['apply wd-master-1'], ['stage wd-lille', 'stage wd-nantes', 'stage wd-paris-s1'], ['apply wd-lille', 'apply wd-nantes', 'apply wd-paris-s1']] },
  ])('a whole rollout ($update master), restarting the controller after every pass, runs each step once, in the seed order', ({ update, expected }) => {
    const trace = simulate(domain({ update }), BEFORE, { 'watchdoc-6.1.4': 'verified' }, undefined, { restartEveryPass: true, handUpdateMasterAtPass: 3 });
    expect(trace.passes).toEqual(expected);
    expect(trace.last.status.phase).toBe('Converged');
  });
});

// ------------------------------------------------------------------ a tiny fleet simulator

interface SimAgent {
  version: string;
  staged?: { version: string; verified: boolean };
  results: CommandResult[];
}

/**
 * Runs the reconciler pass after pass against agents that carry out every command before the
 * next pass (stage: staged+verified; apply: installed). Returns the non-empty command batches.
 * With `restartEveryPass`, each pass is computed twice, as a controller killed and started
 * again on the same (observed, status) would, and both must agree.
 */
function simulate(
  d: ReturnType<typeof domain>,
  start: Readonly<Record<string, AgentSpec>>,
  artifacts: Readonly<Record<string, ArtifactCheck['status']>>,
  previous: TargetStatus | undefined,
  opts: { restartEveryPass?: boolean; handUpdateMasterAtPass?: number } = {},
): { passes: string[][]; last: ReconcileResult } {
  const agents = new Map<string, SimAgent>(
    Object.entries(start).map(([name, a]) => {
      const c = a.components?.[0];
      return [name, { version: c?.version ?? '0.0.0', ...(c?.staged ? { staged: { ...c.staged } } : {}), results: [] }];
    }),
  );
  const snapshot = (): Observed =>
    world(
      Object.fromEntries([...agents].map(([n, a]) => [n, { components: [{ product: PRODUCT, version: a.version, state: 'running' as const, ...(a.staged ? { staged: { ...a.staged } } : {}) }], results: [...a.results] }])),
      artifacts,
    );
  const release: Release = d.releases.get(d.object.spec.release)!;
  const passes: string[][] = [];
  let status = previous;
  let last: ReconcileResult | undefined;
  for (let pass = 1; pass <= 20; pass++) {
    if (pass === opts.handUpdateMasterAtPass && d.object.spec.master.update === 'Manual') agents.get(MASTER)!.version = release.spec.version;
    const now = NOW + pass * 30_000;
    const r = reconcileDomain(d, snapshot(), status, now);
    if (opts.restartEveryPass) expect(reconcileDomain(d, snapshot(), status, now)).toEqual(r);
    last = r;
    status = r.status;
    if (r.commands.length > 0) passes.push(sent(r));
    for (const c of r.commands) {
      const a = agents.get(c.agent)!;
      if (c.action === 'stage') a.staged = { version: c.version!, verified: true };
      if (c.action === 'apply') {
        a.version = c.version!;
        delete a.staged;
      }
      a.results.push({ id: c.id, status: 'succeeded', at: new Date(now).toISOString() });
    }
    if (r.status.phase === 'Converged' || (r.commands.length === 0 && pass > (opts.handUpdateMasterAtPass ?? 0))) break;
  }
  return { passes, last: last! };
}

// ------------------------------------------------------------------ property test

describe('seed 000: invariants over random domains and fleets (seeded)', () => {
  const CASES = 2_000;
  const DESIRED = '6.1.4';
  const eq = (v: string | undefined) => v !== undefined && isValidVersion(v) && versionsEqual(v, DESIRED);

  function generate(seed: number) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const chance = (p: number) => rnd() < p;
    const slaveCount = 1 + Math.floor(rnd() * 4);
    const slaves = Array.from({ length: slaveCount }, (_, i) => [`wd-s${i + 1}`, pick(['mailbox', 'bidirectional'] as const)] as const);
    const update = pick(['Manual', 'Controller'] as const);
    const d = domain({ update, slaves });
    const names = [MASTER, ...slaves.map(([n]) => n)];
    const agents: Record<string, AgentSpec> = {};
    for (const name of names) {
      if (chance(0.04)) continue; // never reported
      const version = pick(['6.1.3', '6.1.4', '6.1.4', '6.1.5', '6.01.4', 'garbage', undefined]);
      const state = pick(['running', 'running', 'running', 'running', 'installing', 'stopped', undefined] as const);
      const staged = pick([undefined, undefined, { version: '6.1.4', verified: true }, { version: '6.1.4', verified: true }, { version: '6.1.4', verified: true }, { version: '6.1.4', verified: false, reason: 'bad signature' }, { version: '6.1.3', verified: true }]);
      const results: CommandResult[] = [];
      for (const action of ['stage', 'apply'] as const) {
        if (chance(0.15)) results.push(result(name, action, pick(['succeeded', 'failed', 'running'] as const), 'agent says'));
      }
      agents[name] = {
        online: chance(0.93),
        lastSeen: LAST_SEEN,
        components: [{ product: PRODUCT, ...(version ? { version } : {}), ...(state ? { state } : {}), ...(staged ? { staged } : {}) }],
        results,
      };
    }
    const artifact = pick(['verified', 'verified', 'verified', 'pending', 'failed', undefined] as const);
    const obs = world(agents, artifact ? { 'watchdoc-6.1.4': artifact } : {});
    // sometimes a previous status whose desired was 6.1.5: Git rolled the release back to 6.1.4
    const previous: TargetStatus | undefined = chance(0.2)
      ? {
          target: TARGET,
          phase: 'Progressing',
          conditions: [],
          observedRevision: null,
          summary: '',
          members: names.map((n, i) => ({ name: n, agent: n, role: i === 0 ? 'master' : 'slave', desired: '6.1.5', state: pick(['Updated', 'Ahead', 'Pending'] as const) })),
        }
      : undefined;
    return { d, obs, previous, update, names, slaveNames: names.slice(1), artifact };
  }

  it(`holds the ordering rules on ${CASES} random cases`, () => {
    const seen = { slaveStage: 0, slaveApply: 0, masterCommand: 0, failed: 0, blocked: 0, converged: 0, startedHeldByOffline: 0, ahead: 0 };
    for (let seed = 1; seed <= CASES; seed++) {
      const { d, obs, previous, update, names, slaveNames, artifact } = generate(seed);
      const r = reconcileDomain(d, obs, previous, NOW);
      const ctx = `seed ${seed}: ${JSON.stringify({ agents: [...obs.agents.values()], artifact, update, previous: previous !== undefined })}\n${JSON.stringify(r, null, 1)}`;
      const agent = (n: string) => obs.agents.get(n);
      const comp = (n: string) => agent(n)?.components[0];
      const stagedOk = (n: string) => comp(n)?.staged?.version === DESIRED && comp(n)?.staged?.verified === true;
      const hasResult = (n: string, action: Action) => agent(n)?.results.some((x) => x.id === commandId(TARGET, n, action, DESIRED)) ?? false;
      const resultStatus = (id: string) => [...obs.agents.values()].flatMap((a) => a.results).find((x) => x.id === id)?.status;
      const runs = (n: string) => eq(comp(n)?.version);
      const started = names.some((n) => runs(n) || comp(n)?.staged?.version === DESIRED || hasResult(n, 'stage') || hasResult(n, 'apply'));
      const state = (n: string) => r.status.members.find((m) => m.name === n)?.state;

      // no command at all unless the package is verified
      if (artifact !== 'verified') expect(r.commands, ctx).toEqual([]);
      // no command at all while a server of the domain is unreachable (before the start or after it)
      if (!names.every((n) => agent(n)?.online === true)) expect(r.commands, ctx).toEqual([]);
      // never a command to a manual master
      if (update === 'Manual') expect(r.commands.filter((c) => c.member === MASTER), ctx).toEqual([]);
      for (const c of r.commands) {
        // never to an offline or unknown agent; never a command the agent reported failed or running
        expect(agent(c.agent)?.online, ctx).toBe(true);
        expect(['failed', 'running'], ctx).not.toContain(resultStatus(c.id));
        expect(c.id, ctx).toBe(commandId(TARGET, c.member, c.action, DESIRED));
        expect(c.artifact, ctx).toEqual(artifactRef(R614));
        if (c.member !== MASTER) {
          // no stage/apply to a slave unless the master runs the desired version (and says it is running)
          expect(runs(MASTER), ctx).toBe(true);
          expect(comp(MASTER)?.state, ctx).toBe('running');
          expect(c.delivery, ctx).toBe(d.object.spec.slaves.find((s) => s.name === c.member)?.sync === 'mailbox' ? 'mailbox' : 'push');
        } else {
          expect(c.delivery, ctx).toBe('push');
        }
        // a package that failed verification on the server is never applied there
        if (c.action === 'apply') expect(comp(c.member)?.staged?.version === DESIRED && comp(c.member)?.staged?.verified === false, ctx).toBe(false);
        // no apply to a slave unless every slave needing the release holds it
        if (c.action === 'apply' && c.member !== MASTER) {
          for (const s of slaveNames) {
            if (runs(s) || state(s) === 'Ahead') continue;
            expect(stagedOk(s) || hasResult(s, 'apply'), `${ctx}\n${s} not staged`).toBe(true);
          }
        }
        // a server reported Ahead is never touched
        expect(state(c.member), ctx).not.toBe('Ahead');
      }
      // Ahead only for newer servers; with no rollback in Git, every newer server is Ahead
      for (const n of names) {
        const v = comp(n)?.version;
        const newer = v !== undefined && isValidVersion(v) && isNewer(v, DESIRED);
        if (state(n) === 'Ahead') expect(newer, ctx).toBe(true);
        if (newer && previous === undefined && r.status.phase !== 'Blocked') expect(state(n), ctx).toBe('Ahead');
      }
      // runnable plan steps <-> commands, same order; every other step says why it waits
      expect(r.plan.filter((s) => s.runnable).map((s) => `${s.action} ${s.member}`), ctx).toEqual(sent(r));
      for (const s of r.plan) if (!s.runnable) expect(s.blockedBy, ctx).toBeDefined();
      if (update === 'Manual') for (const s of r.plan) if (s.member === MASTER) expect(s.performedBy, ctx).toBe('operator');
      // converged exactly when every server runs the desired version
      expect(r.status.phase === 'Converged', ctx).toBe(names.every(runs));
      expect(r.status.summary, ctx).toBe(`${names.filter(runs).length}/${names.length} servers at ${DESIRED}`);
      // a stalled phase never asks for a requeue-driven retry of the failure; Failed/Blocked <-> Stalled
      expect(r.status.conditions.find((c) => c.type === 'Stalled')?.status === 'True', ctx).toBe(r.status.phase === 'Failed' || r.status.phase === 'Blocked');
      // deterministic, and restartable: same input, or fed its own status back, gives the same commands
      expect(JSON.stringify(reconcileDomain(d, obs, previous, NOW)), ctx).toBe(JSON.stringify(r));
      expect(reconcileDomain(d, obs, r.status, NOW + 1_000).commands, ctx).toEqual(r.commands);

      if (r.commands.some((c) => c.member !== MASTER && c.action === 'stage')) seen.slaveStage++;
      if (r.commands.some((c) => c.member !== MASTER && c.action === 'apply')) seen.slaveApply++;
      if (r.commands.some((c) => c.member === MASTER)) seen.masterCommand++;
      if (r.status.phase === 'Failed') seen.failed++;
      if (r.status.phase === 'Blocked') seen.blocked++;
      if (r.status.phase === 'Converged') seen.converged++;
      if (started && r.plan.length > 0 && !names.every((n) => agent(n)?.online === true)) seen.startedHeldByOffline++;
      if (r.status.members.some((m) => m.state === 'Ahead')) seen.ahead++;
    }
    // the generator reaches every interesting situation (else the invariants above prove little)
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(5);
  });
});
