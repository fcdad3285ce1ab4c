import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { ReloadingTls } from '../http/tls.ts';
import { sendError, sendJsonText, sendText } from '../http/respond.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics.ts';

export interface Routes {
  readonly report: (req: IncomingMessage, res: ServerResponse, agentId: string) => void;
  readonly webhook?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly controllerKey: () => string;
  readonly metrics: () => string;
  /** Undefined when ready, else why not. */
  readonly notReady: () => string | undefined;
  /** The read API and the web pages (issue 15): true when it answered. */
  readonly web?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
}

const REPORT_PATH = /^\/v1\/agents\/([^/]+)\/report$/;

/**
 * The controller's one HTTP server: the agent API, the Git webhook, health, metrics, and the
 * read API with the web pages.
 * Timeouts bound what a slow or silent client can hold (headers 10 s, a whole request
 * 30 s); keep-alive stays longer than an agent's report interval so a fleet reuses its
 * connections instead of opening one per report.
 */
export function createControllerServer(routes: Routes, tls?: ReloadingTls): Server {
  const limits = { keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000 };
  const server = tls === undefined
    ? createServer(limits, handle)
    : createHttpsServer({ ...limits, ...tls.serverOptions() }, handle);
  if (tls !== undefined) server.on('tlsClientError', answerPlainHttp);
  return server;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const report = REPORT_PATH.exec(path);
    if (report) {
      let agentId: string;
      try {
        agentId = decodeURIComponent(report[1]!);
      } catch {
        return sendError(req, res, 404, 'NOT_FOUND', 'bad agent id in the path');
      }
      return routes.report(req, res, agentId);
    }
    switch (path) {
      case '/v1/hooks/git':
        if (routes.webhook) return routes.webhook(req, res);
        return sendError(req, res, 404, 'NOT_FOUND', 'no webhook secret is configured (--webhook-secret-file)');
      case '/v1/controller-key':
        return sendJsonText(res, 200, JSON.stringify({ algorithm: 'ed25519', publicKey: routes.controllerKey() }));
      case '/healthz':
        return sendText(res, 200, 'ok\n');
      case '/readyz': {
        const why = routes.notReady();
        return why === undefined ? sendText(res, 200, 'ready\n') : sendText(res, 503, `not ready: ${why}\n`);
      }
      case '/metrics': {
        let text: string;
        try {
          text = routes.metrics();
        } catch (err) {
          return sendText(res, 500, `metrics failed: ${(err as Error).message}\n`);
        }
        return sendText(res, 200, text, PROMETHEUS_CONTENT_TYPE);
      }
      default:
        if (routes.web?.(req, res, path)) return;
        return sendError(req, res, 404, 'NOT_FOUND', `no route ${req.method ?? ''} ${path}`);
    }
  }
}

const PLAIN_HTTP_ANSWER = 'this port speaks HTTPS: use an https:// URL (and --ca to trust the controller)\n';

/**
 * Plain HTTP sent to the TLS port gets a readable 400 instead of a reset connection, so an
 * agent configured with http:// says what is wrong. OpenSSL recognises the request line
 * (ERR_SSL_HTTP_REQUEST); the answer goes to the raw socket under the TLS one.
 */
function answerPlainHttp(err: Error & { code?: string }, socket: unknown): void {
  const raw = (socket as { _parent?: Socket })._parent;
  if (err.code !== 'ERR_SSL_HTTP_REQUEST' || raw === undefined || typeof raw.end !== 'function') return;
  raw.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n`
    + `Content-Length: ${Buffer.byteLength(PLAIN_HTTP_ANSWER)}\r\n\r\n${PLAIN_HTTP_ANSWER}`);
}
