/**
 * The read side of the controller's HTTP server (issue 15): the JSON read API under `/v1/`
 * and the server-rendered pages built on the same answers. Every answer is computed from
 * the loop's current state on each request — never cached across revisions — and every
 * request is authorised first (read-auth.ts).
 */
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PlanStep, TargetStatus } from '../../reconcilers/contract.ts';
import type { Kind } from '../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { TARGET_KINDS } from '../../reconcilers/registry.ts';
import { observedSnapshot } from '../agents/observed-snapshot.ts';
import { formatDiagnostic } from '../desired/diagnostics.ts';
import type { DesiredState } from '../desired/load-desired-state.ts';
import { readBody, sendError } from '../http/respond.ts';
import { fleetView, targetDetail, targetRow, type TargetSources } from './build-view.ts';
import { BadCursorError, type HistoryReader } from './history-reader.ts';
import { ASSETS } from './pages/assets.ts';
import { renderErrorPage } from './pages/error-page.ts';
import { renderHistoryPage } from './pages/history-page.ts';
import { renderLoginPage } from './pages/login-page.ts';
import { renderOverview } from './pages/overview-page.ts';
import { renderPlanPage } from './pages/plan-page.ts';
import { renderTargetPage } from './pages/target-page.ts';
import { VIEWER_COOKIE, type ReadVerdict, type TokenHolders } from './read-auth.ts';
import type { RefPlanner } from './ref-planner.ts';
import type { StatusEvents } from './status-events.ts';
import type { PageContext, TargetRow } from './view-model.ts';

/** What the read side reads of the running controller. */
export interface WebState {
  readonly desired: () => DesiredState | undefined;
  readonly statusOf: (target: TargetId) => TargetStatus | undefined;
  readonly planOf: (target: TargetId) => readonly PlanStep[] | undefined;
  readonly observed: () => Observed;
}

export interface WebRoutesOptions {
  readonly state: WebState;
  readonly authenticate: (req: IncomingMessage) => ReadVerdict;
  readonly viewers: TokenHolders;
  readonly history: HistoryReader;
  readonly planner: RefPlanner;
  readonly events: StatusEvents;
  readonly now: () => number;
  /** `https://git.example.com/fleet/commit/{commit}`: commit ids on pages link there. */
  readonly commitUrl?: string;
  /** Served over TLS: the sign-in cookie is `Secure`. */
  readonly secure: boolean;
}

const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "
  + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const TARGET_PATH = /^\/(?:v1\/)?targets\/([^/]+)\/([^/]+?)(\/history)?\/?$/;
const SESSION_SECONDS = 12 * 3600;
const MAX_HISTORY_PAGE = 500;

