/**
 * The simulated driver answers every command as a real member of each kind would: driven by
 * the real reconcilers, each target reaches Converged — and the behaviour knobs produce the
 * situations the reconcilers must report.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { reconcileDistributionServer } from '../../reconcilers/distribution-server/reconcile.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import { reconcileHACluster } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { ContentInventory } from '../../protocol/content.ts';
import { desired, input, release } from '../helpers/observed.ts';
import { ArtifactServer } from './helpers/artifact-server.ts';
import { command, tempDir } from './helpers/agent-kit.ts';
import { reconcileUntilSettled, SimulatedFleet, type MemberSetup } from './helpers/simulated-fleet.ts';

// Started at collection: the releases below are built from its URL.
const artifacts = await ArtifactServer.start();
afterAll(async () => {
  await artifacts.close();
});

/** A release whose package is the genuine demo package, served by the test's artifact server. */
function servedRelease(product: string, version: string, tags: string[] = []): Release {
  const r = release(`${product}-${version}`, product, version, tags);
  const { release: _name, product: _p, version: _v, ...artifact } = artifacts.artifact(product, version);
  return { ...r, spec: { ...r.spec, artifact } };
}

describe('the simulated driver, driven by the reconcilers', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let fleet: SimulatedFleet | undefined;
  beforeEach(async () => {
    dir = await tempDir('fleet');
  });
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
    await dir.remove();
  });

  describe('HACluster (seed 004)', () => {
    const ums = servedRelease('igel-ums', '12.08.110');
    const cluster = desired('HACluster', 'ums-prod', {
      release: ums.metadata.name,
      servers: [{ name: 'ums-1' }, { name: 'ums-2' }, { name: 'ums-3' }],
      loadBalancers: [{ name: 'ums-lb-1' }],
      consoles: [{ name: 'ums-console-admin' }],
      updateOrder: ['ums-2', 'ums-1', 'ums-3'],
      preflight: { maxClockSkewSeconds: 60, backup: 'Command', orphanCheck: true },
    });
    const server = (extra: Partial<MemberSetup> = {}): MemberSetup => ({
      machine: { components: [{ product: 'igel-ums', version: '12.07.100', state: 'running', mode: 'normal' }], facts: { registeredMembers: ['ums-1', 'ums-2', 'ums-3', 'ums-lb-1'] } },
      ...extra,
    });
    const other: MemberSetup = { machine: { components: [{ product: 'igel-ums', version: '12.07.100', state: 'running' }] } };
    const members = (overrides: Record<string, MemberSetup> = {}): Record<string, MemberSetup> => ({
      'ums-1': server(),
      'ums-2': server(),
      'ums-3': server(),
      'ums-lb-1': other,
      'ums-console-admin': other,
      ...overrides,
    });

    it('converges: installer everywhere, a backup, servers one at a time in update mode, the last migrates, the others leave update mode, then the load balancer, then the console', async () => {
      fleet = await SimulatedFleet.create(dir.path, members());
      const { final, passes } = await reconcileUntilSettled(reconcileHACluster, input(cluster, [ums]), fleet, [ums.metadata.name]);
      expect(final.status.phase).toBe('Converged');
      const steps = passes.flat();
      expect(steps.filter((s) => s.endsWith(' stage')).sort()).toEqual(['ums-1 stage', 'ums-2 stage', 'ums-3 stage', 'ums-console-admin stage', 'ums-lb-1 stage']);
      const order = steps.filter((s) => !s.endsWith(' stage'));
      expect(order).toEqual([
        'ums-2 backup',
        'ums-2 apply',
        'ums-1 apply',
        'ums-3 apply',
        'ums-3 migrate',
        'ums-2 end-update-mode',
        'ums-1 end-update-mode',
        'ums-lb-1 apply',
        'ums-console-admin apply',
      ]);
      // Never two server applies in one pass: one server at a time.
      for (const pass of passes) expect(pass.filter((s) => /^ums-\d apply$/.test(s)).length).toBeLessThanOrEqual(1);
    });

    it('a server stuck in update mode blocks the rollout with the action that ends it', async () => {
      fleet = await SimulatedFleet.create(dir.path, members({ 'ums-1': server({ behaviour: { stuckInUpdateMode: true } }) }));
      const { final } = await reconcileUntilSettled(reconcileHACluster, input(cluster, [ums]), fleet, [ums.metadata.name]);
      expect(final.status.phase).toBe('Blocked');
      expect(final.status.conditions.find((c) => c.type === 'Stalled')?.reason).toBe('StuckInUpdateMode');
      expect(final.status.members.find((m) => m.name === 'ums-1')?.message).toMatch(/End update mode for local UMS Server/);
    });

    it('a server whose clock is two minutes off fails the clock-skew preflight: nothing is applied', async () => {
      fleet = await SimulatedFleet.create(dir.path, members({ 'ums-3': server({ behaviour: { clockSkewMs: 120_000 } }) }));
      const { final, passes } = await reconcileUntilSettled(reconcileHACluster, input(cluster, [ums]), fleet, [ums.metadata.name]);
      expect(final.status.phase).toBe('Blocked');
      expect(final.status.conditions.find((c) => c.type === 'Stalled')?.reason).toBe('ClockSkew');
      expect(passes.flat().filter((s) => s.endsWith(' apply'))).toEqual([]);
    });
  });

  describe('Account (seeds 001, 003)', () => {
    const v421 = servedRelease('w360-core', '4.2.1');
    const v430 = servedRelease('w360-core', '4.3.0', ['stable']);
    const account = desired('Account', 'acme-w360', {
      product: 'w360-core',
      defaultTag: 'stable',
      restartPolicy: 'Immediate',
      autoUpdate: false,
      repositoryServers: [{ name: 'acme-wrs-paris' }],
      devices: [
        { name: 'acme-ws-001', repositoryServer: 'acme-wrs-paris' },
        { name: 'acme-laptop-901', repositoryServer: 'cloud' },
      ],
    });

    it('converges: the WRS installs and restarts (then serves 4.3.0) before its device; the remote laptop does not wait; devices restart to finalise', async () => {
      fleet = await SimulatedFleet.create(dir.path, {
        'acme-wrs-paris': { machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running', serves: ['4.2.1'] }] } },
        'acme-ws-001': { machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }] } },
        'acme-laptop-901': { machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }] } },
      });
      const { final, passes } = await reconcileUntilSettled(reconcileAccount, input(account, [v421, v430]), fleet, [v421.metadata.name, v430.metadata.name]);
      expect(final.status.phase).toBe('Converged');
      expect(passes[0]).toEqual(['acme-wrs-paris apply', 'acme-laptop-901 apply']);
      const steps = passes.flat();
      expect(steps.indexOf('acme-wrs-paris restart')).toBeLessThan(steps.indexOf('acme-ws-001 apply'));
      expect(steps).toContain('acme-ws-001 restart');
      expect(steps).toContain('acme-laptop-901 restart');
      const wrs = (await fleet.driver('acme-wrs-paris').inventory()).components[0];
      expect(wrs).toEqual({ product: 'w360-core', version: '4.3.0', state: 'running', serves: ['4.2.1', '4.3.0'], installedAt: expect.any(String) });
    });

    it('a device that lies about its version never converges: its apply succeeded, yet the controller keeps seeing the old version', async () => {
      fleet = await SimulatedFleet.create(dir.path, {
        'acme-wrs-paris': { machine: { components: [{ product: 'w360-core', version: '4.3.0', state: 'running', serves: ['4.3.0'] }] } },
        'acme-ws-001': { machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }] }, behaviour: { lieAboutVersion: '4.2.1' } },
        'acme-laptop-901': { machine: { components: [{ product: 'w360-core', version: '4.3.0', state: 'running' }] } },
      });
      const { final } = await reconcileUntilSettled(reconcileAccount, input(account, [v421, v430]), fleet, [v421.metadata.name, v430.metadata.name]);
      expect(final.status.phase).toBe('Progressing');
      expect(final.status.members.find((m) => m.name === 'acme-ws-001')).toMatchObject({ observed: '4.2.1', state: 'Updating' });
      expect(final.commands.map((c) => `${c.member} ${c.action}`)).toEqual(['acme-ws-001 apply']); // sent again, harmlessly: it ran once
    });
  });

  describe('Domain (seed 000)', () => {
    it('converges: master staged and applied, then the package propagated to every slave, then applied', async () => {
      const wd = servedRelease('watchdoc', '6.1.4');
      const domain = desired('Domain', 'print-branches', {
        release: wd.metadata.name,
        master: { name: 'wd-branches-master', update: 'Controller' },
        slaves: [
          { name: 'wd-lille', sync: 'mailbox' },
          { name: 'wd-rennes', sync: 'bidirectional', endpoint: 'https://wd-rennes.corp.example:8443' },
        ],
      });
      const at613: MemberSetup = { machine: { components: [{ product: 'watchdoc', version: '6.1.3', state: 'running' }] } };
      fleet = await SimulatedFleet.create(dir.path, { 'wd-branches-master': at613, 'wd-lille': at613, 'wd-rennes': at613 });
      const { final, passes } = await reconcileUntilSettled(reconcileDomain, input(domain, [wd]), fleet, [wd.metadata.name]);
      expect(final.status.phase).toBe('Converged');
      expect(passes).toEqual([['wd-branches-master stage'], ['wd-branches-master apply'], ['wd-lille stage', 'wd-rennes stage'], ['wd-lille apply', 'wd-rennes apply']]);
    });
  });

  describe('DistributionServer (seed 002)', () => {
    it('converges: the console copies to the server exactly what it lacks', async () => {
      const f = (path: string, digit: string): { path: string; sha256: string } => ({ path, sha256: digit.repeat(64) });
      const held: ContentInventory = { 'engines-definitions': [f('engines/av-engine-5.2.dll', '1'), f('definitions/defs-2026-11-22.dat', '2')], patches: [f('patches/kb5046617.msu', '3')] };
      const behind: ContentInventory = { 'engines-definitions': [f('engines/av-engine-5.2.dll', '1'), f('definitions/defs-2026-11-22.dat', '9')], patches: [] };
      const ds = desired('DistributionServer', 'ds-paris', {
        address: '\\\\ds-paris.corp.example\\SecurityControls',
        credentialRef: 'ivanti-ds-paris',
        downloadSourceFor: [],
        syncs: [{ name: 'everything', content: 'all', console: 'console-hq', schedule: { frequency: 'daily', at: '03:30', timeZone: 'Europe/Paris' }, runNow: '2026-11-22T09:00:00Z' }],
      });
      fleet = await SimulatedFleet.create(dir.path, {
        'console-hq': { machine: { components: [], facts: { downloading: false, content: held } } },
        'ds-paris': { machine: { components: [], facts: { content: behind } } },
      });
      const { final, passes } = await reconcileUntilSettled(reconcileDistributionServer, { ...input(ds, []), consoleId: 'console-hq' }, fleet, [], ['ivanti-ds-paris']);
      expect(passes).toEqual([['ds-paris sync']]);
      expect(final.status.phase).toBe('Converged');
      expect((await fleet.driver('ds-paris').inventory()).facts?.content).toEqual(held);
    });
  });
});

