/**
 * The reference agent (`versiond-agent`): one per server or device. It speaks protocol v1 in
 * mailbox mode — it calls the controller, reports what the machine runs and the results of
 * its commands, and receives its pending commands in the answer — and, when configured,
 * serves the push endpoint (`push-server.ts`). Commands are carried out by a driver
 * (`drivers/driver.ts`), one at a time, crash-safely (`command-executor.ts`).
 *
 * The report loop:
 *  - reports at start, then every `reportAfterSeconds` of the last answer (10 s before the
 *    first), and at once after a command finishes, so the controller learns quickly;
 *  - takes the next sequence number, reserved on disk BEFORE sending (a block at a time, see
 *    `agent-state.ts`), so no number is ever used twice and an idle report writes nothing;
 *  - 200: the answer lists ALL pending commands; they replace the previous list (the mailbox
 *    is level-triggered), and each whose id has no result yet runs, in order;
 *  - 409 STALE_REPORT: continues after the controller's `lastSequence`, at once;
 *  - 401/403: logs that the token is wrong and waits the longest back-off (a person must act);
 *  - 5xx, network errors, timeouts: exponential back-off with jitter (1 s → 60 s by default),
 *    back to the normal interval after the first success.
 *
 * Many agents can live in one process (the fleet simulator): no global state, one shared
 * keep-alive connection pool (`connections`), `start()` / `stop()`.
 */
import { readFileSync } from 'node:fs';
import { AgentStateStore } from './agent-state.ts';
import { Backoff } from './backoff.ts';
import { CommandExecutor, type MachineReport } from './command-executor.ts';
import { agentFor, ControllerClient, keepAliveAgents, type AgentTls, type KeepAliveAgents, type ReportOutcome } from './controller-client.ts';
import type { Driver } from './drivers/driver.ts';
import { jsonLog, type Logger } from './json-log.ts';
import { PackageStore } from './package-store.ts';
import type { AgentCommand, AgentReport } from './protocol.ts';
import { PushServer } from './push-server.ts';
import { seededRandom, seedOf } from './seeded-random.ts';
import { Wakeup } from './wakeup.ts';

export const AGENT_VERSION = `versiond-agent/${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}`;

export interface PushOptions {
  /** Where to listen (`127.0.0.1`, `0.0.0.0`, `::`). */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The URL the controller reaches the endpoint at, reported as `endpoint`; default `http://<host>:<port>`. */
  readonly advertise?: string;
  /** The controller's Ed25519 public key (raw 32 bytes, base64) that signs pushes. */
  readonly controllerKey: string;
}

export interface AgentOptions {
  /** The agent's id: a member's `agent`, or its name. */
  readonly id: string;
  /** `http://127.0.0.1:8080`. */
  readonly controllerUrl: string;
  /** The agent's own bearer token (`vda_…`); absent when `tls.cert` authenticates it. */
  readonly token?: string;
  /** `--ca`, `--cert`, `--key`: trust for the controller, the client certificate, and the push endpoint's certificate. */
  readonly tls?: AgentTls;
  readonly stateDir: string;
  readonly driver: Driver;
  /** Each line gets `agent: <id>` (a pino logger fits too). Default: JSON lines on stdout at `info`. */
  readonly logger?: Logger;
  /** Base URL of a mirror of the vendors' download sites. */
  readonly artifactMirror?: string;
  /** Serve the push endpoint. */
  readonly push?: PushOptions;
  /** Connection pools shared by the agents of a process; default: the agent's own. */
  readonly connections?: KeepAliveAgents;
  /** Back-off after failures (default 1 s → 60 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Interval until the first answer says otherwise (default 10 s). */
  readonly firstIntervalMs?: number;
  /** One report exchange (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** fsync state saves and downloaded packages (default true). */
  readonly durableState?: boolean;
  /** Randomness of the back-off jitter; default seeded by the agent id (deterministic, different per agent). */
  readonly random?: () => number;
  /** On stop, how long the running command may take before it is interrupted and left journaled (default 10 s). */
  readonly stopGraceMs?: number;
  /** Called after each report exchange (metrics, tests, the fleet simulator). */
  readonly onReport?: (report: AgentReport, outcome: ReportOutcome) => void;
}