/** Handles the request when its path belongs to the read side; false leaves it to the other routes. */
export function webRoutes(
  options: WebRoutesOptions,
): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const { state } = options;

  const sourcesOf = (target: TargetId): TargetSources | undefined => {
    const object = state.desired()?.byId.get(target);
    if (object === undefined || !TARGET_KINDS.includes(object.kind)) return undefined;
    return { target, object, status: state.statusOf(target), plan: state.planOf(target) };
  };
  const rows = (): TargetRow[] => {
    const desired = state.desired();
    if (desired === undefined) return [];
    return desired.objects.flatMap((o) => {
      if (!TARGET_KINDS.includes(o.kind)) return [];
      const target = targetId(o.kind, o.metadata.name);
      return [targetRow({ target, object: o, status: state.statusOf(target), plan: state.planOf(target) })];
    });
  };
  const fleet = () => {
    const agents = state.observed().agents;
    let online = 0;
    for (const a of agents.values()) if (a.online) online++;
    return fleetView(rows(), {
      revision: state.desired()?.revision ?? null, now: options.now(), online, known: agents.size,
    });
  };
  const context = (verdict: ReadVerdict & { ok: true }): PageContext => ({
    revision: state.desired()?.revision ?? null,
    viewer: verdict.reader.kind === 'viewer' ? verdict.reader.name : null,
    commitUrl: options.commitUrl ?? null,
  });

  return (req, res, path) => {
    const url = new URL(req.url ?? '/', 'http://controller');
    const api = path.startsWith('/v1/');
    const page = !api && (path === '/' || path === '/plan' || path.startsWith('/targets/'));
    if (path.startsWith('/assets/')) return asset(req, res, path);
    if (path === '/favicon.ico') {
      // Browsers ask for it on every site: no icon, and no 404 in the console.
      res.writeHead(204, { 'cache-control': 'public, max-age=86400' });
      res.end();
      return true;
    }
    if (path === '/login') return login(req, res, url);
    if (path === '/logout') return logout(req, res);
    const read = api && (path === '/v1/targets' || path.startsWith('/v1/targets/') || path === '/v1/observed'
      || path === '/v1/plan' || path === '/v1/events');
    if (!read && !page) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(req, res, 405, 'METHOD_NOT_ALLOWED', `${path} is read-only: GET`, {}, { allow: 'GET, HEAD' });
      return true;
    }
    const verdict = options.authenticate(req);
    if (!verdict.ok) {
      if (page && verdict.status === 401) {
        res.writeHead(303, {
          location: `/login?next=${encodeURIComponent(url.pathname + url.search)}`, 'cache-control': 'no-store',
        });
        res.end();
      } else if (page) {
        sendHtml(req, res, verdict.status, renderErrorPage(verdict.status, 'Not allowed', verdict.message, noViewer()));
      } else sendError(req, res, verdict.status, verdict.error, verdict.message);
      return true;
    }
    void (api ? apiRoute(req, res, path, url) : pageRoute(req, res, path, url, context(verdict)))
      .catch((err: unknown) => {
        const message = `could not answer: ${(err as Error).message}`;
        if (api) sendError(req, res, 500, 'INTERNAL', message);
        else sendHtml(req, res, 500, renderErrorPage(500, 'Error', message, context(verdict)));
      });
    return true;
  };

  async function apiRoute(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    if (path === '/v1/targets') return sendJson(req, res, 200, fleet());
    if (path === '/v1/observed') return sendJson(req, res, 200, observedSnapshot(state.observed()));
    if (path === '/v1/events') return options.events.handle(req, res, () => options.authenticate(req).ok);
    if (path === '/v1/plan') {
      const rev = url.searchParams.get('rev');
      if (rev === null) return sendError(req, res, 400, 'BAD_REVISION', 'give the ref to plan: /v1/plan?rev=BRANCH');
      const plan = await planRef(rev);
      if (plan.ok) return sendJson(req, res, 200, plan.report);
      return sendError(req, res, plan.status, plan.error, plan.message,
        plan.diagnostics ? { diagnostics: plan.diagnostics } : {});
    }
    const match = TARGET_PATH.exec(path);
    const found = match === null ? undefined : lookUp(match[1]!, match[2]!);
    if (found === undefined) return notFoundJson(req, res, match, path);
    if (match![3] === undefined) return sendJson(req, res, 200, targetDetail(found, state.observed().agents));
    const history = await historyPage(found.target, url);
    if (history.ok) return sendJson(req, res, 200, history.page);
    return sendError(req, res, 400, history.error, history.message);
  }

  async function pageRoute(req: IncomingMessage, res: ServerResponse, path: string, url: URL, ctx: PageContext):
    Promise<void> {
    if (path === '/') return sendHtml(req, res, 200, renderOverview(fleet(), ctx));
    if (path === '/plan') {
      const rev = url.searchParams.get('rev') ?? '';
      if (rev === '') return sendHtml(req, res, 200, renderPlanPage({ rev }, ctx));
      const plan = await planRef(rev);
      if (plan.ok) return sendHtml(req, res, 200, renderPlanPage({ rev, report: plan.report }, ctx));
      const details = (plan.diagnostics ?? []).slice(0, 10).map(formatDiagnostic);
      return sendHtml(req, res, plan.status,
        renderPlanPage({ rev, error: [plan.message, ...details].join('\n') }, ctx));
    }
    const match = TARGET_PATH.exec(path);
    const found = match === null ? undefined : lookUp(match[1]!, match[2]!);
    if (found === undefined) {
      const what = match === null ? path : `${match[1]}/${match[2]}`;
      return sendHtml(req, res, 404,
        renderErrorPage(404, 'No such target', `no target ${what} in the revision acted on`, ctx));
    }
    if (match![3] === undefined) {
      const filter = url.searchParams.get('member') ?? '';
      return sendHtml(req, res, 200, renderTargetPage(targetDetail(found, state.observed().agents), ctx, filter));
    }
    const history = await historyPage(found.target, url);
    if (!history.ok) return sendHtml(req, res, 400, renderErrorPage(400, 'Bad request', history.message, ctx));
    return sendHtml(req, res, 200, renderHistoryPage(targetRow(found), history.page, ctx));
  }

  function lookUp(kindSegment: string, nameSegment: string): TargetSources | undefined {
    let kind: string;
    let name: string;
    try {
      kind = decodeURIComponent(kindSegment).toLowerCase();
      name = decodeURIComponent(nameSegment);
    } catch {
      return undefined;
    }
    const known = TARGET_KINDS.find((k: Kind) => k.toLowerCase() === kind);
    return known === undefined ? undefined : sourcesOf(targetId(known, name));
  }

  function notFoundJson(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray | null, path: string): void {
    if (match === null) return sendError(req, res, 404, 'NOT_FOUND', `no route GET ${path}`);
    const revision = state.desired()?.revision;
    const at = revision === undefined
      ? 'no revision is acted on yet'
      : `not in revision ${revision?.slice(0, 7) ?? '(folder)'}`;
    sendError(req, res, 404, 'TARGET_NOT_FOUND', `no target ${match[1]}/${match[2]}: ${at}`);
  }

  async function historyPage(target: TargetId, url: URL) {
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
      return {
        ok: false as const, error: 'BAD_LIMIT', message: `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}`,
      };
    }
    const cursor = url.searchParams.get('cursor') ?? undefined;
    if (cursor !== undefined && !/^[0-9a-f]{40}$/.test(cursor)) {
      return {
        ok: false as const, error: 'BAD_CURSOR', message: 'cursor must be a commit id from a previous page (next)',
      };
    }
    try {
      return { ok: true as const, page: await options.history.page(target, cursor, limit) };
    } catch (err) {
      if (err instanceof BadCursorError) return { ok: false as const, error: 'BAD_CURSOR', message: err.message };
      throw err;
    }
  }

  function planRef(rev: string) {
    const observed = state.observed();
    return options.planner.plan(rev, {
      observed, agents: observed.agents.size, base: state.desired(), now: options.now(),
    });
  }

  function asset(req: IncomingMessage, res: ServerResponse, path: string): true {
    const found = ASSETS.get(path);
    if (found === undefined) {
      sendError(req, res, 404, 'NOT_FOUND', `no asset ${path}`);
      return true;
    }
    if (req.headers['if-none-match'] === found.etag) {
      res.writeHead(304, { etag: found.etag });
      res.end();
      return true;
    }
    // Versioned by content (`?v=`): a new build changes the URL, so the file may be kept long.
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? found.gzip : found.body;
    res.writeHead(200, {
      'content-type': found.contentType, 'content-length': body.length, etag: found.etag, vary: 'accept-encoding',
      'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  /** GET: the sign-in form. POST: a viewer token checked, then kept in an HttpOnly cookie. */
  function login(req: IncomingMessage, res: ServerResponse, url: URL): true {
    const next = safeNext(url.searchParams.get('next'));
    if (req.method === 'GET' || req.method === 'HEAD') {
      sendHtml(req, res, 200, renderLoginPage(noViewer(), null, next));
      return true;
    }
    if (req.method !== 'POST') {
      sendError(req, res, 405, 'METHOD_NOT_ALLOWED', '/login: GET or POST', {}, { allow: 'GET, POST' });
      return true;
    }
    if (!sameOrigin(req)) {
      sendHtml(req, res, 403, renderErrorPage(403, 'Not allowed', 'sign-in from another site is refused', noViewer()));
      return true;
    }
    void readBody(req, 16 * 1024).then((body) => {
      if (typeof body === 'string') return sendError(req, res, 413, 'TOO_LARGE', 'the sign-in form is at most 16 KiB');
      const form = new URLSearchParams(body.toString('utf8'));
      const token = (form.get('token') ?? '').trim();
      const to = safeNext(form.get('next'));
      if (options.viewers.whoHolds(token) === undefined) {
        return sendHtml(req, res, 401, renderLoginPage(noViewer(), 'unknown or revoked viewer token', to));
      }
      const cookie = `${VIEWER_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; `
        + `Max-Age=${SESSION_SECONDS}${options.secure ? '; Secure' : ''}`;
      res.writeHead(303, { location: to, 'set-cookie': cookie, 'cache-control': 'no-store' });
      res.end();
    });
    return true;
  }

  function logout(req: IncomingMessage, res: ServerResponse): true {
    if (req.method !== 'POST') {
      sendError(req, res, 405, 'METHOD_NOT_ALLOWED', '/logout: POST', {}, { allow: 'POST' });
      return true;
    }
    req.resume();
    res.writeHead(303, {
      location: '/login', 'cache-control': 'no-store',
      'set-cookie':
        `${VIEWER_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${options.secure ? '; Secure' : ''}`,
    });
    res.end();
    return true;
  }

  function noViewer(): PageContext {
    return { revision: state.desired()?.revision ?? null, viewer: null, commitUrl: options.commitUrl ?? null };
  }
}

/** Only a path on this server: `next=https://evil.example` or `//evil.example` go to `/`. */
function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : '/';
}

/** A browser's form post names its origin; one from another site is refused (login CSRF). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  send(req, res, status, JSON.stringify(value), { 'content-type': 'application/json', 'cache-control': 'no-store' });
}

function sendHtml(req: IncomingMessage, res: ServerResponse, status: number, html: string): void {
  send(req, res, status, html, HTML_HEADERS);
}

/** Compressed when the client accepts gzip and the answer is worth it (the overview of a large fleet). */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  let body: Buffer = Buffer.from(text);
  const extra: Record<string, string> = { vary: 'accept-encoding' };
  if (body.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    body = gzipSync(body, { level: 4 });
    extra['content-encoding'] = 'gzip';
  }
  res.writeHead(status, { ...headers, ...extra, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}
