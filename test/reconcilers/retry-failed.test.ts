import { describe, expect, it } from 'vitest';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { attempt, commandId, retryId } from '../../reconcilers/command-id.ts';
import type { Action } from '../../protocol/action.ts';
import type { ReconcileResult } from '../../reconcilers/contract.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import { reconcileHACluster } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { AccountSpec, HAClusterSpec } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import { NOW, desired, input, observed, release, running, type AgentSpec } from '../helpers/observed.ts';

/**
 * Retry of failed members by a commit (issue 8, item 1): agents run a command id once and
 * report its result for ever after, so a failed step stays failed — until `spec.rollout.retryFailed`
 * is set (or bumped) to a time after the failure. Then that step, and only that one, is sent
 * again under a new id, and judged by that id's result from then on.
 */

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
/** The commit that asks for a retry: an hour ago. */
const BUMP = iso(NOW - HOUR);
const outcome = (id: string, status: CommandResult['status'], at: number, message?: string): CommandResult => ({ id, status, at: iso(at), ...(message ? { message } : {}) });

// ------------------------------------------------------------------ the rule

describe('which attempt of a step is current', () => {
  const T: TargetId = 'account/acme';
  const base = commandId(T, 'ws-001', 'apply', '4.3.0');
  const retried = (bump: string) => retryId(T, 'ws-001', 'apply', '4.3.0', bump);
  it.each([
    { name: 'never ran', results: [], retryFailed: BUMP, id: base },
    { name: 'failed, no retry asked', results: [outcome(base, 'failed', NOW - 2 * HOUR)], retryFailed: undefined, id: base },
    { name: 'failed before the bump', results: [outcome(base, 'failed', NOW - 2 * HOUR)], retryFailed: BUMP, id: retried(BUMP) },
    { name: 'failed after the bump', results: [outcome(base, 'failed', NOW - HOUR / 2)], retryFailed: BUMP, id: base },
    { name: 'failed at the very time of the bump', results: [outcome(base, 'failed', NOW - HOUR)], retryFailed: BUMP, id: base },
    { name: 'running when the bump came', results: [outcome(base, 'running', NOW - 2 * HOUR)], retryFailed: BUMP, id: base },
    { name: 'succeeded', results: [outcome(base, 'succeeded', NOW - 2 * HOUR)], retryFailed: BUMP, id: base },
    { name: 'failed at a time that does not read', results: [{ id: base, status: 'failed' as const, at: 'yesterday' }], retryFailed: BUMP, id: base },
    { name: 'retried once, bumped again', results: [outcome(base, 'failed', NOW - 3 * HOUR), outcome(retried(iso(NOW - 2 * HOUR)), 'failed', NOW - 90 * 60_000)], retryFailed: BUMP, id: retried(BUMP) },
  ])('$name', ({ results, retryFailed, id }) => {
    const obs = { agent: 'ws-001', online: true, components: [], results };
    expect(attempt(obs, T, 'ws-001', 'apply', '4.3.0', retryFailed).id).toBe(id);
  });

  it('a retry is judged by its own result from then on', () => {
    const again = retried(BUMP);
    const obs = { agent: 'ws-001', online: true, components: [], results: [outcome(base, 'failed', NOW - 2 * HOUR, 'disk full'), outcome(again, 'running', NOW - 60_000)] };
    expect(attempt(obs, T, 'ws-001', 'apply', '4.3.0', BUMP)).toEqual({ id: again, result: obs.results[1], retryOf: obs.results[0] });
  });
});

// ------------------------------------------------------------------ Account (seeds 001, 003)

