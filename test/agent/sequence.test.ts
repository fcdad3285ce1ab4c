import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { memoryLogger, tempDir, waitUntil } from './helpers/agent-kit.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'ums-1';
const TOKEN = 'vda_ums1';

describe('report sequence numbers', () => {
  let controller: FakeController;
  let dir: { path: string; remove: () => Promise<void> };
  const agents: Agent[] = [];

  beforeEach(async () => {
    controller = await FakeController.start({ [ID]: TOKEN });
    dir = await tempDir('sequence');
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    await controller.close();
    await dir.remove();
  });

  async function startAgent(): Promise<Agent> {
    const agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: dir.path, driver: new SimulatedDriver({ machine: { components: [] } }), logger: memoryLogger().logger });
    agents.push(agent);
    await agent.start();
    return agent;
  }

  it('after a 409 STALE_REPORT, continues right after the lastSequence the controller accepted', async () => {
    // The controller accepted up to 500 (say the state directory was restored from an old backup).
    controller.lastSequence.set(ID, 500);
    await startAgent();
    const accepted = await controller.waitForReport(ID, () => true);
    const sent = controller.reports.filter((r) => r.agent === ID).map((r) => [r.report.sequence, r.status]);
    expect(sent.slice(0, 2)).toEqual([
      [1, 409],
      [501, 200],
    ]);
    expect(accepted.sequence).toBe(501);
  });

  it('increase strictly across a restart of the agent on the same state directory', async () => {
    const first = await startAgent();
    await controller.waitForReport(ID, (r) => r.sequence >= 1);
    first.reportSoon();
    await controller.waitForReport(ID, (r) => r.sequence >= 2);
    await first.stop();
    const lastOfFirst = first.sequence;

    await startAgent();
    await waitUntil(() => controller.reports.filter((r) => r.agent === ID).length >= 3, 'a report of the restarted agent');
    const all = controller.reports.filter((r) => r.agent === ID);
    const sequences = all.map((r) => r.report.sequence);
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);
    expect(all.every((r) => r.status === 200)).toBe(true); // never a 409: no number was reused
    expect(sequences.at(-1)).toBeGreaterThan(lastOfFirst);
  });

  it('spends a sequence number even on a report that never arrived, so a crash after sending cannot reuse it', async () => {
    controller.override = () => 'destroy';
    const agent = await startAgent();
    await waitUntil(() => controller.attempts >= 1, 'the first attempt');
    await agent.stop();
    controller.override = undefined;
    const used = agent.sequence;
    expect(used).toBeGreaterThanOrEqual(1);

    await startAgent();
    const report = await controller.waitForReport(ID, () => true);
    expect(report.sequence).toBe(used + 1);
  });

  it('sends only numbers already reserved on disk, and a report of an idle machine writes nothing', async () => {
    const stateFile = join(dir.path, 'state.json');
    const onDisk: [sent: number, saved: number][] = [];
    controller.override = (_agent, report) => {
      if (report !== undefined) onDisk.push([report.sequence, (JSON.parse(readFileSync(stateFile, 'utf8')) as { sequence: number }).sequence]);
      return undefined;
    };
    const agent = await startAgent();
    await controller.waitForReport(ID, (r) => r.sequence >= 1);
    const written = statSync(stateFile).mtimeMs;
    for (let n = 2; n <= 6; n++) {
      agent.reportSoon();
      await controller.waitForReport(ID, (r) => r.sequence >= n);
    }
    expect(onDisk.length).toBeGreaterThanOrEqual(6);
    expect(onDisk.every(([sent, saved]) => saved >= sent)).toBe(true);
    expect(statSync(stateFile).mtimeMs).toBe(written); // the machine did not change: no write
    await agent.stop();
    // A clean stop saves the last number used: the next agent continues right after it.
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as { sequence: number }).sequence).toBe(agent.sequence);
  });
});
