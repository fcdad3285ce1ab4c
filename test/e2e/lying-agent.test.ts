import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFile, exampleMachine } from './harness/example-fleet.ts';
import { executions, only } from './harness/evidence.ts';
import { Scenario } from './harness/scenario.ts';
import { waitFor } from './harness/wait.ts';

const TARGET = 'domain/print-liar';

/**
 * Issue 7, item 4: an agent lying about its version — its apply of 6.1.4 SUCCEEDED, yet every
 * report after it says 6.1.3 (`lieAboutVersion`) — must be detected from the contradiction
 * between its reports and its command results, and flagged in the status, for a person to
 * look at the machine.
 *
 * The Domain reconciler flags it (`ReportContradictsResult`). (test/agent/simulated-driver.test.ts
 * documents that an Account device lying this way still stays Progressing: not flagged yet.)
 */
describe('an agent lying about its version', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await Scenario.create({
      files: {
        'releases/watchdoc-6.1.3.yaml': exampleFile('releases/watchdoc-6.1.3.yaml'),
        'releases/watchdoc-6.1.4.yaml': exampleFile('releases/watchdoc-6.1.4.yaml'),
        'domains/print-liar.yaml': `apiVersion: versiond/v1
kind: Domain
metadata:
  name: print-liar
spec:
  release: watchdoc-6.1.4
  master:
    name: wd-honest-master
  slaves:
    - name: wd-liar
      sync: mailbox
`,
      },
      agents: {
        'wd-honest-master': { components: [{ product: 'watchdoc', version: '6.1.4', state: 'running' }] },
        'wd-liar': exampleMachine('wd-lille', { behaviour: { lieAboutVersion: '6.1.3' } }),
      },
    });
    await s.start();
    await waitFor(() => s.agent('wd-liar').commandEvents().some((e) => e.command.action === 'apply' && e.kind === 'succeeded'), {
      what: 'wd-liar to apply 6.1.4',
      timeoutMs: 30_000,
      explain: () => s.explain(),
    });
  }, 60_000);
  afterAll(async () => {
    await s?.dispose();
  });

  it('its apply ran once and succeeded, yet it reports the old version: the lie is never counted as an update', async () => {
    const apply = only(executions([s.agent('wd-liar')]), 'wd-liar', 'apply');
    expect(apply.ends.map((e) => e.outcome)).toEqual(['succeeded']);
    expect(apply.events.at(-1)!.msg).toMatch(/installed watchdoc 6\.1\.4/);
    await s.waitForStatus(TARGET, (st) => st.members.some((m) => m.name === 'wd-liar' && m.observed === '6.1.3'), 'wd-liar reported 6.1.3 after its apply', 10_000);
    expect(s.status.status(TARGET)!.phase).not.toBe('Converged');
    expect(only(executions([s.agent('wd-liar')]), 'wd-liar', 'apply').starts).toHaveLength(1);
  });

  it('the contradiction is flagged: the member is Failed, its message names the succeeded apply of 6.1.4 and the 6.1.3 it reports', async () => {
    await s.waitForStatus(
      TARGET,
      (st) => {
        const liar = st.members.find((m) => m.name === 'wd-liar');
        return liar?.state === 'Failed' && /6\.1\.4/.test(liar.message ?? '') && /6\.1\.3/.test(liar.message ?? '') && (st.phase === 'Failed' || st.phase === 'Blocked');
      },
      'wd-liar flagged: its reports contradict its succeeded apply',
      6_000,
    );
  });
});
