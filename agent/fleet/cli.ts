/**
 * `versiond-fleet`: a simulated fleet as a process of its own, next to a controller running as
 * another (end-to-end tests and the benchmark run them apart, as in production). It follows
 * the branch the controller watches, runs one reference agent per member of every target on a
 * simulated machine, and stops on SIGTERM/SIGINT (every agent saves its state; exit 0).
 *
 * Logs are pino JSON lines on stdout: the fleet's own (start, what happens to the fleet —
 * offline periods, operators, self-updates, members joining) and the agents' warnings. Exit
 * codes: 0 stopped by a signal, 1 could not start (repository, behaviour file, tokens), 2 usage.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Level } from 'pino';
import { versiondVersion } from '../../controller/cli/version.ts';
import type { DesiredState } from '../../controller/desired/load-desired-state.ts';
import { formatDiagnostic } from '../../controller/desired/diagnostics.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { readAgentTls } from '../reference/agent-tls.ts';
import { BehaviourFileError, FleetBehaviour } from './behaviour.ts';
import { DesiredFollower } from './desired-follower.ts';
import { Fleet } from './fleet.ts';
import { countersOf, LoopDelay, type FleetCounters } from './fleet-counters.ts';
import { planFleet, type StartVersions } from './fleet-plan.ts';
import type { FleetEvent } from './fleet-events.ts';
import { FleetTokens } from './fleet-tokens.ts';
import { ShardedFleet } from './sharded-fleet.ts';

/** Below this many agents per process, a shard more costs more than it saves. */
export const AGENTS_PER_SHARD = 1000;

export const USAGE = `usage: versiond-fleet --controller URL --repo DIR --state-dir DIR
                      [--controller-state-dir DIR] [--tokens FILE] [--behaviour FILE]
                      [--observed FILE] [--artifact-mirror URL] [--branch B]
                      [--start desired|previous] [--time-scale X] [--spread SEC] [--no-push]
                      [--stats FILE] [--log-level LEVEL] [--agent-log-level LEVEL]
                      [--ca FILE] [--cert FILE --key FILE] [--shards N]

Runs one simulated agent per member of every target of the repository's branch, against a
running controller.

  --controller URL            the versiond controller (http://127.0.0.1:8080)
  --repo DIR                  the Git repository the controller watches (work tree or bare);
                              members a new commit adds join the fleet
  --state-dir DIR             the fleet's own state: one agent state dir each, tokens.json
  --controller-state-dir DIR  the controller's state dir: agents without a token are
                              registered there (as versiond agents add does)
  --tokens FILE               tokens made elsewhere: {"tokens": {"<agent id>": "vda_…"}}
  --behaviour FILE            how machines behave (YAML/JSON): install time, failure rate,
                              offline periods, clock skew, … (see agent/fleet/behaviour.ts)
  --observed FILE             what agents ran at the start (schemas/observed-snapshot.schema.json);
                              agents it lists offline start offline
  --artifact-mirror URL       download packages from this mirror of the vendors' sites
  --branch B                  the branch holding the desired state (default: main)
  --start desired|previous    machines the snapshot does not list start at the version the
                              desired state gives them, or the release before it (default: desired)
  --time-scale X              multiply every duration of the behaviour (0.1: ten times faster)
  --spread SEC                spread the first reports over this long (default: 1 ms per agent, ≤ 10 s)
  --no-push                   never serve the push endpoint (commands by mailbox only)
  --stats FILE                write the fleet's counters there as JSON, every second (with
                              the event loop's delay over that second)
  --log-level LEVEL           the fleet's log: fatal, error, warn, info (default), debug, trace
  --agent-log-level LEVEL     the agents' log (default: warn)
  --shards N                  run the agents in N processes (default: one per core, at most
                              one per ${AGENTS_PER_SHARD} agents); 1: all in this process. Machines that talk
                              to each other (a console and its distribution server, an
                              auto-update device and its repository server) share a process
  --ca FILE                   PEM CA certificate to trust for an https:// controller
  --cert FILE, --key FILE     PEM client certificate for the agents (one DNS SAN per agent id);
                              bidirectional members' push endpoints serve it too (HTTPS), so
                              give it serverAuth and IP:127.0.0.1 as well
  -V, --version               print the version and exit
`;

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The default number of shards: one per core, but a small fleet stays in one process. */
export function defaultShards(agents: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, Math.ceil(agents / AGENTS_PER_SHARD)));
}

