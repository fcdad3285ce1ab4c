import { describe, expect, it } from 'vitest';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { artifactRef } from '../../reconcilers/artifact-ref.ts';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Command, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import type { Account, AccountSpec, Device, Release } from '../../reconcilers/model/desired.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';
import { DesiredStateLoader } from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { locateRepository } from '../../controller/git/repository.ts';
import { EXAMPLE_REPO } from '../helpers/git-repo.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';
import { prng } from '../helpers/prng.ts';

// ------------------------------------------------------------------ fixtures

const P = 'w360-core';
const T = 'account/acme';
const VERSIONS = ['4.1.0', '4.2.1', '4.3.0', '4.4.0'] as const;
const rel = (v: string): string => `${P}-${v}`;

/** The W360 Core releases, `stable` (the account tag) and `4.3-test` (the vendor's test tag) on the versions given. */
function releases(stable: string, test = '4.3.0'): Release[] {
  return VERSIONS.map((v) => release(rel(v), P, v, [...(v === stable ? ['stable'] : []), ...(v === test ? ['4.3-test'] : [])]));
}
const VERIFIED: Record<string, ArtifactCheck['status']> = Object.fromEntries(VERSIONS.map((v) => [rel(v), 'verified']));

/** ACME: Paris WRS with two workstations, Lyon WRS with one, one remote laptop. */
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
    ],
    installMedia: { generatedFor: '4.3.0' },
    ...over,
  };
}
const MEMBERS = ['wrs-paris', 'wrs-lyon', 'ws-001', 'ws-002', 'ws-101', 'laptop-901'];

/** An agent reporting `version` of W360 Core (online unless `extra.online` says otherwise). */
function at(version: string, extra: Partial<ComponentReport> & Omit<AgentSpec, 'components'> = {}): AgentSpec {
  const { online, lastSeen, results, facts, ...component } = extra;
  return { components: [running(P, version, component)], ...(online === undefined ? {} : { online }), ...(lastSeen ? { lastSeen } : {}), ...(results ? { results } : {}), ...(facts ? { facts } : {}) };
}

/** A WRS at `version`, restarted, serving it (what a WRS agent reports once restarted). */
function wrsAt(version: string, extra: Parameters<typeof at>[1] = {}): AgentSpec {
  return at(version, { serves: [version], ...extra });
}

