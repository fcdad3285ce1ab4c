import { afterAll, describe, expect, it } from 'vitest';
import { domainRepo, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';

describe('an agent going offline and coming back (issue 4, item 3)', () => {
  let f: Fixture;
  afterAll(async () => {
    await f?.close();
  });

  it('is shown offline after the heartbeat timeout, its target says why, and it is online again with its next report', async () => {
    f = await startFixture({ repo: domainRepo(), agents: ['wd-master', 'wd-s1', 'wd-s2'], controller: { heartbeatTimeoutMs: 600 } });
    const master = f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]);
    const s1 = f.agent('wd-s1');
    const s2 = f.agent('wd-s2');
    master.follow(100);
    s1.follow(100);
    await s2.report();
    expect(f.controller.inventory.observations.get('wd-s2')?.online).toBe(true);

    // wd-s2 falls silent: offline, and the domain's status names it.
    await eventually(() => f.controller.inventory.observations.get('wd-s2')?.online === false, 5000, 'wd-s2 offline');
    const status = await eventually(() => {
      const s = f.controller.loop.statusOf('domain/print-test');
      return s?.members.find((m) => m.name === 'wd-s2' && /offline/i.test(m.message ?? '')) ? s : undefined;
    }, 5000, 'the status to say wd-s2 is offline');
    expect(status.phase).not.toBe('Converged');
    expect(f.controller.metrics.registry.render()).toMatch(/versiond_agents\{state="offline"\} 1/);

    // It comes back: online with its next report, and the rollout completes.
    s2.follow(100);
    await eventually(() => f.controller.inventory.observations.get('wd-s2')?.online === true, 5000, 'wd-s2 online');
    await eventually(() => f.controller.loop.statusOf('domain/print-test')?.phase === 'Converged', 10_000, 'the domain to converge');
    expect(f.controller.metrics.registry.render()).toMatch(/versiond_agents\{state="offline"\} 0/);
  });
});