export class Agent {
  readonly id: string;
  readonly driver: Driver;
  private readonly log: Logger;
  private readonly connections: KeepAliveAgents;
  private readonly ownsConnections: boolean;
  private readonly backoff: Backoff;
  private readonly wakeup = new Wakeup();
  private readonly stopSignal = new AbortController();
  private readonly commandSignal = new AbortController();
  private state: AgentStateStore | undefined;
  private executor: CommandExecutor | undefined;
  private client: ControllerClient | undefined;
  private pushServer: PushServer | undefined;
  private advertised: string | undefined;
  /** The commands of the last answer or push, in order. */
  private pending: readonly AgentCommand[] = [];
  private draining: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private intervalMs: number;
  /** The last report went through: wake-ups after a command may shorten the wait. */
  private healthy = true;
  private staleInARow = 0;
  private lastMachine: Omit<MachineReport, 'results'> | undefined;
  private phase: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: AgentOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.id) || options.id.length > 253) throw new Error(`agent id ${JSON.stringify(options.id)}: letters, digits, ".", "_" and "-" only`);
    this.id = options.id;
    this.driver = options.driver;
    this.log = (options.logger ?? jsonLog({ level: 'info' })).child({ agent: options.id });
    this.ownsConnections = options.connections === undefined;
    this.connections = options.connections ?? keepAliveAgents(4, options.tls);
    this.backoff = new Backoff({ ...options.backoff, random: options.random ?? seededRandom(seedOf(options.id)) });
    this.intervalMs = options.firstIntervalMs ?? 10_000;
  }

  /** Where pushes are accepted (`endpoint` of the reports), once started with `push`. */
  get endpoint(): string | undefined {
    return this.advertised;
  }

  /** The last sequence number used (persisted). */
  get sequence(): number {
    return this.state?.sequence ?? 0;
  }

  /** The machine's clock: the driver's when it has one (a simulated skew). */
  now(): number {
    return this.driver.clock?.() ?? Date.now();
  }

  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`agent ${this.id}: start() may be called once`);
    this.phase = 'started';
    const o = this.options;
    const state = await AgentStateStore.open(o.stateDir, o.id, o.durableState === undefined ? {} : { durable: o.durableState });
    try {
      if (o.driver.memory !== undefined) state.attachDriver(o.driver.memory);
      this.state = state;
      const packages = new PackageStore(o.stateDir, {
        ...(o.artifactMirror !== undefined ? { mirror: o.artifactMirror } : {}),
        httpAgent: agentFor(this.connections),
        ...(o.durableState === false ? { durable: false } : {}),
      });
      this.executor = new CommandExecutor({ driver: o.driver, packages, state, log: this.log, clock: () => this.now() });
      this.client = new ControllerClient({
        controllerUrl: o.controllerUrl,
        agentId: o.id,
        ...(o.token !== undefined ? { token: o.token } : {}),
        agents: this.connections,
        ...(o.requestTimeoutMs !== undefined ? { timeoutMs: o.requestTimeoutMs } : {}),
      });
      if (o.push !== undefined) {
        const tls = o.tls?.cert !== undefined && o.tls.key !== undefined ? { cert: o.tls.cert, key: o.tls.key } : undefined;
        this.pushServer = new PushServer({
          agentId: o.id, controllerKey: o.push.controllerKey, onCommands: (c) => this.offer(c), log: this.log,
          clock: () => this.now(), ...(tls !== undefined ? { tls } : {}),
        });
        const bound = await this.pushServer.listen(o.push.host, o.push.port);
        const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
        this.advertised = o.push.advertise ?? `${tls !== undefined ? 'https' : 'http'}://${host}:${bound.port}`;
      }
    } catch (err) {
      this.phase = 'stopped';
      await this.pushServer?.close();
      await state.close();
      if (this.ownsConnections) {
        this.connections.http.destroy();
        this.connections.https.destroy();
      }
      throw err;
    }
    this.log.info(
      { controller: o.controllerUrl, stateDir: o.stateDir, driver: o.driver.description, sequence: state.sequence, ...(this.advertised ? { endpoint: this.advertised } : {}), journaled: state.journal?.command.id },
      `agent ${o.id} started (${AGENT_VERSION})`,
    );
    this.kick(); // resumes a command journaled before a crash
    this.loop = this.reportLoop();
  }

  /**
   * Stops: no new command starts; the running one may finish within `graceMs` (default
   * `stopGraceMs`), else it is interrupted and stays journaled, resumed at the next start.
   * The state is saved and the directory released.
   */
  stop(graceMs = this.options.stopGraceMs ?? 10_000): Promise<void> {
    if (this.phase === 'new') {
      this.phase = 'stopped';
      return Promise.resolve();
    }
    this.stopped ??= this.shutdown(graceMs);
    return this.stopped;
  }

  /** Ask for a report now (as after a command), e.g. when a simulator changed the machine. */
  reportSoon(): void {
    this.wakeup.notify();
  }

  /** Commands from an answer or a push: they replace the pending list; those without a result run, in order. */
  offer(commands: readonly AgentCommand[]): void {
    if (this.phase !== 'started') return;
    this.pending = commands;
    this.kick();
  }

  // ---------------------------------------------------------------- commands

  private kick(): void {
    if (this.draining !== undefined || this.phase !== 'started') return;
    this.draining = this.drain()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, `running commands failed: ${(err as Error).message}; retried after the next report`))
      .finally(() => {
        this.draining = undefined;
        // Commands offered between the loop's last look and now would otherwise wait for the next answer.
        if (this.state !== undefined && this.pending.some((c) => !this.state!.results.has(c.id))) this.kick();
      });
  }

  /** One command at a time: the journaled one first, then the pending ones without a result. */
  private async drain(): Promise<void> {
    const executor = this.executor!;
    const state = this.state!;
    const signal = this.commandSignal.signal;
    const resumed = await executor.resume(signal);
    if (resumed === 'interrupted') return;
    if (resumed === 'finished') this.afterCommand();
    for (;;) {
      if (this.phase !== 'started') return;
      const next = this.pending.find((c) => !state.results.has(c.id));
      if (next === undefined) return;
      if ((await executor.execute(next, signal)) === 'interrupted') return;
      this.afterCommand();
    }
  }

  private afterCommand(): void {
    // While the controller is failing, the back-off decides: finishing commands must not turn it into a tight loop.
    if (this.healthy) this.wakeup.notify();
  }

  // ---------------------------------------------------------------- reports

  private async reportLoop(): Promise<void> {
    while (this.phase === 'started') {
      let delay: number;
      try {
        delay = await this.reportOnce();
      } catch (err) {
        this.healthy = false;
        delay = this.backoff.next();
        this.log.error({ err: (err as Error).message }, `report failed: ${(err as Error).message}; next attempt in ${seconds(delay)}`);
      }
      if (this.phase !== 'started') return;
      await this.wakeup.sleep(delay);
    }
  }

  /** One report; returns how long to wait before the next. */
  private async reportOnce(): Promise<number> {
    const state = this.state!;
    let machine: MachineReport;
    try {
      machine = await this.executor!.observe();
      this.lastMachine = { components: machine.components, facts: machine.facts };
    } catch (err) {
      const message = (err as Error).message;
      if (this.lastMachine === undefined) {
        const delay = this.backoff.next();
        this.log.error({ err: message }, `cannot report: the driver's inventory failed and nothing was reported before (${message}); next attempt in ${seconds(delay)}`);
        return delay;
      }
      this.log.error({ err: message }, `the driver's inventory failed (${message}); reporting the last inventory known`);
      machine = { ...this.lastMachine, facts: { ...this.lastMachine.facts, clock: new Date(this.now()).toISOString() }, results: state.results.forReport() };
    }

    // Reserved on disk before it is sent (a crash must never reuse it), with the rest of the
    // state if it changed; results were saved by the executor as they were recorded.
    const sequence = await state.takeSequence();
    const report: AgentReport = {
      sequence,
      sentAt: new Date(this.now()).toISOString(),
      ...(this.advertised !== undefined ? { endpoint: this.advertised } : {}),
      agentVersion: AGENT_VERSION,
      components: machine.components,
      results: machine.results,
      facts: machine.facts,
    };
    const outcome = await this.client!.report(report, this.stopSignal.signal);
    if (this.phase !== 'started') return 0;
    this.options.onReport?.(report, outcome);
    return this.react(report, outcome);
  }

  private async react(report: AgentReport, outcome: ReportOutcome): Promise<number> {
    const state = this.state!;
    switch (outcome.kind) {
      case 'answer': {
        if (!this.healthy) this.log.info({ sequence: report.sequence }, 'the controller answers again');
        this.healthy = true;
        this.backoff.reset();
        this.staleInARow = 0;
        this.intervalMs = outcome.answer.reportAfterSeconds * 1000;
        this.log.debug({ sequence: report.sequence, commands: outcome.answer.commands.length }, 'report accepted');
        this.offer(outcome.answer.commands);
        return this.intervalMs;
      }
      case 'stale': {
        const last = outcome.lastSequence;
        this.staleInARow++;
        if (last !== undefined && last >= state.sequence) {
          state.sequence = last; // the next report is last + 1, saved before it is sent
          await state.save();
        }
        const delay = this.staleInARow <= 3 && last !== undefined ? 0 : this.backoff.next();
        this.log.warn({ sequence: report.sequence, lastSequence: last }, `report ${report.sequence} refused as stale (${outcome.message}); continuing at ${state.sequence + 1}${delay > 0 ? ` in ${seconds(delay)}` : ''}`);
        return delay;
      }
      case 'unauthorized': {
        this.healthy = false;
        const delay = this.backoff.longest();
        const id = this.id;
        // Say which credential to check: with --cert the controller judges the certificate first.
        const byCert = this.options.tls?.cert !== undefined;
        const check = !byCert ? 'the token file'
          : `--cert (issued by the controller's --tls-client-ca, valid now, naming ${id} as CN or SAN)`
            + `${this.options.token !== undefined ? ' and the token file' : ''}`;
        this.log.error(
          { status: outcome.status },
          `the controller refuses this agent's ${byCert ? 'client certificate' : 'token'} (${outcome.status} `
            + `${outcome.message}): check ${check} and that agent ${id} is registered (versiond agents add ${id});`
            + ` next attempt in ${seconds(delay)}`,
        );
        return delay;
      }
      case 'refused': {
        this.healthy = false;
        const delay = this.backoff.next();
        this.log.error({ status: outcome.status }, `the controller refuses the report (${outcome.message}); next attempt in ${seconds(delay)}`);
        return delay;
      }
      case 'unavailable': {
        this.healthy = false;
        const delay = this.backoff.next();
        this.log.warn({ failures: this.backoff.failuresInARow }, `controller unreachable (${outcome.message}); next attempt in ${seconds(delay)}`);
        return delay;
      }
    }
  }

  // ---------------------------------------------------------------- stop

  private async shutdown(graceMs: number): Promise<void> {
    this.phase = 'stopping';
    this.stopSignal.abort();
    this.wakeup.notify();
    await this.pushServer?.close();
    const running = this.draining;
    if (running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([running.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
      clearTimeout(timer);
      if (!inTime) {
        this.log.warn(`the running command did not finish within ${seconds(graceMs)}: interrupting it; it stays journaled and resumes at the next start`);
        this.commandSignal.abort();
        await running;
      }
    }
    await this.loop;
    await this.state?.close();
    if (this.ownsConnections) {
      this.connections.http.destroy();
      this.connections.https.destroy();
    }
    this.phase = 'stopped';
    this.log.info({ sequence: this.state?.sequence }, `agent ${this.id} stopped`);
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
