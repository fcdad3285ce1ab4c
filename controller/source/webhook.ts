import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the controller's HTTP server mounts `webhookHandler`. */
export const WEBHOOK_PATH = '/v1/hooks/git';
/** Largest body accepted; GitHub caps push payloads at 25 MB, but versiond reads only `ref`. */
export const WEBHOOK_MAX_BYTES = 1024 * 1024;

export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

export type WebhookVerdict =
  | { readonly ok: true; readonly ref?: string; readonly delivery?: string }
  | { readonly ok: false; readonly status: 401 | 400; readonly reason: string };

/**
 * Authenticates a push notification and reads the ref it is about.
 *
 * The signature is an HMAC-SHA256 of the raw body with the shared secret, hex-encoded, in
 * `X-Hub-Signature-256: sha256=<hex>` (GitHub, also sent by Gitea/Forgejo) or
 * `X-Gitea-Signature: <hex>` / `X-Gogs-Signature: <hex>`. The first of these headers present
 * decides; it is compared in constant time. Without one, GitLab's `X-Gitlab-Token: <secret>`
 * is compared in constant time. A missing or bad signature, or an empty secret, is a
 * 401. Only after a valid signature is the body parsed: JSON, or GitHub's form encoding
 * (`payload=<json>`); unparsable is a 400. `ref` (`refs/heads/main`) is returned when the body
 * has one (a ping has none); callers use it only to ignore other branches and never act on the
 * rest of the payload.
 */
export function verifyWebhook(args: { body: Buffer; headers: WebhookHeaders; secret: string }): WebhookVerdict {
  const { body, secret } = args;
  if (!secret) return { ok: false, status: 401, reason: 'webhook secret not configured' };
  const headers = lowerCaseHeaders(args.headers);

  let given: string | undefined;
  const hub = headers.get('x-hub-signature-256');
  if (hub !== undefined) {
    const m = /^sha256=([0-9a-f]{64})$/i.exec(hub.trim());
    if (!m) return { ok: false, status: 401, reason: 'malformed X-Hub-Signature-256' };
    given = m[1];
  } else {
    const gitea = headers.get('x-gitea-signature') ?? headers.get('x-gogs-signature');
    if (gitea !== undefined) {
      const m = /^([0-9a-f]{64})$/i.exec(gitea.trim());
      if (!m) return { ok: false, status: 401, reason: 'malformed X-Gitea-Signature' };
      given = m[1];
    }
  }
  if (given === undefined) {
    // GitLab sends the secret itself, not an HMAC: compared in constant time (as digests, so
    // its length leaks nothing either).
    const token = headers.get('x-gitlab-token');
    if (token === undefined) return { ok: false, status: 401, reason: 'missing signature' };
    const a = createHmac('sha256', 'x-gitlab-token').update(token).digest();
    const b = createHmac('sha256', 'x-gitlab-token').update(secret).digest();
    if (!timingSafeEqual(a, b)) return { ok: false, status: 401, reason: 'bad X-Gitlab-Token' };
  } else {
    const expected = createHmac('sha256', secret).update(body).digest();
    const actual = Buffer.from(given, 'hex');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      return { ok: false, status: 401, reason: 'bad signature' };
    }
  }

  let payload: unknown;
  try {
    payload = parseBody(body, headers.get('content-type'));
  } catch {
    return { ok: false, status: 400, reason: 'body is not JSON' };
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { ok: false, status: 400, reason: 'body is not a JSON object' };
  }
  const ref = (payload as { ref?: unknown }).ref;
  const delivery = DELIVERY_HEADERS.map((h) => headers.get(h)).find((v) => v !== undefined && v !== '');
  return {
    ok: true,
    ...(typeof ref === 'string' && ref !== '' ? { ref } : {}),
    ...(delivery !== undefined ? { delivery: delivery.slice(0, 200) } : {}),
  };
}

/** Each forge's id of one delivery; a redelivery by the forge keeps it, so does a replay. */
const DELIVERY_HEADERS = ['x-github-delivery', 'x-gitea-delivery', 'x-gogs-delivery', 'x-gitlab-event-uuid'];
/** Delivery ids remembered: a replay only ever triggers a fetch, so a bounded memory is enough. */
const REMEMBERED_DELIVERIES = 10_000;

function parseBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (contentType && /^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new Error('no payload field');
    return JSON.parse(payload);
  }
  return JSON.parse(text);
}

function lowerCaseHeaders(headers: WebhookHeaders): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) out.set(k.toLowerCase(), value);
  }
  return out;
}

export interface WebhookHandlerOptions {
  /** When set, a push whose `ref` is another one than `refs/heads/<branch>` gets 204 and no `onPush`. */
  readonly branch?: string;
  /** Body size limit, default 1 MiB; larger gets 413. */
  readonly maxBytes?: number;
}

/**
 * A node:http handler for `POST /v1/hooks/git` (the caller routes the path). Reads the body up
 * to `maxBytes` (413 beyond), verifies it (`verifyWebhook`: 401/400), then answers 202 and calls
 * `onPush(ref)` — which should only *trigger* a fetch — or 204 for a push to another branch.
 * A delivery id seen before (`X-GitHub-Delivery`, `X-Gitea-Delivery`, `X-Gitlab-Event-UUID`)
 * is answered 202 and ignored: a replayed request triggers nothing.
 * Other methods get 405. Never throws; `onPush` throwing is a 500.
 */
export function webhookHandler(
  secret: string,
  onPush: (ref: string | undefined) => void,
  options: WebhookHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (!secret) throw new Error('webhookHandler: a shared secret is required');
  const maxBytes = options.maxBytes ?? WEBHOOK_MAX_BYTES;
  const wanted = options.branch === undefined ? undefined : `refs/heads/${options.branch}`;
  const seen = new Set<string>();

  return (req, res) => {
    let answered = false;
    const answer = (status: number, body: object | null, extra: Record<string, string> = {}) => {
      if (answered) return;
      answered = true;
      try {
        if (body === null) {
          res.writeHead(status, extra).end();
        } else {
          const text = JSON.stringify(body);
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra }).end(text);
        }
      } catch {
        res.destroy();
      }
    };
    try {
      if (req.method !== 'POST') {
        req.resume();
        answer(405, { error: 'method not allowed' }, { allow: 'POST' });
        return;
      }
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        tooLarge(req, () => answer(413, { error: `body larger than ${maxBytes} bytes` }, { connection: 'close' }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        if (answered) return;
        size += chunk.length;
        if (size > maxBytes) {
          chunks.length = 0;
          tooLarge(req, () => answer(413, { error: `body larger than ${maxBytes} bytes` }, { connection: 'close' }));
          return;
        }
        chunks.push(chunk);
      });
      req.on('error', () => {
        answered = true;
        res.destroy();
      });
      req.on('end', () => {
        if (answered) return;
        try {
          const verdict = verifyWebhook({ body: Buffer.concat(chunks), headers: req.headers, secret });
          if (!verdict.ok) {
            answer(verdict.status, { error: verdict.reason });
            return;
          }
          if (verdict.delivery !== undefined) {
            if (seen.has(verdict.delivery)) {
              answer(202, { accepted: false, duplicate: true });
              return;
            }
            seen.add(verdict.delivery);
            if (seen.size > REMEMBERED_DELIVERIES) seen.delete(seen.values().next().value!);
          }
          if (wanted !== undefined && verdict.ref !== undefined && verdict.ref !== wanted) {
            answer(204, null);
            return;
          }
          onPush(verdict.ref);
          answer(202, { accepted: true });
        } catch {
          answer(500, { error: 'internal error' });
        }
      });
    } catch {
      answer(500, { error: 'internal error' });
    }
  };
}

/**
 * Answers 413 at once, and keeps reading (and dropping) what the client still sends for a short
 * while so that it gets to read the answer rather than a reset connection; a client that goes
 * on sending past 8 × the limit is cut off.
 */
function tooLarge(req: IncomingMessage, respond: () => void): void {
  respond();
  let drained = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > 8 * WEBHOOK_MAX_BYTES) req.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
