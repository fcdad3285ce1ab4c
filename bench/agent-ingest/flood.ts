/**
 * One agent flooding the controller with schema-invalid reports (issue 14, item 2), in a
 * process of its own: `--connections` keep-alive sockets, each posting a ~1 MiB report
 * (`serves: [1, 1, …]`) as soon as the previous one is answered, never waiting for
 * Retry-After: an attacker holding a valid token, not a well-behaved agent. A connection the
 * server closes is opened again at once. Alongside, `GET /healthz` every `probeEveryMs` on
 * a connection of its own measures how long the controller takes to answer anything else.
 *
 * Used by the ingest benchmark (`--flood`) and by test/run/agent-report-flood.test.ts.
 * IPC: sends `{type: 'ready'}` once loaded; receives `{type: 'run', …FloodOptions}`; sends
 * `{type: 'flooding'}` once the connections are opening, then `{type: 'done', result:
 * FloodResult}` after `durationMs` (or on `{type: 'stop'}`), and exits.
 */
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export interface FloodOptions {
  readonly port: number;
  readonly agent: string;
  readonly token: string;
  readonly connections: number;
  readonly durationMs: number;
  /** Items of `serves`: 500,000 makes a body of ~1 MB. */
  readonly items: number;
  readonly probeEveryMs: number;
}

export interface FloodResult {
  readonly seconds: number;
  /** Answers by status code; `reset` for a connection closed before its answer came. */
  readonly answers: Readonly<Record<string, number>>;
  readonly retryAfter: readonly string[];
  readonly bodyBytes: number;
  /** Bytes handed to the kernel, all connections together. */
  readonly bytesWritten: number;
  readonly healthz: {
    readonly count: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly failed: number;
  };
  readonly cpuCores: number;
}

/** The invalid report: a WRS that "serves" numbers. */
export function floodBody(items: number): Buffer {
  return Buffer.from(`{"sequence":1,"components":[{"product":"wrs","serves":[${'1,'.repeat(items - 1)}1]}]}`);
}

export function runFlood(o: FloodOptions, stop: Promise<void>): Promise<FloodResult> {
  const body = floodBody(o.items);
  const head = Buffer.from(
    `POST /v1/agents/${encodeURIComponent(o.agent)}/report HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n` +
      `Authorization: Bearer ${o.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  const answers: Record<string, number> = {};
  const retryAfter = new Set<string>();
  const healthz: number[] = [];
  let healthzFailed = 0;
  let bytesWritten = 0;
  let running = true;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const count = (k: string) => (answers[k] = (answers[k] ?? 0) + 1);

  /** Reads one HTTP answer after another off `socket`; `onAnswer(status, head)` for each. */
  const answersOf = (socket: Socket, onAnswer: (status: number, head: string) => void) => {
    let buffer: Buffer | undefined;
    let expected = -1;
    let status = 0;
    let headText = '';
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer === undefined ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (expected < 0) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          headText = buffer.toString('latin1', 0, end);
          status = Number(headText.slice(9, 12));
          const length = /\r\ncontent-length: *(\d+)/i.exec(headText);
          expected = end + 4 + Number(length?.[1] ?? 0);
        }
        if (buffer.length < expected) return;
        buffer = buffer.length > expected ? buffer.subarray(expected) : undefined;
        expected = -1;
        onAnswer(status, headText);
        if (buffer === undefined) return;
      }
    });
  };

  const flooder = () => {
    if (!running) return;
    const socket = connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    let waiting = false;
    const send = () => {
      if (!running) return void socket.destroy();
      waiting = true;
      socket.write(head);
      socket.write(body);
      bytesWritten += head.length + body.length;
    };
    socket.on('connect', send);
    answersOf(socket, (status, text) => {
      waiting = false;
      count(String(status));
      const after = /\r\nretry-after: *(\S+)/i.exec(text);
      if (after && retryAfter.size < 20) retryAfter.add(after[1]!);
      if (/\r\nconnection: *close/i.test(text)) socket.destroy();
      else send();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (waiting) count('reset');
      // At once, as an attacker would; setImmediate only so a refused connect cannot spin the loop.
      if (running) setImmediate(flooder);
    });
  };

  const prober = () => {
    const socket = connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const probe = () => {
      sentAt = performance.now();
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n\r\n`);
    };
    socket.on('connect', probe);
    answersOf(socket, (status) => {
      if (status === 200) healthz.push(performance.now() - sentAt);
      else healthzFailed++;
      if (running) timer = setTimeout(probe, o.probeEveryMs);
      else socket.destroy();
    });
    socket.on('error', () => healthzFailed++);
    socket.on('close', () => clearTimeout(timer));
    return socket;
  };

  for (let c = 0; c < o.connections; c++) flooder();
  const probeSocket = prober();
  process.send?.({ type: 'flooding' });

  return new Promise((resolve) => {
    const finish = () => {
      if (!running) return;
      running = false;
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      probeSocket.destroy();
      const sorted = Float64Array.from(healthz).sort();
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
      resolve({
        seconds,
        answers,
        retryAfter: [...retryAfter],
        bodyBytes: body.length,
        bytesWritten,
        healthz: { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1), failed: healthzFailed },
        cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
      });
    };
    setTimeout(finish, o.durationMs);
    void stop.then(finish);
  });
}

// As a child process (fork of this file): one run, then exit.
const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (process.send !== undefined && isMain) {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { type: string } & FloodOptions) => {
    if (m.type === 'stop') return stop();
    if (m.type !== 'run') return;
    void runFlood(m, stopped).then((result) => process.send?.({ type: 'done', result }, () => process.exit(0)));
  });
  process.send({ type: 'ready' });
}
