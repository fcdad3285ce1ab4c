/**
 * Agent report ingest benchmark (issue 4).
 *
 *   npx tsx bench/agent-ingest.bench.ts [--agents 10000] [--connections 128] [--seconds 10]
 *        [--warmup 3] [--rounds 3] [--memory-agents 100000] [--seed 42] [--pin] [--cpu-prof DIR]
 *        [--json] [--strict] [--flood [--flood-connections 10] [--flood-items 500000]]
 *
 * In one run, with the same load generator, the same fleet and the same report bodies:
 *   1. versiond's `POST /v1/agents/{id}/report`, wired as controller/run/controller.ts wires
 *      it (createControllerServer + reportRoute: bearer-token authentication against
 *      AgentCredentials, body reading, JSON + schema validation, ObservedInventory, the
 *      Mailbox's answer, the reports metric), for --agents registered agents;
 *   2. a bare node:http server that reads the body, JSON.parses it and answers a constant of
 *      the same shape: the floor of any ingest path in Node;
 *   3. the ratio of the two rates;
 *   4. the heap kept per agent for --memory-agents agents, each registered and having sent
 *      one typical report, split into credentials and inventory.
 * Each server runs in a process of its own, and so does the load generator (raw keep-alive
 * HTTP/1.1 sockets, closed loop, --connections of them): on 2 cores, one core each. --pin
 * makes that explicit (taskset: server on CPU 0, load on CPU 1). Every report is for a random
 * agent with its sequence going up; any answer but a 200 is an error. The pair is measured
 * --rounds times, alternating which server goes first; verdicts use each server's median.
 * Each run also shows what else took CPU (other processes, softirq, steal): on a shared
 * 2-core machine, that is what makes one run differ from the next.
 * Goals (issue 4, 2 cores): >= 10,000 reports/s, p99 <= 50 ms, >= 40% of the bare server's
 * rate, no error; <= 1 KB per agent. --cpu-prof DIR writes a CPU profile of each server
 * run in DIR/<server>-<round>/. --strict exits 1 when a goal is missed (errors always do).
 *
 * --flood (issue 14): versiond alone, then versiond while one more registered agent floods it
 * (flood.ts, a process of its own: --flood-connections sockets posting ~1 MiB schema-invalid
 * reports back to back, ignoring Retry-After, from the start of the measured window), rounds
 * alternating. Prints both rates of valid reports from the other agents, their ratio (goal
 * >= 80 %), what the flooder was answered and /healthz latency under the flood. No bare
 * server and no memory measurement in this mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runIfMain } from './run-main.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AgentCredentials } from '../controller/agents/agent-credentials.ts';
import { agentId, writeFleetCredentials } from './agent-ingest/fleet.ts';
import type { LoadOptions, LoadResult } from './agent-ingest/load-generator.ts';
import type { FloodOptions, FloodResult } from './agent-ingest/flood.ts';
import type { MemoryResult } from './agent-ingest/memory.ts';
import type { ServerMode, ServerSnapshot } from './agent-ingest/server.ts';
import { round, table } from './stats.ts';

export const GOALS = { reportsPerSecond: 10_000, p99Ms: 50, shareOfBare: 0.4, bytesPerAgent: 1024 } as const;
/** Issue 14: valid reports of the others while one agent floods, as a share of the undisturbed rate. */
export const FLOOD_GOALS = { shareOfUndisturbed: 0.8 } as const;

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const HELPERS = join(BENCH_DIR, 'agent-ingest');

class BenchFailure extends Error {}

