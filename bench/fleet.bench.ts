/**
 * Fleet benchmark (issue 7): a simulated fleet reporting every 10 s through the real HTTP path,
 * a version change committed, and what the controller does with it.
 *
 *   node --import tsx bench/fleet.bench.ts [--agents 10000[,100000]] [--report-interval 10]
 *        [--coalesce 5] [--steady 20] [--timeout 600] [--fleet-shards N] [--push-domains N]
 *        [--keep] [--cpu-prof DIR] [--heap-snapshot DIR] [--controller-heap MiB] [--json] [--strict]
 *   node --import tsx bench/fleet.bench.ts --soak 30m [--change-every 5m] [--flap 1] [--agents 10000]
 *
 * For each fleet size, three processes, as in production: the controller (`versiond run`, the
 * real CLI), the fleet (`versiond-fleet`, one reference agent per member on a simulated
 * machine, one keep-alive pool) and this one (the package mirror, the Git pushes, the
 * measurements). The repository (`fleet/fleet-repo.ts`): ~90% workstations in accounts of
 * ~500 devices behind 5 repository servers, ~10% Watchdoc domains of 10 servers, every machine
 * starting at the desired version. Once every target is Converged and every agent reports:
 *
 *   1. steady state: the controller's CPU while N agents report every interval;
 *   2. one commit moves `stable` from w360-core 4.2.1 to 4.3.0 and every domain to watchdoc
 *      6.1.4, pushed to the watched repository; measured from the start of `git push`:
 *      - the first command delivered to an agent (seen by the fleet, in an answer);
 *      - every machine running its new version (the fleet's view);
 *      - every target's status Converged in Git at that commit (the controller's view,
 *        including the status commit's coalescing);
 *      - the controller's CPU (mean over the rollout) and memory (peak RSS);
 *      - the status commits: per minute, the busiest minute, and the least time between two
 *        commits of one target, which must be the coalescing interval whatever the fleet size;
 *      - next to "Converged in Git", its lower bound 4 T + coalescing (T the report interval:
 *        an account takes 4 ordered mailbox round trips — WRS install, WRS restart, device
 *        install, device restart), and the ratio measured / bound;
 *      - the domains whose slaves are bidirectional (`--push-domains`, default one in ten): the
 *        controller pushes their commands, so they need not wait for reports (they may beat
 *        the bound), measured apart from the mailbox targets;
 *      - the status repository's growth: `git gc` before the push and after convergence, in
 *        KiB per device per rollout.
 *   3. `--soak DURATION`: instead, N agents for that long (no steady/rollout figures), a version
 *      change every `--change-every` (forward, then back, …), `--flap` % of agents going offline
 *      for 20 s every 2.5 min; says whether every rollout Converged, the controller's RSS at the
 *      end against after the first rollout (goal: within 10 %), and every error line it logged.
 *
 * `--heap-snapshot DIR` writes the controller's heap at steady state and when half the machines are
 * updated (then summarise with `bench/heap-summary.ts`); the pauses skew that run's timings.
 * `--controller-heap` sets the controller's V8 old-space limit (default 1.5 GiB per 10,000 agents).
 *
 * The fleet runs in shards (`versiond-fleet --shards`, default one per core); its CPU and
 * memory are those of all its processes. CPU is measured as CPU time (/proc), not wall time.
 *
 * Goals (2 cores): first command ≤ 2 s; Converged in Git ≤ 6 report intervals (the account
 * procedure needs 4 mailbox round trips — WRS apply, WRS restart, device apply, device
 * restart — plus installs and one coalescing interval); controller ≤ 0.25 core at steady
 * state and ≤ 512 MiB RSS at 10,000 agents, ≤ 1 core and ≤ 1 GiB RSS in a rollout at
 * 100,000; one commit per target per coalescing interval at most. --strict exits 1 when a
 * goal is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/e2e/harness/free-port.ts';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDemoPackageServer } from '../agent/demo-package-server.ts';
import { git } from './generate-repo.ts';
import { CommittedPhases } from './fleet/committed-phases.ts';
import { createFleetRepo, commitVersionChange, gcSizeKiB, pushChange, type FleetRepo } from './fleet/fleet-repo.ts';
import { writeFleetTokens } from './fleet/fleet-credentials.ts';
import { coresUsed, sampleProcess, sampleTree, type ProcessSample } from './fleet/process-sample.ts';
import { runSoak } from './fleet/soak.ts';
import { stopChildren } from './fleet/stop-children.ts';
import { statusHistory, type StatusHistory } from './fleet/status-history.ts';
import { mib, round, table } from './stats.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const EXAMPLE_REPO = join(ROOT, 'example-repo');

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    'report-interval': { type: 'string', default: '10' },
    coalesce: { type: 'string', default: '5' },
    steady: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '600' },
    keep: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'controller-heap': { type: 'string' },
    json: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'fleet-shards': { type: 'string' },
    'push-domains': { type: 'string' },
    soak: { type: 'string' },
    'change-every': { type: 'string', default: '5m' },
    flap: { type: 'string', default: '1' },
    // bench/run.ts passes every benchmark the same arguments; these are other benchmarks'.
    files: { type: 'string' },
  },
  strict: false,
});
const sizes = String(values.agents).split(',').map((s) => Number(s.trim()));
const intervalS = Number(values['report-interval']);
const coalesceS = Number(values.coalesce);
const steadyS = Number(values.steady);
const timeoutMs = Number(values.timeout) * 1000;
const fleetShards = values['fleet-shards'] !== undefined ? ['--shards', String(values['fleet-shards'])] : [];
/** The least time an account can take to converge in Git: 4 ordered mailbox round trips, then the coalescing. */
const boundMs = (4 * intervalS + coalesceS) * 1000;

