import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDemoPackageServer } from '../../agent/demo-package-server.ts';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { domainRepo, eventually, FakeAgent } from '../helpers/controller-fixture.ts';
import { ROOT } from '../helpers/git-repo.ts';

/**
 * `versiond run` as a real process (issue 4, item 5): it serves agents, commits status, and on
 * SIGTERM finishes what is in flight and commits the status still waiting for its coalescing
 * interval before it exits 0.
 */
describe('versiond run, as a process', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('drives a rollout end to end, and SIGTERM commits the status that was still waiting', async () => {
    const work = domainRepo();
    const bare = mkdtempSync(join(tmpdir(), 'versiond-bare-'));
    work.git('clone', '-q', '--bare', work.dir, bare);
    const stateDir = mkdtempSync(join(tmpdir(), 'versiond-state-'));
    const packages = await startDemoPackageServer();
    cleanups.push(() => work.dispose(), () => rmSync(bare, { recursive: true, force: true }), () => rmSync(stateDir, { recursive: true, force: true }), () => packages.close());
    const credentials = await AgentCredentials.open(stateDir);
    const tokens = new Map<string, string>();
    for (const id of ['wd-master', 'wd-s1', 'wd-s2']) tokens.set(id, await credentials.add(id));

    // Coalescing of one hour: after each target's first commit, only SIGTERM can commit again.
    const child: ChildProcess = spawn(
      process.execPath,
      [join(ROOT, 'controller/cli/bin.js'), 'run', '--repo', bare, '--listen', '127.0.0.1:0', '--state-dir', stateDir, '--coalesce', '3600', '--warm-up', '0.1', '--report-interval', '1', '--artifact-mirror', packages.mirror, '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await eventually(() => /listening on (http:\/\/\S+)/.exec(stdout)?.[1], 15_000, 'the controller to listen');

    const git = (...args: string[]) => work.git('--git-dir', bare, ...args);
    const show = (spec: string) => {
      try {
        return git('show', spec);
      } catch {
        return '';
      }
    };
    const agents = ['wd-master', 'wd-s1', 'wd-s2'].map(
      (id) => new FakeAgent(url, id, tokens.get(id)!, [{ product: 'watchdoc', version: id === 'wd-master' ? '6.1.4' : '6.1.3', state: 'running' }]),
    );
    for (const a of agents) a.follow(100);
    await eventually(() => /phase: /.test(show('main:status/domain/print-test.yaml')), 15_000, 'the first status commit');
    await eventually(() => agents.slice(1).every((a) => a.ran.some((c) => c.action === 'apply')), 15_000, 'both slaves to apply 6.1.4');
    // Every slave reported 6.1.4 at least once more after applying it.
    const seq = agents.map((a) => a.sequence);
    await eventually(() => agents.every((a, i) => a.sequence >= seq[i]! + 2), 5000, 'reports after the apply');
    expect(show('main:status/domain/print-test.yaml')).not.toMatch(/phase: Converged/);

    for (const a of agents) a.stop();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    expect(show('main:status/domain/print-test.yaml')).toMatch(/phase: Converged/);
    expect(git('log', '-1', '--format=%s', 'main')).toMatch(/^status\(domain\/print-test\): .*3\/3 servers at 6\.1\.4/);

    // JSON logs: every line about a target names it and the revision.
    const lines = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const aboutTargets = lines.filter((l) => l.target !== undefined);
    expect(aboutTargets.length).toBeGreaterThan(0);
    for (const l of aboutTargets) expect(l.revision ?? l.msg).toBeTruthy();
    expect(lines.some((l) => l.msg === 'versiond stopped')).toBe(true);
  });
});
