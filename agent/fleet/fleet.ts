/**
 * The fleet simulator: many reference agents (`agent/reference/agent.ts`) in one process, each
 * on a simulated machine (`SimulatedDriver`), talking to a real controller over real HTTP — for
 * the demo, the tests and the benchmarks. What it adds to running N agents:
 *
 *  - **One keep-alive connection pool** for every agent of the process (`fleet-connections.ts`),
 *    and first reports spread over `spreadMs`, so 10,000 agents do not open 10,000 sockets or
 *    all report at the same instant.
 *  - **Behaviour per agent** (`behaviour.ts`): install and step times, failure rate, a lagging
 *    clock, a UMS server stuck in update mode, a member that lies about its version, and
 *    **offline periods**: the agent is stopped, then a new one started on the same state dir
 *    and machine (`fleet-member.ts`).
 *  - **The machines talk to each other** as real ones do: a console's `sync` lands on the
 *    distribution server's machine (which then reports it), and fails while that server is
 *    offline; a device's auto-update reads what its repository server serves.
 *  - **The people and devices the controller waits for** (`unprompted-actions.ts`).
 *  - **Members added by a revision join** (`applyDesired`): their agents are registered and
 *    started, as an installer would on a new machine.
 *  - **Events and counters**: what happened (`FleetEvent`), reports by outcome, commands
 *    delivered (by answer or by push) and when the first command for each version arrived.
 */
import fetch from 'node-fetch';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { Agent, type AgentOptions } from '../reference/agent.ts';
import { agentFor, type AgentTls, type KeepAliveAgents, type ReportOutcome } from '../reference/controller-client.ts';
import { SimulatedDriver } from '../reference/drivers/simulated-driver.ts';
import type { AgentCommand } from '../reference/protocol.ts';
import { sameVersion } from '../reference/same-version.ts';
import { seedOf } from '../reference/seeded-random.ts';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ContentInventory } from '../../protocol/content.ts';
import { FleetBehaviour, type OfflinePeriod } from './behaviour.ts';
import { dutiesByAgent } from './duties.ts';
import { formatDuration } from './duration.ts';
import { fleetConnections } from './fleet-connections.ts';
import type { FleetEvent } from './fleet-events.ts';
import { FleetMember } from './fleet-member.ts';
import { planFleet, type FleetPlan, type PlannedAgent, type StartVersions } from './fleet-plan.ts';
import type { FleetTokens } from './fleet-tokens.ts';
import { UnpromptedActions } from './unprompted-actions.ts';

export interface FleetOptions {
  /** `http://127.0.0.1:8080`. */
  readonly controllerUrl: string;
  /** Agents' state dirs go in `<stateDir>/agents/<id>/`. */
  readonly stateDir: string;
  readonly plan: FleetPlan;
  readonly tokens: FleetTokenSource;
  readonly behaviour?: FleetBehaviour;
  /** Mirror of the vendors' download sites (the demo package server). */
  readonly artifactMirror?: string;
  /** Serve the push endpoint for members the controller may push to (default true). */
  readonly push?: boolean;
  /** `--ca`, `--cert`, `--key` (PEM contents): every agent's connections, and its push endpoint's certificate. */
  readonly tls?: AgentTls;
  /** The controller's public key for pushes; default: asked of the controller (`GET /v1/controller-key`). */
  readonly controllerKey?: string;
  /** The agents' logger (default: warnings and errors on stderr). */
  readonly logger?: Logger;
  /** First reports are spread over this long (default 1 ms per agent, at most 10 s). */
  readonly spreadMs?: number;
  readonly onEvent?: (event: FleetEvent) => void;
  /** Machines of members a later revision adds (default `previous`: the controller has an update to make). */
  readonly joinStart?: StartVersions;
  /** Sockets of the shared pool (default 256). */
  readonly maxSockets?: number;
  /** fsync the agents' state saves (default false: thousands of agents share one disk). */
  readonly durableState?: boolean;
  /** How long a running command may finish when an agent goes offline (default 1 s). */
  readonly offlineGraceMs?: number;
  /** How often the people and devices of `unprompted-actions.ts` look (default 200 ms). */
  readonly tickMs?: number;
  /** Back-off of the agents when the controller fails (default 1 s → 60 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * Which members a later revision adds this fleet runs (default: all). A shard of a sharded
   * fleet (`sharded-fleet.ts`) runs only those its coordinator placed in it.
   */
  readonly owns?: (agent: string) => boolean;
}