interface Options {
  agents: number;
  connections: number;
  seconds: number;
  warmup: number;
  rounds: number;
  memoryAgents: number;
  seed: number;
  pin: boolean;
  cpuProf: string | undefined;
  json: boolean;
  strict: boolean;
  flood: boolean;
  floodConnections: number;
  floodItems: number;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      agents: { type: 'string', default: '10000' },
      connections: { type: 'string', default: '128' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      'memory-agents': { type: 'string', default: '100000' },
      seed: { type: 'string', default: '42' },
      pin: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      json: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      flood: { type: 'boolean', default: false },
      'flood-connections': { type: 'string', default: '10' },
      'flood-items': { type: 'string', default: '500000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: false, // bench/run.ts passes every benchmark the same arguments
    allowPositionals: true,
  });
  if (values.help) return 'help';
  const integer = (flag: string, v: unknown, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new BenchFailure(`--${flag} must be an integer >= ${min}, not ${JSON.stringify(v)}`);
    return n;
  };
  const flood = values.flood === true;
  const agents = integer('agents', values.agents, flood ? 2 : 1);
  const connections = integer('connections', values.connections, 1);
  // In flood mode the last agent is the flooder: the load generator reports for the others.
  if (connections > agents - (flood ? 1 : 0)) {
    throw new BenchFailure(`--connections (${connections}) cannot exceed --agents (${agents}): each connection reports for agents of its own`);
  }
  return {
    agents,
    connections,
    seconds: integer('seconds', values.seconds, 1),
    warmup: integer('warmup', values.warmup, 0),
    rounds: integer('rounds', values.rounds, 1),
    memoryAgents: integer('memory-agents', values['memory-agents'], 1),
    seed: integer('seed', values.seed, 0),
    pin: values.pin === true,
    cpuProf: typeof values['cpu-prof'] === 'string' ? resolve(values['cpu-prof']) : undefined,
    json: values.json === true,
    strict: values.strict === true,
    flood,
    floodConnections: integer('flood-connections', values['flood-connections'], 1),
    floodItems: integer('flood-items', values['flood-items'], 1),
  };
}

// ------------------------------------------------------------------ child processes

