/**
 * A fleet spread over several processes (`versiond-fleet --shards N`): this process
 * coordinates, one child process per shard (`shard.ts`) runs its share of the agents as an
 * ordinary `Fleet`. One event loop runs about a thousand reports a second before its agents
 * fall behind all at once; shards run on every core, and each holds only its agents' memory.
 *
 * What stays here, so that the fleet behaves as one:
 *  - **Tokens**: agents are registered once, here (one writer of the controller's agents file).
 *  - **Placement** (`shard-placement.ts`): machines that talk to each other (a console and its
 *    distribution server, an auto-update device and its repository server) share a shard;
 *    members a revision adds join the shard of those they talk to.
 *  - **Revisions**: each is sent to every shard (duties follow it), with the tokens of the
 *    newcomers each shard is to start.
 *  - **Counters**: each shard sends its own every second; `counters()` merges them
 *    (`fleet-counters.ts`) once every shard has reported. Events are passed on as they come.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Level } from 'pino';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { AgentTls } from '../reference/agent-tls.ts';
import { dutiesByAgent, type Duty } from './duties.ts';
import { mergeCounters, processUsage, type FleetCounters } from './fleet-counters.ts';
import { fleetConnections } from './fleet-connections.ts';
import type { FleetEvent } from './fleet-events.ts';
import type { FleetPlan, PlannedAgent } from './fleet-plan.ts';
import type { FleetTokens } from './fleet-tokens.ts';
import { waitUntilAdmitted } from './fleet.ts';
import { ShardPlacement, type SplitPair } from './shard-placement.ts';
import type { FromShard, ShardStart, ToShard } from './shard.ts';

const SHARD_BIN = fileURLToPath(new URL('./shard-bin.js', import.meta.url));

export interface ShardedFleetOptions {
  readonly shards: number;
  readonly controllerUrl: string;
  readonly stateDir: string;
  readonly plan: FleetPlan;
  readonly tokens: Pick<FleetTokens, 'ensure' | 'get'>;
  /** A behaviour file (read by each shard), or its text. */
  readonly behaviour?: ShardStart['behaviour'];
  readonly timeScale?: number;
  readonly push?: boolean;
  readonly artifactMirror?: string;
  readonly spreadMs?: number;
  readonly tls?: AgentTls;
  readonly controllerKey?: string;
  readonly agentLogLevel?: Level;
  readonly onEvent?: (event: FleetEvent) => void;
  /** Something the coordinator must say (a shard that died, machines placed apart). */
  readonly onProblem?: (message: string) => void;
  /** Each line a shard writes (its agents' log); default: to this process's stdout, or stderr. */
  readonly onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How often shards send their counters (default 1 s). */
  readonly statsEveryMs?: number;
  readonly tuning?: ShardStart['tuning'];
}

interface Shard {
  readonly index: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  counters: FleetCounters | undefined;
  stopped: boolean;
}

export class ShardedFleet {
  readonly startedAt = Date.now();
  private readonly placement: ShardPlacement;
  private readonly shards: Shard[] = [];
  private readonly reportedSplits = new Set<string>();
  private applying: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  private constructor(private readonly options: ShardedFleetOptions) {
    this.placement = new ShardPlacement(options.shards);
  }

