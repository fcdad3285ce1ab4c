import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseReport, type AgentReport } from './agent-report.ts';
import type { ObservedInventory } from './inventory.ts';
import type { Mailbox } from './mailbox.ts';
import { readBody, sendError, sendJsonText } from '../http/respond.ts';

export const REPORT_MAX_BYTES = 1024 * 1024;

export type AuthVerdict = 'ok' | 'unauthenticated' | 'forbidden';

/** Who may report as whom: each agent proves its identity with its own token. */
export interface Authenticator {
  authenticate(agentId: string, authorization: string | undefined): AuthVerdict;
  /** Re-reads the credential file if another process (`versiond agents add`) changed it. */
  refreshIfChanged?(): Promise<boolean>;
}

export interface ReportRouteOptions {
  readonly credentials: Authenticator;
  readonly inventory: ObservedInventory;
  readonly mailbox: Mailbox;
  readonly now: () => number;
  /** Heartbeat asked of agents, in the answer. */
  readonly reportAfterSeconds: number;
  readonly maxBytes?: number;
  /** An accepted report; `changed` when it differs in anything reconcilers read. */
  readonly onReport: (agent: string, report: AgentReport, changed: boolean) => void;
  /** Every answered request, for metrics: `accepted`, or the error code. */
  readonly onOutcome?: (outcome: string) => void;
  /** True once shutdown began: reports are refused with 503 so agents retry against the next instance. */
  readonly stopping?: () => boolean;
}

/**
 * `POST /v1/agents/{id}/report` (schemas/agent-protocol.openapi.json). In order: the token
 * (401 unknown, 403 another agent's — checked before the body is read, so an unauthenticated
 * client cannot make the controller parse anything), the size (413), the media type (415),
 * JSON and schema (400, naming the field), the sequence (409 for a replayed or late report).
 * Only then is the report recorded, and the answer carries every command pending for this
 * agent — never another agent's. No error here can affect another agent's state.
 */
export function reportRoute(options: ReportRouteOptions): (req: IncomingMessage, res: ServerResponse, agentId: string) => void {
  const maxBytes = options.maxBytes ?? REPORT_MAX_BYTES;
  const outcome = options.onOutcome ?? (() => {});
  let lastRefresh = 0;

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

  let refreshing: Promise<unknown> | undefined;
  /** Synchronous on the hot path; a promise only for an unknown token, when the file is looked at again. */
  const authenticate = (agentId: string, header: string | undefined): AuthVerdict | Promise<AuthVerdict> => {
    const verdict = options.credentials.authenticate(agentId, header);
    if (verdict !== 'unauthenticated' || !options.credentials.refreshIfChanged || header === undefined) return verdict;
    // An agent added by `versiond agents add` while we run: look at the file again. Every
    // unknown token that arrives meanwhile waits for that same look (a fleet registered at
    // once is let in together); a new look starts at most every 250 ms, so a client spraying
    // unknown tokens cannot make us stat the file per request.
    if (refreshing === undefined) {
      if (options.now() - lastRefresh < 250) return verdict;
      lastRefresh = options.now();
      refreshing = options.credentials.refreshIfChanged().finally(() => (refreshing = undefined));
    }
    return refreshing.then(() => options.credentials.authenticate(agentId, header));
  };

  return (req, res, agentId) => {
    void (async () => {
      if (req.method !== 'POST') return refuse(req, res, 405, 'METHOD_NOT_ALLOWED', 'use POST', {}, { allow: 'POST' });
      if (options.stopping?.()) return refuse(req, res, 503, 'SHUTTING_DOWN', 'the controller is stopping; report again later');
      const pending = authenticate(agentId, req.headers.authorization);
      const verdict = typeof pending === 'string' ? pending : await pending;
      if (verdict === 'unauthenticated') return refuse(req, res, 401, 'UNAUTHENTICATED', 'missing or unknown agent token');
      if (verdict === 'forbidden') return refuse(req, res, 403, 'FORBIDDEN', `this token is not agent ${agentId}'s`);
      const type = req.headers['content-type'];
      if (type !== undefined && !/^application\/json\b/i.test(type)) {
        return refuse(req, res, 415, 'UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, not ${type}`);
      }
      const body = await readBody(req, maxBytes);
      if (body === 'too-large') return refuse(req, res, 413, 'BODY_TOO_LARGE', `a report is at most ${maxBytes} bytes`);
      if (body === 'aborted') return;
      const parsed = parseReport(body);
      if (!parsed.ok) return refuse(req, res, 400, parsed.error, parsed.message, parsed.field !== undefined ? { field: parsed.field } : {});
      const recorded = options.inventory.record(agentId, parsed.report, options.now());
      if (recorded.kind === 'stale') {
        return refuse(req, res, 409, 'STALE_REPORT', `sequence ${parsed.report.sequence} is not after ${recorded.lastSequence}: a replayed or late report, ignored`, {
          lastSequence: recorded.lastSequence,
        });
      }
      outcome('accepted');
      sendJsonText(
        res,
        200,
        `{"sequence":${parsed.report.sequence},"commands":${options.mailbox.commandsJson(agentId)},"reportAfterSeconds":${options.reportAfterSeconds}}`,
      );
      options.onReport(agentId, parsed.report, recorded.changed);
    })().catch((err: unknown) => {
      // A bug must cost one answer, never the server.
      outcome('INTERNAL');
      sendError(req, res, 500, 'INTERNAL', `internal error: ${(err as Error).message}`);
    });
  };
}
