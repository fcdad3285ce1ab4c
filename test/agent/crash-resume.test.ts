import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { ArtifactServer } from './helpers/artifact-server.ts';
import { command, CountingDriver, memoryLogger, tempDir, waitUntil, writeHook } from './helpers/agent-kit.ts';
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'ums-2';
const TOKEN = 'vda_ums2';
const TARGET = 'hacluster/ums-prod';

const msg = (l: Record<string, unknown>): string => String(l['msg']);
const about = (id: string) => (l: Record<string, unknown>): boolean => (l['command'] as { id?: string } | undefined)?.id === id;

describe('an agent killed in the middle of a command (SIGKILL) resumes it at restart', () => {
  let controller: FakeController;
  let artifacts: ArtifactServer;
  let dir: { path: string; remove: () => Promise<void> };
  const processes: AgentProcess[] = [];

  beforeEach(async () => {
    controller = await FakeController.start({ [ID]: TOKEN });
    artifacts = await ArtifactServer.start();
    dir = await tempDir('crash');
    await writeFile(join(dir.path, 'token'), `${TOKEN}\n`);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await controller.close();
    await artifacts.close();
    await dir.remove();
  });

  function start(driver: string): AgentProcess {
    const p = startAgentProcess(['--controller', controller.url, '--id', ID, '--token-file', join(dir.path, 'token'), '--state-dir', join(dir.path, 'state'), '--driver', driver]);
    processes.push(p);
    return p;
  }

  it('runs an install cut short again, once, and never loses it', async () => {
    await writeFile(
      join(dir.path, 'machine.json'),
      JSON.stringify({ components: [{ product: 'igel-ums', version: '12.07.100', state: 'running', mode: 'normal' }], behaviour: { installMs: 1_000 } }),
    );
    const apply = command(TARGET, ID, 'apply', { artifact: artifacts.artifact('igel-ums', '12.08.110') });
    controller.mailbox.set(ID, [apply]); // stays there, as a mailbox does until the controller sees the result

    const first = start(`simulated:${join(dir.path, 'machine.json')}`);
    await first.waitForLine((l) => about(apply.id)(l) && msg(l).startsWith('command started'), 'command started');
    await new Promise((r) => setTimeout(r, 300)); // well inside the 1 s install
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const journaled = JSON.parse(await readFile(join(dir.path, 'state', 'state.json'), 'utf8')) as { journal?: { command: { id: string } } };
    expect(journaled.journal?.command.id).toBe(apply.id);

    const second = start(`simulated:${join(dir.path, 'machine.json')}`);
    const done = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === apply.id && x.status === 'succeeded'), 8_000);
    expect(done.components[0]).toMatchObject({ product: 'igel-ums', version: '12.08.110', state: 'running', mode: 'update' });
    // The answer to that report lists it again (the mailbox has not caught up); give the agent a moment with it, then stop it as systemd would.
    await new Promise((r) => setTimeout(r, 250));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const all = [...first.lines, ...second.lines].filter(about(apply.id));
    expect(second.lines.filter((l) => msg(l).startsWith('resuming a command journaled before a restart'))).toHaveLength(1);
    expect(all.filter((l) => msg(l).startsWith('command started'))).toHaveLength(2); // cut short once, run again once
    expect(all.filter((l) => msg(l).startsWith('command succeeded'))).toHaveLength(1);
    expect(controller.invalid).toEqual([]);
    expect([...first.lines, ...second.lines].every((l) => l['agent'] === ID)).toBe(true);
  });

  it('takes a command whose effect is already there as done, without running it again', async () => {
    // The hook installs (the version file), then spends a long time on post-install work; it runs
    // in its own process group and survives the agent, as the hooks driver documents.
    const hooks = join(dir.path, 'hooks');
    await mkdir(hooks);
    await writeFile(join(hooks, 'installed-version'), '12.07.100');
    await writeHook(hooks, 'inventory', `printf '{"components":[{"product":"igel-ums","version":"%s","state":"running","mode":"normal"}]}' "$(cat installed-version)"`);
    await writeHook(hooks, 'apply', 'echo $$ > hook.pid\necho run >> runs.log\necho "$VERSIOND_VERSION" > installed-version\nsleep 30');
    const apply = command(TARGET, ID, 'apply', { artifact: artifacts.artifact('igel-ums', '12.08.110') });
    controller.mailbox.set(ID, [apply]);

    const first = start(`hooks:${hooks}`);
    await waitUntil(async () => (await readFile(join(hooks, 'installed-version'), 'utf8')).trim() === '12.08.110', 'the hook to install', 8_000);
    first.child.kill('SIGKILL');
    await first.exited;
    try {
      const second = start(`hooks:${hooks}`);
      const done = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === apply.id && x.status === 'succeeded'), 8_000);
      expect(done.results.find((x) => x.id === apply.id)?.message).toBe('apply had completed before the agent restarted');
      expect(second.lines.filter((l) => msg(l).startsWith('command journaled before a restart was already done'))).toHaveLength(1);
      expect((await readFile(join(hooks, 'runs.log'), 'utf8')).trim().split('\n')).toEqual(['run']);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      const pid = Number((await readFile(join(hooks, 'hook.pid'), 'utf8')).trim());
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('on stop, interrupts a command that does not finish in time, leaves it journaled, and the next start completes it', async () => {
    const apply = command(TARGET, ID, 'apply', { artifact: artifacts.artifact('igel-ums', '12.08.110') });
    controller.mailbox.set(ID, [apply]);
    const machine = { components: [{ product: 'igel-ums', version: '12.07.100', state: 'running' as const, mode: 'normal' as const }] };
    const state = join(dir.path, 'state');
    const slow = new CountingDriver(new SimulatedDriver({ machine, behaviour: { installMs: 5_000 } }));
    const first = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: state, driver: slow, logger: memoryLogger().logger });
    await first.start();
    await waitUntil(() => slow.runsOf(apply.id) === 1, 'the apply to start');
    await first.stop(100);
    const saved = JSON.parse(await readFile(join(state, 'state.json'), 'utf8')) as { journal?: { command: { id: string } }; results: Array<{ id: string; status: string }> };
    expect(saved.journal?.command.id).toBe(apply.id);
    expect(saved.results).toEqual([expect.objectContaining({ id: apply.id, status: 'running' })]);

    const quick = new CountingDriver(new SimulatedDriver({ machine, behaviour: { installMs: 0 } }));
    const second = new Agent({ id: ID, controllerUrl: controller.url, token: TOKEN, stateDir: state, driver: quick, logger: memoryLogger().logger });
    await second.start();
    try {
      const done = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === apply.id && x.status === 'succeeded'));
      expect(done.components[0]?.version).toBe('12.08.110');
      expect(quick.runsOf(apply.id)).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
