/**
 * The load generator of the ingest benchmark, in a process of its own (fork of
 * bench/agent-ingest.bench.ts) so that client and server never share an event loop.
 *
 * It speaks HTTP/1.1 on raw keep-alive sockets, like autocannon or wrk, rather than
 * through http.Agent: node's HTTP client costs several times more CPU per request than a
 * server does, and would measure itself instead of the server on a machine where each side
 * has one core. Responses are parsed just enough to be checked: the status line, the
 * Content-Length and `connection: close`.
 *
 * Closed loop: each connection sends one report, waits for the answer, sends the next.
 * Each connection owns a fixed share of the agents and picks one at random for every
 * report, so an agent's sequence numbers always arrive in order (a real agent has one
 * report in flight at a time) and a 409 can only mean a bug.
 *
 * IPC: receives `{type: 'run', …LoadOptions}`; sends `{type: 'measuring'}` when the warm-up
 * ends, then `{type: 'done', result: LoadResult}`.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { agentId } from './fleet.ts';
import { FACTS_SHARE, RESULT_SHARE, reportBody, reportParts, seededRandom, type ReportParts } from './report-bodies.ts';

export interface LoadOptions {
  readonly port: number;
  /** JSON array of tokens, by agent index. */
  readonly tokensFile: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

export interface LoadResult {
  /** Answers received within the measured window, and how long it lasted. */
  readonly requests: number;
  readonly seconds: number;
  readonly ok: number;
  /** Everything but a 200: by status code, or `socket` for a connection lost with a report in flight. */
  readonly errors: Readonly<Record<string, number>>;
  readonly errorSamples: readonly string[];
  /** Latencies of the measured answers, ms. */
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly bytesSentPerRequest: number;
  /** The generator's own CPU use over the window (1.0 = one core): near 1.0, it may be what limits the rate. */
  readonly cpuCores: number;
  readonly warmupRequests: number;
  /** Answers of 200 over the whole run (warm-up, window, and those in flight at its end): what the server must have accepted. */
  readonly totalOk: number;
  readonly agentsUsed: number;
}

interface AgentSlot {
  readonly requestHead: string;
  readonly parts: ReportParts;
  sequence: number;
}

const MAX_ERROR_SAMPLES = 5;

