import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoArtifact } from '../../agent/demo-artifacts.ts';
import { Agent } from '../../agent/reference/agent.ts';
import { HooksDriver } from '../../agent/reference/drivers/hooks-driver.ts';
import type { AgentCommand, AgentReport } from '../../agent/reference/protocol.ts';
import { ArtifactServer } from './helpers/artifact-server.ts';
import { command, memoryLogger, tempDir, writeHook } from './helpers/agent-kit.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'wd-nantes';
const TOKEN = 'vda_nantes';
const TARGET = 'domain/print-branches';

describe('packages that do not verify are "not secure"', () => {
  let controller: FakeController;
  let artifacts: ArtifactServer;
  let dir: { path: string; remove: () => Promise<void> };
  let hooks: string;
  let agent: Agent | undefined;

  beforeEach(async () => {
    controller = await FakeController.start({ [ID]: TOKEN });
    artifacts = await ArtifactServer.start();
    dir = await tempDir('security');
    hooks = join(dir.path, 'hooks');
    await mkdir(hooks);
    await writeHook(hooks, 'inventory', `echo '{"components":[{"product":"watchdoc","version":"6.1.3","state":"running"}]}'`);
    await writeHook(hooks, 'apply', 'echo "$VERSIOND_VERSION" >> applied.log\necho "installed $VERSIOND_VERSION"');
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await controller.close();
    await artifacts.close();
    await dir.remove();
  });

  async function run(commands: AgentCommand[], last: AgentCommand): Promise<AgentReport> {
    controller.mailbox.set(ID, commands);
    agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: join(dir.path, 'state'), driver: new HooksDriver(hooks), logger: memoryLogger().logger });
    await agent.start();
    return controller.waitForReport(ID, (r) => r.results.some((x) => x.id === last.id && x.status !== 'running'));
  }

  const applied = (): boolean => existsSync(join(hooks, 'applied.log'));
  const keptPackages = async (): Promise<string[]> => readdir(join(dir.path, 'state', 'packages')).catch(() => []);

  it('refuses to stage a package whose sha256 is not the release\'s, keeps nothing, and reports it not verified', async () => {
    const genuine = artifacts.artifact('watchdoc', '6.1.4');
    const wrongDigest = { ...genuine, sha256: 'b'.repeat(64) };
    const stage = command(TARGET, ID, 'stage', { artifact: wrongDigest });
    const report = await run([stage], stage);

    const result = report.results.find((x) => x.id === stage.id)!;
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/^package not secure: sha256 [0-9a-f]{64} does not match the release's b{64}$/);
    expect(report.components[0]?.staged).toEqual({ version: '6.1.4', verified: false, reason: result.message });
    expect(await keptPackages()).toEqual([]);
  });

  it('refuses to apply a package with the right digest but a signature that does not verify, and never calls the apply hook', async () => {
    const genuine = artifacts.artifact('watchdoc', '6.1.4');
    const forged = { ...genuine, signature: demoArtifact('watchdoc', '6.1.3').signature }; // a real signature, of other bytes
    const apply = command(TARGET, ID, 'apply', { artifact: forged });
    const report = await run([apply], apply);

    expect(report.results.find((x) => x.id === apply.id)).toMatchObject({ status: 'failed', message: 'package not secure: the Ed25519 signature does not verify' });
    expect(report.components[0]?.version).toBe('6.1.3');
    expect(applied()).toBe(false);
    expect(await keptPackages()).toEqual([]);
  });

  it('verifies the staged package again before apply: one altered on disk after staging is refused and deleted', async () => {
    const genuine = artifacts.artifact('watchdoc', '6.1.4');
    const stage = command(TARGET, ID, 'stage', { artifact: genuine });
    controller.mailbox.set(ID, [stage]);
    agent = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: join(dir.path, 'state'), driver: new HooksDriver(hooks), logger: memoryLogger().logger });
    await agent.start();
    await controller.waitForReport(ID, (r) => r.components[0]?.staged?.verified === true);

    // Someone alters the staged file; then the controller asks for the apply.
    const kept = join(dir.path, 'state', 'packages', genuine.sha256);
    await writeFile(kept, Buffer.alloc(genuine.size, 0x41));
    const apply = command(TARGET, ID, 'apply', { artifact: genuine });
    controller.mailbox.set(ID, [stage, apply]);
    agent.reportSoon();
    const report = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === apply.id && x.status !== 'running'));

    const result = report.results.find((x) => x.id === apply.id)!;
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/^package not secure: sha256 .* does not match/);
    expect(report.components[0]?.staged).toMatchObject({ version: '6.1.4', verified: false });
    expect(applied()).toBe(false);
    expect(existsSync(kept)).toBe(false);
  });

  it('applies the genuine package, handing the hook the verified file', async () => {
    const genuine = artifacts.artifact('watchdoc', '6.1.4');
    await writeHook(hooks, 'apply', 'sha256sum "$VERSIOND_PACKAGE" | cut -c1-64 >> applied.log\necho "installed $VERSIOND_VERSION"');
    const apply = command(TARGET, ID, 'apply', { artifact: genuine });
    const report = await run([apply], apply);
    expect(report.results.find((x) => x.id === apply.id)).toMatchObject({ status: 'succeeded', message: 'installed 6.1.4' });
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(join(hooks, 'applied.log'), 'utf8')).trim()).toBe(genuine.sha256);
    expect(await keptPackages()).toEqual([]); // installed: nothing waits in the store
  });
});
