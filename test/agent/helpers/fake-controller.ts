/**
 * A small controller for the agent's tests: a real HTTP server on 127.0.0.1 that does what
 * the protocol says the controller does — checks the bearer token (401 unknown, 403 another
 * agent's), validates the report against `agent-report.schema.json` (400), refuses a
 * sequence not greater than the last accepted (409 with `lastSequence`), records the report
 * and answers every pending command of that agent. Tests set the mailbox and may override
 * the answer (a 409, an outage).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { schemaValidator } from '../../../controller/desired/schema-validator.ts';
import type { AgentCommand, AgentReport } from '../../../agent/reference/protocol.ts';

export interface RecordedReport {
  readonly agent: string;
  readonly report: AgentReport;
  /** What the controller answered. */
  readonly status: number;
  readonly at: number;
}

/** Replaces the normal answer: a status and body, or `destroy` to cut the connection (a network error). */
export type Override = { readonly status: number; readonly body: unknown } | 'destroy';

export class FakeController {
  readonly reports: RecordedReport[] = [];
  /** When each request reached the server, accepted or not. */
  readonly attemptTimes: number[] = [];
  /** Reports that broke the schema: a test failure of the agent. */
  readonly invalid: string[] = [];
  readonly mailbox = new Map<string, AgentCommand[]>();
  readonly lastSequence = new Map<string, number>();
  reportAfterSeconds = 1;
  /** Consulted before the normal handling; `undefined` lets it through. */
  override: ((agent: string, report: AgentReport | undefined) => Override | undefined) | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly tokens: ReadonlyMap<string, string>,
  ) {}

  static async start(tokens: Record<string, string>): Promise<FakeController> {
    let self: FakeController | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    self = new FakeController(server, `http://127.0.0.1:${port}`, new Map(Object.entries(tokens)));
    return self;
  }

  /** Requests that reached the server, accepted or not. */
  get attempts(): number {
    return this.attemptTimes.length;
  }

  reportsOf(agent: string): AgentReport[] {
    return this.reports.filter((r) => r.agent === agent && r.status === 200).map((r) => r.report);
  }

  /** Resolves with the first accepted report of `agent`, among those recorded from index `from` on, that satisfies `test`. */
  async waitForReport(agent: string, test: (r: AgentReport) => boolean, timeoutMs = 5_000, from = 0): Promise<AgentReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.reports.slice(from).find((r) => r.agent === agent && r.status === 200 && test(r.report));
      if (found) return found.report;
      if (Date.now() > deadline) throw new Error(`no report of ${agent} matched within ${timeoutMs} ms; last: ${JSON.stringify(this.reportsOf(agent).at(-1))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.attemptTimes.push(Date.now());
    const m = /^\/v1\/agents\/([^/]+)\/report$/.exec(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!m || req.method !== 'POST') return send(res, 404, { error: 'NOT_FOUND', message: req.url ?? '' });
    const agent = decodeURIComponent(m[1]!);
    let report: AgentReport | undefined;
    try {
      report = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentReport;
    } catch {
      report = undefined;
    }
    const o = this.override?.(agent, report);
    if (o === 'destroy') {
      req.socket.destroy();
      return;
    }
    if (o !== undefined) {
      if (report) this.reports.push({ agent, report, status: o.status, at: Date.now() });
      return send(res, o.status, o.body);
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const owner = [...this.tokens].find(([, t]) => t === token)?.[0];
    if (owner === undefined) return send(res, 401, { error: 'UNAUTHENTICATED', message: 'unknown token' });
    if (owner !== agent) return send(res, 403, { error: 'FORBIDDEN', message: `the token is ${owner}'s` });
    if (report === undefined) return send(res, 400, { error: 'INVALID_JSON', message: 'not JSON' });
    const validate = schemaValidator('agent-report.schema.json');
    if (!validate(report)) {
      this.invalid.push(JSON.stringify(validate.errors));
      return send(res, 400, { error: 'INVALID_REPORT', message: JSON.stringify(validate.errors?.[0]) });
    }
    const last = this.lastSequence.get(agent);
    if (last !== undefined && report.sequence <= last) {
      this.reports.push({ agent, report, status: 409, at: Date.now() });
      return send(res, 409, { error: 'STALE_REPORT', message: `sequence ${report.sequence} is not greater than ${last}`, lastSequence: last });
    }
    this.lastSequence.set(agent, report.sequence);
    this.reports.push({ agent, report, status: 200, at: Date.now() });
    send(res, 200, { sequence: report.sequence, commands: this.mailbox.get(agent) ?? [], reportAfterSeconds: this.reportAfterSeconds });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
