/**
 * The behaviour file of a simulated fleet: defaults, then rules matched by agent id or glob in
 * order, each overriding what the earlier ones set; every problem reported at once at its
 * file:line:column and field.
 */
import { describe, expect, it } from 'vitest';
import { BehaviourFileError, DEFAULT_BEHAVIOUR, FleetBehaviour } from '../../agent/fleet/behaviour.ts';
import { planFleet } from '../../agent/fleet/fleet-plan.ts';
import { EXAMPLE_REPO, ROOT } from '../helpers/git-repo.ts';
import { loadRevision } from '../helpers/load.ts';

function problemsOf(text: string, file = 'behaviour.yaml'): readonly string[] {
  try {
    FleetBehaviour.parse(file, text);
  } catch (err) {
    if (err instanceof BehaviourFileError) return err.problems;
    throw err;
  }
  throw new Error('the file was accepted');
}

describe('a behaviour file', () => {
  const behaviour = FleetBehaviour.parse(
    'behaviour.yaml',
    `defaults:
  installTime: 3s
  failureRate: 0.1
agents:
  - match: "acme-ws-*"
    installTime: 1500
    seed: 7
  - match: acme-ws-003
    lieAboutVersion: "4.2.1"
    failureRate: 0
  - match: "ums-[0-9]"
    clockSkew: -90s
  - match: ums-3
    stuckInUpdateMode: true
    offline: [{ after: 30s, for: 1m }, { after: 0s, for: 10s }]
  - match: wd-paris-master
    updateByHandAfter: 8s
    userRestartAfter: null
`,
  );

  it('gives an agent no rule matches the file defaults over the built-in ones', () => {
    expect(behaviour.for('wd-lille')).toEqual({ ...DEFAULT_BEHAVIOUR, installMs: 3000, failureRate: 0.1 });
  });

  it('applies every matching rule in order, a later one overriding an earlier one field by field', () => {
    expect(behaviour.for('acme-ws-003')).toEqual({ ...DEFAULT_BEHAVIOUR, installMs: 1500, failureRate: 0, seed: 7, lieAboutVersion: '4.2.1' });
    expect(behaviour.for('acme-ws-001')).toEqual({ ...DEFAULT_BEHAVIOUR, installMs: 1500, failureRate: 0.1, seed: 7 });
  });

  it('matches globs against the whole id: [0-9] is one digit, so ums-lb-1 is not a server', () => {
    expect(behaviour.for('ums-3')).toMatchObject({ clockSkewMs: -90_000, stuckInUpdateMode: true, offline: [{ afterMs: 0, forMs: 10_000 }, { afterMs: 30_000, forMs: 60_000 }] });
    expect(behaviour.for('ums-lb-1').clockSkewMs).toBe(0);
    expect(behaviour.for('acme-ws-0012').seed).toBe(7);
    expect(behaviour.for('xacme-ws-001').seed).toBeUndefined();
  });

  it('lets a rule say a user never restarts (null), and an operator update a Manual master by hand', () => {
    const master = behaviour.for('wd-paris-master');
    expect(master.updateByHandAfterMs).toBe(8000);
    expect(master.userRestartAfterMs).toBeUndefined();
  });

  it('runs faster when scaled, except the clock skew, which is a fact about the machine', () => {
    const fast = behaviour.scaled(0.1);
    expect(fast.for('ums-3')).toMatchObject({ installMs: 300, stepMs: 20, clockSkewMs: -90_000, offline: [{ afterMs: 0, forMs: 1000 }, { afterMs: 3000, forMs: 6000 }] });
    expect(fast.for('wd-paris-master').updateByHandAfterMs).toBe(800);
  });

  it('names the rules that match no agent of the fleet, where they are', () => {
    expect(behaviour.unmatched(['acme-ws-001', 'acme-ws-003', 'ums-1', 'wd-paris-master'])).toEqual(['behaviour.yaml:13:12: agents[3].match: "ums-3" matches no agent of the fleet']);
  });

  it('may be JSON', () => {
    const json = FleetBehaviour.parse('b.json', JSON.stringify({ defaults: { stepTime: '250ms' }, agents: [{ match: 'wd-?', failureRate: 1 }] }));
    expect(json.for('wd-1')).toMatchObject({ stepMs: 250, failureRate: 1 });
    expect(json.for('wd-10').failureRate).toBe(0);
  });

  it('reports every problem at once, each at file:line:column with its field', () => {
    const problems = problemsOf(`defaults:
  instalTime: 3s
  failureRate: 1.5
agents:
  - match: wd-bordeaux
    offline: [{ after: 0s, for: 20s }, { after: 10s }]
  - installTime: fast
  - match: acme-ws-003
    lieAboutVersion: 4.20
    stuckInUpdateMode: "yes"
  - match: "ums-[0-9"
`);
    expect(problems).toEqual([
      'behaviour.yaml:2:3: defaults.instalTime: unknown field (did you mean "installTime"?); allowed: installTime, stepTime, failureRate, seed, clockSkew, stuckInUpdateMode, lieAboutVersion, offline, updateByHandAfter, userRestartAfter',
      'behaviour.yaml:3:16: defaults.failureRate: must be a number from 0 to 1 (the share of commands that fail), not number 1.5',
      'behaviour.yaml:6:14: agents[0].offline: periods overlap: each must start after the one before it ended',
      'behaviour.yaml:7:5: agents[1]: match is missing: which agents the rule is for (an agent id or a glob)',
      'behaviour.yaml:7:18: agents[1].installTime: must be a duration such as 500ms, 3s, 2m or a number of milliseconds, not "fast"',
      'behaviour.yaml:9:22: agents[2].lieAboutVersion: must be a version string: quote it ("4.20"), YAML reads 4.20 as the number 4.2',
      'behaviour.yaml:10:24: agents[2].stuckInUpdateMode: must be true or false, not "yes"',
      'behaviour.yaml:11:12: agents[3].match: "ums-[0-9": "[" at position 5 is never closed',
    ]);
  });

  it('reports a file that is not YAML at the line and column of the syntax error', () => {
    const [problem] = problemsOf('agents:\n  - match: [wd\n', 'fleet/b.yaml');
    expect(problem).toMatch(/^fleet\/b\.yaml:3:1: /);
  });

  it('reports a file that cannot be read by its path', async () => {
    await expect(FleetBehaviour.read('/nonexistent/behaviour.yaml')).rejects.toThrow('/nonexistent/behaviour.yaml: cannot read the behaviour file: ENOENT');
  });

  it('an empty file is the built-in defaults', () => {
    expect(FleetBehaviour.parse('empty.yaml', '{}').for('wd-lille')).toEqual(DEFAULT_BEHAVIOUR);
  });

  it('the demo\'s own behaviour file is valid and each of its rules is for an agent of the example', async () => {
    const demo = await FleetBehaviour.read(`${ROOT}agent/demo/behaviour.yaml`);
    const example = await loadRevision(EXAMPLE_REPO);
    expect(demo.unmatched(planFleet(example.objects).agents.map((a) => a.id))).toEqual([]);
    expect(demo.for('wd-paris-master').updateByHandAfterMs).toBeGreaterThan(0);
  });
});