/** A TypeScript helper in a Node process of its own, with an IPC channel; `cpu` pins it (taskset). */
function startHelper(script: string, args: readonly string[], nodeFlags: readonly string[], cpu: number | undefined): ChildProcess {
  const node = [...nodeFlags, '--import', 'tsx', join(HELPERS, script), ...args];
  const [command, argv] = cpu === undefined ? [process.execPath, node] : ['taskset', ['-c', String(cpu), process.execPath, ...node]];
  return spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next message of `type` from `child`; rejects if the child exits first. */
function nextMessage<T>(child: ChildProcess, type: string, what: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (m: { type?: string }) => {
      if (m?.type !== type) return;
      cleanup();
      resolvePromise(m as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new BenchFailure(`${what} exited (code ${code}, signal ${signal}) before sending ${type}`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** CPU time of the whole machine so far (Linux /proc/stat, in jiffies). */
function machineTicks(): { tasks: number; softirq: number; steal: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { tasks: user + nice + system, softirq: irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/**
 * What else ran over a window, in cores: CPU the machine spent on tasks other than the
 * server and the load generator (other processes, including those of other containers on
 * the same kernel, which /proc/<pid> does not show), interrupt work (the kernel's loopback
 * TCP), and time the hypervisor says it stole. Noise, made visible: on a shared 2-core
 * machine, what others take comes out of the server's core.
 */
function interference(before: ReturnType<typeof machineTicks>, after: ReturnType<typeof machineTicks>, ours: number): Run['machine'] {
  if (before === undefined || after === undefined || after.total === before.total) return undefined;
  const cores = (ticks: number) => round((ticks / (after.total - before.total)) * os.cpus().length, 2);
  return {
    otherProcesses: Math.max(0, round(cores(after.tasks - before.tasks) - ours, 2)),
    softirq: cores(after.softirq - before.softirq),
    steal: cores(after.steal - before.steal),
  };
}

interface Run {
  readonly server: ServerMode;
  readonly round: number;
  /** --flood: what the flooding agent got, and /healthz latency (probed in undisturbed runs too). */
  readonly flood?: FloodResult;
  /** --flood: whether an agent flooded during this run. */
  readonly flooded?: boolean;
  readonly load: LoadResult;
  readonly reportsPerSecond: number;
  /** Reports per second of server CPU: the server's cost, less sensitive than the rate to what else runs on the machine. */
  readonly reportsPerCpuSecond: number;
  /** CPU the server used over the window, in cores (1.0 = one core busy). */
  readonly serverCpuCores: number;
  /** Share of the window the server's event loop was busy. */
  readonly serverLoopBusy: number;
  /** Reports the server accepted over the window between its two snapshots (taken through IPC: a few ms off the generator's window). */
  readonly serverAccepted: number;
  /** Reports the server accepted over the whole run. */
  readonly serverAcceptedTotal: number;
  readonly serverOutcomes: Readonly<Record<string, number>>;
  readonly inventorySize: number;
  readonly registered: number;
  readonly serverRssMiB: number;
  /** The server's event-loop delay over the window, ms. */
  readonly serverLoopDelay: { readonly p99: number; readonly max: number };
  /** Everything else the machine did over the window, in cores (Linux only). */
  readonly machine?: { readonly otherProcesses: number; readonly softirq: number; readonly steal: number };
}

/** The agent that floods (--flood): one more registered agent, whose token the load generator does not have. */
interface Flooder {
  readonly agent: string;
  readonly token: string;
}

async function measureServer(
  mode: ServerMode,
  roundNumber: number,
  opts: Options,
  stateDir: string,
  tokensFile: string,
  log: (s: string) => void,
  flood?: { readonly flooder: Flooder; readonly connections: number },
): Promise<Run> {
  // One folder per server and round: the main thread's profile is the `.0.` file in it.
  const profile = opts.cpuProf !== undefined ? ['--cpu-prof', '--cpu-prof-dir', join(opts.cpuProf, `${mode}-${roundNumber}`)] : [];
  const server = startHelper('server.ts', mode === 'versiond' ? [mode, stateDir, String(opts.agents)] : [mode], profile, opts.pin ? 0 : undefined);
  let load: ChildProcess | undefined;
  let flooding: ChildProcess | undefined;
  const name = flood && flood.connections > 0 ? `${mode}+flood` : mode;
  try {
    const { port } = await nextMessage<{ port: number }>(server, 'listening', `${mode} server`);
    const snapshot = () => {
      const reply = nextMessage<ServerSnapshot>(server, 'snapshot', `${mode} server`);
      server.send({ type: 'snapshot' });
      return reply;
    };
    // The flooder is loaded before the load starts: its start-up must not fall in the window.
    if (flood) {
      flooding = startHelper('flood.ts', [], [], opts.pin ? 1 : undefined);
      await nextMessage(flooding, 'ready', 'flood');
    }
    load = startHelper('load-generator.ts', [], [], opts.pin ? 1 : undefined);
    const measuring = nextMessage(load, 'measuring', 'load generator');
    const done = nextMessage<{ result: LoadResult }>(load, 'done', 'load generator');
    done.catch(() => {}); // awaited below; if the generator dies in the warm-up, `measuring` reports it
    const run: LoadOptions & { type: 'run' } = {
      type: 'run',
      port,
      tokensFile,
      connections: opts.connections,
      warmupMs: opts.warmup * 1000,
      durationMs: opts.seconds * 1000,
      seed: opts.seed,
    };
    load.send(run);
    log(`[${name} #${roundNumber}] port ${port}: warming up for ${opts.warmup} s with ${opts.connections} connections`);
    await measuring;
    // The flood starts with the measured window, so its burst of 400s falls inside it too.
    // With 0 connections it only probes /healthz: the undisturbed runs of --flood.
    let flooded: Promise<{ result: FloodResult }> | undefined;
    if (flood && flooding) {
      flooded = nextMessage<{ result: FloodResult }>(flooding, 'done', 'flood');
      flooded.catch(() => {});
      const run: FloodOptions & { type: 'run' } = {
        type: 'run',
        port,
        agent: flood.flooder.agent,
        token: flood.flooder.token,
        connections: flood.connections,
        durationMs: opts.seconds * 1000 + 60_000, // stopped below, when the window ends
        items: opts.floodItems,
        probeEveryMs: 50,
      };
      flooding.send(run);
    }
    const before = await snapshot();
    const ticksBefore = machineTicks();
    log(`[${name} #${roundNumber}] measuring for ${opts.seconds} s`);
    const { result } = await done;
    if (flooding?.connected) flooding.send({ type: 'stop' });
    const floodResult = flooded ? (await flooded).result : undefined;
    const ticksAfter = machineTicks();
    const after = await snapshot();
    const serverSeconds = (after.at - before.at) / 1000;
    const cpuUs = after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
    const ours = cpuUs / 1e6 / serverSeconds + result.cpuCores + (floodResult?.cpuCores ?? 0);
    const machine = interference(ticksBefore, ticksAfter, ours);
    const active = after.elu.active - before.elu.active;
    const idle = after.elu.idle - before.elu.idle;
    const out: Run = {
      server: mode,
      round: roundNumber,
      ...(floodResult !== undefined ? { flood: floodResult, flooded: (flood?.connections ?? 0) > 0 } : {}),
      load: result,
      reportsPerSecond: Math.round(result.ok / result.seconds),
      reportsPerCpuSecond: Math.round(result.ok / (cpuUs / 1e6)),
      serverCpuCores: round(cpuUs / 1e6 / serverSeconds, 2),
      serverLoopBusy: round(active / (active + idle), 2),
      serverAccepted: (after.outcomes['accepted'] ?? 0) - (before.outcomes['accepted'] ?? 0),
      serverAcceptedTotal: after.outcomes['accepted'] ?? 0,
      serverOutcomes: after.outcomes,
      inventorySize: after.inventorySize,
      registered: after.registered,
      serverRssMiB: round(after.rssBytes / (1024 * 1024), 1),
      serverLoopDelay: { p99: round(after.loopDelay.p99, 1), max: round(after.loopDelay.max, 1) },
      ...(machine !== undefined ? { machine } : {}),
    };
    log(
      `[${name} #${roundNumber}] ${out.reportsPerSecond} reports/s, p99 ${round(result.latency.p99, 1)} ms, ${Object.values(result.errors).reduce((a, b) => a + b, 0)} error(s); ` +
        `server ${out.serverCpuCores} cores, load generator ${round(result.cpuCores, 2)} cores` +
        (floodResult
          ? `; flood answers ${JSON.stringify(floodResult.answers)}, ` +
            (floodResult.healthz.count === 0
              ? 'no answer to /healthz'
              : `/healthz p50 ${round(floodResult.healthz.p50, 1)} ms, max ${round(floodResult.healthz.max, 1)} ms`)
          : ''),
    );
    return out;
  } finally {
    if (load && load.exitCode === null) load.kill();
    if (flooding && flooding.exitCode === null) flooding.kill();
    if (server.connected) server.send({ type: 'stop' });
    const stopped = exited(server);
    const timer = setTimeout(() => server.kill(), 10_000);
    await stopped;
    clearTimeout(timer);
  }
}

async function measureMemory(opts: Options, dir: string, log: (s: string) => void): Promise<MemoryResult> {
  log(`[memory] ${opts.memoryAgents} agents: credentials, then one typical report each`);
  const child = startHelper('memory.ts', [join(dir, 'memory-state'), String(opts.memoryAgents)], ['--expose-gc'], undefined);
  const { result } = await nextMessage<{ result: MemoryResult }>(child, 'memory', 'memory measurement');
  await exited(child);
  return result;
}

// ------------------------------------------------------------------ report

/** The median run of each server: its rate and latencies are those the verdicts use. */
interface ServerSummary {
  readonly server: ServerMode;
  readonly reportsPerSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly reportsPerCpuSecond: number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function summarizeServer(server: ServerMode, runs: readonly Run[]): ServerSummary {
  return summarizeRuns(server, runs.filter((r) => r.server === server));
}

function summarizeRuns(server: ServerMode, mine: readonly Run[]): ServerSummary {
  return {
    server,
    reportsPerSecond: Math.round(median(mine.map((r) => r.reportsPerSecond))),
    p50: round(median(mine.map((r) => r.load.latency.p50)), 2),
    p95: round(median(mine.map((r) => r.load.latency.p95)), 2),
    p99: round(median(mine.map((r) => r.load.latency.p99)), 2),
    reportsPerCpuSecond: Math.round(median(mine.map((r) => r.reportsPerCpuSecond))),
  };
}

export interface BenchResult {
  readonly benchmark: 'agent-ingest';
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly options: Options;
  readonly goals: typeof GOALS;
  readonly runs: readonly Run[];
  readonly versiond: ServerSummary;
  readonly bare: ServerSummary;
  readonly shareOfBare: number;
  readonly memory: MemoryResult;
  readonly checks: readonly string[];
  readonly goalsMet: { readonly rate: boolean; readonly p99: boolean; readonly noErrors: boolean; readonly shareOfBare: boolean; readonly memory: boolean };
  readonly totalSeconds: number;
}

const errorCount = (r: Run) => Object.values(r.load.errors).reduce((a, b) => a + b, 0);
const mark = (met: boolean) => (met ? '✓' : '✗');

function renderTable(result: BenchResult): string {
  const { machine: m, options: o, versiond, bare } = result;
  const out: string[] = [];
  out.push('versiond agent report ingest benchmark');
  out.push(`machine: ${m.platform}, ${m.cpus} cpus (${m.cpuModel}), node ${m.node}`);
  out.push(
    `load:    ${o.agents} registered agents, ${o.connections} keep-alive connections (closed loop), warm-up ${o.warmup} s, measured ${o.seconds} s, ` +
      `~${result.runs[0]?.load.bytesSentPerRequest ?? 0} B per request; ${o.rounds} round(s), servers alternating; ` +
      (o.pin ? 'server pinned to CPU 0, load generator to CPU 1' : 'processes not pinned (--pin to pin them)'),
  );
  out.push('');
  out.push(
    table(
      ['server', 'round', 'reports/s', 'per server CPU-s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'server cores', 'server loop busy', 'load-gen cores', 'other load cores', 'softirq cores', 'steal cores'],
      result.runs.map((r) => [
        r.server,
        r.round,
        r.reportsPerSecond,
        r.reportsPerCpuSecond,
        round(r.load.latency.p50, 2),
        round(r.load.latency.p95, 2),
        round(r.load.latency.p99, 2),
        round(r.load.latency.max, 1),
        errorCount(r),
        r.serverCpuCores,
        r.serverLoopBusy,
        round(r.load.cpuCores, 2),
        r.machine?.otherProcesses ?? '-',
        r.machine?.softirq ?? '-',
        r.machine?.steal ?? '-',
      ]),
    ),
  );
  for (const r of result.runs) {
    if (errorCount(r) === 0) continue;
    out.push(`${r.server} #${r.round} errors: ${JSON.stringify(r.load.errors)}; first: ${r.load.errorSamples.map((s) => JSON.stringify(s.slice(0, 200))).join(' | ')}`);
  }
  out.push('');
  const g = result.goalsMet;
  const mem = result.memory;
  const medianOf = o.rounds > 1 ? ` (median of ${o.rounds})` : '';
  out.push(
    table(
      ['goal', 'measured', 'goal', 'met'],
      [
        [`versiond reports/s${medianOf}`, String(versiond.reportsPerSecond), `>= ${GOALS.reportsPerSecond}`, mark(g.rate)],
        [`versiond p99 latency${medianOf}`, `${versiond.p99} ms`, `<= ${GOALS.p99Ms} ms`, mark(g.p99)],
        [`versiond / bare node:http rate (${versiond.reportsPerSecond} / ${bare.reportsPerSecond})`, `${round(result.shareOfBare * 100, 1)} %`, `>= ${GOALS.shareOfBare * 100} %`, mark(g.shareOfBare)],
        ['errors (non-200, lost connections), all runs', String(result.runs.reduce((a, r) => a + errorCount(r), 0)), '0', mark(g.noErrors)],
        [`heap per agent (${mem.agents} agents)`, `${mem.totalBytesPerAgent} B`, `<= ${GOALS.bytesPerAgent} B`, mark(g.memory)],
      ],
    ),
  );
  out.push(
    `  cost: versiond answers ${versiond.reportsPerCpuSecond} reports per second of server CPU, bare node:http ${bare.reportsPerCpuSecond} ` +
      `(${round((versiond.reportsPerCpuSecond / bare.reportsPerCpuSecond) * 100, 1)} %); the rate goal needs ~${round(GOALS.reportsPerSecond / versiond.reportsPerCpuSecond, 2)} of a core for the server`,
  );
  out.push(
    `  heap per agent: credentials ${mem.credentialsBytesPerAgent} B + inventory (one report of ~${mem.reportBytesMean} B) ${mem.inventoryBytesPerAgent} B; heap used in all ${mem.heapUsedMiB} MiB`,
  );
  for (const c of result.checks) out.push(`  check: ${c}`);
  const clientBound = result.runs.filter((r) => r.load.cpuCores >= 0.9);
  if (clientBound.length > 0) {
    out.push(`  note: the load generator used ~a whole core against ${clientBound.map((r) => `${r.server} #${r.round}`).join(', ')}: that rate may be the generator's limit, not the server's.`);
  }
  const disturbed = result.runs.filter((r) => (r.machine?.otherProcesses ?? 0) + (r.machine?.steal ?? 0) >= 0.2);
  if (disturbed.length > 0) {
    out.push(
      `  note: other processes or the hypervisor took >= 0.2 cores during ${disturbed.map((r) => `${r.server} #${r.round}`).join(', ')}: ` +
        'on a 2-core machine that is taken from the server; those runs understate it (re-run on a quiet machine, or with more --rounds).',
    );
  }
  out.push(`total benchmark time: ${round(result.totalSeconds, 1)} s`);
  return out.join('\n');
}

// ------------------------------------------------------------------ --flood

export interface FloodBenchResult {
  readonly benchmark: 'agent-ingest-flood';
  readonly machine: BenchResult['machine'];
  readonly options: Options;
  readonly goals: typeof FLOOD_GOALS;
  readonly runs: readonly Run[];
  readonly undisturbed: ServerSummary;
  readonly flooded: ServerSummary;
  readonly shareOfUndisturbed: number;
  readonly goalMet: boolean;
  readonly totalSeconds: number;
}

async function floodMode(
  options: Options,
  stateDir: string,
  tokensFile: string,
  flooder: Flooder,
  log: (s: string) => void,
  started: number,
): Promise<number> {
  // Undisturbed and flooded runs alternate, as the two servers do in the default mode.
  const runs: Run[] = [];
  for (let r = 1; r <= options.rounds; r++) {
    // Both have the flood process (the same processes compete for the CPUs); undisturbed, it only probes /healthz.
    const quiet = { flooder, connections: 0 };
    const flood = { flooder, connections: options.floodConnections };
    const order = r % 2 === 1 ? [quiet, flood] : [flood, quiet];
    for (const f of order) runs.push(await measureServer('versiond', r, options, stateDir, tokensFile, log, f));
  }
  const problems: string[] = [];
  for (const r of runs) {
    const name = `versiond${r.flooded ? ' + flood' : ''} (round ${r.round})`;
    if (r.serverAcceptedTotal !== r.load.totalOk) {
      const got = `the load generator got ${r.load.totalOk} answers of 200`;
      problems.push(`${name} accepted ${r.serverAcceptedTotal} reports, ${got}`);
    }
    if (r.inventorySize !== r.load.agentsUsed) {
      problems.push(`${name} holds ${r.inventorySize} agents in its inventory, ${r.load.agentsUsed} reported`);
    }
    if ((r.flood?.answers['200'] ?? 0) > 0) problems.push(`${name} accepted an invalid report of the flooder`);
  }
  if (problems.length > 0) throw new BenchFailure(problems.join('; '));
  const undisturbed = summarizeRuns('versiond', runs.filter((r) => !r.flooded));
  const flooded = summarizeRuns('versiond', runs.filter((r) => r.flooded));
  const share = undisturbed.reportsPerSecond === 0 ? 0 : flooded.reportsPerSecond / undisturbed.reportsPerSecond;
  const cpus = os.cpus();
  const platform = `${os.platform()} ${os.release()} ${os.arch()}`;
  const result: FloodBenchResult = {
    benchmark: 'agent-ingest-flood',
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version, platform },
    options,
    goals: FLOOD_GOALS,
    runs,
    undisturbed,
    flooded,
    shareOfUndisturbed: round(share, 3),
    goalMet: share >= FLOOD_GOALS.shareOfUndisturbed,
    totalSeconds: round((performance.now() - started) / 1000, 1),
  };
  const text = renderFlood(result);
  if (options.json) {
    process.stderr.write(`${text}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  if (!runs.every((r) => errorCount(r) === 0)) return 1;
  return options.strict && !result.goalMet ? 1 : 0;
}

function renderFlood(result: FloodBenchResult): string {
  const { machine: m, options: o, undisturbed, flooded } = result;
  const out: string[] = [];
  out.push('versiond agent report ingest while one agent floods invalid reports (issue 14)');
  out.push(`machine: ${m.platform}, ${m.cpus} cpus (${m.cpuModel}), node ${m.node}`);
  const bodyBytes = result.runs.find((r) => r.flood)?.flood?.bodyBytes ?? 0;
  out.push(
    `load:    ${o.agents - 1} agents reporting valid reports on ${o.connections} keep-alive connections (closed loop), ` +
      `warm-up ${o.warmup} s, measured ${o.seconds} s; ` +
      `flood: 1 agent, ${o.floodConnections} connections, ${bodyBytes} B invalid reports back to back, ` +
      `from the start of the window; ${o.rounds} round(s), alternating` +
      (o.pin ? '; server on CPU 0, load and flood on CPU 1' : ''),
  );
  out.push('');
  out.push(
    table(
      [
        'run', 'round', 'valid reports/s', 'per server CPU-s', 'p50 ms', 'p99 ms', 'errors', 'server cores',
        'server RSS MiB',
        'loop delay max ms', 'flood answers', 'flood MB sent', '/healthz p50 ms', '/healthz p99 ms', '/healthz max ms',
        'other load cores',
      ],
      result.runs.map((r) => [
        r.flooded ? 'flooded' : 'undisturbed',
        r.round,
        r.reportsPerSecond,
        r.reportsPerCpuSecond,
        round(r.load.latency.p50, 2),
        round(r.load.latency.p99, 2),
        errorCount(r),
        r.serverCpuCores,
        r.serverRssMiB,
        r.serverLoopDelay.max,
        r.flooded && r.flood ? Object.entries(r.flood.answers).map(([k, v]) => `${k}:${v}`).join(' ') : '-',
        r.flooded && r.flood ? round(r.flood.bytesWritten / 1e6, 0) : '-',
        // No answer in the window at all (NaN, sent as null over IPC): say so.
        r.flood ? (r.flood.healthz.count > 0 ? round(r.flood.healthz.p50, 2) : 'none') : '-',
        r.flood ? (r.flood.healthz.count > 0 ? round(r.flood.healthz.p99, 1) : 'none') : '-',
        r.flood ? (r.flood.healthz.count > 0 ? round(r.flood.healthz.max, 1) : 'none') : '-',
        r.machine ? round(r.machine.otherProcesses + r.machine.steal, 2) : '-',
      ]),
    ),
  );
  out.push('');
  const medianOf = o.rounds > 1 ? ` (median of ${o.rounds})` : '';
  out.push(
    table(
      ['measure', 'value', 'goal', 'met'],
      [
        [`valid reports/s, undisturbed${medianOf}`, String(undisturbed.reportsPerSecond), '', ''],
        [`valid reports/s, one agent flooding${medianOf}`, String(flooded.reportsPerSecond), '', ''],
        [
          'ratio',
          `${round(result.shareOfUndisturbed * 100, 1)} %`,
          `>= ${FLOOD_GOALS.shareOfUndisturbed * 100} %`,
          mark(result.goalMet),
        ],
        [`p99 latency, undisturbed / flooding${medianOf}`, `${undisturbed.p99} / ${flooded.p99} ms`, '', ''],
        [
          `valid reports per server CPU-second, undisturbed / flooding${medianOf}`,
          `${undisturbed.reportsPerCpuSecond} / ${flooded.reportsPerCpuSecond} ` +
            `(${round((flooded.reportsPerCpuSecond / undisturbed.reportsPerCpuSecond) * 100, 1)} %)`,
          '',
          '',
        ],
      ],
    ),
  );
  const disturbed = result.runs.filter((r) => (r.machine?.otherProcesses ?? 0) + (r.machine?.steal ?? 0) >= 0.2);
  if (disturbed.length > 0) {
    out.push(
      `  note: other processes or the hypervisor took >= 0.2 cores during ` +
        `${disturbed.map((r) => `${r.flooded ? 'flooded' : 'undisturbed'} #${r.round}`).join(', ')}: ` +
        'those rates understate the server (re-run on a quiet machine, or with more --rounds).',
    );
  }
  out.push(`total benchmark time: ${round(result.totalSeconds, 1)} s`);
  return out.join('\n');
}

// ------------------------------------------------------------------ main

export async function main(argv: readonly string[]): Promise<number> {
  const started = performance.now();
  let opts: Options | 'help';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`agent-ingest.bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(
      'usage: npx tsx bench/agent-ingest.bench.ts [--agents N] [--connections N] [--seconds N] [--warmup N] [--rounds N] [--memory-agents N] [--seed N] [--pin] [--cpu-prof DIR] [--json] [--strict]\n',
    );
    return 0;
  }
  const options = opts;
  const log = (s: string) => process.stderr.write(`  ${s}\n`);
  const dir = mkdtempSync(join(os.tmpdir(), 'versiond-ingest-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // The fleet: all but one agent written straight to agents.json (see fleet.ts for why),
    // the last enrolled through AgentCredentials.add, which re-reads and rewrites the file:
    // so the file is proven to be what versiond itself writes.
    const stateDir = join(dir, 'state');
    let t = performance.now();
    const tokens = writeFleetCredentials(stateDir, options.agents - 1);
    const credentials = await AgentCredentials.open(stateDir);
    tokens.push(await credentials.add(agentId(options.agents - 1)));
    if (credentials.size !== options.agents) throw new BenchFailure(`agents.json holds ${credentials.size} agents, expected ${options.agents}`);
    const tokensFile = join(dir, 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify(options.flood ? tokens.slice(0, -1) : tokens), { mode: 0o600 });
    log(`${options.agents} agents registered in ${round(performance.now() - t)} ms`);
    if (options.flood) {
      const flooder = { agent: agentId(options.agents - 1), token: tokens[options.agents - 1]! };
      return await floodMode(options, stateDir, tokensFile, flooder, log, started);
    }

    // Servers alternate from round to round, so a drift of the machine (another process,
    // thermal, the hypervisor) does not always fall on the same one.
    const runs: Run[] = [];
    for (let r = 1; r <= options.rounds; r++) {
      const order: readonly ServerMode[] = r % 2 === 1 ? ['versiond', 'bare'] : ['bare', 'versiond'];
      for (const mode of order) runs.push(await measureServer(mode, r, options, stateDir, tokensFile, log));
    }
    t = performance.now();
    const memory = await measureMemory(options, dir, log);
    log(`[memory] ${memory.totalBytesPerAgent} B per agent, measured in ${round((performance.now() - t) / 1000, 1)} s`);

    // What the servers saw must agree with what the generator counted.
    const problems: string[] = [];
    for (const r of runs) {
      const name = `the ${r.server} server (round ${r.round})`;
      if (r.serverAcceptedTotal !== r.load.totalOk) problems.push(`${name} accepted ${r.serverAcceptedTotal} reports, the load generator got ${r.load.totalOk} answers of 200`);
      if (r.server !== 'versiond') continue;
      if (r.registered !== options.agents) problems.push(`${name} loaded ${r.registered} agents, not ${options.agents}`);
      if (r.inventorySize !== r.load.agentsUsed) problems.push(`${name} holds ${r.inventorySize} agents in its inventory, ${r.load.agentsUsed} reported`);
    }
    if (problems.length > 0) throw new BenchFailure(problems.join('; '));
    const versiondRuns = runs.filter((r) => r.server === 'versiond');
    const checks = [
      `each server accepted exactly as many reports as the generator got answers of 200; versiond's inventory held every agent that reported ` +
        `(${versiondRuns.map((r) => r.inventorySize).join(', ')} of ${options.agents}); versiond outcomes: ${versiondRuns.map((r) => JSON.stringify(r.serverOutcomes)).join(', ')}`,
    ];

    const versiond = summarizeServer('versiond', runs);
    const bare = summarizeServer('bare', runs);
    const shareOfBare = bare.reportsPerSecond === 0 ? 0 : versiond.reportsPerSecond / bare.reportsPerSecond;
    const goalsMet = {
      rate: versiond.reportsPerSecond >= GOALS.reportsPerSecond,
      p99: versiond.p99 <= GOALS.p99Ms,
      noErrors: runs.every((r) => errorCount(r) === 0),
      shareOfBare: shareOfBare >= GOALS.shareOfBare,
      memory: memory.totalBytesPerAgent <= GOALS.bytesPerAgent,
    };
    const cpus = os.cpus();
    const result: BenchResult = {
      benchmark: 'agent-ingest',
      machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()} ${os.arch()}` },
      options,
      goals: GOALS,
      runs,
      versiond,
      bare,
      shareOfBare: round(shareOfBare, 3),
      memory,
      checks,
      goalsMet,
      totalSeconds: round((performance.now() - started) / 1000, 1),
    };
    const text = renderTable(result);
    if (options.json) {
      process.stderr.write(`${text}\n`);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
    if (!goalsMet.noErrors) return 1;
    return options.strict && !Object.values(goalsMet).every(Boolean) ? 1 : 0;
  } catch (err) {
    if (err instanceof BenchFailure) {
      process.stderr.write(`agent-ingest.bench: FAILED: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

runIfMain(import.meta.url, main);