/** Tokens by agent id: `FleetTokens`, or those a shard is given by its coordinator. */
export type FleetTokenSource = Pick<FleetTokens, 'ensure' | 'get'>;

export type ReportCounts = Record<ReportOutcome['kind'], number>;

export interface FleetStats {
  readonly startedAt: number;
  readonly agents: number;
  readonly online: number;
  readonly reports: Readonly<ReportCounts>;
  /** Commands that reached an agent for the first time (in an answer or a push). */
  readonly commandsDelivered: number;
  /** When the first command for each `product version` (or action, for commands without) reached an agent, epoch ms. */
  readonly firstDelivered: Readonly<Record<string, number>>;
}

/** An agent that tells the fleet about every list of commands it is offered, by answer or by push. */
class FleetAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly onOffer: (commands: readonly AgentCommand[]) => void,
  ) {
    super(options);
  }

  override offer(commands: readonly AgentCommand[]): void {
    this.onOffer(commands);
    super.offer(commands);
  }
}

export class Fleet {
  readonly startedAt: number;
  private readonly members = new Map<string, FleetMember>();
  /** A distribution server's name → its agent (a console's sync is addressed by server name). */
  private serverAgents = new Map<string, string>();
  /** Pending timers, each with what to do if the fleet stops before it fires. */
  private readonly timers = new Map<NodeJS.Timeout, (() => void) | undefined>();
  private readonly connections: KeepAliveAgents;
  private readonly behaviour: FleetBehaviour;
  private readonly log: Logger;
  private readonly actions: UnpromptedActions;
  private readonly tick: NodeJS.Timeout;
  private readonly reports: ReportCounts = { answer: 0, stale: 0, unauthorized: 0, refused: 0, unavailable: 0 };
  /** Per agent, the command ids of the last list offered: a command is new when it was not in it. */
  private readonly lastOffered = new Map<string, ReadonlySet<string>>();
  private delivered = 0;
  private readonly firstDelivered: Record<string, number> = {};
  /** Per agent, the components of its last report, and the agents whose last report shows their desired versions. */
  private readonly reported = new Map<string, readonly ComponentReport[]>();
  private readonly atDesired = new Set<string>();
  private readonly initialStarts: Promise<void>[] = [];
  private joining: Promise<void> = Promise.resolve();
  private stopping = false;

  private constructor(
    private readonly options: FleetOptions,
    private readonly controllerKey: string | undefined,
  ) {
    this.startedAt = Date.now();
    this.connections = fleetConnections(options.controllerUrl, options.maxSockets ?? 256, undefined, options.tls);
    this.behaviour = options.behaviour ?? FleetBehaviour.defaults();
    this.log = options.logger ?? pino({ level: 'warn' }, pino.destination(2));
    this.actions = new UnpromptedActions({ members: this.members, onEvent: (e) => this.emit(e) });
    this.tick = setInterval(() => this.actions.tick(), options.tickMs ?? 200);
  }

  /**
   * Registers the plan's agents (tokens), then starts them — those the plan or their
   * behaviour keep offline excepted — spread over `spreadMs`. Resolves once every start is
   * scheduled; `ready()` resolves once they all ran.
   */
  static async start(options: FleetOptions): Promise<Fleet> {
    const registered = await options.tokens.ensure(options.plan.agents.map((a) => a.id));
    const probe = fleetConnections(options.controllerUrl, 2, undefined, options.tls);
    if (registered.length > 0) await waitUntilAdmitted(options.controllerUrl, registered[0]!, options.tokens.get(registered[0]!)!, probe);
    const wantsPush = (options.push ?? true) && options.plan.agents.some((a) => a.push);
    const key = wantsPush ? (options.controllerKey ?? (await fetchControllerKey(options.controllerUrl, options.logger, probe))) : undefined;
    probe.http.destroy();
    probe.https.destroy();
    const fleet = new Fleet(options, key);
    fleet.rebuildServerIndex(options.plan.agents.map((a) => [a.id, a.duties] as const));
    const n = options.plan.agents.length;
    const spread = options.spreadMs ?? Math.min(10_000, n);
    options.plan.agents.forEach((planned, i) => fleet.add(planned, n > 1 ? Math.round((spread * i) / (n - 1)) : 0, 'start'));
    return fleet;
  }