  /** Registers the plan's agents, places them, starts every shard; resolves once all started. */
  static async start(options: ShardedFleetOptions): Promise<ShardedFleet> {
    const fleet = new ShardedFleet(options);
    try {
      await fleet.launch();
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  /** Agents per shard. */
  get sizes(): readonly number[] {
    return this.placement.sizes;
  }

  /** The shard running an agent. */
  shardOf(agent: string): number | undefined {
    return this.placement.shardOf(agent);
  }

  /** The process ids of the shards (CPU and memory are measured per process). */
  get pids(): readonly number[] {
    return this.shards.flatMap((s) => (s.child.pid !== undefined ? [s.child.pid] : []));
  }

  /** The whole fleet's counters, once every shard has sent its own. */
  counters(): FleetCounters | undefined {
    if (this.shards.length === 0 || this.shards.some((s) => s.counters === undefined)) return undefined;
    return mergeCounters(this.startedAt, this.shards.map((s) => s.counters!), processUsage());
  }

  /** A new revision: newcomers are registered and placed, then every shard follows it. */
  applyDesired(objects: readonly AnyDesiredObject[]): Promise<void> {
    this.applying = this.applying.then(() => this.apply(objects)).catch((err: unknown) => {
      this.options.onProblem?.(`following the revision failed: ${(err as Error).message}`);
    });
    return this.applying;
  }

  /** Stops every shard (each stops its agents, which save their state) and waits for them to exit. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.applying;
      for (const s of this.shards) this.tell(s, { kind: 'stop' });
      await Promise.all(
        this.shards.map(async (s) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<void>((r) => (timer = setTimeout(r, 120_000)));
          await Promise.race([s.exited, late]);
          clearTimeout(timer);
          if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
          await s.exited;
        }),
      );
    })();
    return this.stopping;
  }

  // ---------------------------------------------------------------- internals

  private async launch(): Promise<void> {
    const o = this.options;
    const agents = o.plan.agents;
    await this.admit(agents.map((a) => a.id));
    this.placement.place(agents.map((a) => a.id), new Map(agents.map((a) => [a.id, a.duties] as const)));
    const spreadMs = o.spreadMs ?? Math.min(10_000, agents.length);
    const started: Promise<void>[] = [];
    for (let i = 0; i < o.shards; i++) {
      const mine = agents.filter((a) => this.placement.shardOf(a.id) === i);
      const shard = this.spawn(i);
      started.push(this.firstWord(shard));
      this.tell(shard, this.startMessage(i, mine, spreadMs));
    }
    await Promise.all(started);
  }

  private startMessage(shard: number, agents: readonly PlannedAgent[], spreadMs: number): ShardStart {
    const o = this.options;
    const tokens: Record<string, string> = {};
    for (const a of agents) {
      const t = o.tokens.get(a.id);
      if (t !== undefined) tokens[a.id] = t;
    }
    return {
      kind: 'start',
      shard,
      controllerUrl: o.controllerUrl,
      stateDir: o.stateDir,
      agents,
      tokens,
      timeScale: o.timeScale ?? 1,
      push: o.push ?? true,
      spreadMs,
      agentLogLevel: o.agentLogLevel ?? 'warn',
      statsEveryMs: o.statsEveryMs ?? 1000,
      ...(o.behaviour !== undefined ? { behaviour: o.behaviour } : {}),
      ...(o.artifactMirror !== undefined ? { artifactMirror: o.artifactMirror } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      ...(o.controllerKey !== undefined ? { controllerKey: o.controllerKey } : {}),
      ...(o.tuning !== undefined ? { tuning: o.tuning } : {}),
    };
  }

  private spawn(index: number): Shard {
    // The v8 serializer carries what JSON would not (undefined fields, Buffers of TLS material).
    // Its output comes through this process, a line at a time: shards sharing this process's
    // stdout would mix their lines, and inheriting a pipe stalled the parent's own I/O in tests.
    const child = fork(SHARD_BIN, [], {
      serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: shardExecArgv(),
    });
    const output = this.options.onOutput ?? ((line, stream) => void process[stream].write(`${line}\n`));
    const lines = (stream: 'stdout' | 'stderr'): Promise<void> => new Promise((resolve) => {
      const rl = createInterface({ input: child[stream]!, crlfDelay: Infinity });
      rl.on('line', (line) => output(line, stream));
      rl.once('close', resolve);
    });
    const drained = Promise.all([lines('stdout'), lines('stderr')]);
    // Exited, and everything it wrote passed on.
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      .then(() => drained)
      .then(() => undefined);
    const shard: Shard = { index, child, exited, counters: undefined, stopped: false };
    child.on('message', (m: FromShard) => {
      if (m.kind === 'counters') shard.counters = m.counters;
      else if (m.kind === 'event') this.options.onEvent?.(m.event);
      else if (m.kind === 'stopped') {
        shard.stopped = true;
        if (m.counters !== undefined) shard.counters = m.counters;
      }
    });
    child.on('error', (err) => this.options.onProblem?.(`shard ${index}: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (!shard.stopped && this.stopping === undefined) {
        this.options.onProblem?.(`shard ${index} (pid ${child.pid}) exited (${code ?? signal}): its agents are gone`);
      }
    });
    this.shards.push(shard);
    return shard;
  }

  /** Resolves when the shard says it started; rejects when it failed or died first. */
  private firstWord(shard: Shard): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromShard): void => {
        if (m.kind === 'started') done(undefined);
        else if (m.kind === 'failed') done(new Error(`shard ${shard.index} could not start: ${m.message}`));
      };
      const onExit = (code: number | null): void => {
        done(new Error(`shard ${shard.index} exited (${code}) before it started`));
      };
      const done = (err: Error | undefined): void => {
        shard.child.off('message', onMessage);
        shard.child.off('exit', onExit);
        if (err === undefined) resolve();
        else reject(err);
      };
      shard.child.on('message', onMessage);
      shard.child.once('exit', onExit);
    });
  }

  private tell(shard: Shard, message: ToShard): void {
    if (shard.child.connected) shard.child.send(message);
  }

  /** Registers the agents without a token and waits until the controller lets them in. */
  private async admit(ids: readonly string[]): Promise<void> {
    const o = this.options;
    const registered = await o.tokens.ensure(ids);
    if (registered.length === 0) return;
    const probe = fleetConnections(o.controllerUrl, 2, undefined, o.tls);
    try {
      await waitUntilAdmitted(o.controllerUrl, registered[0]!, o.tokens.get(registered[0]!)!, probe);
    } finally {
      probe.http.destroy();
      probe.https.destroy();
    }
  }

  private async apply(objects: readonly AnyDesiredObject[]): Promise<void> {
    const duties: ReadonlyMap<string, readonly Duty[]> = dutiesByAgent(objects);
    // The agents a fleet runs are those with duties (`planFleet` plans one per entry).
    const newcomers = [...duties.keys()].filter((id) => this.placement.shardOf(id) === undefined);
    if (newcomers.length > 0) await this.admit(newcomers);
    this.sayApart(this.placement.place(newcomers, duties));
    for (const shard of this.shards) {
      const join: Record<string, string> = {};
      for (const id of newcomers) {
        const token = this.options.tokens.get(id);
        if (this.placement.shardOf(id) === shard.index && token !== undefined) join[id] = token;
      }
      this.tell(shard, { kind: 'desired', objects, join });
    }
  }

  private sayApart(pairs: readonly SplitPair[]): void {
    for (const { a, b } of pairs) {
      const key = `${a} ${b}`;
      if (this.reportedSplits.has(key)) continue;
      this.reportedSplits.add(key);
      this.options.onProblem?.(
        `${a} and ${b} talk to each other but run in different shards (placed before a revision linked them): `
          + 'syncs and self-updates between them fail; restart the fleet to place them together',
      );
    }
  }
}

/**
 * The flags of this process a shard runs with too: memory limits and profiling (a benchmark's
 * `--cpu-prof` profiles every shard). Not a test runner's loaders and conditions.
 */
export function shardExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept = /^--(max-old-space-size|max-semi-space-size|cpu-prof|heap-prof|stack-size)/;
  // `--cpu-prof-dir DIR` is two arguments: the value goes with its flag.
  const takesValue = /^--(cpu-prof|heap-prof)-(dir|name|interval)$/;
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (!kept.test(a)) continue;
    out.push(a);
    if (takesValue.test(a) && i + 1 < execArgv.length) out.push(execArgv[++i]!);
  }
  return out;
}
