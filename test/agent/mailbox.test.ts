import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { ArtifactServer } from './helpers/artifact-server.ts';
import { command, CountingDriver, memoryLogger, tempDir, waitUntil } from './helpers/agent-kit.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'wd-lille';
const TOKEN = 'vda_lille_secret';

describe('mailbox mode', () => {
  let controller: FakeController;
  let artifacts: ArtifactServer;
  let dir: { path: string; remove: () => Promise<void> };
  let agent: Agent | undefined;

  beforeEach(async () => {
    controller = await FakeController.start({ [ID]: TOKEN });
    artifacts = await ArtifactServer.start();
    dir = await tempDir('mailbox');
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await controller.close();
    await artifacts.close();
    await dir.remove();
  });

  function startAgent(driver: CountingDriver): Promise<void> {
    agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: dir.path, driver, logger: memoryLogger().logger });
    return agent.start();
  }

  it('runs a stage then an apply once each, reports their results by id, and the component shows the new version', async () => {
    const artifact = artifacts.artifact('watchdoc', '6.1.4');
    const stage = command('domain/print-branches', ID, 'stage', { artifact });
    const apply = command('domain/print-branches', ID, 'apply', { artifact });
    // The controller answers both every time, as a level-triggered mailbox does until it sees the results.
    controller.mailbox.set(ID, [stage, apply]);
    const driver = new CountingDriver(new SimulatedDriver({ machine: { components: [{ product: 'watchdoc', version: '6.1.3', state: 'running' }] } }));
    await startAgent(driver);

    const done = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === apply.id && x.status === 'succeeded'));
    expect(done.results.find((x) => x.id === stage.id)?.status).toBe('succeeded');
    expect(done.components).toEqual([{ product: 'watchdoc', version: '6.1.4', state: 'running', installedAt: expect.any(String) }]);
    expect(Date.parse(done.components[0]!.installedAt!), 'installedAt is a time').not.toBeNaN();

    // More answers with the same two commands come and go: neither runs again.
    agent!.reportSoon();
    const next = await controller.waitForReport(ID, (r) => r.sequence > done.sequence);
    agent!.reportSoon();
    await controller.waitForReport(ID, (r) => r.sequence > next.sequence);
    expect(driver.runsOf(stage.id)).toBe(1);
    expect(driver.runsOf(apply.id)).toBe(1);
    expect(artifacts.downloadsOf('watchdoc', '6.1.4')).toBe(1);
    expect(controller.invalid).toEqual([]);
  });

  it('reports the staged package between stage and apply, as seed 000 propagates before it applies', async () => {
    const artifact = artifacts.artifact('watchdoc', '6.1.4');
    const stage = command('domain/print-branches', ID, 'stage', { artifact });
    controller.mailbox.set(ID, [stage]);
    await startAgent(new CountingDriver(new SimulatedDriver({ machine: { components: [{ product: 'watchdoc', version: '6.1.3', state: 'running' }] } })));

    const staged = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === stage.id && x.status === 'succeeded'));
    expect(staged.components).toEqual([{ product: 'watchdoc', version: '6.1.3', state: 'running', staged: { version: '6.1.4', verified: true } }]);
    const kept = await readFile(join(dir.path, 'packages', artifact.sha256));
    expect(kept.length).toBe(artifact.size);
  });

  it('downloads packages through the artifact mirror when one is given, and verifies them all the same', async () => {
    const genuine = artifacts.artifact('watchdoc', '6.1.4');
    const vendor = { ...genuine, url: 'https://download.watchdoc.example/packages/watchdoc/6.1.4.pkg' }; // unreachable from here
    const stage = command('domain/print-branches', ID, 'stage', { artifact: vendor });
    controller.mailbox.set(ID, [stage]);
    agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: dir.path, driver: new SimulatedDriver({ machine: { components: [] } }), logger: memoryLogger().logger, artifactMirror: `${artifacts.url}/mirror/` });
    await agent.start();
    const report = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === stage.id && x.status !== 'running'));
    expect(report.results.find((x) => x.id === stage.id)?.status).toBe('succeeded');
    expect(artifacts.downloads.get('/mirror/download.watchdoc.example/packages/watchdoc/6.1.4.pkg')).toBe(1);
  });

  it('reports every report with a sentAt, the agent version and facts.clock, valid against the protocol', async () => {
    await startAgent(new CountingDriver(new SimulatedDriver({ machine: { components: [] } })));
    const first = await controller.waitForReport(ID, () => true);
    expect(first.sequence).toBe(1);
    expect(Math.abs(Date.parse(first.sentAt) - Date.now())).toBeLessThan(5_000);
    expect(first.agentVersion).toMatch(/^versiond-agent\//);
    expect(first.facts?.clock).toBeDefined();
    expect(controller.invalid).toEqual([]);
  });

  it('reports a running command as running, and runs a command received again while it runs and after it ran once', async () => {
    const restart = command('account/acme-w360', ID, 'restart', { product: 'w360-core', version: '4.3.0' });
    const driver = new CountingDriver(new SimulatedDriver({ machine: { components: [{ product: 'w360-core', version: '4.3.0', state: 'running', pendingRestart: true }] }, behaviour: { stepMs: 400 } }));
    controller.mailbox.set(ID, [restart]);
    await startAgent(driver);
    // A report while it runs says so, and its answer lists the command again.
    await waitUntil(() => driver.runsOf(restart.id) === 1, 'the restart to start');
    agent!.reportSoon();
    const during = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === restart.id && x.status === 'running'));
    expect(during.results).toEqual([expect.objectContaining({ id: restart.id, status: 'running' })]);
    const after = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === restart.id && x.status === 'succeeded'));
    expect(after.components[0]?.pendingRestart).toBeUndefined();
    // Two more answers with it, then a direct offer of it twice over.
    agent!.reportSoon();
    await controller.waitForReport(ID, (r) => r.sequence > after.sequence);
    agent!.offer([restart, restart]);
    await new Promise((r) => setTimeout(r, 100));
    expect(driver.runsOf(restart.id)).toBe(1);
  });

  it('refuses to share its state directory with another running agent', async () => {
    await startAgent(new CountingDriver(new SimulatedDriver({ machine: { components: [] } })));
    const second = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: dir.path, driver: new SimulatedDriver({ machine: { components: [] } }), logger: memoryLogger().logger });
    await expect(second.start()).rejects.toThrow(/in use by process .*must not share/);
  });
});
