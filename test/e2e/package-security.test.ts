import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoReleaseYaml, exampleFile, exampleMachine } from './harness/example-fleet.ts';
import { executions, only, type Execution } from './harness/evidence.ts';
import { Scenario } from './harness/scenario.ts';
import { sleep } from './harness/wait.ts';

const domain = (name: string, release: string, master: string, update: 'Manual' | 'Controller', slave: string) => `apiVersion: versiond/v1
kind: Domain
metadata:
  name: ${name}
spec:
  release: ${release}
  master:
    name: ${master}
    update: ${update}
  slaves:
    - name: ${slave}
      sync: mailbox
`;

/**
 * Issue 7, item 4 (seed 000: an unsigned or corrupt package is refused, "package not secure",
 * and nothing is propagated). Two tampered packages, each caught where it can be:
 *
 *  - WRONG DIGEST: the release is sound — the controller downloads it from its own mirror and
 *    verifies it — but the mirror the agents use serves altered bytes. The agent refuses them
 *    (its own check of sha256 and signature), never installs anything, and the controller
 *    reports the member failed with the agent's reason.
 *  - BAD SIGNATURE: the digest matches but the signature is of other bytes. The controller's
 *    check refuses it before any step: the domain is Blocked, PackageNotSecure, and no agent
 *    is ever sent the package (the agents' mirror never serves it).
 */
describe('a tampered package is refused by the agent and reported by the controller', () => {
  let s: Scenario;
  let ran: Execution[];

  beforeAll(async () => {
    s = await Scenario.create({
      files: {
        'releases/watchdoc-6.1.3.yaml': exampleFile('releases/watchdoc-6.1.3.yaml'),
        'releases/watchdoc-6.1.4.yaml': exampleFile('releases/watchdoc-6.1.4.yaml'),
        'releases/watchdoc-6.1.5.yaml': demoReleaseYaml('watchdoc', '6.1.5', { badSignature: true }),
        'domains/print-digest.yaml': domain('print-digest', 'watchdoc-6.1.4', 'wd-digest-master', 'Manual', 'wd-digest-slave'),
        'domains/print-signature.yaml': domain('print-signature', 'watchdoc-6.1.5', 'wd-sig-master', 'Controller', 'wd-sig-slave'),
      },
      agents: {
        // The master was updated by hand (seed 000's default), so the slave's turn comes at once.
        'wd-digest-master': { components: [{ product: 'watchdoc', version: '6.1.4', state: 'running' }] },
        'wd-digest-slave': exampleMachine('wd-lille'),
        'wd-sig-master': exampleMachine('wd-branches-master'),
        'wd-sig-slave': exampleMachine('wd-nantes'),
      },
      tamperedForAgents: ['/watchdoc/6.1.4/'],
    });
    await s.start();
    await s.waitForStatus('domain/print-digest', (st) => st.phase === 'Failed', 'Failed', 30_000);
    await s.waitForStatus('domain/print-signature', (st) => st.phase === 'Blocked', 'Blocked', 30_000);
    // A few more report rounds: a refused package must stay refused, and must not be tried again.
    await sleep(3000);
    expect(await s.controller.stop()).toBe(0);
    ran = executions(s.agents.values());
  }, 90_000);
  afterAll(async () => {
    await s?.dispose();
  });

  it('wrong digest: the agent refuses the altered download once, and never installs it', () => {
    const stage = only(ran, 'wd-digest-slave', 'stage');
    expect(stage.starts).toHaveLength(1);
    expect(stage.ends.map((e) => e.outcome)).toEqual(['failed']);
    expect(stage.events.at(-1)!.msg).toMatch(/package not secure: sha256 [0-9a-f]{64} does not match the release's e97ee94e/);
    expect(ran.filter((e) => e.action === 'apply')).toEqual([]);
    const state = s.agent('wd-digest-slave').state()!;
    expect(state.staged['watchdoc']).toMatchObject({ version: '6.1.4', verified: false, reason: expect.stringMatching(/^package not secure: sha256/) });
    expect(s.agent('wd-digest-slave').component('watchdoc')).toEqual({ product: 'watchdoc', version: '6.1.3', state: 'running' });
    // The bytes did come over the wire to the agent: the refusal is the agent's own check.
    expect([...s.agentPackages.downloads.keys()].filter((p) => p.includes('/watchdoc/6.1.4/'))).toHaveLength(1);
  });

  it('wrong digest: the controller, whose own check of the release passed, reports the member failed with the agent\'s reason', () => {
    expect(s.controller.lines.some((l) => l.msg === 'package check changed' && (l['check'] as { release?: string; status?: string } | undefined)?.status === 'verified' && l['release'] === 'watchdoc-6.1.4')).toBe(true);
    const st = s.status.status('domain/print-digest')!;
    expect(st.members.find((m) => m.name === 'wd-digest-slave')).toMatchObject({ state: 'Failed', observed: '6.1.3', message: expect.stringMatching(/package not secure: sha256/) });
    expect(st.conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    expect(s.status.history('domain/print-digest').at(-1)).toMatchObject({ phase: 'Failed' });
  });

  it('bad signature: the controller refuses the release before any step, and no agent is sent it', () => {
    const st = s.status.status('domain/print-signature')!;
    expect(st.conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'PackageNotSecure', message: expect.stringMatching(/package not secure: the Ed25519 signature does not verify/) });
    expect(ran.filter((e) => e.target === 'domain/print-signature')).toEqual([]);
    expect([...s.agentPackages.downloads.keys()].filter((p) => p.includes('6.1.5'))).toEqual([]);
    for (const m of ['wd-sig-master', 'wd-sig-slave']) expect(s.agent(m).component('watchdoc')?.version).toBe('6.1.3');
    expect(s.status.history('domain/print-signature').at(-1)).toMatchObject({ phase: 'Blocked' });
  });
});
