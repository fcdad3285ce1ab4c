/**
 * The fleet simulator against a real controller, in-process, over real HTTP: its agents drive
 * the example's rollouts to the end the demo shows, go offline and come back on the same state,
 * survive a restart of the whole fleet, and are joined by the members a new commit adds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetBehaviour } from '../../agent/fleet/behaviour.ts';
import type { FleetEvent } from '../../agent/fleet/fleet-events.ts';
import { Fleet } from '../../agent/fleet/fleet.ts';
import { planFleet } from '../../agent/fleet/fleet-plan.ts';
import { FleetTokens } from '../../agent/fleet/fleet-tokens.ts';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import { domainRepo, eventually } from '../helpers/controller-fixture.ts';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { loadRevision } from '../helpers/load.ts';
import { observed } from '../helpers/observed.ts';
import { EXAMPLE_CREDENTIALS, startHarness, type Harness } from './helpers/harness.ts';

let harness: Harness | undefined;
const fleets: Fleet[] = [];
afterEach(async () => {
  for (const f of fleets.splice(0)) await f.stop();
  await harness?.close();
  harness = undefined;
});

async function startFleet(h: Harness, options: { plan: Parameters<typeof Fleet.start>[0]['plan']; behaviour: string; events?: FleetEvent[] }): Promise<Fleet> {
  const fleet = await Fleet.start({
    controllerUrl: h.controller.url,
    stateDir: h.fleetState,
    plan: options.plan,
    tokens: await FleetTokens.open({ fleetStateDir: h.fleetState, controllerStateDir: h.controllerState }),
    behaviour: FleetBehaviour.parse('test-behaviour.yaml', options.behaviour),
    artifactMirror: h.packages.mirror,
    onEvent: (e) => options.events?.push(e),
  });
  fleets.push(fleet);
  await fleet.ready();
  return fleet;
}

const phases = (h: Harness, targets: readonly string[]): string => targets.map((t) => `${t}=${h.status(t)?.phase ?? '-'}`).join(' ');

describe('a simulated fleet against a real controller', () => {
  it('drives every example target the demo can converge to Converged, and leaves the two that need a person with the reason', async () => {
    harness = await startHarness(TempRepo.create(), { credentials: EXAMPLE_CREDENTIALS, controller: { consoleId: 'console-hq' } });
    const snapshot = await readObservedSnapshot(join(ROOT, 'agent/example-observed.json'));
    if (!snapshot.ok) throw new Error('example-observed.json is invalid');
    const plan = planFleet((await loadRevision(harness.repo.dir)).objects, { observed: snapshot.observed });
    const events: FleetEvent[] = [];
    const fleet = await startFleet(harness, {
      plan,
      events,
      behaviour: `defaults: { installTime: 200ms, stepTime: 20ms, userRestartAfter: 300ms }
agents:
  - match: wd-bordeaux
    offline: [{ after: 0s, for: 1500ms }]
  - match: acme-ws-004
    offline: [{ after: 0s, for: 2s }]
  - match: wd-paris-master
    updateByHandAfter: 500ms
`,
    });
    const converging = ['account/acme-w360', 'domain/print-branches', 'domain/print-paris', 'hacluster/ums-prod', 'distributionserver/ds-paris'];
    const h = harness;
    await eventually(() => converging.every((t) => h.status(t)?.phase === 'Converged'), 40_000, `every target to converge (${phases(h, converging)})`);

    // The two the example leaves to a person: an expired credential, and a device behind a WRS the test ring keeps on the test version.
    const berlin = h.status('distributionserver/ds-berlin')!;
    expect(berlin.phase).toBe('Blocked');
    expect(berlin.conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'CredentialUnavailable' });
    const globex = await eventually(() => {
      const s = h.status('account/globex-cebox');
      return s?.members.filter((m) => m.state !== 'Updated').length === 1 ? s : undefined;
    }, 10_000, 'globex-cebox to wait on one device');
    expect(globex.phase).toBe('Waiting');
    expect(globex.members.find((m) => m.state !== 'Updated')).toMatchObject({ name: 'globex-cb-002', state: 'Waiting', message: 'WRS globex-wrs-1 does not serve 2.9.0 yet: it runs 3.0.0-rc.1' });
    // The fleet's own view of the machines may trail the controller's status by a report.
    await eventually(() => fleet.convergence().atDesired === 31, 10_000, `31 of 32 machines at their desired version (${JSON.stringify(fleet.convergence())})`);
    expect(fleet.convergence()).toEqual({ total: 32, atDesired: 31 });

    // The people and the machines the controller waited for were played, and said so.
    const said = events.map((e) => e.message);
    expect(said).toContain('wd-bordeaux starts offline (comes back in 1.5s)');
    expect(said.some((m) => /^wd-bordeaux comes back online \(offline for 1\.\ds\)$/.test(m))).toBe(true);
    expect(said).toContain('an operator updates wd-paris-master by hand to watchdoc 6.1.4 (domain/print-paris waits for it: update: Manual)');
    expect(said).toContain('globex-cb-home-1 updates itself to cebox-os 2.9.0 (account/globex-cebox: autoUpdate)');
    expect(said.filter((m) => m.startsWith('the user of globex-cb-'))).toHaveLength(4);

    // Every report was let in and none reused a sequence number; bidirectional slaves got their commands pushed.
    expect(fleet.stats().reports).toMatchObject({ unauthorized: 0, stale: 0, refused: 0 });
    expect(fleet.stats().firstDelivered).toHaveProperty(['igel-ums 12.08.110']);
    expect(await h.metrics()).toMatch(/versiond_command_pushes_total\{outcome="delivered"\} [1-9]/);
  });

  it('takes an agent offline for its period — the controller sees it silent and the rollout waits — then back on the same state', async () => {
    harness = await startHarness(domainRepo(), { controller: { heartbeatTimeoutMs: 1000 } });
    const h = harness;
    const at = (version: string) => ({ components: [{ product: 'watchdoc', version, state: 'running' as const }] });
    const plan = planFleet((await loadRevision(h.repo.dir)).objects, { observed: observed({ 'wd-master': at('6.1.4'), 'wd-s1': at('6.1.3'), 'wd-s2': at('6.1.3') }) });
    const events: FleetEvent[] = [];
    const fleet = await startFleet(h, { plan, events, behaviour: 'defaults: { installTime: 300ms }\nagents:\n  - match: wd-s2\n    offline: [{ after: 200ms, for: 1500ms }]\n' });
    const s2 = fleet.member('wd-s2')!;
    const sequenceBefore = await eventually(() => s2.runningAgent?.sequence, 5000, 'wd-s2 to report');

    await eventually(() => h.controller.inventory.observations.get('wd-s2')?.online === false, 5000, 'the controller to see wd-s2 offline');
    expect(s2.online).toBe(false);
    expect(h.status('domain/print-test')?.phase).not.toBe('Converged');
    expect(h.status('domain/print-test')?.conditions.find((c) => c.type === 'Ready')?.message).toMatch(/wd-s2/);

    await eventually(() => h.status('domain/print-test')?.phase === 'Converged', 15_000, 'the domain to converge once wd-s2 is back');
    expect(s2.online).toBe(true);
    expect(s2.runningAgent!.sequence).toBeGreaterThan(sequenceBefore);
    expect(fleet.stats().reports.stale).toBe(0); // the new agent continued the old one's sequence
    expect(events.map((e) => `${e.kind} ${e.agent}`)).toEqual(['offline wd-s2', 'online wd-s2']);
    expect(events[0]!.message).toBe('wd-s2 goes offline for 1.5s');
  });

  it('started again on its state dir, reuses its tokens and each agent\'s state; a member a new commit adds joins and is updated', async () => {
    harness = await startHarness(domainRepo(), { controller: { heartbeatTimeoutMs: 3000 } });
    const h = harness;
    const at = (version: string) => ({ components: [{ product: 'watchdoc', version, state: 'running' as const }] });
    const plan = planFleet((await loadRevision(h.repo.dir)).objects, { observed: observed({ 'wd-master': at('6.1.4'), 'wd-s1': at('6.1.3'), 'wd-s2': at('6.1.3') }) });
    const behaviour = 'defaults: { installTime: 100ms, stepTime: 10ms }\n';
    const first = await startFleet(h, { plan, behaviour });
    await eventually(() => h.status('domain/print-test')?.phase === 'Converged', 15_000, 'the domain to converge');
    await first.stop();
    const saved = JSON.parse(readFileSync(join(h.fleetState, 'agents', 'wd-s1', 'state.json'), 'utf8')) as { sequence: number; driver: { components: { version: string }[] } };
    expect(saved.driver.components[0]!.version).toBe('6.1.4');
    const issued = (await AgentCredentials.open(h.controllerState)).list();

    // The same plan again (it still says 6.1.3): the machines come back as they were saved, not as planned.
    const events: FleetEvent[] = [];
    const second = await startFleet(h, { plan, behaviour, events });
    expect((await AgentCredentials.open(h.controllerState)).list()).toEqual(issued);
    await eventually(() => (second.member('wd-s1')!.runningAgent?.sequence ?? 0) > saved.sequence, 5000, 'wd-s1 to report again');
    expect(second.member('wd-s1')!.component('watchdoc')?.version).toBe('6.1.4');
    expect(second.stats().reports).toMatchObject({ unauthorized: 0, stale: 0 });

    h.repo.edit('domains/print-test.yaml', '    - name: wd-s2\n', '    - name: wd-s3\n      sync: mailbox\n    - name: wd-s2\n').commitAll('add wd-s3');
    await second.applyDesired((await loadRevision(h.repo.dir)).objects);
    expect(events.map((e) => e.message)).toContain('wd-s3 joins the fleet (domain/print-test), running watchdoc 6.1.3');
    await eventually(() => h.status('domain/print-test')?.summary === '4/4 servers at 6.1.4', 15_000, 'the domain to update the new slave');
    expect(second.member('wd-s3')!.component('watchdoc')?.version).toBe('6.1.4');
  });
});