function run(options: LoadOptions): Promise<LoadResult> {
  const tokens = JSON.parse(readFileSync(options.tokensFile, 'utf8')) as string[];
  const host = `127.0.0.1:${options.port}`;
  const agents: AgentSlot[] = tokens.map((token, i) => ({
    requestHead:
      `POST /v1/agents/${encodeURIComponent(agentId(i))}/report HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nUser-Agent: versiond-agent/1.4.2\r\nContent-Length: `,
    parts: reportParts(i),
    sequence: 0,
  }));
  const random = seededRandom(options.seed);

  // An ISO date per millisecond is plenty for sentAt, and spares a Date per report.
  let isoMs = 0;
  let iso = '';
  const sentAt = () => {
    const now = Date.now();
    if (now !== isoMs) {
      isoMs = now;
      iso = new Date(now).toISOString();
    }
    return iso;
  };

  let phase: 'warmup' | 'measuring' | 'draining' = 'warmup';
  let windowStart = 0;
  let windowEnd = 0;
  let warmupRequests = 0;
  let totalOk = 0;
  let requests = 0;
  let ok = 0;
  let bytesSent = 0;
  let sent = 0;
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  let latencies = new Float64Array(1 << 20);
  const used = new Uint8Array(agents.length);
  let cpuAtStart = process.cpuUsage();

  const fail = (kind: string, sample: string) => {
    if (phase !== 'measuring') {
      // A failure during the warm-up is just as much a bug: report it too.
      if (phase === 'warmup') kind = `${kind} (warm-up)`;
      else return;
    }
    errors[kind] = (errors[kind] ?? 0) + 1;
    if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(sample);
  };

  const answered = (latencyMs: number, status: number, bodyText: () => string) => {
    if (status === 200) totalOk++;
    if (phase === 'warmup') {
      warmupRequests++;
      if (status !== 200) fail(String(status), `${status} ${bodyText()}`);
      return;
    }
    if (phase !== 'measuring') return;
    requests++;
    if (status === 200) ok++;
    else fail(String(status), `${status} ${bodyText()}`);
    if (requests > latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[requests - 1] = latencyMs;
  };

  return new Promise((resolveRun) => {
    let open = 0;
    const finishers: (() => void)[] = [];

    /** One keep-alive connection, reporting for agents `slot`, `slot + C`, `slot + 2C`, … */
    const connection = (slot: number) => {
      const owned: number[] = [];
      for (let i = slot; i < agents.length; i += options.connections) owned.push(i);
      let socket: Socket;
      let buffer: Buffer | undefined;
      let expected = -1; // total bytes of the answer being read, once its head is parsed
      let status = 0;
      let bodyStart = 0;
      let closeAfter = false;
      let startedAt = 0;
      let inFlight = false;

      const sendNext = () => {
        if (phase === 'draining') {
          inFlight = false;
          socket.end();
          return;
        }
        const index = owned[Math.floor(random() * owned.length)]!;
        const agent = agents[index]!;
        used[index] = 1;
        agent.sequence++;
        const body = reportBody(agent.parts, agent.sequence, sentAt(), random() < RESULT_SHARE, random() < FACTS_SHARE);
        // Every byte is ASCII: the string length is the byte length.
        const request = `${agent.requestHead}${body.length}\r\n\r\n${body}`;
        if (phase === 'measuring') {
          bytesSent += request.length;
          sent++;
        }
        inFlight = true;
        startedAt = performance.now();
        socket.write(request);
      };

      const onData = (chunk: Buffer) => {
        buffer = buffer === undefined ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          if (expected < 0) {
            const end = buffer.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = buffer.toString('latin1', 0, end);
            status = Number(head.slice(9, 12));
            const length = /\r\ncontent-length: *(\d+)/i.exec(head);
            if (!length) {
              fail('no content-length', head);
              socket.destroy();
              return;
            }
            closeAfter = /\r\nconnection: *close/i.test(head);
            bodyStart = end + 4;
            expected = bodyStart + Number(length[1]);
          }
          if (buffer.length < expected) return;
          const latency = performance.now() - startedAt;
          const answer = buffer;
          const [from, to] = [bodyStart, expected];
          answered(latency, status, () => answer.toString('utf8', from, to));
          buffer = buffer.length > expected ? buffer.subarray(expected) : undefined;
          expected = -1;
          inFlight = false;
          if (buffer !== undefined) fail('unsolicited bytes', buffer.toString('latin1', 0, 200));
          if (closeAfter) {
            socket.destroy();
            return;
          }
          sendNext();
          if (buffer === undefined) return;
        }
      };

      const start = () => {
        buffer = undefined;
        expected = -1;
        socket = connect({ host: '127.0.0.1', port: options.port, noDelay: true });
        open++;
        socket.on('connect', sendNext);
        socket.on('data', onData);
        socket.on('error', (err) => {
          if (phase !== 'draining') fail('socket', err.message);
        });
        socket.on('close', () => {
          open--;
          if (inFlight && phase !== 'draining') fail('socket', 'connection closed with a report in flight');
          inFlight = false;
          // A connection the server closed (after an error) is opened again, as an agent would.
          if (phase !== 'draining') start();
          else if (open === 0) for (const f of finishers) f();
        });
      };
      start();
    };

    for (let c = 0; c < options.connections; c++) connection(c);

    setTimeout(() => {
      phase = 'measuring';
      windowStart = performance.now();
      cpuAtStart = process.cpuUsage();
      process.send?.({ type: 'measuring' });
      setTimeout(() => {
        windowEnd = performance.now();
        const cpu = process.cpuUsage(cpuAtStart);
        phase = 'draining';
        const seconds = (windowEnd - windowStart) / 1000;
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          const measured = latencies.subarray(0, requests).sort();
          const at = (q: number) => (measured.length === 0 ? NaN : measured[Math.min(measured.length - 1, Math.ceil(q * measured.length) - 1)]!);
          let sum = 0;
          for (const l of measured) sum += l;
          let agentsUsed = 0;
          for (const u of used) agentsUsed += u;
          resolveRun({
            requests,
            seconds,
            ok,
            errors,
            errorSamples,
            latency: { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: measured[measured.length - 1] ?? NaN, mean: sum / Math.max(1, measured.length) },
            bytesSentPerRequest: sent === 0 ? 0 : Math.round(bytesSent / sent),
            cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
            warmupRequests,
            totalOk,
            agentsUsed,
          });
        };
        finishers.push(finish);
        // Connections end after their report in flight; one that hangs must not hang the benchmark.
        setTimeout(finish, 5000).unref();
      }, options.durationMs);
    }, options.warmupMs);
  });
}

// The benchmark went away (interrupted, crashed): nothing is left to measure for.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { type: string } & LoadOptions) => {
  if (message.type !== 'run') return;
  run(message).then(
    (result) => {
      process.send?.({ type: 'done', result }, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`agent-ingest load generator: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
});