describe('accounts: failed members are retried by a commit, and only they', () => {
  const T = 'account/acme' as const;
  const P = 'w360-core';
  const RELEASES = [release('w360-core-4.2.1', P, '4.2.1'), release('w360-core-4.3.0', P, '4.3.0', ['stable'])];
  const VERIFIED = { 'w360-core-4.2.1': 'verified', 'w360-core-4.3.0': 'verified' } as const;
  const DEVICES = ['ws-001', 'ws-002', 'ws-003', 'ws-004'];
  function spec(retryFailed?: string): AccountSpec {
    return {
      product: P,
      defaultTag: 'stable',
      restartPolicy: 'Immediate',
      autoUpdate: false,
      repositoryServers: [{ name: 'wrs-paris' }],
      devices: DEVICES.map((name) => ({ name, repositoryServer: 'wrs-paris' })),
      installMedia: { generatedFor: '4.3.0' },
      ...(retryFailed !== undefined ? { rollout: { retryFailed } } : {}),
    };
  }
  const apply = (m: string) => commandId(T, m, 'apply', '4.3.0');
  const at = (version: string, results: CommandResult[] = [], extra: Partial<ComponentReport> = {}): AgentSpec => ({ components: [running(P, version, extra)], results });
  /** ws-001 failed two hours ago, ws-002 half an hour ago, ws-003 is installing, ws-004 has not started. */
  const FLEET: Record<string, AgentSpec> = {
    'wrs-paris': at('4.3.0', [], { serves: ['4.3.0'] }),
    'ws-001': at('4.2.1', [outcome(apply('ws-001'), 'failed', NOW - 2 * HOUR, 'disk full')]),
    'ws-002': at('4.2.1', [outcome(apply('ws-002'), 'failed', NOW - HOUR / 2, 'disk full')]),
    'ws-003': at('4.2.1', [outcome(apply('ws-003'), 'running', NOW - 2 * HOUR)]),
    'ws-004': at('4.2.1'),
  };
  const reconcile = (retryFailed: string | undefined, agents: Record<string, AgentSpec> = FLEET): ReconcileResult =>
    reconcileAccount(input(desired('Account', 'acme', spec(retryFailed)), RELEASES), observed(agents, VERIFIED), undefined, NOW);
  const ids = (r: ReconcileResult) => Object.fromEntries(r.commands.map((c) => [c.member, c.id]));
  const states = (r: ReconcileResult) => Object.fromEntries(r.status.members.filter((m) => m.role === 'device').map((m) => [m.name, m.state]));

  it.each([
    { name: 'no retry asked', retryFailed: undefined, sent: { 'ws-004': apply('ws-004') }, ws001: 'Failed' },
    { name: 'retryFailed after the first failure only', retryFailed: BUMP, sent: { 'ws-001': retryId(T, 'ws-001', 'apply', '4.3.0', BUMP), 'ws-004': apply('ws-004') }, ws001: 'Updating' },
  ])('$name', ({ retryFailed, sent, ws001 }) => {
    const r = reconcile(retryFailed);
    expect(ids(r)).toEqual(sent);
    expect(states(r)).toEqual({ 'ws-001': ws001, 'ws-002': 'Failed', 'ws-003': 'Updating', 'ws-004': 'Updating' });
    // the retried command is the same step: same action, version and package
    if (retryFailed) expect(r.commands[0]).toMatchObject({ member: 'ws-001', action: 'apply', version: '4.3.0', artifact: { release: 'w360-core-4.3.0' } });
  });

  it('the retry is then looked up under its own id: running is not re-sent, a new failure shows, a second bump retries again', () => {
    const again = retryId(T, 'ws-001', 'apply', '4.3.0', BUMP);
    const base = FLEET['ws-001']!.results!;
    const running = reconcile(BUMP, { ...FLEET, 'ws-001': at('4.2.1', [...base, outcome(again, 'running', NOW - 60_000)]) });
    expect(ids(running)['ws-001']).toBeUndefined();
    expect(states(running)['ws-001']).toBe('Updating');
    const failedAgain = { ...FLEET, 'ws-001': at('4.2.1', [...base, outcome(again, 'failed', NOW - 10 * 60_000, 'disk still full')]) };
    const failed = reconcile(BUMP, failedAgain);
    expect(ids(failed)['ws-001']).toBeUndefined();
    expect(failed.status.members.find((m) => m.name === 'ws-001')).toMatchObject({ state: 'Failed', message: 'apply 4.3.0 failed: disk still full' });
    const bumped = reconcile(iso(NOW), failedAgain);
    expect(ids(bumped)).toMatchObject({ 'ws-001': retryId(T, 'ws-001', 'apply', '4.3.0', iso(NOW)), 'ws-002': retryId(T, 'ws-002', 'apply', '4.3.0', iso(NOW)) });
  });

  it("a WRS's failed restart is retried, and the devices behind it still wait for it", () => {
    const restart = commandId(T, 'wrs-paris', 'restart', '4.3.0');
    const agents = { ...FLEET, 'wrs-paris': at('4.3.0', [outcome(commandId(T, 'wrs-paris', 'apply', '4.3.0'), 'succeeded', NOW - 3 * HOUR), outcome(restart, 'failed', NOW - 2 * HOUR, 'service did not stop')]) };
    expect(reconcile(undefined, agents).status.phase).toBe('Failed');
    const r = reconcile(BUMP, agents);
    expect(r.commands.find((c) => c.member === 'wrs-paris')).toMatchObject({ action: 'restart', id: retryId(T, 'wrs-paris', 'restart', '4.3.0', BUMP) });
    expect(r.plan.find((s) => s.member === 'ws-004' && s.action === 'apply')?.blockedBy?.reason).toBe('WaitingForRepositoryServer');
  });
});