  /** Resolves when every agent the fleet started with has been started (or failed to). */
  async ready(): Promise<void> {
    await Promise.all(this.initialStarts);
    await this.joining;
  }

  get size(): number {
    return this.members.size;
  }

  get online(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.online) n++;
    return n;
  }

  /**
   * Something is still going to happen on its own: an offline period to begin or end, a start
   * not yet made, an operator, user or device about to act. A demo waits for this before it
   * calls a rollout settled.
   */
  get busy(): boolean {
    return this.timers.size > 0 || this.actions.busy;
  }

  member(id: string): FleetMember | undefined {
    return this.members.get(id);
  }

  /** Takes an agent offline now (its machine stays as it is), for `forMs` or until `goOnline`. */
  async goOffline(id: string, forMs?: number): Promise<void> {
    const m = this.required(id);
    if (!m.online) return;
    this.emit({ kind: 'offline', agent: id, message: `${id} goes offline${forMs !== undefined ? ` for ${formatDuration(forMs)}` : ''}`, at: Date.now() });
    await m.goOffline(this.options.offlineGraceMs ?? 1000);
    if (forMs !== undefined) this.later(forMs, () => void this.goOnline(id));
  }

  async goOnline(id: string): Promise<void> {
    const m = this.required(id);
    if (m.online || this.stopping) return;
    const since = m.offlineSince;
    try {
      await m.goOnline();
      this.emit({ kind: 'online', agent: id, message: `${id} comes back online${since !== undefined ? ` (offline for ${formatDuration(Date.now() - since)})` : ''}`, at: Date.now() });
    } catch (err) {
      this.failedToStart(id, err as Error);
    }
  }

  /**
   * A new revision: duties follow it (an operator now aims at the new version), and members
   * it adds join the fleet — registered, then started on a machine one release behind.
   */
  applyDesired(objects: readonly AnyDesiredObject[]): Promise<void> {
    const duties = dutiesByAgent(objects);
    this.rebuildServerIndex(duties);
    for (const [id, m] of this.members) {
      m.duties = duties.get(id) ?? [];
      this.judge(m);
    }
    this.actions.dutiesChanged();
    const owns = this.options.owns ?? (() => true);
    const newcomers = planFleet(objects, { start: this.options.joinStart ?? 'previous' }).agents
      .filter((a) => !this.members.has(a.id) && owns(a.id));
    if (newcomers.length === 0) return this.joining;
    this.joining = this.joining.then(async () => {
      try {
        const registered = await this.options.tokens.ensure(newcomers.map((a) => a.id));
        if (registered.length > 0) {
          await waitUntilAdmitted(this.options.controllerUrl, registered[0]!, this.options.tokens.get(registered[0]!)!, this.connections);
        }
      } catch (err) {
        for (const a of newcomers) this.failedToStart(a.id, err as Error);
        return;
      }
      await Promise.all(newcomers.filter((a) => !this.members.has(a.id)).map((a) => this.add(a, 0, 'join')));
    });
    return this.joining;
  }

  stats(): FleetStats {
    return {
      startedAt: this.startedAt,
      agents: this.members.size,
      online: this.online,
      reports: { ...this.reports },
      commandsDelivered: this.delivered,
      firstDelivered: { ...this.firstDelivered },
    };
  }

  /**
   * How many machines report what the desired state gives them: every product at its version,
   * no restart pending, no UMS server in update mode — judged on each agent's last report (what
   * the controller sees), so counting costs nothing per machine. Members with no version to run
   * (content only) are not counted.
   */
  convergence(): { readonly total: number; readonly atDesired: number } {
    let total = 0;
    let atDesired = 0;
    for (const m of this.members.values()) {
      if (!m.duties.some((d) => d.product !== undefined && d.version !== undefined)) continue;
      total++;
      if (this.atDesired.has(m.id)) atDesired++;
    }
    return { total, atDesired };
  }

  /** Whether a member's last report shows what its duties ask. */
  private judge(m: FleetMember): void {
    const components = this.reported.get(m.id);
    const wanted = m.duties.filter((d) => d.product !== undefined && d.version !== undefined);
    const ok =
      components !== undefined &&
      wanted.length > 0 &&
      wanted.every((d) => {
        const c = components.find((x) => x.product === d.product);
        return c?.version !== undefined && sameVersion(c.version, d.version!) && c.pendingRestart !== true && c.mode !== 'update' && c.state !== 'installing';
      });
    if (ok) this.atDesired.add(m.id);
    else this.atDesired.delete(m.id);
  }

  /** Stops every agent (each saves its state), then the timers and the connection pool. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.tick);
    for (const [t, cancelled] of this.timers) {
      clearTimeout(t);
      cancelled?.();
    }
    this.timers.clear();
    await Promise.allSettled(this.initialStarts);
    await this.joining.catch(() => undefined);
    await Promise.all([...this.members.values()].map((m) => m.goOffline(this.options.offlineGraceMs ?? 1000).catch(() => undefined)));
    this.connections.http.destroy();
    this.connections.https.destroy();
  }

  // ---------------------------------------------------------------- members

  /** Adds a member and schedules its life: offline periods, and its start after `delayMs` unless it starts offline. */
  private add(planned: PlannedAgent, delayMs: number, why: 'start' | 'join'): Promise<void> {
    const behaviour = this.behaviour.for(planned.id);
    const driver = new SimulatedDriver({
      machine: planned.machine,
      behaviour: {
        installMs: behaviour.installMs,
        stepMs: behaviour.stepMs,
        failureRate: behaviour.failureRate,
        seed: behaviour.seed ?? seedOf(planned.id),
        clockSkewMs: behaviour.clockSkewMs,
        stuckInUpdateMode: behaviour.stuckInUpdateMode,
        ...(behaviour.lieAboutVersion !== undefined ? { lieAboutVersion: behaviour.lieAboutVersion } : {}),
      },
      deliverSync: (server, content) => this.deliverContent(server, content),
    });
    const member = new FleetMember(planned.id, planned.duties, behaviour, driver, (m) => this.makeAgent(m));
    this.members.set(planned.id, member);
    this.actions.dutiesChanged();

    const periods: readonly OfflinePeriod[] = behaviour.offline ?? (planned.startsOffline ? [{ afterMs: 0 }] : []);
    const offlineAtStart = periods.find((p) => p.afterMs === 0);
    for (const p of periods) {
      if (p.afterMs > 0) this.later(p.afterMs, () => void this.goOffline(planned.id, p.forMs).catch((err: unknown) => this.log.error({ agent: planned.id, err: (err as Error).message }, 'going offline failed')));
      else if (p.forMs !== undefined) this.later(p.forMs, () => void this.goOnline(planned.id));
    }
    if (offlineAtStart !== undefined) {
      member.offlineSince = Date.now();
      const back = offlineAtStart.forMs !== undefined ? `comes back in ${formatDuration(offlineAtStart.forMs)}` : 'stays offline';
      this.emit({ kind: 'offline', agent: planned.id, message: `${planned.id} starts offline (${back})`, at: Date.now() });
      return Promise.resolve();
    }
    const started = new Promise<void>((resolve) => {
      const start = (): void => {
        member.goOnline().then(
          () => {
            if (why === 'join') {
              const d = planned.duties[0];
              const runs = planned.machine.components.map((c) => `${c.product} ${c.version ?? '(none)'}`).join(', ');
              this.emit({ kind: 'joined', agent: planned.id, ...(d ? { target: d.target } : {}), message: `${planned.id} joins the fleet${d ? ` (${d.target})` : ''}${runs ? `, running ${runs}` : ''}`, at: Date.now() });
            }
            resolve();
          },
          (err: unknown) => {
            this.failedToStart(planned.id, err as Error);
            resolve();
          },
        );
      };
      this.later(delayMs, start, resolve);
    });
    if (why === 'start') this.initialStarts.push(started);
    return started;
  }

  private makeAgent(m: FleetMember): Agent {
    const o = this.options;
    const token = o.tokens.get(m.id);
    if (token === undefined) throw new Error(`agent ${m.id} has no token`);
    return new FleetAgent(
      {
        id: m.id,
        controllerUrl: o.controllerUrl,
        token,
        stateDir: join(o.stateDir, 'agents', m.id),
        driver: m.driver,
        connections: this.connections,
        durableState: o.durableState ?? false,
        logger: this.log,
        stopGraceMs: o.offlineGraceMs ?? 1000,
        ...(o.artifactMirror !== undefined ? { artifactMirror: o.artifactMirror } : {}),
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
        ...(m.wantsPush && this.controllerKey !== undefined ? { push: { host: '127.0.0.1', port: 0, controllerKey: this.controllerKey } } : {}),
        // The pool is shared and already has the TLS material; here it is for the push endpoint (HTTPS).
        ...(o.tls?.cert !== undefined ? { tls: o.tls } : {}),
        onReport: (report, outcome) => {
          this.reports[outcome.kind]++;
          this.reported.set(m.id, report.components);
          this.judge(m);
        },
      },
      (commands) => this.countDelivered(m.id, commands),
    );
  }

  private countDelivered(agent: string, commands: readonly AgentCommand[]): void {
    const before = this.lastOffered.get(agent);
    const now = Date.now();
    for (const c of commands) {
      if (before?.has(c.id)) continue;
      this.delivered++;
      const key = c.product !== undefined && c.version !== undefined ? `${c.product} ${c.version}` : c.action;
      this.firstDelivered[key] ??= now;
    }
    this.lastOffered.set(agent, new Set(commands.map((c) => c.id)));
  }

  /** A console copies content to a distribution server: it lands on that server's machine, which reports it. */
  private deliverContent(server: string, content: ContentInventory): void {
    const member = this.members.get(this.serverAgents.get(server) ?? server);
    if (member === undefined) throw new Error(`distribution server ${server} is not part of the simulated fleet`);
    if (!member.online) throw new Error(`distribution server ${server} cannot be reached: it is offline`);
    member.driver.receiveContent(content);
    member.reportSoon();
  }

  private rebuildServerIndex(duties: Iterable<readonly [string, readonly { role: string; member: string }[]]>): void {
    const index = new Map<string, string>();
    for (const [agent, list] of duties) for (const d of list) if (d.role === 'distribution-server') index.set(d.member, agent);
    this.serverAgents = index;
  }

  private required(id: string): FleetMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`agent ${id} is not part of the fleet`);
    return m;
  }

  private failedToStart(id: string, err: Error): void {
    this.log.error({ agent: id, err: err.message }, `agent ${id} could not start: ${err.message}`);
    this.emit({ kind: 'failed', agent: id, message: `agent ${id} could not start: ${err.message}`, at: Date.now() });
  }

  private emit(event: FleetEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'a fleet event listener failed');
    }
  }

  /** Runs `run` in `ms`, unless the fleet stops first: then `cancelled` runs instead. */
  private later(ms: number, run: () => void, cancelled?: () => void): void {
    if (this.stopping) return cancelled?.();
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopping) run();
    }, ms);
    this.timers.set(t, cancelled);
  }
}

