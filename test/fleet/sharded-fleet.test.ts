/**
 * A fleet in two shard processes (`agent/fleet/sharded-fleet.ts`) against a real controller,
 * over real HTTP: it converges a domain as one process does, its counters add up to one
 * fleet's, and a member a new commit adds joins a shard and is updated. Which machines share
 * a shard is `shard-placement.test.ts`; the CLI's `--shards` is `fleet-cli.test.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../agent/fleet/fleet-events.ts';
import { planFleet } from '../../agent/fleet/fleet-plan.ts';
import { FleetTokens } from '../../agent/fleet/fleet-tokens.ts';
import { ShardedFleet, shardExecArgv } from '../../agent/fleet/sharded-fleet.ts';
import { domainRepo, eventually } from '../helpers/controller-fixture.ts';
import { loadRevision } from '../helpers/load.ts';
import { observed } from '../helpers/observed.ts';
import { startHarness, type Harness } from './helpers/harness.ts';

let harness: Harness | undefined;
const fleets: ShardedFleet[] = [];
afterEach(async () => {
  for (const f of fleets.splice(0)) await f.stop();
  await harness?.close();
  harness = undefined;
});

async function startSharded(
  h: Harness, plan: ReturnType<typeof planFleet>, behaviour: string, events: FleetEvent[] = [],
): Promise<ShardedFleet> {
  const problems: string[] = [];
  const fleet = await ShardedFleet.start({
    shards: 2,
    controllerUrl: h.controller.url,
    stateDir: h.fleetState,
    plan,
    tokens: await FleetTokens.open({ fleetStateDir: h.fleetState, controllerStateDir: h.controllerState }),
    behaviour: { file: 'test-behaviour.yaml', text: behaviour },
    artifactMirror: h.packages.mirror,
    onEvent: (e) => events.push(e),
    onProblem: (p) => problems.push(p),
    statsEveryMs: 200,
    agentLogLevel: 'error',
  });
  fleets.push(fleet);
  expect(problems).toEqual([]);
  return fleet;
}

describe('a fleet in two shard processes', () => {
  it('starts a member a new commit adds in one shard, and the controller updates it', async () => {
    harness = await startHarness(domainRepo());
    const h = harness;
    const at = (version: string) => ({ components: [{ product: 'watchdoc', version, state: 'running' as const }] });
    const machines = observed({ 'wd-master': at('6.1.4'), 'wd-s1': at('6.1.3'), 'wd-s2': at('6.1.3') });
    const plan = planFleet((await loadRevision(h.repo.dir)).objects, { observed: machines });
    const events: FleetEvent[] = [];
    const fleet = await startSharded(h, plan, 'defaults: { installTime: 100ms, stepTime: 10ms }\n', events);
    await eventually(() => h.status('domain/print-test')?.phase === 'Converged', 20_000, 'the domain to converge');

    const s3 = '    - name: wd-s3\n      sync: mailbox\n';
    h.repo.edit('domains/print-test.yaml', '    - name: wd-s2\n', `${s3}    - name: wd-s2\n`)
      .commitAll('add wd-s3');
    await fleet.applyDesired((await loadRevision(h.repo.dir)).objects);
    expect(fleet.shardOf('wd-s3')).toBeDefined();
    const updated = (): boolean => h.status('domain/print-test')?.summary === '4/4 servers at 6.1.4';
    await eventually(updated, 20_000, 'the domain to update the new slave');
    expect(events.map((e) => e.message)).toContain('wd-s3 joins the fleet (domain/print-test), running watchdoc 6.1.3');
    const withS3 = (): ReturnType<typeof fleet.counters> => (fleet.counters()?.agents === 4 ? fleet.counters() : undefined);
    const counters = await eventually(withS3, 5000, 'the counters to count wd-s3');
    expect(counters).toMatchObject({ online: 4 });
  }, 60_000);
});

describe('the flags a shard inherits', () => {
  it('keeps memory and profiling flags with their values, and drops the rest', () => {
    expect(shardExecArgv(['--import', 'tsx', '--max-old-space-size=4096', '--cpu-prof', '--cpu-prof-dir', '/tmp/p/fleet',
      '--conditions', 'dev', '--heap-prof-name=h.heapprofile'])).toEqual(
      ['--max-old-space-size=4096', '--cpu-prof', '--cpu-prof-dir', '/tmp/p/fleet', '--heap-prof-name=h.heapprofile']);
  });
});