describe('the simulated driver on its own', () => {
  const apply = command('account/acme-w360', 'acme-ws-001', 'apply', { product: 'w360-core', version: '4.3.0' });

  it('fails the share of commands its failure rate says, the same ones for the same seed', async () => {
    const outcomes = async (seed: number): Promise<boolean[]> => {
      const d = new SimulatedDriver({ machine: { components: [] }, behaviour: { failureRate: 0.3, seed } });
      const out: boolean[] = [];
      for (let i = 0; i < 200; i++) out.push((await d.run(apply, {})).ok);
      return out;
    };
    const a = await outcomes(42);
    expect(await outcomes(42)).toEqual(a);
    const failures = a.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(40);
    expect(failures).toBeLessThan(80);
    expect(await outcomes(43)).not.toEqual(a);
  });

  it('reports installing while an apply runs, and keeps the machine as before the apply in its saved state until it is done', async () => {
    const d = new SimulatedDriver({ machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }] }, behaviour: { installMs: 200 } });
    const running = d.run(apply, {});
    await new Promise((r) => setTimeout(r, 50));
    expect((await d.inventory()).components[0]).toMatchObject({ version: '4.2.1', state: 'installing' });
    expect(d.memory.snapshot()).toMatchObject({ components: [{ version: '4.2.1', state: 'running' }] });
    expect(await running).toEqual({ ok: true, message: 'installed w360-core 4.3.0, restart pending' });
    expect((await d.inventory()).components[0]).toEqual({
      product: 'w360-core', version: '4.3.0', state: 'running', pendingRestart: true, installedAt: expect.any(String),
    });
  });

  it('skews its clock by clockSkewMs', () => {
    const d = new SimulatedDriver({ machine: { components: [] }, behaviour: { clockSkewMs: -90_000 }, now: () => Date.UTC(2026, 10, 22, 10) });
    expect(new Date(d.clock()).toISOString()).toBe('2026-11-22T09:58:30.000Z');
  });
});