/**
 * Waits until a running controller lets in an agent just registered (it re-reads its agents
 * file when it meets an unknown token, at most every 250 ms): until then every report of a new
 * agent is refused, and the agent would wait its longest back-off (30–60 s). The probe is a
 * report with a body that is not JSON: once the token is known, the controller answers 415,
 * which changes nothing (the agent's sequence is untouched). Gives up after `timeoutMs`
 * (the controller may not be running yet; the agents then simply retry).
 */
export async function waitUntilAdmitted(
  controllerUrl: string, agent: string, token: string, pools: KeepAliveAgents, timeoutMs = 5000,
): Promise<void> {
  const url = new URL(`v1/agents/${encodeURIComponent(agent)}/report`, controllerUrl.endsWith('/') ? controllerUrl : `${controllerUrl}/`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'probe',
        signal: AbortSignal.timeout(2000), agent: agentFor(pools),
      });
      await res.arrayBuffer();
      if (res.status !== 401 && res.status !== 403) return;
    } catch {
      // not reachable (yet)
    }
    await sleep(100);
  }
}

async function fetchControllerKey(
  controllerUrl: string, logger: Logger | undefined, pools: KeepAliveAgents,
): Promise<string | undefined> {
  const url = new URL('v1/controller-key', controllerUrl.endsWith('/') ? controllerUrl : `${controllerUrl}/`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000), agent: agentFor(pools) });
    const body = (await res.json()) as { publicKey?: unknown };
    if (res.ok && typeof body.publicKey === 'string') return body.publicKey;
    throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    logger?.warn({ url: url.toString(), err: (err as Error).message }, 'cannot get the controller key: members declared bidirectional get their commands by mailbox only');
    return undefined;
  }
}
