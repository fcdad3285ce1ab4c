import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { Backoff } from '../../agent/reference/backoff.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { seededRandom } from '../../agent/reference/seeded-random.ts';
import { memoryLogger, tempDir, waitUntil } from './helpers/agent-kit.ts';
import { FakeController, type Override } from './helpers/fake-controller.ts';

const ID = 'acme-ws-001';
const TOKEN = 'vda_ws001';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('back-off', () => {
  it('grows exponentially from the initial delay to the cap, jittered within [half, full], and resets after a success', () => {
    const b = new Backoff({ initialMs: 1_000, maxMs: 60_000, random: seededRandom(7) });
    const delays = Array.from({ length: 10 }, () => b.next());
    const bases = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60].map((s) => s * 1000);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(bases[i]! / 2);
      expect(d).toBeLessThanOrEqual(bases[i]!);
    });
    expect(new Set(delays.slice(6)).size).toBeGreaterThan(1); // jitter: agents do not retry in lockstep
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(1_000);
  });

  describe('when the controller fails', () => {
    let controller: FakeController;
    let dir: { path: string; remove: () => Promise<void> };
    let agent: Agent | undefined;

    beforeEach(async () => {
      controller = await FakeController.start({ [ID]: TOKEN });
      dir = await tempDir('backoff');
    });
    afterEach(async () => {
      await agent?.stop();
      agent = undefined;
      await controller.close();
      await dir.remove();
    });

    async function startAgent(token = TOKEN, driver = new SimulatedDriver({ machine: { components: [] } })): Promise<Array<Record<string, unknown>>> {
      const { logger, lines } = memoryLogger();
      agent = new Agent({ id: ID, controllerUrl: controller.url, token, stateDir: dir.path, driver, logger, backoff: { initialMs: 20, maxMs: 160 } });
      await agent.start();
      return lines;
    }

    const cases: Array<[string, Override]> = [
      ['the connection is cut (network error)', 'destroy'],
      ['it answers 503 SHUTTING_DOWN', { status: 503, body: { error: 'SHUTTING_DOWN', message: 'stopping' } }],
    ];
    it.each(cases)('when %s, retries with growing delays, not in a tight loop, and resumes its normal interval once it answers', async (_, outage) => {
      controller.override = () => outage;
      await startAgent();
      await sleep(800);
      const attempts = controller.attempts;
      // 20 ms doubling to 160 ms, jittered: at most about ten attempts in 800 ms (a tight loop makes hundreds).
      expect(attempts).toBeGreaterThanOrEqual(4);
      expect(attempts).toBeLessThanOrEqual(12);
      const gaps = controller.attemptTimes.slice(1).map((t, i) => t - controller.attemptTimes[i]!);
      expect(gaps[0]).toBeLessThan(60);
      expect(gaps.at(-1)).toBeGreaterThanOrEqual(75);

      controller.override = undefined;
      await controller.waitForReport(ID, () => true, 1_000);
      const afterRecovery = controller.attempts;
      await sleep(600);
      expect(controller.attempts).toBe(afterRecovery); // back to reportAfterSeconds (1 s)
    });

    it('when the token is refused (401), says so and waits the longest delay between attempts', async () => {
      const lines = await startAgent('vda_wrong');
      await sleep(800);
      // Every wait is the longest (160 ms jittered to [80, 160]) from the first failure on: a person must fix the token.
      const gaps = controller.attemptTimes.slice(1).map((t, i) => t - controller.attemptTimes[i]!);
      expect(gaps.length).toBeGreaterThanOrEqual(2);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(75);
      const errors = lines.filter((l) => l['level'] === 50).map((l) => String(l['msg']));
      expect(errors[0]).toMatch(/refuses this agent's token \(401 UNAUTHENTICATED: unknown token\): check the token file and that agent acme-ws-001 is registered/);
      expect(lines.every((l) => l['agent'] === ID)).toBe(true);
    });

    it('keeps the results of commands run while the controller was away and reports them once it is back', async () => {
      controller.override = () => 'destroy';
      const driver = new SimulatedDriver({ machine: { components: [] } });
      await startAgent(TOKEN, driver);
      await waitUntil(() => controller.attempts >= 2, 'two failed attempts');
      // A pushed command runs while the controller is unreachable.
      agent!.offer([{ id: '0123456789abcdef', action: 'backup', target: 'hacluster/ums-prod', member: ID, product: 'igel-ums', version: '12.08.110' }]);
      await waitUntil(async () => (await driver.inventory()).facts?.lastBackup !== undefined, 'the backup');
      controller.override = undefined;
      const report = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === '0123456789abcdef' && x.status === 'succeeded'), 2_000);
      expect(report.facts?.lastBackup).toBeDefined();
    });
  });
});