/** Every member at `version` (a WRS serving it), then the overrides. */
function fleet(version: string, over: Record<string, AgentSpec | null> = {}): Record<string, AgentSpec> {
  const out: Record<string, AgentSpec> = {};
  for (const m of MEMBERS) out[m] = m.startsWith('wrs-') ? wrsAt(version) : at(version);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

interface Run {
  readonly releases?: readonly Release[];
  readonly artifacts?: Record<string, ArtifactCheck['status'] | ArtifactCheck>;
  readonly previous?: TargetStatus;
  readonly now?: number;
}

function reconcile(s: AccountSpec, agents: Record<string, AgentSpec>, o: Run = {}): ReconcileResult {
  return reconcileAccount(input(desired('Account', 'acme', s), [...(o.releases ?? releases('4.3.0')), ...CLOUD_RELEASES]), observed(agents, o.artifacts ?? { ...VERIFIED, ...CLOUD_VERIFIED }), o.previous, o.now ?? NOW);
}

const cmds = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member} ${c.version}`);
const steps = (r: ReconcileResult): string[] =>
  r.plan.map((s) => `${s.action} ${s.member} ${s.version}: ${s.runnable ? 'runnable' : s.blockedBy?.reason}${s.performedBy ? ` (by ${s.performedBy})` : ''}`);
const member = (r: ReconcileResult, name: string) => r.status.members.find((m) => m.name === name)!;
const state = (r: ReconcileResult, name: string): string => member(r, name).state;
const condition = (r: ReconcileResult, type: string) => r.status.conditions.find((c) => c.type === type)!;
const ok = (id: string, status: CommandResult['status'], message?: string): CommandResult => ({ id, status, at: new Date(NOW - 60_000).toISOString(), ...(message ? { message } : {}) });

// seed 003: the cloud infrastructure
const CLOUD_RELEASES = [release('cebox-cloud-2026.10.2', 'cebox-cloud', '2026.10.2'), release('cebox-cloud-2026.11.0', 'cebox-cloud', '2026.11.0')];
const CLOUD_VERIFIED: Record<string, ArtifactCheck['status']> = { 'cebox-cloud-2026.10.2': 'verified', 'cebox-cloud-2026.11.0': 'verified' };
/** A previous status (as read from Git) whose production was admitted at `version` after the test ring converged on it. */
function admitted(version: string): TargetStatus {
  const at = new Date(NOW - 86_400_000).toISOString();
  const base = reconcileAccount(input(desired('Account', 'acme', spec()), releases(version)), observed({}, {}), undefined, NOW - 86_400_000).status;
  return { ...base, details: { promotion: { tested: [{ version, at }], production: { version, via: 'test-ring', at } } } };
}
const infraAt = (version: string, extra: Omit<AgentSpec, 'components'> = {}): AgentSpec => ({ components: [running('cebox-cloud', version)], ...extra });

// ------------------------------------------------------------------ rule 1: tags

describe('desired version per member (seeds 001, 003)', () => {
  it.each([
    { name: 'no test ring', ring: undefined, paris: '4.3.0', lyon: '4.3.0', ws001: '4.3.0', ws002: '4.3.0', laptop: '4.3.0' },
    { name: 'Paris WRS, ws-001 and a remote laptop in the test ring', ring: { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices: ['ws-001', 'laptop-901'] }, paris: '4.3.0', lyon: '4.2.1', ws001: '4.3.0', ws002: '4.2.1', laptop: '4.3.0' },
  ])('the test ring gets the test tag while the others keep the account tag (seeds 001, 003) — $name', ({ ring, paris, lyon, ws001, ws002, laptop }) => {
    const stable = ring ? '4.2.1' : '4.3.0';
    const r = reconcile(spec(ring ? { testRing: ring } : {}), fleet('4.2.1'), { releases: releases(stable, '4.3.0') });
    expect(Object.fromEntries(r.status.members.map((m) => [m.name, m.desired]))).toEqual({
      'wrs-paris': paris,
      'wrs-lyon': lyon,
      'ws-001': ws001,
      'ws-002': ws002,
      'ws-101': lyon,
      'laptop-901': laptop,
    });
    // the test phase of seed 001: update the test WRS, and the remote test laptop directly
    expect(cmds(r)).toEqual(ring ? ['apply wrs-paris 4.3.0', 'apply laptop-901 4.3.0'] : ['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0']);
  });

  it.each([
    { name: 'an account tag that no release carries', over: { defaultTag: 'nope' }, rels: releases('4.3.0'), msg: 'tag "nope" does not resolve to any w360-core Release' },
    { name: 'a test tag that no release carries', over: { testRing: { tag: '9.9-test', devices: ['laptop-901'] } }, rels: releases('4.3.0'), msg: 'tag "9.9-test" does not resolve' },
    {
      name: 'an ambiguous account tag',
      over: {},
      rels: [...releases('4.3.0'), release('w360-core-4.3.0-bis', P, '4.3.1', ['stable'])],
      msg: 'tag "stable" points at more than one w360-core Release ("w360-core-4.3.0", "w360-core-4.3.0-bis")',
    },
  ])('an unresolvable or ambiguous tag blocks the account with TagNotResolved and sends nothing (seeds 001, 003) — $name', ({ over, rels, msg }) => {
    const r = reconcile(spec(over), fleet('4.2.1'), { releases: rels });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled')).toMatchObject({ status: 'True', reason: 'TagNotResolved' });
    expect(condition(r, 'Stalled').message).toContain(msg);
    expect(condition(r, 'Ready').status).toBe('False');
    expect(r.status.members).toHaveLength(6);
  });
});

// ------------------------------------------------------------------ rule 2: packages

describe('packages (seeds 001, 003)', () => {
  it.each([
    { name: 'not checked yet', check: undefined, phase: 'Waiting', reason: 'VerifyingPackage', requeue: 10_000, sent: [] },
    { name: 'pending', check: 'pending', phase: 'Waiting', reason: 'VerifyingPackage', requeue: 10_000, sent: [] },
    { name: 'failed', check: { release: rel('4.3.0'), status: 'failed', reason: 'signature does not verify' }, phase: 'Blocked', reason: 'PackageNotSecure', requeue: undefined, sent: [] },
    { name: 'verified', check: 'verified', phase: 'Progressing', reason: 'RollingOut', requeue: 30_000, sent: ['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0'] },
  ] as const)('a package is verified before anything is installed (seeds 001, 003) — package $name', ({ check, phase, reason, requeue, sent }) => {
    const artifacts = check === undefined ? {} : { [rel('4.3.0')]: check };
    const r = reconcile(spec(), fleet('4.2.1'), { artifacts });
    expect(cmds(r)).toEqual(sent);
    expect(r.status.phase).toBe(phase);
    expect(r.requeueAfter).toBe(requeue);
    expect(r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready')?.reason).toBe(reason);
    if (reason === 'PackageNotSecure') {
      expect(r.plan[0]!.blockedBy).toEqual({ category: 'stalled', reason: 'PackageNotSecure', message: 'package w360-core-4.3.0 is not secure: signature does not verify' });
      expect(condition(r, 'Stalled').status).toBe('True');
    }
    if (reason === 'VerifyingPackage') expect(member(r, 'wrs-paris')).toMatchObject({ state: 'Waiting', message: 'waiting for package w360-core-4.3.0 to be verified (sha256 and signature)' });
  });

  it('a package that is not secure stops its own release only: the account tag still rolls out (seeds 001, 003)', () => {
    const ring = { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices: ['ws-001'] };
    const r = reconcile(spec({ testRing: ring }), fleet('4.1.0'), { releases: releases('4.2.1'), artifacts: { ...VERIFIED, [rel('4.3.0')]: 'failed' }, previous: admitted('4.2.1') });
    expect(cmds(r)).toEqual(['apply wrs-lyon 4.2.1', 'apply laptop-901 4.2.1']);
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled').reason).toBe('PackageNotSecure');
  });
});

// ------------------------------------------------------------------ rule 3: WRS first

describe('WRS first (seeds 001, 003)', () => {
  const applied = (m: string, v: string) => commandId(T, m, 'apply', v);
  const restarted = (m: string, v: string) => commandId(T, m, 'restart', v);
  it.each([
    { name: 'at the old version: apply', paris: at('4.2.1'), want: ['apply wrs-paris 4.3.0'] },
    { name: 'installed, pending restart: restart', paris: at('4.3.0', { pendingRestart: true }), want: ['restart wrs-paris 4.3.0'] },
    { name: 'reports the version after our apply, not restarted yet: restart', paris: at('4.3.0', { results: [ok(applied('wrs-paris', '4.3.0'), 'succeeded')] }), want: ['restart wrs-paris 4.3.0'] },
    {
      name: 'restarted: its devices follow',
      paris: wrsAt('4.3.0', { results: [ok(applied('wrs-paris', '4.3.0'), 'succeeded'), ok(restarted('wrs-paris', '4.3.0'), 'succeeded')] }),
      want: ['apply ws-001 4.3.0', 'apply ws-002 4.3.0'],
    },
  ])('a WRS is updated, then restarted, before any device behind it (seeds 001, 003) — $name', ({ paris, want }) => {
    const r = reconcile(spec(), fleet('4.3.0', { 'wrs-paris': paris, 'ws-001': at('4.2.1'), 'ws-002': at('4.2.1') }));
    expect(cmds(r)).toEqual(want);
    const devicesBlocked = r.plan.filter((s) => s.member.startsWith('ws-') && s.action === 'apply' && !s.runnable);
    if (want[0]!.includes('wrs')) expect(devicesBlocked).toHaveLength(2);
  });

  it('a WRS apply carries the package to download and verify (seeds 001, 003)', () => {
    const r = reconcile(spec(), fleet('4.3.0', { 'wrs-paris': at('4.2.1') }));
    expect(r.commands).toEqual<Command[]>([
      {
        id: commandId(T, 'wrs-paris', 'apply', '4.3.0'),
        target: T,
        member: 'wrs-paris',
        agent: 'wrs-paris',
        action: 'apply',
        delivery: 'mailbox',
        product: P,
        version: '4.3.0',
        artifact: artifactRef(releases('4.3.0')[2]!),
      },
    ]);
    expect(steps(r)).toEqual(['apply wrs-paris 4.3.0: runnable', 'restart wrs-paris 4.3.0: WaitingForInstall']);
  });
});

// ------------------------------------------------------------------ rule 4: devices behind a WRS

describe('devices behind a WRS (seeds 001, 003)', () => {
  it.each([
    { name: 'WRS at the old version', paris: wrsAt('4.2.1'), waits: 'WRS wrs-paris does not serve 4.3.0 yet: it runs 4.2.1' },
    { name: 'WRS installed but not restarted', paris: wrsAt('4.3.0', { pendingRestart: true }), waits: 'WRS wrs-paris does not serve 4.3.0 yet: it runs 4.3.0 once restarted (restart pending)' },
    { name: 'WRS runs and serves 4.3.0', paris: wrsAt('4.3.0'), waits: undefined },
    { name: 'WRS runs 4.3.0 and serves only 4.2.1', paris: at('4.3.0', { serves: ['4.2.1'] }), waits: 'WRS wrs-paris does not serve 4.3.0 yet: it serves 4.2.1' },
    { name: 'WRS still runs 4.2.1 but already serves 4.3.0: not restarted on it', paris: at('4.2.1', { serves: ['4.2.1', '4.3.0'] }), waits: 'WRS wrs-paris does not serve 4.3.0 yet: it runs 4.2.1' },
    { name: 'WRS reports pendingRestart while already serving 4.3.0', paris: wrsAt('4.3.0', { pendingRestart: true, serves: ['4.2.1', '4.3.0'] }), waits: 'WRS wrs-paris does not serve 4.3.0 yet: it runs 4.3.0 once restarted (restart pending)' },
  ])('a device behind a WRS never gets a version its WRS does not serve (seeds 001, 003) — $name', ({ paris, waits }) => {
    const r = reconcile(spec(), fleet('4.3.0', { 'wrs-paris': paris, 'ws-001': at('4.2.1') }));
    const apply = r.plan.find((s) => s.member === 'ws-001' && s.action === 'apply')!;
    if (waits) {
      expect(cmds(r).filter((c) => c.includes('ws-001'))).toEqual([]);
      expect(apply.blockedBy).toEqual({ category: 'waiting', reason: 'WaitingForRepositoryServer', message: waits });
      expect(member(r, 'ws-001')).toMatchObject({ state: 'Waiting', message: waits });
    } else {
      expect(cmds(r)).toContain('apply ws-001 4.3.0');
      expect(apply.runnable).toBe(true);
    }
  });

  it('remote devices fetch from the cloud and never wait for a WRS (seeds 001, 003)', () => {
    const r = reconcile(spec(), fleet('4.2.1'));
    expect(cmds(r)).toEqual(['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0']);
    expect(steps(r).filter((s) => s.startsWith('apply ws-'))).toEqual([
      'apply ws-001 4.3.0: WaitingForRepositoryServer',
      'apply ws-002 4.3.0: WaitingForRepositoryServer',
      'apply ws-101 4.3.0: WaitingForRepositoryServer',
    ]);
  });
});

// ------------------------------------------------------------------ rule 5: online

describe('devices must be powered on (seeds 001, 003)', () => {
  const lastSeen = '2026-11-21T18:30:00.000Z';
  it.each([
    { name: 'offline since yesterday', agent: at('4.2.1', { online: false, lastSeen }), message: `device ws-001 offline since ${lastSeen}` },
    { name: 'never reported', agent: null, message: 'device ws-001 has never reported' },
  ])('an offline device waits, and is picked up when it reports again (seeds 001, 003) — $name', ({ agent, message }) => {
    const r = reconcile(spec(), fleet('4.3.0', { 'ws-001': agent, 'ws-002': at('4.2.1') }));
    expect(cmds(r)).toEqual(['apply ws-002 4.3.0']);
    expect(r.plan.find((s) => s.member === 'ws-001' && s.action === 'apply')!.blockedBy).toEqual({ category: 'waiting', reason: 'DeviceOffline', message });
    expect(member(r, 'ws-001')).toMatchObject({ state: 'Waiting', message });
    expect(r.status.phase).toBe('Progressing');
    // it reports again: picked up
    const back = reconcile(spec(), fleet('4.3.0', { 'ws-001': at('4.2.1'), 'ws-002': at('4.3.0') }), { previous: r.status });
    expect(cmds(back)).toEqual(['apply ws-001 4.3.0']);
  });

  it.each([
    { name: 'offline', paris: at('4.3.0', { online: false, lastSeen }), message: `WRS wrs-paris offline since ${lastSeen}` },
    { name: 'never reported', paris: null, message: 'WRS wrs-paris has never reported' },
  ])('a WRS that is offline holds back the devices behind it but not the remote ones (seeds 001, 003) — $name', ({ paris, message }) => {
    const r = reconcile(spec(), fleet('4.2.1', { 'wrs-paris': paris, 'wrs-lyon': wrsAt('4.3.0') }));
    expect(cmds(r)).toEqual(['apply ws-101 4.3.0', 'apply laptop-901 4.3.0']);
    const blockers = Object.fromEntries(r.plan.filter((s) => s.action === 'apply').map((s) => [s.member, s.blockedBy]));
    expect(blockers['ws-001']).toEqual({ category: 'waiting', reason: 'WaitingForRepositoryServer', message });
    expect(blockers['ws-002']).toEqual({ category: 'waiting', reason: 'WaitingForRepositoryServer', message });
    if (paris === null) expect(blockers['wrs-paris']).toEqual({ category: 'waiting', reason: 'RepositoryServerOffline', message });
  });
});

// ------------------------------------------------------------------ rule 6: restart

describe('install, then finalise by a restart (seeds 001, 003)', () => {
  it.each([
    { policy: 'Immediate', sent: ['restart ws-001 4.3.0'], memberState: 'Updating', phase: 'Progressing', reason: 'RollingOut', step: 'restart ws-001 4.3.0: runnable' },
    { policy: 'LeaveToUser', sent: [], memberState: 'PendingRestart', phase: 'Waiting', reason: 'PendingRestart', step: 'restart ws-001 4.3.0: PendingRestart (by device)' },
  ] as const)('restartPolicy $policy: a device that reports the update installed is restarted by the controller or left to its user (seeds 001, 003)', ({ policy, sent, memberState, phase, reason, step }) => {
    const r = reconcile(spec({ restartPolicy: policy }), fleet('4.3.0', { 'ws-001': at('4.3.0', { pendingRestart: true }) }));
    expect(cmds(r)).toEqual(sent);
    expect(steps(r)).toEqual([step]);
    expect(state(r, 'ws-001')).toBe(memberState);
    expect(r.status.phase).toBe(phase);
    expect(r.status.conditions.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason });
    if (policy === 'LeaveToUser') expect(member(r, 'ws-001').message).toBe('4.3.0 installed; the device finalises it at its next restart or shutdown');
    // the device reports the version without pendingRestart: converged
    const done = reconcile(spec({ restartPolicy: policy }), fleet('4.3.0'), { previous: r.status });
    expect(done.status.phase).toBe('Converged');
    expect(done.plan).toEqual([]);
  });

  it.each([
    { name: 'no results kept', results: [] },
    { name: 'our apply and restart succeeded', results: [ok(commandId(T, 'ws-001', 'apply', '4.3.0'), 'succeeded'), ok(commandId(T, 'ws-001', 'restart', '4.3.0'), 'succeeded')] },
    { name: 'only our apply is remembered', results: [ok(commandId(T, 'ws-001', 'apply', '4.3.0'), 'succeeded')] },
  ])('a device that reports the version without a pending restart is finalised: pendingRestart is its signal (seeds 001, 003) — $name', ({ results }) => {
    const r = reconcile(spec(), fleet('4.3.0', { 'ws-001': at('4.3.0', { results }) }));
    expect(state(r, 'ws-001')).toBe('Updated');
    expect(r.status.phase).toBe('Converged');
  });

  it.each([
    { policy: 'Immediate', want: ['apply ws-001 4.3.0: runnable', 'restart ws-001 4.3.0: WaitingForInstall'] },
    { policy: 'LeaveToUser', want: ['apply ws-001 4.3.0: runnable', 'restart ws-001 4.3.0: WaitingForInstall (by device)'] },
  ] as const)('restartPolicy $policy: a device is installed first, and its restart waits for the install to be reported (seeds 001, 003)', ({ policy, want }) => {
    const r = reconcile(spec({ restartPolicy: policy }), fleet('4.3.0', { 'ws-001': at('4.2.1') }));
    expect(steps(r)).toEqual(want);
    expect(cmds(r)).toEqual(['apply ws-001 4.3.0']);
  });
});

// ------------------------------------------------------------------ rule 7: auto-update

describe('auto-update (seed 001)', () => {
  it.each([
    { name: 'WRS not updated yet', agents: fleet('4.2.1'), sent: ['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0'], ws001: 'apply ws-001 4.3.0: WaitingForRepositoryServer (by device)' },
    { name: 'WRS serving', agents: fleet('4.3.0', { 'ws-001': at('4.2.1') }), sent: [], ws001: 'apply ws-001 4.3.0: AutoUpdate (by device)' },
    { name: 'installed, not restarted', agents: fleet('4.3.0', { 'ws-001': at('4.3.0', { pendingRestart: true }) }), sent: [], ws001: 'restart ws-001 4.3.0: PendingRestart (by device)' },
  ])('with auto-update the devices update themselves: the controller commands the WRS and only observes the devices (seed 001) — $name', ({ agents, sent, ws001 }) => {
    const r = reconcile(spec({ autoUpdate: true }), agents);
    expect(cmds(r)).toEqual(sent);
    expect(steps(r)).toContain(ws001);
    for (const s of r.plan.filter((p) => !p.member.startsWith('wrs-'))) expect(s).toMatchObject({ runnable: false, performedBy: 'device' });
    expect(r.status.summary).toMatch(/devices at 4\.3\.0/);
  });

  it('with auto-update, device progress is reported as the devices update themselves (seed 001)', () => {
    const r = reconcile(spec({ autoUpdate: true }), fleet('4.3.0', { 'ws-001': at('4.2.1'), 'ws-002': at('4.2.1') }));
    expect(r.status.summary).toBe('2/4 devices at 4.3.0, 2/2 WRS');
    expect(member(r, 'ws-001')).toMatchObject({ state: 'Pending', observed: '4.2.1', desired: '4.3.0' });
    expect(r.status.phase).toBe('Waiting');
    expect(condition(r, 'Reconciling').reason).toBe('AutoUpdate');
  });
});

// ------------------------------------------------------------------ rule 8: rollback and members ahead

describe('rollback and members ahead (seeds 001, 003)', () => {
  it('moving the account tag back to an earlier release is a rollback, planned like any change and resumed after a restart (seeds 001, 003)', () => {
    const before = reconcile(spec(), fleet('4.3.0'));
    expect(before.status.phase).toBe('Converged');
    // the PR moves `stable` back to 4.2.1
    const back = { releases: releases('4.2.1'), previous: before.status };
    const r1 = reconcile(spec(), fleet('4.3.0'), back);
    expect(cmds(r1)).toEqual(['apply wrs-paris 4.2.1', 'apply wrs-lyon 4.2.1', 'apply laptop-901 4.2.1']);
    expect(steps(r1)).toContain('apply ws-001 4.2.1: WaitingForRepositoryServer');
    expect(r1.status.rolloutStartedAt).toBe(new Date(NOW).toISOString());
    // next pass, nothing reported yet: the rollback continues (not mistaken for members ahead)
    const r2 = reconcile(spec(), fleet('4.3.0'), { ...back, previous: r1.status, now: NOW + 60_000 });
    expect(cmds(r2)).toEqual(cmds(r1));
    expect(r2.status.rolloutStartedAt).toBe(r1.status.rolloutStartedAt);
    // the WRS are back on 4.2.1: their devices follow
    // the WRS report 4.2.1 installed, restart pending: restarted before any device
    const r3a = reconcile(spec(), fleet('4.3.0', { 'wrs-paris': wrsAt('4.2.1', { pendingRestart: true }), 'wrs-lyon': wrsAt('4.2.1', { pendingRestart: true }), 'laptop-901': at('4.2.1') }), { ...back, previous: r2.status });
    expect(cmds(r3a)).toEqual(['restart wrs-paris 4.2.1', 'restart wrs-lyon 4.2.1']);
    const r3 = reconcile(spec(), fleet('4.3.0', { 'wrs-paris': wrsAt('4.2.1'), 'wrs-lyon': wrsAt('4.2.1'), 'laptop-901': at('4.2.1') }), { ...back, previous: r3a.status });
    expect(cmds(r3)).toEqual(['apply ws-001 4.2.1', 'apply ws-002 4.2.1', 'apply ws-101 4.2.1']);
  });

  it.each([
    { name: 'no previous status', previous: () => undefined },
    { name: 'desired unchanged since the previous pass', previous: () => reconcile(spec(), fleet('4.3.0')).status },
    { name: 'already reported ahead', previous: () => reconcile(spec(), fleet('4.3.0', { 'ws-001': at('4.4.0') })).status },
  ])('a device that reports a version newer than desired is reported, not downgraded silently (seeds 001, 003) — $name', ({ previous }) => {
    const r = reconcile(spec(), fleet('4.3.0', { 'ws-001': at('4.4.0') }), { previous: previous() });
    expect(r.commands).toEqual([]);
    expect(r.plan).toEqual([]);
    expect(member(r, 'ws-001')).toMatchObject({ state: 'Ahead', desired: '4.3.0', observed: '4.4.0' });
    expect(member(r, 'ws-001').message).toContain('newer than desired 4.3.0');
    expect(r.status.phase).not.toBe('Converged');
    expect(r.status.conditions.find((c) => c.status === 'True')?.reason).toBe('MemberAhead');
  });

  it('a test device taken out of the test ring goes back to the account tag: its desired version went down on purpose (seeds 001, 003)', () => {
    const ring = (devices: string[]) => ({ testRing: { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices } });
    const agents = fleet('4.2.1', { 'wrs-paris': wrsAt('4.3.0'), 'ws-001': at('4.3.0'), 'laptop-901': at('4.3.0') });
    const before = reconcile(spec(ring(['ws-001', 'laptop-901'])), agents, { releases: releases('4.2.1'), previous: admitted('4.2.1') });
    const r = reconcile(spec(ring([])), agents, { releases: releases('4.2.1'), previous: before.status });
    // the remote laptop goes back at once; ws-001 gets only what its WRS runs (the test WRS runs 4.3.0)
    expect(cmds(r)).toEqual(['apply laptop-901 4.2.1']);
    expect(member(r, 'ws-001')).toMatchObject({ state: 'Waiting', message: 'WRS wrs-paris does not serve 4.2.1 yet: it runs 4.3.0' });
  });
});

// ------------------------------------------------------------------ rule 9: infrastructure

describe('cloud infrastructure (seed 003)', () => {
  const infra = (r: string, agent?: string) => ({ infrastructure: { release: r, ...(agent ? { agent } : {}) } });
  it.each([
    { name: 'WRS and devices waiting on their package', artifacts: { ...CLOUD_VERIFIED }, agents: fleet('4.2.1') },
    { name: 'WRS offline', artifacts: { ...VERIFIED, ...CLOUD_VERIFIED }, agents: fleet('4.2.1', { 'wrs-paris': at('4.2.1', { online: false }), 'wrs-lyon': null }) },
  ])('the infrastructure is updated on its own, never waiting for WRS or devices (seed 003) — $name', ({ artifacts, agents }) => {
    const r = reconcile(spec(infra('cebox-cloud-2026.11.0')), { ...agents, 'acme-infrastructure': infraAt('2026.10.2') }, { artifacts });
    expect(cmds(r)[0]).toBe('apply infrastructure 2026.11.0');
    expect(r.commands[0]).toMatchObject({ agent: 'acme-infrastructure', product: 'cebox-cloud', delivery: 'mailbox' });
    expect(r.plan[0]).toMatchObject({ member: 'infrastructure', action: 'apply', runnable: true });
    expect(member(r, 'infrastructure')).toMatchObject({ role: 'infrastructure', desired: '2026.11.0', observed: '2026.10.2', state: 'Updating' });
  });

  it('WRS and devices never wait for the infrastructure (seed 003)', () => {
    const r = reconcile(spec(infra('cebox-cloud-2026.11.0', 'cloud-ops')), { ...fleet('4.2.1'), 'cloud-ops': infraAt('2026.10.2', { online: false }) }, { artifacts: VERIFIED });
    expect(cmds(r)).toEqual(['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0']);
    expect(r.plan[0]!.blockedBy?.reason).toBe('VerifyingPackage');
  });

  it('the infrastructure is rolled back by pointing at the previous release: one apply (seed 003)', () => {
    const before = reconcile(spec(infra('cebox-cloud-2026.11.0')), { ...fleet('4.3.0'), 'acme-infrastructure': infraAt('2026.11.0') });
    expect(before.status.phase).toBe('Converged');
    expect(before.status.summary).toBe('4/4 devices at 4.3.0, 2/2 WRS, 1/1 infrastructure');
    const r = reconcile(spec(infra('cebox-cloud-2026.10.2')), { ...fleet('4.3.0'), 'acme-infrastructure': infraAt('2026.11.0') }, { previous: before.status });
    expect(cmds(r)).toEqual(['apply infrastructure 2026.10.2']);
    expect(steps(r)).toEqual(['apply infrastructure 2026.10.2: runnable']);
  });
});

// ------------------------------------------------------------------ rule 10: install media

describe('install media (seeds 001, 003)', () => {
  it.each([
    { media: { generatedFor: '4.2.1' }, want: ['regenerate install media (USB keys) for 4.3.0: they were generated for 4.2.1'] },
    { media: undefined, want: ['regenerate install media (USB keys) for 4.3.0: none recorded in spec.installMedia.generatedFor'] },
    { media: { generatedFor: '4.3.0' }, want: undefined },
    { media: { generatedFor: 'v4.3' }, want: undefined },
  ])('install media must be regenerated after the account moves (seeds 001, 003) — generated for $media.generatedFor', ({ media, want }) => {
    const s = spec();
    const r = reconcile({ ...s, installMedia: media } as AccountSpec, fleet('4.3.0'));
    expect(r.status.reminders).toEqual(want);
  });
});

// ------------------------------------------------------------------ rule 11: failures

describe('failed and running commands (seeds 001, 003)', () => {
  const applied = (m: string) => commandId(T, m, 'apply', '4.3.0');
  it.each([
    {
      name: 'a WRS apply failed: the account fails, its devices wait',
      agents: fleet('4.2.1', { 'wrs-paris': at('4.2.1', { results: [ok(applied('wrs-paris'), 'failed', 'disk full')] }), 'wrs-lyon': wrsAt('4.3.0') }),
      sent: ['apply ws-101 4.3.0', 'apply laptop-901 4.3.0'],
      phase: 'Failed',
      reason: 'RepositoryServerFailed',
      failed: 'wrs-paris',
    },
    {
      name: 'a device apply failed: the other devices go on',
      agents: fleet('4.3.0', { 'ws-001': at('4.2.1', { results: [ok(applied('ws-001'), 'failed', 'disk full')] }), 'ws-002': at('4.2.1') }),
      sent: ['apply ws-002 4.3.0'],
      phase: 'Progressing',
      reason: 'RollingOut',
      failed: 'ws-001',
    },
    {
      name: 'only a failed device is left: a person must act',
      agents: fleet('4.3.0', { 'ws-001': at('4.2.1', { results: [ok(applied('ws-001'), 'failed', 'disk full')] }) }),
      sent: [],
      phase: 'Failed',
      reason: 'MemberFailed',
      failed: 'ws-001',
    },
  ])('a failed command is not re-sent; a failed WRS fails the account, a failed device once nothing else moves (seeds 001, 003) — $name', ({ agents, sent, phase, reason, failed }) => {
    const r = reconcile(spec(), agents);
    expect(cmds(r)).toEqual(sent);
    expect(r.status.phase).toBe(phase);
    expect(r.status.conditions.find((c) => c.status === 'True')?.reason).toBe(reason);
    expect(member(r, failed)).toMatchObject({ state: 'Failed', message: 'apply 4.3.0 failed: disk full' });
    expect(r.plan.find((s) => s.member === failed)!.blockedBy).toEqual({ category: 'stalled', reason: 'CommandFailed', message: 'apply 4.3.0 failed: disk full' });
    expect(condition(r, 'Ready').message).toContain(`${failed}: apply 4.3.0 failed: disk full`);
  });

  it('a running command is not re-sent: the member is Updating (seeds 001, 003)', () => {
    const r = reconcile(spec(), fleet('4.3.0', { 'ws-001': at('4.2.1', { results: [ok(applied('ws-001'), 'running')] }) }));
    expect(r.commands).toEqual([]);
    expect(state(r, 'ws-001')).toBe('Updating');
    expect(steps(r)).toEqual(['apply ws-001 4.3.0: InProgress', 'restart ws-001 4.3.0: WaitingForInstall']);
    expect(r.status.phase).toBe('Progressing');
    expect(r.requeueAfter).toBe(30_000);
  });
});

// ------------------------------------------------------------------ rule 12: delivery

describe('delivery (seeds 001, 003)', () => {
  it('members get their commands by mailbox unless they declare an endpoint, then by push (seeds 001, 003)', () => {
    const s = spec({ repositoryServers: [{ name: 'wrs-paris', endpoint: 'https://wrs-paris.acme.example:8443' }, { name: 'wrs-lyon', agent: 'lyon-agent' }] });
    const r = reconcile(s, { ...fleet('4.2.1', { 'wrs-lyon': null }), 'lyon-agent': at('4.2.1') });
    expect(r.commands.map((c) => [c.member, c.agent, c.delivery])).toEqual([
      ['wrs-paris', 'wrs-paris', 'push'],
      ['wrs-lyon', 'lyon-agent', 'mailbox'],
      ['laptop-901', 'laptop-901', 'mailbox'],
    ]);
  });
});

// ------------------------------------------------------------------ rule 13: status

describe('status (seeds 001, 003)', () => {
  it.each([
    { name: 'one version', s: spec(), agents: fleet('4.3.0', { 'ws-001': at('4.2.1') }), rels: releases('4.3.0'), summary: '3/4 devices at 4.3.0, 2/2 WRS' },
    {
      name: 'test ring on another version',
      s: spec({ testRing: { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices: ['ws-001'] } }),
      agents: fleet('4.2.1', { 'wrs-paris': at('4.3.0'), 'ws-001': at('4.3.0'), 'ws-002': at('4.1.0') }),
      rels: releases('4.2.1'),
      summary: '3/4 devices updated, 2/2 WRS',
    },
    { name: 'no WRS', s: spec({ repositoryServers: [], devices: [{ name: 'laptop-901', repositoryServer: 'cloud' }] }), agents: fleet('4.3.0'), rels: releases('4.3.0'), summary: '1/1 devices at 4.3.0' },
  ])('the summary counts devices and WRS at their desired version (seeds 001, 003) — $name', ({ s, agents, rels, summary }) => {
    expect(reconcile(s, agents, { releases: rels }).status.summary).toBe(summary);
  });

  it('a converged account reports every member by role, Ready, and keeps its rollout start while the desired versions do not change (seeds 001, 003)', () => {
    const r = reconcile(spec(), fleet('4.3.0'));
    expect(r.status).toMatchObject({ target: T, phase: 'Converged', observedRevision: 'c0ffee0000000000000000000000000000000000', summary: '4/4 devices at 4.3.0, 2/2 WRS' });
    expect(r.status.members.map((m) => [m.name, m.role, m.state])).toEqual([
      ['wrs-paris', 'wrs', 'Updated'],
      ['wrs-lyon', 'wrs', 'Updated'],
      ['ws-001', 'device', 'Updated'],
      ['ws-002', 'device', 'Updated'],
      ['ws-101', 'device', 'Updated'],
      ['laptop-901', 'device', 'Updated'],
    ]);
    expect(r.status.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Converged'],
      ['Reconciling', 'False', 'None'],
      ['Stalled', 'False', 'None'],
    ]);
    expect(r.plan).toEqual([]);
    expect(r.requeueAfter).toBeUndefined();
    const later = reconcile(spec(), fleet('4.3.0'), { previous: { ...r.status, rolloutStartedAt: '2026-11-01T00:00:00.000Z' }, now: NOW + 3_600_000 });
    expect(later.status.rolloutStartedAt).toBe('2026-11-01T00:00:00.000Z');
    expect(later.status.conditions).toEqual(r.status.conditions);
    const moved = reconcile(spec(), fleet('4.3.0'), { releases: releases('4.4.0'), previous: later.status, now: NOW + 7_200_000 });
    expect(moved.status.rolloutStartedAt).toBe(new Date(NOW + 7_200_000).toISOString());
  });
});

// ------------------------------------------------------------------ rule 14: plan, determinism, resume

describe('plan, determinism and resume (design §1)', () => {
  it('the plan lists every remaining step in execution order, runnable exactly when its command is sent (seeds 001, 003)', () => {
    const s = spec({ infrastructure: { release: 'cebox-cloud-2026.11.0' } });
    const r = reconcile(s, { ...fleet('4.2.1', { 'wrs-lyon': at('4.3.0', { pendingRestart: true }) }), 'acme-infrastructure': infraAt('2026.10.2') });
    expect(steps(r)).toEqual([
      'apply infrastructure 2026.11.0: runnable',
      'apply wrs-paris 4.3.0: runnable',
      'restart wrs-paris 4.3.0: WaitingForInstall',
      'restart wrs-lyon 4.3.0: runnable',
      'apply ws-001 4.3.0: WaitingForRepositoryServer',
      'apply ws-002 4.3.0: WaitingForRepositoryServer',
      'apply ws-101 4.3.0: WaitingForRepositoryServer',
      'apply laptop-901 4.3.0: runnable',
      'restart ws-001 4.3.0: WaitingForInstall',
      'restart ws-002 4.3.0: WaitingForInstall',
      'restart ws-101 4.3.0: WaitingForInstall',
      'restart laptop-901 4.3.0: WaitingForInstall',
    ]);
    expect(r.plan.filter((p) => p.runnable).map((p) => `${p.action} ${p.member} ${p.version}`)).toEqual(cmds(r));
  });

  it('determinism: the same input gives byte-for-byte the same output (design §1)', () => {
    const make = () =>
      reconcile(spec({ testRing: { tag: '4.3-test', repositoryServers: ['wrs-paris'], devices: ['ws-001'] }, infrastructure: { release: 'cebox-cloud-2026.11.0' } }), fleet('4.2.1', { 'ws-002': at('4.1.0', { online: false }) }), { releases: releases('4.2.1') });
    expect(JSON.stringify(make())).toBe(JSON.stringify(make()));
  });

  it.each([
    { name: 'WRS being updated', agents: fleet('4.2.1'), wanted: undefined },
    { name: 'devices being installed and restarted', agents: fleet('4.3.0', { 'ws-001': at('4.2.1'), 'ws-002': at('4.3.0', { pendingRestart: true }) }), wanted: undefined },
    { name: 'a rollback from 4.4.0 under way', agents: fleet('4.4.0'), wanted: '4.4.0' },
  ])('restart-resume: the same observed state and previous status give the same commands (design §1) — $name', ({ agents, wanted }) => {
    const previous = wanted ? reconcile(spec(), agents, { releases: releases(wanted) }).status : undefined;
    const first = reconcile(spec(), agents, previous ? { previous } : {});
    const resumed = reconcile(spec(), agents, { previous: first.status, now: NOW + 1_000 });
    expect(first.commands.length).toBeGreaterThan(0);
    expect(resumed.commands).toEqual(first.commands);
    expect(resumed.plan).toEqual(first.plan);
    expect(resumed.status.rolloutStartedAt).toBe(first.status.rolloutStartedAt);
  });

  it.each([
    {
      name: 'an infrastructure release that is not declared',
      s: spec({ infrastructure: { release: 'cebox-cloud-2099.1.0' } }),
      reason: 'ReleaseNotFound',
      message: 'release cebox-cloud-2099.1.0 of the infrastructure is not declared',
      sent: ['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0'],
    },
    {
      name: 'a device behind a WRS that is not declared',
      s: spec({ devices: [{ name: 'ws-001', repositoryServer: 'wrs-nice' }, { name: 'laptop-901', repositoryServer: 'cloud' }] }),
      reason: 'UnknownRepositoryServer',
      message: 'WRS wrs-nice is not declared in account acme',
      sent: ['apply wrs-paris 4.3.0', 'apply wrs-lyon 4.3.0', 'apply laptop-901 4.3.0'],
    },
  ])('desired state that validation refuses blocks only what it concerns (seeds 001, 003) — $name', ({ s, reason, message, sent }) => {
    const r = reconcile(s, fleet('4.2.1'));
    expect(cmds(r)).toEqual(sent);
    expect(r.status.phase).toBe('Blocked');
    expect(condition(r, 'Stalled')).toMatchObject({ status: 'True', reason });
    expect(r.plan.some((p) => p.blockedBy?.message === message)).toBe(true);
  });
});

// ------------------------------------------------------------------ the example repository

describe('example-repo accounts (seeds 001, 003)', () => {
  it('acme-w360 in its test phase: the Paris WRS takes the test tag first, remote laptops stay on the account tag, and the USB keys are up to date (seed 001)', async () => {
    const state = await new DesiredStateLoader().load(await openDesiredSource(locateRepository(EXAMPLE_REPO)));
    const index = new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release'));
    const acme = state.objects.find((o): o is Account => o.kind === 'Account' && o.metadata.name === 'acme-w360')!;
    const agents = Object.fromEntries([...acme.spec.repositoryServers, ...acme.spec.devices].map((m) => [m.name, at('4.2.1')]));
    const artifacts = Object.fromEntries(index.ofProduct('w360-core').map((r) => [r.metadata.name, 'verified' as const]));
    const r = reconcileAccount({ object: acme, releases: index, revision: null }, observed(agents, artifacts), undefined, NOW);
    expect(cmds(r)).toEqual(['apply acme-wrs-paris 4.3.0']);
    expect(r.status.summary).toBe('7/9 devices updated, 1/2 WRS');
    expect(r.status.reminders).toBeUndefined();
    expect(steps(r)).toContain('apply acme-ws-001 4.3.0: WaitingForRepositoryServer');
  });

  it('globex-cebox: auto-update and restarts left to the users, the cloud console updated on its own (seed 003)', async () => {
    const state = await new DesiredStateLoader().load(await openDesiredSource(locateRepository(EXAMPLE_REPO)));
    const index = new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release'));
    const globex = state.objects.find((o): o is Account => o.kind === 'Account' && o.metadata.name === 'globex-cebox')!;
    const agents: Record<string, AgentSpec> = Object.fromEntries([...globex.spec.repositoryServers, ...globex.spec.devices].map((m) => [m.name, { components: [running('cebox-os', '2.8.4')] }]));
    agents['globex-cebox-infrastructure'] = infraAt('2026.10.2');
    const artifacts = Object.fromEntries(state.objects.filter((o) => o.kind === 'Release').map((o) => [o.metadata.name, 'verified' as const]));
    const r = reconcileAccount({ object: globex, releases: index, revision: null }, observed(agents, artifacts), undefined, NOW);
    expect(cmds(r)[0]).toBe('apply infrastructure 2026.11.0');
    expect(r.commands.every((c) => c.member === 'infrastructure' || c.member.startsWith('globex-wrs-'))).toBe(true);
    expect(r.status.reminders).toEqual([
      expect.stringMatching(/^2\.9\.0 was let into production without converging on the test ring, by spec\.promotion\.override: /),
      expect.stringMatching(/^regenerate install media \(USB keys\) for .*: they were generated for 2\.8\.4$/),
    ]);
  });
});

// ------------------------------------------------------------------ property test

interface World {
  readonly spec: AccountSpec;
  readonly rels: Release[];
  readonly agents: Record<string, AgentSpec>;
  readonly artifacts: Record<string, ArtifactCheck['status']>;
}

function randomWorld(seed: number): World {
  const rnd = prng(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number): boolean => rnd() < p;
  const stable = pick(VERSIONS);
  const test = pick(VERSIONS);
  const rels = releases(stable, test);
  const wrs = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, i) => ({ name: `wrs-${i}` }));
  const devices: Device[] = Array.from({ length: Math.floor(rnd() * 16) }, (_, i) => ({ name: `ws-${i}`, repositoryServer: chance(0.25) ? 'cloud' : pick(wrs).name }));
  const ringWrs = wrs.filter(() => chance(0.4)).map((w) => w.name);
  const ringDevices = devices.filter((d) => (d.repositoryServer === 'cloud' || ringWrs.includes(d.repositoryServer)) && chance(0.5)).map((d) => d.name);
  const withRing = chance(0.6);
  const withInfra = chance(0.3);
  const s: AccountSpec = {
    product: P,
    defaultTag: 'stable',
    restartPolicy: chance(0.5) ? 'Immediate' : 'LeaveToUser',
    autoUpdate: chance(0.3),
    repositoryServers: wrs,
    devices,
    ...(withRing ? { testRing: { tag: '4.3-test', repositoryServers: ringWrs, devices: ringDevices } } : {}),
    ...(withInfra ? { infrastructure: { release: pick(CLOUD_RELEASES).metadata.name } } : {}),
  };
  const agents: Record<string, AgentSpec> = {};
  const versionsOf = (product: string) => (product === P ? VERSIONS : (['2026.10.2', '2026.11.0'] as const));
  const agentFor = (name: string, product: string, isWrs: boolean): void => {
    if (chance(0.1)) return; // never reported
    const version = chance(0.9) ? pick(versionsOf(product)) : undefined;
    const results: CommandResult[] = [];
    for (const action of ['apply', 'restart'] as const) {
      if (chance(0.25)) results.push(ok(commandId(T, product === P ? name : 'infrastructure', action, pick(versionsOf(product))), pick(['succeeded', 'failed', 'running'] as const)));
    }
    agents[product === P ? name : 'acme-infrastructure'] = {
      online: chance(0.8),
      components: [{ product, ...(version ? { version } : {}), state: 'running', ...(chance(0.25) ? { pendingRestart: true } : {}), ...(isWrs && chance(0.3) ? { serves: VERSIONS.filter(() => chance(0.5)) } : {}) }],
      results,
    };
  };
  for (const w of wrs) agentFor(w.name, P, true);
  for (const d of devices) agentFor(d.name, P, false);
  if (withInfra) agentFor('infrastructure', 'cebox-cloud', false);
  const artifacts: Record<string, ArtifactCheck['status']> = {};
  for (const r of [...rels, ...CLOUD_RELEASES]) {
    const x = rnd();
    if (x < 0.7) artifacts[r.metadata.name] = 'verified';
    else if (x < 0.8) artifacts[r.metadata.name] = 'pending';
    else if (x < 0.9) artifacts[r.metadata.name] = 'failed';
  }
  return { spec: s, rels, agents, artifacts };
}

describe('invariants over random accounts (seeds 001, 003)', () => {
  const SEEDS = Array.from({ length: 400 }, (_, i) => 1_000 + i);

  it('random accounts never break the ordering rules, and the runnable plan steps are exactly the commands (seeds 001, 003)', () => {
    let commandsSeen = 0;
    for (const seed of SEEDS) {
      const w = randomWorld(seed);
      const run = (previous?: TargetStatus) => reconcile(w.spec, w.agents, { releases: w.rels, artifacts: w.artifacts, ...(previous ? { previous } : {}) });
      const r = run();
      const where = `seed ${seed}`;
      const obs = observed(w.agents, w.artifacts);
      const wrsByName = new Set(w.spec.repositoryServers.map((x) => x.name));
      const deviceByName = new Map(w.spec.devices.map((d) => [d.name, d]));
      const componentAt = (agent: string, product: string) => obs.agents.get(agent)?.components.find((c) => c.product === product);
      const seen = new Set<string>();
      for (const c of r.commands) {
        commandsSeen++;
        const isInfra = c.member === 'infrastructure';
        const product = isInfra ? 'cebox-cloud' : P;
        const a = obs.agents.get(c.agent);
        // one command per member per pass, with its deterministic id
        expect(seen.has(c.member), where).toBe(false);
        seen.add(c.member);
        expect(c.id, where).toBe(commandId(T, c.member, c.action, c.version));
        // no command to an offline member
        expect(a?.online, where).toBe(true);
        // no command for a package that is not verified
        expect(w.artifacts[`${product}-${c.version}`], where).toBe('verified');
        // a failed or running command is not re-sent
        expect(a?.results.find((x) => x.id === c.id && x.status !== 'succeeded'), where).toBeUndefined();
        // restart only after the install is reported
        if (c.action === 'restart') expect(componentAt(c.agent, product)?.version, where).toBe(c.version);
        else expect(c.artifact?.version, where).toBe(c.version);
        const device = deviceByName.get(c.member);
        if (device && !wrsByName.has(c.member)) {
          // no device command with auto-update
          expect(w.spec.autoUpdate, where).toBe(false);
          if (device.repositoryServer !== 'cloud' && c.action === 'apply') {
            // never a version its WRS does not serve
            const wrsObs = obs.agents.get(device.repositoryServer);
            const wc = componentAt(device.repositoryServer, P);
            // the WRS runs it, restarted, and serves it
            const serves = wc !== undefined && wc.version === c.version && wc.pendingRestart !== true && (wc.serves ?? []).includes(c.version!);
            expect(wrsObs?.online && serves, where).toBe(true);
          }
          if (c.action === 'restart') expect(w.spec.restartPolicy, where).toBe('Immediate');
        }
      }
      // runnable plan steps ⇔ commands, one to one and in the same order; every other step says why
      expect(r.plan.filter((s) => s.runnable).map((s) => `${s.member} ${s.action} ${s.version}`), where).toEqual(r.commands.map((c) => `${c.member} ${c.action} ${c.version}`));
      for (const s of r.plan) if (!s.runnable) expect(s.blockedBy, where).toBeDefined();
      // every declared member is in the status, once
      expect(r.status.members.length, where).toBe(w.spec.repositoryServers.length + w.spec.devices.length + (w.spec.infrastructure ? 1 : 0));
      // converged ⇔ nothing left
      expect(r.status.phase === 'Converged', where).toBe(r.plan.length === 0 && r.status.members.every((m) => m.state === 'Updated'));
      // restart-resume and determinism
      expect(JSON.stringify(run()), where).toBe(JSON.stringify(r));
      expect(run(r.status).commands, where).toEqual(r.commands);
    }
    expect(commandsSeen).toBeGreaterThan(200); // the generator does exercise commands
  });
});

// ------------------------------------------------------------------ scale

describe('scale', () => {
  it('reconciles an account of 100,000 devices behind 100 WRS in one pass (seeds 001, 003)', () => {
    const N = 100_000;
    const wrs = Array.from({ length: 100 }, (_, i) => ({ name: `wrs-${i}` }));
    const devices: Device[] = Array.from({ length: N }, (_, i) => ({ name: `ws-${i}`, repositoryServer: i % 10 === 9 ? 'cloud' : `wrs-${i % 100}` }));
    const agents: Record<string, AgentSpec> = {};
    for (const w of wrs) agents[w.name] = wrsAt('4.3.0');
    for (const [i, d] of devices.entries()) agents[d.name] = at(i % 4 === 0 ? '4.3.0' : '4.2.1');
    const r = reconcile(spec({ repositoryServers: wrs, devices }), agents);
    const todo = N - N / 4;
    expect(r.commands).toHaveLength(todo);
    expect(r.commands.every((c) => c.action === 'apply' && c.version === '4.3.0')).toBe(true);
    expect(r.plan).toHaveLength(2 * todo);
    expect(r.plan.filter((s) => s.runnable)).toHaveLength(todo);
    expect(r.status.members).toHaveLength(N + 100);
    expect(r.status.summary).toBe(`${N / 4}/${N} devices at 4.3.0, 100/100 WRS`);
    expect(r.status.phase).toBe('Progressing');
    expect(new Set(r.commands.map((c) => c.id)).size).toBe(todo);
  });
});
