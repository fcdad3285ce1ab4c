import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sendError, sendJsonText, sendText } from '../http/respond.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics.ts';

export interface Routes {
  readonly report: (req: IncomingMessage, res: ServerResponse, agentId: string) => void;
  readonly webhook?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly controllerKey: () => string;
  readonly metrics: () => string;
  /** Undefined when ready, else why not. */
  readonly notReady: () => string | undefined;
}

const REPORT_PATH = /^\/v1\/agents\/([^/]+)\/report$/;

/**
 * The controller's one HTTP server: the agent API, the Git webhook, health and metrics.
 * Timeouts bound what a slow or silent client can hold (headers 10 s, a whole request
 * 30 s); keep-alive stays longer than an agent's report interval so a fleet reuses its
 * connections instead of opening one per report.
 */
export function createControllerServer(routes: Routes): Server {
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
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
        return sendError(req, res, 404, 'NOT_FOUND', `no route ${req.method ?? ''} ${path}`);
    }
  });
  return server;
}
