/**
 * Issue 17, the packages as a user installs them: `npm run pack` builds the controller's and
 * the agent's tarballs, `npm install --prefix` puts them into empty folders offline (from
 * npm's cache, which `npm ci` filled), and everything below runs from there with `node`
 * alone — no tsx, no dev dependency, no file of this clone. The end-to-end part is an
 * installed `versiond run` and one installed `versiond-agent`, enrolled with the
 * configuration `versiond agents add` prints, converging a one-server UMS cluster (seed 004).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoPackageServer, type DemoPackageServer } from '../../agent/demo-package-server.ts';
import { eventually } from '../helpers/controller-fixture.ts';
import { EXAMPLE_REPO, ROOT, TempRepo } from '../helpers/git-repo.ts';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let dir: string;
let controllerPrefix: string;
let agentPrefix: string;
const processes: ChildProcess[] = [];

/** Runs an installed command with a PATH that has node and nothing of this clone. */
function installed(prefix: string, bin: string, args: readonly string[], cwd = dir) {
  return run(join(prefix, 'node_modules', '.bin', bin), args, { cwd, env: cleanEnv(), encoding: 'utf8' });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _o, VITEST: _v, ...env } = process.env;
  return { ...env, NODE_ENV: 'production' };
}

/**
 * Bytes of the files under a node_modules, and the packages in it, nested ones included (the
 * packages bundle their dependencies under their own node_modules).
 */
function footprint(nodeModules: string): { bytes: number; packages: string[] } {
  let bytes = 0;
  const packages: string[] = [];
  const walk = (p: string): void => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else bytes += s.size;
  };
  const list = (modules: string): void => {
    for (const e of readdirSync(modules)) {
      if (e.startsWith('.')) continue;
      const dirs = e.startsWith('@') ? readdirSync(join(modules, e)).map((s) => join(e, s)) : [e];
      for (const d of dirs) {
        packages.push(d);
        const nested = join(modules, d, 'node_modules');
        if (statSync(nested, { throwIfNoEntry: false })?.isDirectory()) list(nested);
      }
    }
  };
  walk(nodeModules);
  list(nodeModules);
  return { bytes, packages: packages.sort() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'versiond-install-'));
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/pack.ts')], { cwd: ROOT, encoding: 'utf8' });
  controllerPrefix = join(dir, 'controller');
  agentPrefix = join(dir, 'agent');
  const npmInstall = (prefix: string, tarball: string) => run('npm', ['install', '--prefix', prefix, '--offline',
    '--no-audit', '--no-fund', '--ignore-scripts', '--omit=dev', join(ROOT, 'build', tarball)],
  { cwd: dir, encoding: 'utf8' });
  mkdirSync(controllerPrefix);
  mkdirSync(agentPrefix);
  await Promise.all([
    npmInstall(controllerPrefix, `versiond-${VERSION}.tgz`),
    npmInstall(agentPrefix, `versiond-agent-${VERSION}.tgz`),
  ]);
}, 240_000);

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the installed packages', () => {
  it('versiond --version prints the version of the package', async () => {
    const { stdout } = await installed(controllerPrefix, 'versiond', ['--version']);
    expect(stdout.trim()).toContain(VERSION);
    const agent = await installed(agentPrefix, 'versiond-agent', ['--version']);
    expect(agent.stdout.trim()).toContain(VERSION);
  });

  it('run from node alone: no tsx, no TypeScript source, no dev dependency', () => {
    const modules = readdirSync(join(controllerPrefix, 'node_modules'));
    for (const dev of ['tsx', 'typescript', 'vitest', 'puppeteer-core']) expect(modules).not.toContain(dev);
    // The package's own files (its bundled dependencies may ship TypeScript next to their JavaScript).
    const sources = (p: string): string[] => readdirSync(p, { recursive: true, encoding: 'utf8' })
      .filter((f) => !f.startsWith('node_modules') && /\.ts$/.test(f) && !f.endsWith('.d.ts'));
    expect(sources(join(controllerPrefix, 'node_modules', 'versiond'))).toEqual([]);
    expect(sources(join(agentPrefix, 'node_modules', 'versiond-agent'))).toEqual([]);
  });

  it('the agent package stays small: at most 5 MB installed and 10 packages', () => {
    const { bytes, packages } = footprint(join(agentPrefix, 'node_modules'));
    process.stdout.write(`versiond-agent installed: ${(bytes / 1e6).toFixed(2)} MB, ${packages.length} packages: ` +
      `${packages.join(', ')}\n`);
    expect(packages).toContain('versiond-agent');
    expect(packages.length).toBeLessThanOrEqual(10);
    expect(bytes).toBeLessThanOrEqual(5_000_000);
  });

  it('versiond validate checks a copy of example-repo', async () => {
    const copy = join(dir, 'example-repo');
    cpSync(EXAMPLE_REPO, copy, { recursive: true });
    const { stdout } = await installed(controllerPrefix, 'versiond', ['validate', '--repo', copy]);
    expect(stdout).toMatch(/^ok: .*example-repo/m);
  });
});