class UsageError extends Error {}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

interface Args {
  readonly controller: string;
  readonly repo: string;
  readonly stateDir: string;
  readonly controllerStateDir?: string;
  readonly tokens?: string;
  readonly behaviour?: string;
  readonly observed?: string;
  readonly mirror?: string;
  readonly branch: string;
  readonly start: StartVersions;
  readonly timeScale: number;
  readonly spreadMs?: number;
  readonly push: boolean;
  readonly stats?: string;
  readonly level: Level;
  readonly agentLevel: Level;
  readonly tls: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  readonly shards?: number;
}

function parse(argv: readonly string[]): Args | 'help' | 'version' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        controller: { type: 'string' },
        repo: { type: 'string' },
        'state-dir': { type: 'string' },
        'controller-state-dir': { type: 'string' },
        tokens: { type: 'string' },
        behaviour: { type: 'string' },
        observed: { type: 'string' },
        'artifact-mirror': { type: 'string' },
        branch: { type: 'string' },
        start: { type: 'string' },
        'time-scale': { type: 'string' },
        spread: { type: 'string' },
        'no-push': { type: 'boolean' },
        stats: { type: 'string' },
        'log-level': { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'agent-log-level': { type: 'string' },
        shards: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const need = (name: 'controller' | 'repo' | 'state-dir'): string => {
    const v = values[name];
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  };
  const controller = need('controller');
  if (!/^https?:\/\//.test(controller) || !URL.canParse(controller)) throw new UsageError(`--controller: ${JSON.stringify(controller)} is not an http(s) URL`);
  const level = (name: 'log-level' | 'agent-log-level', fallback: Level): Level => {
    const v = (values[name] ?? fallback) as Level;
    if (!LEVELS.includes(v)) throw new UsageError(`--${name}: must be one of ${LEVELS.join(', ')}`);
    return v;
  };
  const start = values.start ?? 'desired';
  if (start !== 'desired' && start !== 'previous') throw new UsageError(`--start: must be desired or previous, not ${JSON.stringify(start)}`);
  const number = (name: 'time-scale' | 'spread', v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (name === 'time-scale' && n === 0)) throw new UsageError(`--${name}: ${JSON.stringify(v)} is not a ${name === 'time-scale' ? 'positive ' : ''}number`);
    return n;
  };
  const spread = number('spread', values.spread);
  const shards = values.shards === undefined ? undefined : Number(values.shards);
  if (shards !== undefined && (!Number.isSafeInteger(shards) || shards < 1 || shards > 256)) {
    throw new UsageError(`--shards: ${JSON.stringify(values.shards)} is not a whole number from 1 to 256`);
  }
  if (values['artifact-mirror'] !== undefined && !URL.canParse(values['artifact-mirror'])) throw new UsageError(`--artifact-mirror: ${JSON.stringify(values['artifact-mirror'])} is not a URL`);
  return {
    controller,
    repo: resolve(need('repo')),
    stateDir: resolve(need('state-dir')),
    ...(values['controller-state-dir'] !== undefined ? { controllerStateDir: resolve(values['controller-state-dir']) } : {}),
    ...(values.tokens !== undefined ? { tokens: resolve(values.tokens) } : {}),
    ...(values.behaviour !== undefined ? { behaviour: resolve(values.behaviour) } : {}),
    ...(values.observed !== undefined ? { observed: resolve(values.observed) } : {}),
    ...(values['artifact-mirror'] !== undefined ? { mirror: values['artifact-mirror'] } : {}),
    branch: values.branch ?? 'main',
    start,
    timeScale: number('time-scale', values['time-scale']) ?? 1,
    ...(spread !== undefined ? { spreadMs: spread * 1000 } : {}),
    push: values['no-push'] !== true,
    ...(values.stats !== undefined ? { stats: resolve(values.stats) } : {}),
    level: level('log-level', 'info'),
    agentLevel: level('agent-log-level', 'warn'),
    tls: tlsFlags(values.ca, values.cert, values.key),
    ...(shards !== undefined ? { shards } : {}),
  };
}

