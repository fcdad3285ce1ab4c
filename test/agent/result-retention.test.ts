import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { ResultBook } from '../../agent/reference/result-book.ts';
import { ArtifactServer } from './helpers/artifact-server.ts';
import { command, CountingDriver, memoryLogger, tempDir } from './helpers/agent-kit.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'acme-laptop-901';
const TOKEN = 'vda_laptop';
const TARGET = 'account/acme-w360';
const AT = '2026-11-22T10:00:00.000Z';

describe('results: the latest per (target, member, action)', () => {
  it('a newer command replaces the result of the older one with the same target, member and action; others stay', () => {
    const book = new ResultBook();
    const apply430 = command(TARGET, ID, 'apply', { version: '4.3.0' });
    const restart430 = command(TARGET, ID, 'restart', { version: '4.3.0' });
    const apply421 = command(TARGET, ID, 'apply', { version: '4.2.1' });
    const otherTarget = command('domain/print-branches', ID, 'apply', { version: '6.1.4' });
    book.record(apply430, 'succeeded', 'installed', AT);
    book.record(restart430, 'succeeded', undefined, AT);
    book.record(otherTarget, 'failed', 'disk full', AT);
    book.record(apply421, 'running', undefined, AT);

    expect(book.has(apply430.id)).toBe(false); // so 4.3.0, if it comes back, is installed again
    expect(book.forReport()).toEqual([
      { id: restart430.id, status: 'succeeded', at: AT },
      { id: otherTarget.id, status: 'failed', message: 'disk full', at: AT },
      { id: apply421.id, status: 'running', at: AT },
    ]);
  });

  it('stays bounded: past the limit the oldest result goes', () => {
    const book = new ResultBook([], 3);
    const ids = ['a', 'b', 'c', 'd'].map((m) => command(TARGET, `dev-${m}`, 'apply', { version: '4.3.0' }));
    for (const c of ids) book.record(c, 'succeeded', undefined, AT);
    expect(book.forReport().map((r) => r.id)).toEqual(ids.slice(1).map((c) => c.id));
  });

  describe('in an agent', () => {
    let controller: FakeController;
    let artifacts: ArtifactServer;
    let dir: { path: string; remove: () => Promise<void> };
    let agent: Agent | undefined;
    beforeEach(async () => {
      controller = await FakeController.start({ [ID]: TOKEN });
      artifacts = await ArtifactServer.start();
      dir = await tempDir('results');
    });
    afterEach(async () => {
      await agent?.stop();
      await controller.close();
      await artifacts.close();
      await dir.remove();
    });

    it('installs a version that comes back (4.2.1 → 4.3.0 → 4.2.1 → 4.3.0) again rather than taking it as done', async () => {
      const up = command(TARGET, ID, 'apply', { artifact: artifacts.artifact('w360-core', '4.3.0') });
      const down = command(TARGET, ID, 'apply', { artifact: artifacts.artifact('w360-core', '4.2.1') });
      const driver = new CountingDriver(new SimulatedDriver({ machine: { components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }] } }));
      agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: dir.path, driver, logger: memoryLogger().logger });
      await agent.start();

      for (const [step, c, version] of [[1, up, '4.3.0'], [2, down, '4.2.1'], [3, up, '4.3.0']] as const) {
        controller.mailbox.set(ID, [c]);
        const from = controller.reports.length;
        agent.reportSoon();
        const report = await controller.waitForReport(ID, (r) => r.components[0]?.version === version && r.results.some((x) => x.id === c.id && x.status === 'succeeded'), 3_000, from);
        // One apply result for (target, member, apply): the latest.
        expect(report.results.map((r) => r.id), `step ${step}`).toEqual([c.id]);
      }
      expect(driver.runsOf(up.id)).toBe(2);
      expect(driver.runsOf(down.id)).toBe(1);
    });
  });
});