describe('an installed controller and an installed agent, enrolled by agents add --config-out', () => {
  let packages: DemoPackageServer;
  let repo: TempRepo;
  let bare: string;
  let url: string;
  beforeAll(async () => {
    packages = await startDemoPackageServer();
    repo = TempRepo.create({ fromExample: false, commit: false });
    mkdirSync(repo.path('releases'));
    mkdirSync(repo.path('ha-clusters'));
    for (const r of ['igel-ums-12.07.100', 'igel-ums-12.08.110']) {
      cpSync(join(EXAMPLE_REPO, 'releases', `${r}.yaml`), repo.path(`releases/${r}.yaml`));
    }
    writeFileSync(repo.path('ha-clusters/ums-solo.yaml'), `apiVersion: versiond/v1
kind: HACluster
metadata:
  name: ums-solo
spec:
  release: igel-ums-12.08.110
  servers:
    - name: ums-solo-1
  preflight:
    backup: Command
`);
    repo.commitAll('a one-server UMS cluster');
    bare = join(dir, 'fleet.git');
    repo.git('clone', '-q', '--bare', repo.dir, bare);
  });
  afterAll(async () => {
    await packages?.close();
    repo?.dispose();
  });

  it('converges the cluster, and says so in Git', async () => {
    const state = join(dir, 'controller-state');
    let out = '';
    const controller = spawn(join(controllerPrefix, 'node_modules', '.bin', 'versiond'), ['run', '--repo', bare,
      '--listen', '127.0.0.1:0', '--state-dir', state, '--artifact-mirror', packages.mirror,
      '--warm-up', '0.1', '--coalesce', '0.1', '--report-interval', '1', '--log-format', 'json'],
    { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    processes.push(controller);
    controller.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    controller.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    url = await eventually(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 30_000,
      `the controller to listen:\n${out}`);

    const config = join(dir, 'ums-solo-1.json');
    const enrol = await installed(controllerPrefix, 'versiond', ['agents', 'add', 'ums-solo-1', '--state-dir', state,
      '--controller-url', url, '--agent-token-file', join(dir, 'ums-solo-1.token'), '--config-out', config]);
    const token = /^(vda_\S+)$/m.exec(enrol.stdout)![1]!;
    writeFileSync(join(dir, 'ums-solo-1.token'), `${token}\n`, { mode: 0o600 });
    const machine = join(dir, 'machine.json');
    writeFileSync(machine, JSON.stringify({
      components: [{ product: 'igel-ums', version: '12.07.100', state: 'running', mode: 'normal' }],
      facts: { registeredMembers: ['ums-solo-1'] },
    }));
    let agentLog = '';
    const agent = spawn(join(agentPrefix, 'node_modules', '.bin', 'versiond-agent'), ['--config', config,
      '--state-dir', join(dir, 'agent-state'), '--driver', `simulated:${machine}`,
      '--artifact-mirror', packages.mirror],
    { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    processes.push(agent);
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));

    const target = await eventually(async () => {
      const res = await fetch(`${url}/v1/targets/hacluster/ums-solo`).catch(() => undefined);
      const body = res?.ok ? (await res.json()) as { phase: string; summary: string } : undefined;
      return body?.phase === 'Converged' ? body : undefined;
    }, 90_000, `ums-solo to converge; agent log:\n${agentLog.slice(-3000)}\ncontroller log:\n${out.slice(-3000)}`);
    expect(target.summary).toMatch(/1 of 1 servers updated to 12\.08\.110/);
    await eventually(() => /phase: Converged/.test(
      repo.git('--git-dir', bare, 'show', 'main:status/hacluster/ums-solo.yaml')), 10_000, 'the status commit');

    agent.kill('SIGTERM');
    controller.kill('SIGTERM');
    const [agentCode, controllerCode] = await Promise.all([agent, controller].map((p) =>
      new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('close', r)))));
    expect([agentCode, controllerCode]).toEqual([0, 0]);
  }, 120_000);
});