export const GOALS = { firstCommandMs: 2000, convergedIntervals: 6, steadyCores: 0.25, rssMiB10k: 512, rssMiB100k: 1024, rolloutCores100k: 1 } as const;

interface Result {
  readonly agents: number;
  readonly targets: number;
  readonly startMs: number;
  readonly steady: { readonly reportsPerSecond: number; readonly controllerCores: number; readonly fleetCores: number };
  readonly firstCommandMs: number | undefined;
  readonly machinesUpdatedMs: number | undefined;
  readonly convergedMs: number | undefined;
  /** 4 T + coalescing. */
  readonly boundMs: number;
  /** Every account and every mailbox domain Converged in Git at the commit. */
  readonly mailboxConvergedMs: number | undefined;
  /** Every domain with bidirectional slaves Converged in Git at the commit. */
  readonly pushConvergedMs: number | undefined;
  readonly pushDomains: number;
  /** The status repository after `git gc`, before the push and after convergence. */
  readonly repository: { readonly beforeKiB: number; readonly afterKiB: number; readonly perDeviceKiB: number };
  readonly fleetShards: number | undefined;
  readonly rollout: {
    readonly controllerCores: number;
    readonly controllerPeakRssMiB: number;
    /** Largest JavaScript heap in use seen on /metrics (sampled about twice a second): live objects and garbage. */
    readonly controllerPeakHeapMiB: number;
    /** Slowest answer to GET /healthz during the rollout: how long the controller's event loop was held up. */
    readonly controllerStallMs: number;
    readonly fleetCores: number;
    readonly fleetPeakRssMiB: number;
    /** Largest delay of the fleet's event loop during the rollout. */
    readonly fleetStallMs: number;
  };
  readonly statusCommits: StatusHistory;
  readonly errors: readonly string[];
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Children still running, killed if this process is interrupted: a benchmark must not leave a fleet behind. */
const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

function start(name: string, script: string, args: readonly string[], logFile: string, heapMiB: number): ChildProcess {
  const out = createWriteStream(logFile);
  const profile = typeof values['cpu-prof'] === 'string' ? ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], name)] : [];
  const snapshots = typeof values['heap-snapshot'] === 'string' && name === 'controller'
    ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', values['heap-snapshot']] : [];
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, ...profile, ...snapshots, join(ROOT, script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (code !== 0 && signal !== 'SIGTERM') log(`  ${name} exited (${code ?? signal}): see ${logFile}`);
  });
  return child;
}

async function metric(url: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, deadline: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 250): Promise<T> {
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface FleetStatsFile {
  readonly agents: number;
  readonly online: number;
  readonly reports: Record<string, number>;
  readonly firstDelivered: Record<string, number>;
  readonly convergence: { readonly total: number; readonly atDesired: number };
  readonly eventLoopDelayMs?: { readonly p50: number; readonly p99: number; readonly max: number };
}

function readStats(file: string): FleetStatsFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FleetStatsFile;
  } catch {
    return undefined;
  }
}

