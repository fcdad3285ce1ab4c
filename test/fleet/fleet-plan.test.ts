/**
 * The fleet plan: which agents a simulated fleet runs and what each machine runs at first —
 * one agent for every member the controller expects, machines as the observed snapshot says,
 * or built from the desired state.
 */
import { describe, expect, it } from 'vitest';
import { planFleet } from '../../agent/fleet/fleet-plan.ts';
import { TargetIndex } from '../../controller/loop/target-index.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { EXAMPLE_REPO, ROOT } from '../helpers/git-repo.ts';
import { loadRevision } from '../helpers/load.ts';

const example = await loadRevision(EXAMPLE_REPO);
const snapshot = await readObservedSnapshot(`${ROOT}agent/example-observed.json`);
if (!snapshot.ok) throw new Error('agent/example-observed.json is invalid');
const observed: Observed = snapshot.observed;

describe('the fleet plan of example-repo', () => {
  it('gives every member of every target an agent — exactly the agents the controller links to its targets', () => {
    const plan = planFleet(example.objects);
    const expected = [...new TargetIndex(example.objects).agents()].sort();
    expect(plan.agents.map((a) => a.id).sort()).toEqual(expected);
    expect(expected).toHaveLength(35);
    // Every kind is there: domain servers, account WRS and devices and the cloud infrastructure,
    // distribution servers and the console syncing to them, cluster servers, balancers and consoles.
    expect(expected).toEqual(
      expect.arrayContaining(['wd-paris-master', 'wd-bordeaux', 'acme-wrs-lyon', 'acme-laptop-902', 'globex-cebox-infrastructure', 'ds-berlin', 'console-hq', 'ums-3', 'ums-lb-1', 'ums-console-helpdesk']),
    );
  });

  it('records what each agent is asked: a Manual master, a slave the controller pushes to, an auto-update device behind its WRS', () => {
    const byId = new Map(planFleet(example.objects).agents.map((a) => [a.id, a]));
    expect(byId.get('wd-paris-master')!.duties).toEqual([{ target: 'domain/print-paris', member: 'wd-paris-master', role: 'master', product: 'watchdoc', version: '6.1.4', manual: true }]);
    expect(byId.get('wd-paris-s1')!.push).toBe(true);
    expect(byId.get('wd-lille')!.push).toBe(false);
    expect(byId.get('globex-cb-002')!.duties[0]).toMatchObject({ role: 'device', version: '2.9.0', repositoryServer: 'globex-wrs-1', autoUpdate: true, restartByUser: true });
    // The test ring runs the test tag (seeds 001/003).
    expect(byId.get('acme-ws-001')!.duties[0]).toMatchObject({ version: '4.3.0' });
    expect(byId.get('acme-ws-003')!.duties[0]).toMatchObject({ version: '4.2.1' });
    expect(byId.get('globex-cebox-infrastructure')!.duties[0]).toMatchObject({ member: 'infrastructure', product: 'cebox-cloud', version: '2026.11.0' });
    expect(byId.get('console-hq')!.duties.map((d) => `${d.target} ${d.role}`)).toEqual(['distributionserver/ds-berlin content-console', 'distributionserver/ds-paris content-console']);
  });

  it('starts machines as the observed snapshot says, the agents it lists offline offline, without the clock it reported', () => {
    const plan = planFleet(example.objects, { observed });
    const byId = new Map(plan.agents.map((a) => [a.id, a]));
    expect(plan.agents.filter((a) => a.startsOffline).map((a) => a.id).sort()).toEqual(['acme-ws-004', 'wd-bordeaux']);
    expect(plan.agents.every((a) => a.from === 'observed')).toBe(true);
    expect(byId.get('ums-2')!.machine).toEqual({
      components: [{ product: 'igel-ums', version: '12.07.100', state: 'running', staged: { version: '12.08.110', verified: true }, mode: 'normal' }],
      facts: { registeredMembers: ['ums-1', 'ums-2', 'ums-3', 'ums-lb-1'] },
    });
    expect(byId.get('ds-berlin')!.machine.facts?.content?.['engines-definitions']?.[1]?.sha256).toBe('0'.repeat(64));
  });

  it('builds the machines a snapshot does not list from the desired state: at the desired version, or the release before it', () => {
    const atDesired = new Map(planFleet(example.objects).agents.map((a) => [a.id, a]));
    expect(atDesired.get('ums-1')!.machine).toEqual({
      components: [{ product: 'igel-ums', version: '12.08.110', state: 'running', mode: 'normal' }],
      facts: { registeredMembers: ['ums-1', 'ums-2', 'ums-3', 'ums-lb-1'] },
    });
    expect(atDesired.get('acme-wrs-paris')!.machine.components).toEqual([{ product: 'w360-core', version: '4.3.0', state: 'running', serves: ['4.3.0'] }]);
    expect(atDesired.get('console-hq')!.machine.facts).toMatchObject({ downloading: false });
    // A distribution server built at the desired state holds what its console holds.
    expect(atDesired.get('ds-paris')!.machine.facts?.content).toEqual(atDesired.get('console-hq')!.machine.facts?.content);

    const previous = new Map(planFleet(example.objects, { start: 'previous' }).agents.map((a) => [a.id, a]));
    expect(previous.get('ums-1')!.machine.components[0]).toMatchObject({ version: '12.07.100', mode: 'normal' });
    expect(previous.get('wd-lille')!.machine.components[0]).toMatchObject({ version: '6.1.3' });
    expect(previous.get('acme-ws-001')!.machine.components[0]).toMatchObject({ version: '4.2.1' });
    // No release of w360-core below 4.2.1: the machine stays at it.
    expect(previous.get('acme-ws-003')!.machine.components[0]).toMatchObject({ version: '4.2.1' });
    expect(previous.get('ds-paris')!.machine.facts?.content?.patches).toEqual([]);
  });

  it('a console from a snapshot that does not say whether it downloads is simulated idle, and says so (seed 002)', () => {
    const agents = new Map(observed.agents);
    const hq = agents.get('console-hq')!;
    const { downloading: _downloading, ...facts } = hq.facts!;
    agents.set('console-hq', { ...hq, facts });
    const byId = new Map(planFleet(example.objects, { observed: { ...observed, agents } }).agents.map((a) => [a.id, a]));
    expect(byId.get('console-hq')!.machine.facts).toMatchObject({ downloading: false, content: facts.content });
    // a console downloading in the snapshot keeps downloading; a server is not given a download state
    agents.set('console-hq', { ...hq, facts: { ...facts, downloading: true } });
    const busy = new Map(planFleet(example.objects, { observed: { ...observed, agents } }).agents.map((a) => [a.id, a]));
    expect(busy.get('console-hq')!.machine.facts?.downloading).toBe(true);
    expect(busy.get('ds-paris')!.machine.facts?.downloading).toBeUndefined();
  });
});