// ------------------------------------------------------------------ HACluster (seed 004)

describe('HA clusters: a failed server step is retried by a commit', () => {
  const T = 'hacluster/ums-prod' as const;
  const PRODUCT = 'igel-ums';
  const V = '12.08.110';
  const RELEASES = [release('igel-ums-12.07.100', PRODUCT, '12.07.100'), release('igel-ums-12.08.110', PRODUCT, V)];
  const SERVERS = ['ums-1', 'ums-2'];
  function spec(retryFailed?: string): HAClusterSpec {
    return {
      release: 'igel-ums-12.08.110',
      servers: SERVERS.map((name) => ({ name })),
      loadBalancers: [],
      consoles: [],
      preflight: { maxClockSkewSeconds: 60, backup: 'External', orphanCheck: true },
      ...(retryFailed !== undefined ? { rollout: { retryFailed } } : {}),
    };
  }
  const id = (m: string, action: Action) => commandId(T, m, action, V);
  /** A UMS server at `version`, running, in `mode`, holding the installer, with a fresh backup and no orphans. */
  const ums = (version: string, mode: 'normal' | 'update', results: CommandResult[] = [], verified = true): AgentSpec => ({
    components: [{ product: PRODUCT, version, state: 'running', mode, staged: { version: V, verified } }],
    results,
    facts: { clock: iso(NOW - 5_000), lastBackup: iso(NOW - 10 * 60_000), registeredMembers: SERVERS },
  });
  const reconcile = (retryFailed: string | undefined, agents: Record<string, AgentSpec>): ReconcileResult =>
    reconcileHACluster(input(desired('HACluster', 'ums-prod', spec(retryFailed)), RELEASES), observed(agents, { 'igel-ums-12.08.110': 'verified' }), undefined, NOW);
  const sent = (r: ReconcileResult) => r.commands.map((c) => `${c.action} ${c.member} ${c.id}`);

  it.each([
    {
      name: "the first server's failed apply (the installer rolled back, UMS runs again)",
      agents: { 'ums-1': ums('12.07.100', 'normal', [outcome(id('ums-1', 'apply'), 'failed', NOW - 2 * HOUR, 'installer exited with 1')]), 'ums-2': ums('12.07.100', 'normal') },
      phase: 'Failed',
      stopped: 'ApplyFailed',
      retried: (bump: string) => [`apply ums-1 ${retryId(T, 'ums-1', 'apply', V, bump)}`],
    },
    {
      name: "the last server's failed schema migration",
      // ums-2 was updated last (its apply finished after ums-1's): it migrates the schema
      agents: { 'ums-1': ums(V, 'update', [outcome(id('ums-1', 'apply'), 'succeeded', NOW - 3 * HOUR)]), 'ums-2': ums(V, 'update', [outcome(id('ums-2', 'apply'), 'succeeded', NOW - 5 * HOUR / 2), outcome(id('ums-2', 'migrate'), 'failed', NOW - 2 * HOUR, 'schema lock')]) },
      phase: 'Failed',
      stopped: 'MigrationFailed',
      retried: (bump: string) => [`migrate ums-2 ${retryId(T, 'ums-2', 'migrate', V, bump)}`],
    },
    {
      name: 'a failed stage of the installer, which did not verify',
      agents: { 'ums-1': ums('12.07.100', 'normal', [outcome(id('ums-1', 'stage'), 'failed', NOW - 2 * HOUR, 'signature does not verify')], false), 'ums-2': ums('12.07.100', 'normal') },
      phase: 'Failed',
      stopped: 'PackageNotVerified',
      retried: (bump: string) => [`stage ums-1 ${retryId(T, 'ums-1', 'stage', V, bump)}`],
    },
  ])('$name', ({ agents, phase, stopped, retried }) => {
    const failed = reconcile(undefined, agents);
    expect(failed.status.phase).toBe(phase);
    expect(failed.status.conditions.find((c) => c.type === 'Stalled')?.reason).toBe(stopped);
    expect(failed.commands).toEqual([]);
    // a failure after the bump is not retried
    expect(reconcile(iso(NOW - 3 * HOUR), agents).commands).toEqual([]);
    const r = reconcile(BUMP, agents);
    expect(sent(r)).toEqual(retried(BUMP));
    expect(r.status.phase).toBe('Progressing');
  });

  it('a retried server apply that fails again stops the rollout again, with its own message', () => {
    const base = outcome(id('ums-1', 'apply'), 'failed', NOW - 2 * HOUR, 'installer exited with 1');
    const again = outcome(retryId(T, 'ums-1', 'apply', V, BUMP), 'failed', NOW - 10 * 60_000, 'installer exited with 2');
    const r = reconcile(BUMP, { 'ums-1': ums('12.07.100', 'normal', [base, again]), 'ums-2': ums('12.07.100', 'normal') });
    expect(r.commands).toEqual([]);
    expect(r.status.conditions.find((c) => c.type === 'Stalled')?.message).toContain('installer exited with 2');
  });
});