function tlsFlags(ca: string | undefined, cert: string | undefined, key: string | undefined): Args['tls'] {
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  return {
    ...(ca !== undefined ? { caFile: resolve(ca) } : {}),
    ...(cert !== undefined && key !== undefined ? { certFile: resolve(cert), keyFile: resolve(key) } : {}),
  };
}

/** Runs the fleet until SIGTERM/SIGINT (or `stop` resolves); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo, stop?: Promise<unknown>): Promise<number> {
  let args: Args | 'help' | 'version';
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`versiond-fleet: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (args === 'version') {
    io.stdout.write(`versiond-fleet ${versiondVersion()}\n`);
    return 0;
  }
  const destination = pino.destination({ dest: 1, sync: false });
  const log = pino({ level: args.level, base: { name: 'versiond-fleet', pid: process.pid } }, destination);
  const agentLog = pino({ level: args.agentLevel, base: { pid: process.pid } }, destination);

  /** The fleet, in this process or in shards: what the CLI does with it is the same. */
  let fleet: { applyDesired(objects: DesiredState['objects']): Promise<void>; stop(): Promise<void> } | undefined;
  let counters: (() => FleetCounters | undefined) | undefined;
  let follower: DesiredFollower | undefined;
  let latest: DesiredState | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  const shutdown = async (): Promise<void> => {
    clearInterval(statsTimer);
    await follower?.stop();
    await fleet?.stop();
    if (counters !== undefined && args.stats !== undefined) {
      await statsWrite?.catch(() => undefined);
      await writeStats(args.stats, counters).catch(() => undefined);
    }
  };
  try {
    // The TLS files first: a wrong path stops the fleet before anything starts.
    const tls = await readAgentTls(args.tls);
    await mkdir(args.stateDir, { recursive: true, mode: 0o700 });
    const behaviour = args.behaviour !== undefined ? await FleetBehaviour.read(args.behaviour) : FleetBehaviour.defaults();
    const observed = args.observed !== undefined ? await readSnapshot(args.observed) : undefined;
    follower = new DesiredFollower({
      repo: args.repo,
      branch: args.branch,
      onState: async (state) => {
        latest = state;
        if (fleet === undefined) return;
        log.info({ revision: state.revision }, 'new revision: the fleet follows it');
        await fleet.applyDesired(state.objects);
      },
      onInvalid: (revision, errors) => log.warn({ revision, errors }, 'revision is invalid; the fleet keeps the last valid one'),
      onError: (err) => log.error({ err: err.message }, 'following the repository failed'),
    });
    await follower.start();
    const first = await follower.first;
    const plan = planFleet(first.objects, { ...(observed !== undefined ? { observed } : {}), start: args.start });
    for (const warning of behaviour.unmatched(plan.agents.map((a) => a.id))) log.warn(warning);
    const tokens = await FleetTokens.open({
      fleetStateDir: args.stateDir,
      ...(args.tokens !== undefined ? { tokensFile: args.tokens } : {}),
      ...(args.controllerStateDir !== undefined ? { controllerStateDir: args.controllerStateDir } : {}),
    });
    const onEvent = (e: FleetEvent): void => {
      if (e.kind === 'failed') log.error({ event: e.kind, agent: e.agent }, e.message);
      else log.info({ event: e.kind, agent: e.agent }, e.message);
    };
    const shards = args.shards ?? defaultShards(plan.agents.length);
    if (shards === 1) {
      const single = await Fleet.start({
        tls,
        controllerUrl: args.controller,
        stateDir: args.stateDir,
        plan,
        tokens,
        behaviour: args.timeScale === 1 ? behaviour : behaviour.scaled(args.timeScale),
        push: args.push,
        logger: agentLog,
        ...(args.mirror !== undefined ? { artifactMirror: args.mirror } : {}),
        ...(args.spreadMs !== undefined ? { spreadMs: args.spreadMs } : {}),
        onEvent,
      });
      const delay = new LoopDelay();
      fleet = single;
      counters = () => countersOf(single, delay);
    } else {
      const sharded = await ShardedFleet.start({
        shards,
        tls,
        controllerUrl: args.controller,
        stateDir: args.stateDir,
        plan,
        tokens,
        ...(args.behaviour !== undefined ? { behaviour: { file: args.behaviour } } : {}),
        timeScale: args.timeScale,
        push: args.push,
        agentLogLevel: args.agentLevel,
        ...(args.mirror !== undefined ? { artifactMirror: args.mirror } : {}),
        ...(args.spreadMs !== undefined ? { spreadMs: args.spreadMs } : {}),
        onEvent,
        onProblem: (message) => log.error(message),
      });
      fleet = sharded;
      counters = () => sharded.counters();
      log.info({ shards, agents: sharded.sizes, pids: sharded.pids }, `the agents run in ${shards} processes`);
    }
    log.info(
      {
        agents: plan.agents.length, fromSnapshot: plan.agents.filter((a) => a.from === 'observed').length,
        revision: first.revision, controller: args.controller, behaviour: behaviour.source, shards,
      },
      `fleet of ${plan.agents.length} agents started against ${args.controller}`,
    );
    if (latest !== undefined && latest !== first) await fleet.applyDesired(latest.objects);
    if (args.stats !== undefined) {
      const file = args.stats;
      const read = counters;
      statsTimer = setInterval(() => {
        writeStats(file, read).catch((err: Error) => log.warn({ err: err.message }, 'cannot write the stats file'));
      }, 1000);
    }
  } catch (err) {
    const message = err instanceof BehaviourFileError ? `the behaviour file is invalid:\n${err.message}` : (err as Error).message;
    log.fatal({ err: message }, `versiond-fleet could not start: ${message}`);
    await shutdown().catch(() => undefined);
    await new Promise<void>((r) => destination.flush(() => r()));
    return 1;
  }
  const reason = await new Promise<string>((resolveStop) => {
    process.once('SIGTERM', () => resolveStop('SIGTERM'));
    process.once('SIGINT', () => resolveStop('SIGINT'));
    void stop?.then(() => resolveStop('stop'));
  });
  log.info(`${reason} received: stopping the fleet`);
  await shutdown();
  const final = counters?.();
  log.info({ stats: final && { agents: final.agents, online: final.online, reports: final.reports, commandsDelivered: final.commandsDelivered } }, 'fleet stopped');
  await new Promise<void>((r) => destination.flush(() => r()));
  return 0;
}

async function readSnapshot(file: string): Promise<Observed> {
  const outcome = await readObservedSnapshot(file);
  if (!outcome.ok) throw new Error(`--observed ${file} is invalid:\n${outcome.diagnostics.map(formatDiagnostic).join('\n')}`);
  return outcome.observed;
}

let statsWrite: Promise<void> | undefined;

/**
 * The counters and how many machines run their desired version, atomically (a reader never
 * sees half a file). A write still under way (a busy process) is not overtaken by the next.
 * A sharded fleet has nothing to write until every shard has sent its counters.
 */
function writeStats(file: string, counters: () => FleetCounters | undefined): Promise<void> {
  statsWrite ??= (async () => {
    const now = counters();
    if (now === undefined) return;
    const tmp = `${file}.tmp`;
    await writeFile(tmp, `${JSON.stringify(now)}\n`);
    await rename(tmp, file);
  })().finally(() => (statsWrite = undefined));
  return statsWrite;
}
