import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIdentity } from '../http/tls.ts';
import type { AgentReport } from '../../protocol/report.ts';
import { parseReport } from './agent-report.ts';
import type { ObservedInventory } from './inventory.ts';
import type { Mailbox } from './mailbox.ts';
import { defaultReportBudget, ReportBudget, type ReportBudgetOptions } from './report-budget.ts';
import { readBody, sendError, sendJsonText } from '../http/respond.ts';

export const REPORT_MAX_BYTES = 1024 * 1024;

export type AuthVerdict = 'ok' | 'unauthenticated' | 'forbidden';

/** Who may report as whom: each agent proves its identity with its own token. */
export interface Authenticator {
  authenticate(agentId: string, authorization: string | undefined): AuthVerdict;
  /** Whether `agentId` is registered (`versiond agents add`): a client certificate alone is not enough. */
  isRegistered(agentId: string): boolean;
  /**
   * Optional: looks at the credentials once and returns both checks as of that look. The route
   * calls it once for all the requests received before (see `reportRoute`); without it, each
   * request calls `authenticate` and `isRegistered` themselves.
   */
  lookOnce?(): Pick<Authenticator, 'authenticate' | 'isRegistered'>;
}

export interface ReportRouteOptions {
  readonly credentials: Authenticator;
  readonly inventory: ObservedInventory;
  readonly mailbox: Mailbox;
  readonly now: () => number;
  /** Heartbeat asked of agents, in the answer. */
  readonly reportAfterSeconds: number;
  /**
   * Asked instead after a report in which the machine progressed (a command finished, it runs
   * another version, it is back): the reconcile that report starts often has the agent's next
   * step, which a mailbox agent would otherwise get only a whole interval later. Default:
   * `reportAfterSeconds`. One extra report per step, none while nothing happens.
   */
  readonly followUpSeconds?: number;
  readonly maxBytes?: number;
  /** An accepted report; `changed` when it differs in anything reconcilers read. */
  readonly onReport: (agent: string, report: AgentReport, changed: boolean) => void;
  /** Every answered request, for metrics: `accepted`, or the error code. */
  readonly onOutcome?: (outcome: string) => void;
  /** True once shutdown began: reports are refused with 503 so agents retry against the next instance. */
  readonly stopping?: () => boolean;
  /** What one agent may cost (report-budget.ts); default: `defaultReportBudget(maxBytes)`. */
  readonly budget?: Partial<ReportBudgetOptions>;
}

/**
 * `application/json`, with no charset or UTF-8 (RFC 8259: JSON between systems is UTF-8).
 * A missing Content-Type is refused too: the README promises 415 for anything else.
 */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  if (header === 'application/json') return true; // what agents send: no parsing
  const [type, ...params] = header.split(';');
  if (type!.trim().toLowerCase() !== 'application/json') return false;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

/**
 * `POST /v1/agents/{id}/report` (schemas/agent-protocol.openapi.json). In order: the token
 * (401 unknown, 403 another agent's — checked before the body is read, so an unauthenticated
 * client cannot make the controller parse anything), the size (413), the media type (415),
 * JSON and schema (400, naming the field), the sequence (409 for a replayed or late report).
 * Right after the token, the agent's budget (429 with Retry-After, before the body is read):
 * an agent that floods refused or oversized reports waits, and the others go on.
 * Only then is the report recorded, and the answer carries every command pending for this
 * agent — never another agent's. No error here can affect another agent's state.
 *
 * The requests that arrive in one turn of the event loop are authenticated together, right
 * after it (issue 16): one look at agents.json (`lookOnce`, one stat) judges them all. That
 * look comes after each of them arrived, so a token revoked before a request was sent fails
 * it, exactly as with a look per request.
 */