/** Which targets are Converged in Git at `revision` (any revision when undefined): all, mailbox ones, push ones. */
async function converged(repo: FleetRepo, phases: CommittedPhases, revision: string | undefined): Promise<{ all: boolean; mailbox: boolean; push: boolean }> {
  const statuses = await phases.read();
  const push = new Set(repo.pushDomains);
  let n = 0;
  let pushDone = 0;
  let mailbox = true;
  for (const [target, s] of statuses) {
    if (target.startsWith('source/')) continue;
    const ok = s.phase === 'Converged' && (revision === undefined || s.observedRevision === revision);
    if (!ok) {
      if (!push.has(target)) mailbox = false;
      continue;
    }
    n++;
    if (push.has(target)) pushDone++;
  }
  return { all: n === repo.targets, mailbox: mailbox && n - pushDone === repo.targets - push.size, push: pushDone === push.size };
}

async function allConverged(repo: FleetRepo, phases: CommittedPhases, revision: string | undefined): Promise<boolean> {
  return (await converged(repo, phases, revision)).all;
}

async function runOnce(agentCount: number): Promise<Result> {
  const dir = mkdtempSync(join(os.tmpdir(), 'versiond-fleet-bench-'));
  const errors: string[] = [];
  const t = Date.now();
  log(`\n${agentCount} agents: preparing the repository and tokens in ${dir}`);
  const repo = createFleetRepo(dir, agentCount, EXAMPLE_REPO, values['push-domains'] !== undefined ? { pushDomains: Number(values['push-domains']) } : {});
  const phases = new CommittedPhases(repo.origin);
  const controllerState = join(dir, 'controller-state');
  const tokens = join(dir, 'tokens.json');
  writeFleetTokens(controllerState, tokens, repo.agents);
  const mirror = await startDemoPackageServer();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const heap = Math.max(1024, Math.ceil(agentCount / 10_000) * 1536);
  const controllerHeap = values['controller-heap'] !== undefined ? Number(values['controller-heap']) : heap;
  const controller = start('controller', 'controller/cli/bin.js', ['run', '--repo', repo.origin, '--state-dir', controllerState, '--listen', `127.0.0.1:${port}`, '--report-interval', String(intervalS), '--coalesce', String(coalesceS), '--artifact-mirror', mirror.mirror, '--log-format', 'json'], join(dir, 'controller.log'), controllerHeap);
  const statsFile = join(dir, 'fleet-stats.json');
  let fleet: ChildProcess | undefined;
  try {
    await waitFor('the controller to be ready', Date.now() + 60_000, async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined));
    fleet = start('fleet', 'agent/fleet/bin.js', ['--controller', url, '--repo', repo.origin, '--tokens', tokens, '--state-dir', join(dir, 'fleet-state'), '--artifact-mirror', mirror.mirror, '--stats', statsFile, '--spread', String(intervalS), ...fleetShards], join(dir, 'fleet.log'), heap * 2);
    const startDeadline = Date.now() + Math.max(120_000, agentCount * 20);
    await waitFor('every agent to report', startDeadline, async () => ((await metric(url, 'versiond_agents{state="online"}')) === agentCount ? true : undefined), 500);
    await waitFor('every target Converged in Git at the first revision', startDeadline, async () => ((await allConverged(repo, phases, undefined)) ? true : undefined), 1000);
    const startMs = Date.now() - t;
    log(`  ${agentCount} agents report, ${repo.targets} targets Converged (${round(startMs / 1000)} s after the start); steady state for ${steadyS} s`);

    // ---------------------------------------------------------------- steady state
    const reportsBefore = (await metric(url, 'versiond_agent_reports_total{outcome="accepted"}')) ?? 0;
    const c0 = sampleProcess(controller.pid!)!;
    const f0 = sampleTree(fleet.pid!)!;
    await sleep(steadyS * 1000);
    const c1 = sampleProcess(controller.pid!)!;
    const f1 = sampleTree(fleet.pid!)!;
    const reportsAfter = (await metric(url, 'versiond_agent_reports_total{outcome="accepted"}')) ?? 0;
    const snapshot = (why: string): void => {
      if (values['heap-snapshot'] === undefined) return;
      log(`  heap snapshot of the controller (${why}) in ${values['heap-snapshot']}`);
      controller.kill('SIGUSR2');
    };
    snapshot('steady state');
    const steady = { reportsPerSecond: round((reportsAfter - reportsBefore) / ((c1.at - c0.at) / 1000)), controllerCores: round(coresUsed(c0, c1), 3), fleetCores: round(coresUsed(f0, f1), 2) };

    // ---------------------------------------------------------------- the change
    const beforeKiB = gcSizeKiB(repo.origin);
    const before = git(repo.origin, '--git-dir', repo.origin, 'rev-parse', 'main');
    commitVersionChange(repo);
    const samples: { c: ProcessSample; f: ProcessSample }[] = [];
    const timeline: { t: number; healthzMs: number; fleetDelayMax: number | undefined; atDesired: number | undefined }[] = [];
    let controllerStallMs = 0;
    let fleetStallMs = 0;
    let halfSnapshot = false;
    let peakHeapBytes = 0;
    const { startedAt, commit } = pushChange(repo);
    log(`  pushed ${commit.slice(0, 7)} (push started at ${new Date(startedAt).toISOString()}, took ${Date.now() - startedAt} ms): watching the rollout`);
    let firstCommandMs: number | undefined;
    let machinesUpdatedMs: number | undefined;
    let convergedMs: number | undefined;
    let mailboxConvergedMs: number | undefined;
    let pushConvergedMs: number | undefined;
    const deadline = startedAt + timeoutMs;
    while (convergedMs === undefined && Date.now() < deadline) {
      const c = sampleProcess(controller.pid!);
      const f = sampleTree(fleet.pid!);
      if (c && f) samples.push({ c, f });
      const h0 = Date.now();
      await fetch(`${url}/healthz`).then((r) => r.text()).catch(() => undefined);
      const healthzMs = Date.now() - h0;
      peakHeapBytes = Math.max(peakHeapBytes, (await metric(url, 'nodejs_heap_size_used_bytes')) ?? 0);
      controllerStallMs = Math.max(controllerStallMs, healthzMs);
      const stats = readStats(statsFile);
      fleetStallMs = Math.max(fleetStallMs, stats?.eventLoopDelayMs?.max ?? 0);
      timeline.push({ t: Date.now() - startedAt, healthzMs, fleetDelayMax: stats?.eventLoopDelayMs?.max, atDesired: stats?.convergence.atDesired });
      if (stats !== undefined) {
        const firsts = ['w360-core 4.3.0', 'watchdoc 6.1.4'].map((k) => stats.firstDelivered[k]).filter((x): x is number => x !== undefined);
        if (firstCommandMs === undefined && firsts.length > 0) firstCommandMs = Math.min(...firsts) - startedAt;
        if (!halfSnapshot && stats.convergence.atDesired * 2 >= stats.convergence.total && firsts.length > 0) {
          halfSnapshot = true;
          snapshot('half the machines updated');
        }
        if (machinesUpdatedMs === undefined && firsts.length === 2 && stats.convergence.atDesired === stats.convergence.total) machinesUpdatedMs = Date.now() - startedAt;
      }
      const now = await converged(repo, phases, commit);
      const at = Date.now() - startedAt;
      if (now.push) pushConvergedMs ??= at;
      if (now.mailbox) mailboxConvergedMs ??= at;
      if (machinesUpdatedMs !== undefined && now.all) convergedMs = at;
      else await sleep(500);
    }
    if (convergedMs === undefined) errors.push(`not Converged within ${timeoutMs / 1000} s`);
    const first = samples[0];
    const last = samples[samples.length - 1];
    const rollout = {
      controllerCores: first && last ? round(coresUsed(first.c, last.c), 2) : 0,
      controllerPeakRssMiB: mib(Math.max(...samples.map((s) => s.c.peakRssBytes))),
      controllerPeakHeapMiB: mib(peakHeapBytes),
      controllerStallMs,
      fleetCores: first && last ? round(coresUsed(first.f, last.f), 2) : 0,
      fleetPeakRssMiB: mib(Math.max(...samples.map((s) => s.f.peakRssBytes))),
      fleetStallMs,
    };
    if (values.keep) writeFileSync(join(dir, 'timeline.json'), JSON.stringify(timeline));
    const afterKiB = gcSizeKiB(repo.origin);
    const devices = repo.agents.length;
    const repository = { beforeKiB, afterKiB, perDeviceKiB: round((afterKiB - beforeKiB) / devices, 3) };
    const finalStats = readStats(statsFile);
    if (finalStats && (finalStats.reports['unauthorized'] ?? 0) > 0) errors.push(`${finalStats.reports['unauthorized']} reports refused as unauthorized`);
    const shards = (finalStats as { shards?: unknown[] } | undefined)?.shards?.length;
    return {
      agents: agentCount, targets: repo.targets, startMs, steady, firstCommandMs, machinesUpdatedMs, convergedMs, boundMs,
      mailboxConvergedMs, pushConvergedMs, pushDomains: repo.pushDomains.length, repository, fleetShards: shards ?? 1,
      rollout, statusCommits: statusHistory(repo.origin, before), errors,
    };
  } finally {
    await stopChildren([fleet, controller]);
    await mirror.close();
    if (values.keep) log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (values.soak !== undefined) {
  process.exitCode = await runSoak({
    root: ROOT, exampleRepo: EXAMPLE_REPO, agents: sizes[0]!, intervalS, coalesceS, duration: String(values.soak),
    changeEvery: String(values['change-every']), flapPercent: Number(values.flap), fleetArgs: fleetShards, json: values.json === true,
    keep: values.keep === true, log, start, children,
  });
  process.exit();
}

const results: Result[] = [];
for (const n of sizes) {
  try {
    results.push(await runOnce(n));
  } catch (err) {
    log(`  ${n} agents: ${(err as Error).message}`);
    results.push({ agents: n, targets: 0, startMs: 0, steady: { reportsPerSecond: 0, controllerCores: 0, fleetCores: 0 }, firstCommandMs: undefined, machinesUpdatedMs: undefined, convergedMs: undefined,
      boundMs, mailboxConvergedMs: undefined, pushConvergedMs: undefined, pushDomains: 0, repository: { beforeKiB: 0, afterKiB: 0, perDeviceKiB: 0 }, fleetShards: undefined, rollout: { controllerCores: 0, controllerPeakRssMiB: 0, controllerPeakHeapMiB: 0, controllerStallMs: 0, fleetCores: 0, fleetPeakRssMiB: 0, fleetStallMs: 0 }, statusCommits: { commits: 0, spanSeconds: 0, perMinute: 0, maxInOneMinute: 0, minSecondsPerTarget: undefined, multiTarget: 0 }, errors: [(err as Error).message] });
  }
}

const s = (ms: number | undefined): string | number => (ms === undefined ? '—' : round(ms / 1000, 1));
const verdict = (ok: boolean | undefined): string => (ok === undefined ? '—' : ok ? 'ok' : 'MISSED');
process.stderr.write(`\nversiond fleet benchmark: report interval ${intervalS} s, coalescing ${coalesceS} s\nmachine: ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), node ${process.version}\n\n`);
process.stderr.write(
  `${table(
    ['agents', 'targets', 'reports/s', 'ctrl cores (steady)', 'first command s', 'machines updated s', 'Converged in Git s', 'ctrl cores (rollout)', 'ctrl peak RSS MiB', 'ctrl peak heap MiB', 'ctrl stall ms', 'fleet cores', 'fleet peak RSS MiB', 'fleet stall ms'],
    results.map((r) => [r.agents, r.targets, r.steady.reportsPerSecond, r.steady.controllerCores, s(r.firstCommandMs), s(r.machinesUpdatedMs), s(r.convergedMs), r.rollout.controllerCores, r.rollout.controllerPeakRssMiB, r.rollout.controllerPeakHeapMiB, r.rollout.controllerStallMs, r.rollout.fleetCores, r.rollout.fleetPeakRssMiB, r.rollout.fleetStallMs]),
  )}\n\n`,
);
process.stderr.write(
  `${table(
    ['agents', 'status commits', 'per minute', 'busiest minute', 'multi-target', 'least s between commits of a target'],
    results.map((r) => [r.agents, r.statusCommits.commits, round(r.statusCommits.perMinute), r.statusCommits.maxInOneMinute, r.statusCommits.multiTarget, r.statusCommits.minSecondsPerTarget ?? '—']),
  )}\n\n`,
);
const ratio = (ms: number | undefined): string => (ms === undefined ? '—' : `${round(ms / boundMs, 2)}×`);
process.stderr.write(
  `${table(
    ['agents', 'measure', 'measured s', `bound 4 T + ${coalesceS} s`, 'measured / bound'],
    results.flatMap((r) => [
      [r.agents, 'Converged in Git, every target', s(r.convergedMs), round(boundMs / 1000, 1), ratio(r.convergedMs)],
      [r.agents, 'accounts and mailbox domains', s(r.mailboxConvergedMs), round(boundMs / 1000, 1), ratio(r.mailboxConvergedMs)],
      [r.agents, `${r.pushDomains} domains with bidirectional slaves`, s(r.pushConvergedMs), round(boundMs / 1000, 1), ratio(r.pushConvergedMs)],
      [r.agents, 'machines at the new version', s(r.machinesUpdatedMs), '', ''],
      [r.agents, 'Git after the machines (goal ≤ 10 s)', r.convergedMs !== undefined && r.machinesUpdatedMs !== undefined
        ? s(r.convergedMs - r.machinesUpdatedMs) : '—', '', ''],
    ]),
  )}\n\n`,
);
process.stderr.write(
  `${table(
    ['agents', 'fleet shards', 'status repo after gc, before KiB', 'after KiB', 'growth KiB per device per rollout'],
    results.map((r) => [r.agents, r.fleetShards ?? '—', r.repository.beforeKiB, r.repository.afterKiB, r.repository.perDeviceKiB]),
  )}\n\n`,
);
let missed = false;
const goalRows = results.flatMap((r) => {
  const rows: (string | number)[][] = [
    [r.agents, 'first command delivered', `${s(r.firstCommandMs)} s`, `≤ ${GOALS.firstCommandMs / 1000} s`, verdict(r.firstCommandMs === undefined ? false : r.firstCommandMs <= GOALS.firstCommandMs)],
    [r.agents, 'Converged in Git', `${s(r.convergedMs)} s`, `≤ ${GOALS.convergedIntervals * intervalS} s`, verdict(r.convergedMs === undefined ? false : r.convergedMs <= GOALS.convergedIntervals * intervalS * 1000)],
    [r.agents, 'controller CPU, steady', `${r.steady.controllerCores} cores`, `≤ ${GOALS.steadyCores}`, verdict(r.steady.controllerCores <= GOALS.steadyCores)],
    [r.agents, 'commits of one target', `≥ ${r.statusCommits.minSecondsPerTarget ?? '—'} s apart`, `≥ ${coalesceS} s (1 s resolution)`, verdict(r.statusCommits.minSecondsPerTarget === undefined || r.statusCommits.minSecondsPerTarget >= coalesceS - 1)],
  ];
  if (r.agents === 10_000) rows.push([r.agents, 'controller peak RSS', `${r.rollout.controllerPeakRssMiB} MiB`, `≤ ${GOALS.rssMiB10k} MiB`, verdict(r.rollout.controllerPeakRssMiB <= GOALS.rssMiB10k)]);
  if (r.agents === 100_000) {
    rows.push([r.agents, 'controller peak RSS, rollout', `${r.rollout.controllerPeakRssMiB} MiB`, `≤ ${GOALS.rssMiB100k} MiB`, verdict(r.rollout.controllerPeakRssMiB <= GOALS.rssMiB100k)]);
    rows.push([r.agents, 'controller CPU, rollout', `${r.rollout.controllerCores} cores`, `≤ ${GOALS.rolloutCores100k}`, verdict(r.rollout.controllerCores <= GOALS.rolloutCores100k)]);
  }
  return rows;
});
for (const row of goalRows) if (row[4] === 'MISSED') missed = true;
process.stderr.write(`${table(['agents', 'measure', 'value', 'goal', 'verdict'], goalRows)}\n`);
for (const r of results) for (const e of r.errors) process.stderr.write(`${r.agents} agents: ERROR ${e}\n`);
if (values.json) process.stdout.write(`${JSON.stringify({ intervalS, coalesceS, results }, null, 2)}\n`);
if (results.some((r) => r.errors.length > 0) || (values.strict && missed)) process.exitCode = 1;
