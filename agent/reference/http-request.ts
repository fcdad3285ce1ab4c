/**
 * One HTTP(S) exchange over Node's own `http`/`https`, for the agent's two clients: its
 * reports (`controller-client.ts`) and package downloads (`package-store.ts`). It does what
 * they need of `fetch` and no more: keep-alive pools chosen per URL (the https pool carries
 * the TLS options: the CA to trust, the client certificate), an AbortSignal that stops the
 * exchange at any point (timeouts, the agent stopping), and redirects followed as fetch
 * follows them (mirrors and vendor sites redirect downloads).
 */
import {
  request as requestHttp, type Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage,
} from 'node:http';
import { request as requestHttps } from 'node:https';

export interface HttpRequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The connection pool for a URL; `undefined`: Node's global one. */
  readonly agent?: (url: URL) => HttpAgent | undefined;
  /** Aborts the exchange, the reading of the body included. */
  readonly signal?: AbortSignal;
  /**
   * The connection stays silent this long (no answer, no byte of the body): the exchange fails
   * with a `TimeoutError`. A socket timeout, refreshed by the socket itself: no timer or signal
   * per request (thousands of agents in one process report every few seconds).
   */
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  /** The URL answered, after redirects. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Read it to its end (or `discard` it) so that the connection goes back to the pool. */
  readonly body: IncomingMessage;
}

/** As fetch: at most 20 redirects. */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The error of an exchange whose connection stayed silent for `timeoutMs`. */
export function timeoutError(ms: number): Error {
  const err = new Error(`no answer within ${ms / 1000} s`);
  err.name = 'TimeoutError';
  return err;
}

/** The error of an aborted exchange, named and worded as fetch's. */
export function abortError(): Error {
  const err = new Error('The operation was aborted.');
  err.name = 'AbortError';
  return err;
}

/**
 * Sends the request and resolves with the answer's status and headers once they arrive,
 * following redirects. It rejects on network and TLS failures (with Node's `code`, e.g.
 * `ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`) and on abort.
 */
export async function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  let current = new URL(url);
  let method = options.method ?? 'GET';
  let body = options.body;
  let headers: Record<string, string> = {
    accept: '*/*',
    'user-agent': 'versiond-agent',
    // Packages are verified byte for byte: ask for the bytes themselves, never a re-encoding.
    'accept-encoding': 'identity',
    ...lowerCased(options.headers ?? {}),
  };
  for (let redirects = 0; ; redirects++) {
    const res = await exchange(current, method, headers, body, options);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) {
      const encoding = res.headers['content-encoding'];
      if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
        res.destroy();
        throw new Error(`${current.href}: the answer is ${encoding}-encoded, which was not asked for`);
      }
      return { status: res.statusCode ?? 0, url: current.href, headers: res.headers, body: res };
    }
    discard(res);
    if (redirects >= MAX_REDIRECTS) throw new Error(`maximum redirect reached at: ${current.href}`);
    const next = new URL(location, current);
    // Credentials go only where they were meant for.
    if (next.host !== current.host || next.protocol !== current.protocol) {
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    // As fetch: 303, and a 301/302 of a POST, continue as a GET without the body.
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      const { 'content-type': _type, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
}

function exchange(
  url: URL,
  method: string,
  headers: Readonly<Record<string, string>>,
  body: string | Buffer | undefined,
  options: HttpRequestOptions,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    if (signal?.aborted) return reject(abortError());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return reject(new TypeError(`URL scheme "${url.protocol.slice(0, -1)}" is not supported.`));
    }
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    const request = url.protocol === 'https:' ? requestHttps : requestHttp;
    const agent = options.agent?.(url);
    const req = request(url, {
      method,
      headers: { ...headers, ...(bytes !== undefined ? { 'content-length': String(bytes.length) } : {}) },
      ...(agent !== undefined ? { agent } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
    let response: IncomingMessage | undefined;
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      req.on('timeout', () => {
        const err = timeoutError(ms);
        req.destroy(err);
        response?.destroy(err);
      });
    }
    const onAbort = (): void => {
      const err = abortError();
      req.destroy(err);
      response?.destroy(err);
      reject(err);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = (): void => signal?.removeEventListener('abort', onAbort);
    req.on('error', (err) => {
      release();
      reject(err);
    });
    req.on('response', (res) => {
      response = res;
      // The signal keeps watching while the body is read; it is let go once the body is done.
      res.once('close', release);
      // Whoever reads the body sees its errors; a body nobody reads must not crash the agent.
      res.on('error', () => {});
      resolve(res);
    });
    req.end(bytes);
  });
}

/** Reads the whole body as UTF-8 text (a BOM is dropped, as fetch's `text()` does). */
export async function readText(res: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Drops the rest of a body, so that its connection can serve the next request. */
export function discard(body: IncomingMessage): void {
  body.resume();
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