export function reportRoute(options: ReportRouteOptions): (req: IncomingMessage, res: ServerResponse, agentId: string) => void {
  const maxBytes = options.maxBytes ?? REPORT_MAX_BYTES;
  const outcome = options.onOutcome ?? (() => {});
  const budget = new ReportBudget({ ...defaultReportBudget(maxBytes), ...options.budget });
  const { credentials, inventory, mailbox, now, reportAfterSeconds } = options;
  const answerTail = `,"reportAfterSeconds":${reportAfterSeconds}}`;
  const followUpTail = `,"reportAfterSeconds":${Math.min(options.followUpSeconds ?? reportAfterSeconds, reportAfterSeconds)}}`;

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    error: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    outcome(error);
    sendError(req, res, status, error, message, extra, headers);
  };
  /** A bug must cost one answer, never the server. */
  const internal = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    outcome('INTERNAL');
    sendError(req, res, 500, 'INTERNAL', `internal error: ${(err as Error).message}`);
  };

  let waiting: { req: IncomingMessage; res: ServerResponse; agentId: string }[] = [];
  const judgeWaiting = () => {
    const batch = waiting;
    waiting = [];
    let judge: Pick<Authenticator, 'authenticate' | 'isRegistered'> = credentials;
    try {
      if (credentials.lookOnce !== undefined) judge = credentials.lookOnce();
    } catch (err) {
      for (const w of batch) internal(w.req, w.res, err);
      return;
    }
    for (const w of batch) {
      try {
        admit(judge, w.req, w.res, w.agentId);
      } catch (err) {
        internal(w.req, w.res, err);
      }
    }
  };

  /** Identity, then budget: the body is read only for an agent that proved who it is and may send now. */
  const admit = (
    judge: Pick<Authenticator, 'authenticate' | 'isRegistered'>,
    req: IncomingMessage,
    res: ServerResponse,
    agentId: string,
  ): void => {
    // A client certificate (--tls-client-ca) names its agent: CN or a SAN equal to the id in
    // the path. With one, a token is optional — but a token sent must still be right.
    const cert = clientIdentity(req.socket);
    if (cert.state === 'invalid') return refuse(req, res, 401, 'UNAUTHENTICATED', cert.why);
    if (cert.state === 'valid' && !cert.names.includes(agentId)) {
      const names = cert.names.length > 0 ? cert.names.join(', ') : 'no name';
      return refuse(req, res, 403, 'FORBIDDEN', `the client certificate is for ${names}, not agent ${agentId}`);
    }
    if (cert.state === 'valid' && !judge.isRegistered(agentId)) {
      return refuse(req, res, 403, 'FORBIDDEN', `agent ${agentId} is not registered (versiond agents add ${agentId})`);
    }
    if (cert.state !== 'valid' || req.headers.authorization !== undefined) {
      const verdict = judge.authenticate(agentId, req.headers.authorization);
      if (verdict === 'unauthenticated') {
        return refuse(req, res, 401, 'UNAUTHENTICATED', 'missing or unknown agent token');
      }
      if (verdict === 'forbidden') return refuse(req, res, 403, 'FORBIDDEN', `this token is not agent ${agentId}'s`);
    }
    const wait = budget.admit(agentId, now());
    if (wait > 0) return tooMany(req, res, agentId, wait);
    // From here on the agent is counted in flight: `budget.done` must follow, whatever happens.
    let body: Promise<Buffer | 'too-large' | 'aborted'>;
    try {
      const type = req.headers['content-type'];
      if (!isJsonMediaType(type)) {
        const what = type === undefined ? 'no Content-Type' : type;
        refuse(req, res, 415, 'UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, not ${what}`);
        budget.done(agentId, now(), { refused: true, bytes: 0 });
        return;
      }
      body = readBody(req, maxBytes);
    } catch (err) {
      budget.done(agentId, now(), { refused: true, bytes: 0 });
      throw err;
    }
    void body.then((b) => receive(req, res, agentId, b));
  };

  /** Held a while, body unread (Node stops reading it), so that a client ignoring Retry-After cannot loop. */
  const tooMany = (req: IncomingMessage, res: ServerResponse, agentId: string, wait: number): void => {
    // Each attempt then costs the kernel what it pushes, not the controller.
    const holdMs = budget.hold(agentId, wait);
    const retry = String(Math.max(1, wait - Math.floor(holdMs / 1000)));
    const answer = () => {
      const message = `agent ${agentId} sent too many refused or large reports; retry in ${retry} s`;
      refuse(req, res, 429, 'TOO_MANY_REQUESTS', message, {}, { 'retry-after': retry });
    };
    if (holdMs === 0) return answer();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      budget.release(agentId);
    };
    const timer = setTimeout(() => {
      release();
      answer();
    }, holdMs);
    timer.unref();
    res.once('close', release);
  };

  /** The body read (or not): parse, check, record, answer. */
  const receive = (
    req: IncomingMessage,
    res: ServerResponse,
    agentId: string,
    body: Buffer | 'too-large' | 'aborted',
  ): void => {
    let refused = true;
    let bytes = 0;
    try {
      if (body === 'too-large') {
        bytes = maxBytes; // at most this much was read
        return refuse(req, res, 413, 'BODY_TOO_LARGE', `a report is at most ${maxBytes} bytes`);
      }
      if (body === 'aborted') {
        refused = false; // a dropped connection cost us nothing to parse
        return;
      }
      bytes = body.length;
      const parsed = parseReport(body);
      if (!parsed.ok) {
        const extra = parsed.field !== undefined ? { field: parsed.field } : {};
        return refuse(req, res, 400, parsed.error, parsed.message, extra);
      }
      const report = parsed.report;
      const recorded = inventory.record(agentId, report, now());
      if (recorded.kind === 'stale') {
        const last = recorded.lastSequence;
        const message = `sequence ${report.sequence} is not after ${last}: a replayed or late report, ignored`;
        return refuse(req, res, 409, 'STALE_REPORT', message, { lastSequence: last });
      }
      refused = false;
      outcome('accepted');
      // The answer is assembled from text: the commands' JSON is cached by the mailbox.
      const tail = recorded.progressed ? followUpTail : answerTail;
      sendJsonText(res, 200, `{"sequence":${report.sequence},"commands":${mailbox.commandsJson(agentId)}${tail}`);
      options.onReport(agentId, report, recorded.changed);
    } catch (err) {
      internal(req, res, err);
    } finally {
      budget.done(agentId, now(), { refused, bytes });
    }
  };

  return (req, res, agentId) => {
    try {
      if (req.method !== 'POST') return refuse(req, res, 405, 'METHOD_NOT_ALLOWED', 'use POST', {}, { allow: 'POST' });
      if (options.stopping?.()) {
        return refuse(req, res, 503, 'SHUTTING_DOWN', 'the controller is stopping; report again later');
      }
    } catch (err) {
      return internal(req, res, err);
    }
    waiting.push({ req, res, agentId });
    if (waiting.length === 1) setImmediate(judgeWaiting);
  };
}
