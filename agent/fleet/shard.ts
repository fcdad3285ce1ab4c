/**
 * One shard of a sharded fleet: a child process (`shard-bin.js`) that runs the agents its
 * coordinator (`sharded-fleet.ts`) placed in it, as an ordinary in-process `Fleet`. Why
 * processes: one event loop runs out of CPU (and heap) long before a fleet of 100,000 agents
 * does, and agents that share nothing but the controller parallelise across cores for free.
 *
 * It speaks to its coordinator over the IPC channel only (`ToShard`, `FromShard`): it starts
 * its fleet from the plan it is given, follows the revisions it is sent (starting the
 * newcomers placed in it), sends its counters every second and its events as they happen, and
 * stops when asked, when signalled, or when its coordinator is gone. Its agents' warnings go
 * to stdout, a pipe the coordinator reads a line at a time.
 */
import { pino, type Level } from 'pino';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { AgentTls } from '../reference/agent-tls.ts';
import { FleetBehaviour } from './behaviour.ts';
import { countersOf, LoopDelay, type FleetCounters } from './fleet-counters.ts';
import type { FleetEvent } from './fleet-events.ts';
import type { PlannedAgent } from './fleet-plan.ts';
import { Fleet } from './fleet.ts';

export interface ShardStart {
  readonly kind: 'start';
  readonly shard: number;
  readonly controllerUrl: string;
  readonly stateDir: string;
  readonly agents: readonly PlannedAgent[];
  readonly tokens: Readonly<Record<string, string>>;
  /** A behaviour file: its name, and its text when the coordinator has it (else read here). */
  readonly behaviour?: { readonly file: string; readonly text?: string };
  readonly timeScale: number;
  readonly push: boolean;
  readonly artifactMirror?: string;
  readonly spreadMs?: number;
  readonly tls?: AgentTls;
  readonly controllerKey?: string;
  readonly agentLogLevel: Level;
  readonly statsEveryMs: number;
  /** Fleet options the tests shorten (offline grace, ticks, back-off). */
  readonly tuning?: {
    readonly offlineGraceMs?: number;
    readonly tickMs?: number;
    readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  };
}

export type ToShard =
  | ShardStart
  /** A new revision; `join` gives the token of each member it adds that this shard runs. */
  | {
    readonly kind: 'desired';
    readonly objects: readonly AnyDesiredObject[];
    readonly join: Readonly<Record<string, string>>;
  }
  | { readonly kind: 'stop' };

export type FromShard =
  | { readonly kind: 'started' }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'counters'; readonly counters: FleetCounters }
  | { readonly kind: 'event'; readonly event: FleetEvent }
  | { readonly kind: 'stopped'; readonly counters: FleetCounters | undefined };

const send = (message: FromShard): void => {
  if (process.connected) process.send!(message);
};

/** Runs the shard until it is told to stop; resolves when it has stopped. */
export async function runShard(): Promise<void> {
  let fleet: Fleet | undefined;
  let timer: NodeJS.Timeout | undefined;
  let applying: Promise<void> = Promise.resolve();
  const delay = new LoopDelay();
  const tokens = new Map<string, string>();
  const owned = new Set<string>();
  let stopping: Promise<void> | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));

  const destination = pino.destination({ dest: 1, sync: false });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(timer);
      await applying.catch(() => undefined);
      await fleet?.stop();
      await new Promise<void>((r) => destination.flush(() => r()));
      send({ kind: 'stopped', counters: fleet !== undefined ? countersOf(fleet, delay) : undefined });
      delay.stop();
      if (process.connected) process.disconnect();
      done();
    })());

  const start = async (m: ShardStart): Promise<void> => {
    for (const [id, token] of Object.entries(m.tokens)) tokens.set(id, token);
    for (const a of m.agents) owned.add(a.id);
    const base = m.behaviour === undefined ? FleetBehaviour.defaults()
      : m.behaviour.text !== undefined ? FleetBehaviour.parse(m.behaviour.file, m.behaviour.text)
        : await FleetBehaviour.read(m.behaviour.file);
    const logger = pino({ level: m.agentLogLevel, base: { pid: process.pid, shard: m.shard } }, destination);
    fleet = await Fleet.start({
      controllerUrl: m.controllerUrl,
      stateDir: m.stateDir,
      plan: { agents: m.agents },
      tokens: {
        get: (id) => tokens.get(id),
        // The coordinator registered every agent it placed here before telling this shard of it.
        ensure: async () => [],
      },
      behaviour: m.timeScale === 1 ? base : base.scaled(m.timeScale),
      push: m.push,
      logger,
      owns: (id) => owned.has(id),
      onEvent: (event) => send({ kind: 'event', event }),
      ...(m.artifactMirror !== undefined ? { artifactMirror: m.artifactMirror } : {}),
      ...(m.spreadMs !== undefined ? { spreadMs: m.spreadMs } : {}),
      ...(m.tls !== undefined ? { tls: m.tls } : {}),
      ...(m.controllerKey !== undefined ? { controllerKey: m.controllerKey } : {}),
      ...(m.tuning?.offlineGraceMs !== undefined ? { offlineGraceMs: m.tuning.offlineGraceMs } : {}),
      ...(m.tuning?.tickMs !== undefined ? { tickMs: m.tuning.tickMs } : {}),
      ...(m.tuning?.backoff !== undefined ? { backoff: m.tuning.backoff } : {}),
    });
    const running = fleet;
    timer = setInterval(() => send({ kind: 'counters', counters: countersOf(running, delay) }), m.statsEveryMs);
    send({ kind: 'started' });
  };

  process.on('message', (m: ToShard) => {
    if (m.kind === 'start') {
      start(m).catch((err: unknown) => {
        send({ kind: 'failed', message: (err as Error).message });
        void stop();
      });
    } else if (m.kind === 'desired') {
      for (const [id, token] of Object.entries(m.join)) {
        tokens.set(id, token);
        owned.add(id);
      }
      applying = applying.then(() => fleet?.applyDesired(m.objects)).catch(() => undefined);
    } else if (m.kind === 'stop') {
      void stop();
    }
  });
  // The coordinator is gone (killed): nobody reads the counters any more, and the agents must not linger.
  process.on('disconnect', () => void stop());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
  await finished;
}
