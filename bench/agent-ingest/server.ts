/**
 * A server process of the ingest benchmark (started by bench/agent-ingest.bench.ts with
 * child_process.fork, so it has an event loop — and, on 2 cores, a core — of its own):
 *
 *   server.ts versiond <stateDir> <agents>   the controller's agent API, wired as
 *                                            controller/run/controller.ts wires it
 *   server.ts bare                           plain node:http: read the body, JSON.parse it,
 *                                            answer a constant of the same shape
 *
 * IPC: sends `{type: 'listening', port}`; answers `{type: 'snapshot'}` with its CPU time,
 * event-loop utilisation and answers by outcome so far; `{type: 'stop'}` closes and exits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { ObservedInventory } from '../../controller/agents/inventory.ts';
import { Mailbox } from '../../controller/agents/mailbox.ts';
import { reportRoute } from '../../controller/agents/report-route.ts';
import { readBody } from '../../controller/http/respond.ts';
import { controllerMetrics } from '../../controller/run/controller-metrics.ts';
import { createControllerServer } from '../../controller/run/http-server.ts';
import type { Command } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { agentId } from './fleet.ts';

export type ServerMode = 'versiond' | 'bare';

export interface ServerSnapshot {
  readonly type: 'snapshot';
  /** process.cpuUsage(), µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Event-loop utilisation since the start (performance.eventLoopUtilization()). */
  readonly elu: { readonly idle: number; readonly active: number };
  readonly at: number;
  /** Answers by outcome (`accepted`, or the error code). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly inventorySize: number;
  readonly registered: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** Event-loop delay since the previous snapshot (ms): how long anything else, /healthz included, may wait. */
  readonly loopDelay: { readonly p99: number; readonly max: number };
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/** Same as the controller's default (controller.ts): agents report every 10 s, offline after 3 silent intervals. */
const REPORT_AFTER_SECONDS = 10;
const HEARTBEAT_TIMEOUT_MS = REPORT_AFTER_SECONDS * 3000;
/** Agents with a command waiting: a wave in progress reaches a few percent of a fleet at a time. */
const AGENTS_PER_TARGET = 100;
const TARGETS_WITH_COMMANDS = 0.02;

const outcomes: Record<string, number> = {};
const count = (outcome: string) => {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
};

async function versiondServer(stateDir: string, agents: number): Promise<{ server: Server; inventory: ObservedInventory; credentials: AgentCredentials }> {
  const credentials = await AgentCredentials.open(stateDir, { onRefreshError: (err) => process.stderr.write(`agents.json: ${err.message}\n`) });
  const inventory = new ObservedInventory(HEARTBEAT_TIMEOUT_MS);
  const mailbox = new Mailbox();
  fillMailbox(mailbox, agents);
  const metrics = controllerMetrics({
    queueDepth: () => 0,
    activeReconciles: () => 0,
    agents: () => {
      const online = inventory.online();
      return { online, offline: inventory.size - online, registered: credentials.size };
    },
    commandsPending: () => mailbox.pending,
  });
  const server = createControllerServer({
    report: reportRoute({
      credentials,
      inventory,
      mailbox,
      now: Date.now,
      reportAfterSeconds: REPORT_AFTER_SECONDS,
      stopping: () => false,
      onOutcome: (outcome) => {
        metrics.reports.inc({ outcome });
        count(outcome);
      },
      // The controller hands this to ReconcileLoop.agentReported, which queues the agent's
      // targets when `changed`; there is no desired state here, so no target to queue.
      onReport: () => {},
    }),
    controllerKey: () => '',
    metrics: () => metrics.registry.render(),
    notReady: () => undefined,
  });
  // As in the controller: agents silent for longer than the heartbeat timeout go offline.
  const sweep = setInterval(() => inventory.sweep(Date.now()), Math.max(250, Math.min(5000, HEARTBEAT_TIMEOUT_MS / 4)));
  sweep.unref();
  return { server, inventory, credentials };
}

/** A few targets' members have a stage command pending, so some answers carry a command (as during a rollout). */
function fillMailbox(mailbox: Mailbox, agents: number): void {
  const targets = Math.floor(agents / AGENTS_PER_TARGET);
  const every = Math.max(1, Math.round(1 / TARGETS_WITH_COMMANDS));
  for (let t = 0; t < targets; t += every) {
    const target = `account/bench-${t}` as TargetId;
    const commands: Command[] = [];
    for (let i = t * AGENTS_PER_TARGET; i < (t + 1) * AGENTS_PER_TARGET; i++) {
      const agent = agentId(i);
      commands.push({
        id: (0x1000000000000 + i).toString(16).padStart(16, '0').slice(-16),
        target,
        member: agent,
        agent,
        action: 'stage',
        delivery: 'mailbox',
        product: 'w360-device',
        version: '4.3.1',
        artifact: {
          release: 'w360-device-4.3.1',
          product: 'w360-device',
          version: '4.3.1',
          url: 'https://packages.example.com/w360-device/4.3.1/w360-device-4.3.1.pkg',
          sha256: 'b'.repeat(64),
          size: 48_213_504,
          signature: { algorithm: 'ed25519', publicKey: 'A'.repeat(43) + '=', value: 'B'.repeat(86) + '==' },
        },
      });
    }
    mailbox.set(target, commands);
  }
}

/** What a minimal server does with the same requests: the floor any ingest path sits on. */
function bareServer(): Server {
  return createServer({ keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    void readBody(req, 1024 * 1024).then((body) => {
      if (typeof body === 'string') return;
      let sequence: unknown;
      try {
        sequence = (JSON.parse(body.toString('utf8')) as { sequence?: unknown }).sequence;
      } catch {
        count('INVALID_JSON');
        res.writeHead(400, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
        return;
      }
      count('accepted');
      const json = `{"sequence":${String(sequence)},"commands":[],"reportAfterSeconds":${REPORT_AFTER_SECONDS}}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    });
  });
}

async function main(): Promise<void> {
  const [mode, stateDir, agents] = process.argv.slice(2);
  let server: Server;
  let inventory: ObservedInventory | undefined;
  let credentials: AgentCredentials | undefined;
  if (mode === 'versiond') {
    if (stateDir === undefined || !(Number(agents) > 0)) throw new Error('usage: server.ts versiond <stateDir> <agents>');
    ({ server, inventory, credentials } = await versiondServer(stateDir, Number(agents)));
  } else if (mode === 'bare') {
    server = bareServer();
  } else {
    throw new Error(`server.ts: unknown mode ${JSON.stringify(mode)} (versiond or bare)`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const send = (message: unknown) => process.send?.(message);
  // The benchmark went away (interrupted, crashed): nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'snapshot') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      const mem = process.memoryUsage();
      const snapshot: ServerSnapshot = {
        type: 'snapshot',
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        elu: { idle: elu.idle, active: elu.active },
        at: performance.now(),
        outcomes: { ...outcomes },
        inventorySize: inventory?.size ?? 0,
        registered: credentials?.size ?? 0,
        heapUsedBytes: mem.heapUsed,
        rssBytes: mem.rss,
        loopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      };
      loopDelay.reset();
      send(snapshot);
    } else if (message.type === 'stop') {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    }
  });
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-ingest server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