// ------------------------------------------------------------------ Domain (seed 000)

describe('domains: a failed slave step is retried by a commit', () => {
  const T = 'domain/print-paris' as const;
  const PRODUCT = 'watchdoc';
  const RELEASES = [release('watchdoc-6.1.3', PRODUCT, '6.1.3'), release('watchdoc-6.1.4', PRODUCT, '6.1.4')];
  const id = (m: string, action: Action) => commandId(T, m, action, '6.1.4');
  const server = (version: string, extra: { staged?: { version: string; verified: boolean; reason?: string }; results?: CommandResult[] } = {}): AgentSpec => ({
    components: [{ ...running(PRODUCT, version), ...(extra.staged ? { staged: extra.staged } : {}) }],
    results: extra.results ?? [],
  });
  const reconcile = (retryFailed: string | undefined, agents: Record<string, AgentSpec>): ReconcileResult =>
    reconcileDomain(
      input(
        desired('Domain', 'print-paris', {
          release: 'watchdoc-6.1.4',
          master: { name: 'wd-master', update: 'Manual' },
          slaves: [
            { name: 'wd-lille', sync: 'mailbox' },
            { name: 'wd-nantes', sync: 'mailbox' },
          ],
          ...(retryFailed !== undefined ? { rollout: { retryFailed } } : {}),
        }),
        RELEASES,
      ),
      observed(agents, { 'watchdoc-6.1.4': 'verified' }),
      undefined,
      NOW,
    );
  const sent = (r: ReconcileResult) => r.commands.map((c) => `${c.action} ${c.member} ${c.id}`);
  const staged = { version: '6.1.4', verified: true };

  it.each([
    {
      name: "a slave's failed apply",
      agents: { 'wd-master': server('6.1.4'), 'wd-lille': server('6.1.3', { staged, results: [outcome(id('wd-lille', 'apply'), 'failed', NOW - 2 * HOUR, 'service locked')] }), 'wd-nantes': server('6.1.3', { staged }) },
      before: [`apply wd-nantes ${id('wd-nantes', 'apply')}`],
      after: (bump: string) => [`apply wd-lille ${retryId(T, 'wd-lille', 'apply', '6.1.4', bump)}`, `apply wd-nantes ${id('wd-nantes', 'apply')}`],
    },
    {
      name: "a slave's failed stage, its package not verified",
      agents: {
        'wd-master': server('6.1.4'),
        'wd-lille': server('6.1.3', { staged: { version: '6.1.4', verified: false, reason: 'sha256 mismatch' }, results: [outcome(id('wd-lille', 'stage'), 'failed', NOW - 2 * HOUR, 'sha256 mismatch')] }),
        'wd-nantes': server('6.1.3', { staged }),
      },
      before: [],
      after: (bump: string) => [`stage wd-lille ${retryId(T, 'wd-lille', 'stage', '6.1.4', bump)}`],
    },
  ])('$name', ({ agents, before, after }) => {
    const failed = reconcile(undefined, agents);
    expect(sent(failed)).toEqual(before);
    expect(failed.status.members.find((m) => m.name === 'wd-lille')?.state).toBe('Failed');
    const r = reconcile(BUMP, agents);
    expect(sent(r)).toEqual(after(BUMP));
    expect(r.status.members.find((m) => m.name === 'wd-lille')?.state).toBe('Updating');
  });
});
