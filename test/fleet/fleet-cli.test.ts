/**
 * `versiond-fleet` as a process of its own next to a controller (as the end-to-end tests and
 * the benchmark run them): it registers its agents, drives a rollout, writes its counters, and
 * stops cleanly on SIGTERM; a bad behaviour file or bad flags stop it before anything starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { domainRepo, eventually } from '../helpers/controller-fixture.ts';
import { ROOT } from '../helpers/git-repo.ts';
import { startHarness, type Harness } from './helpers/harness.ts';

const BIN = join(ROOT, 'agent/fleet/bin.js');

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function fleetProcess(args: readonly string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

let harness: Harness | undefined;
let running: Run | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  await harness?.close();
  harness = undefined;
});

/** The domain's harness, its master at 6.1.4 and both slaves behind (an observed snapshot), and a stats file. */
async function domainFleet() {
  harness = await startHarness(domainRepo());
  const h = harness;
  const observedFile = join(h.fleetState, 'observed.json');
  const at = (agent: string, version: string) => ({
    agent,
    components: [{ product: 'watchdoc', version, state: 'running' }],
  });
  const agents = [at('wd-master', '6.1.4'), at('wd-s1', '6.1.3'), at('wd-s2', '6.1.3')];
  writeFileSync(observedFile, JSON.stringify({ agents }));
  return { h, observedFile, statsFile: join(h.fleetState, 'stats.json') };
}

describe('versiond-fleet', () => {
  it('runs the agents of the repository against a controller, drives its rollout, and stops on SIGTERM with exit 0', async () => {
    const { h, observedFile, statsFile } = await domainFleet();
    running = fleetProcess([
      '--controller', h.controller.url,
      '--repo', h.repo.dir,
      '--controller-state-dir', h.controllerState,
      '--state-dir', h.fleetState,
      '--observed', observedFile,
      '--artifact-mirror', h.packages.mirror,
      '--stats', statsFile,
    ]);
    const run = running;
    await eventually(() => h.status('domain/print-test')?.phase === 'Converged', 20_000, `the domain to converge (fleet output: ${run.output()})`);
    const stats = await eventually(() => existsSync(statsFile) && (JSON.parse(readFileSync(statsFile, 'utf8')) as { agents: number; online: number; reports: { answer: number }; convergence: { total: number; atDesired: number } }), 5000, 'the stats file');
    expect(stats).toMatchObject({ agents: 3, online: 3, convergence: { total: 3 } });
    expect(stats.reports.answer).toBeGreaterThan(0);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const lines = run.output().trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining([`fleet of 3 agents started against ${h.controller.url}`, 'SIGTERM received: stopping the fleet', 'fleet stopped']));
    // Every agent saved its state on the way out.
    for (const id of ['wd-master', 'wd-s1', 'wd-s2']) expect(existsSync(join(h.fleetState, 'agents', id, 'agent.lock'))).toBe(false);
  });

  it('with --shards 2, runs the agents in two processes, adds up their counters, and stops them all on SIGTERM', async () => {
    const { h, observedFile, statsFile } = await domainFleet();
    running = fleetProcess([
      '--controller', h.controller.url, '--repo', h.repo.dir, '--controller-state-dir', h.controllerState,
      '--state-dir', h.fleetState, '--observed', observedFile, '--artifact-mirror', h.packages.mirror,
      '--stats', statsFile, '--shards', '2',
    ]);
    const run = running;
    await eventually(() => h.status('domain/print-test')?.phase === 'Converged', 30_000, `the domain to converge (fleet output: ${run.output()})`);
    type Stats = { agents: number; online: number; reports: Record<string, number>; convergence: { total: number; atDesired: number }; shards: { agents: number; online: number }[] };
    const stats = await eventually(() => {
      const s = existsSync(statsFile) ? (JSON.parse(readFileSync(statsFile, 'utf8')) as Stats) : undefined;
      return s?.convergence.atDesired === 3 ? s : undefined;
    }, 10_000, 'the stats file to count 3 machines at their desired version');
    // One fleet's counters, made of two processes' counters.
    expect(stats).toMatchObject({ agents: 3, online: 3, convergence: { total: 3, atDesired: 3 }, reports: { unauthorized: 0, stale: 0 } });
    expect(stats.shards.map((s) => s.agents).sort()).toEqual([1, 2]);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const said = run.output().trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(said).toEqual(expect.arrayContaining(['the agents run in 2 processes', 'fleet stopped']));
    for (const id of ['wd-master', 'wd-s1', 'wd-s2']) expect(existsSync(join(h.fleetState, 'agents', id, 'agent.lock'))).toBe(false);
  }, 60_000);

  it('refuses a behaviour file with a mistake before starting anything: exit 1, naming the file, line, column and field', async () => {
    harness = await startHarness(domainRepo());
    const file = join(harness.fleetState, 'bad.yaml');
    writeFileSync(file, 'defaults:\n  failureRate: 2\n');
    running = fleetProcess(['--controller', harness.controller.url, '--repo', harness.repo.dir, '--state-dir', harness.fleetState, '--behaviour', file]);
    expect(await running.exited).toBe(1);
    expect(running.output()).toContain(`${file}:2:16: defaults.failureRate: must be a number from 0 to 1`);
    expect(harness.controller.inventory.size).toBe(0);
  });

  it('says what is wrong with its flags: exit 2 and the usage', async () => {
    running = fleetProcess(['--controller', 'localhost:8080', '--repo', '.', '--state-dir', '/tmp/x']);
    expect(await running.exited).toBe(2);
    expect(running.output()).toMatch(/^versiond-fleet: --controller: "localhost:8080" is not an http\(s\) URL\nusage: versiond-fleet /);
  });
});
