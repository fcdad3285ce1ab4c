/**
 * `versiond plan --observed URL`: the observed snapshot fetched from a running controller's
 * `GET /v1/observed` (issue 15) instead of a file, so a reviewer plans against what the fleet
 * reports now. Only the fetching is here — bearer token, trusted CA, a size cap, a timeout and
 * errors that name the URL — while parsing and validation stay in observed-file.ts, so a
 * snapshot gets the same diagnostics wherever it came from.
 */
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import fetch from 'node-fetch';
import { MAX_SNAPSHOT_BYTES, parseObservedSnapshot, type SnapshotOutcome } from './observed-file.ts';

/** Where `plan` finds the token when there is no `--token-file` (a CI secret is usually an environment variable). */
export const TOKEN_ENV = 'VERSIOND_TOKEN';

const DEFAULT_TIMEOUT_MS = 30_000;

/** The URL, the token file or the CA cannot be used, or no snapshot came: the message says which and why. */
export class ObservedUrlError extends Error {}

export interface ObservedUrlOptions {
  /** Sent as `Authorization: Bearer <token>` (a viewer token, `vdv_…`). */
  readonly token?: string;
  /** PEM of a CA to trust besides the system's, for an https:// URL. */
  readonly ca?: string;
  /** The whole exchange, body included (default 30 s). */
  readonly timeoutMs?: number;
  /** A bigger answer is refused while it arrives (default: the file reader's cap, 512 MiB). */
  readonly maxBytes?: number;
}

/** Whether `--observed` names a URL rather than a file. */
export function isObservedUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/**
 * Refuses a URL that cannot be fetched as given: not parseable, or carrying a user name or
 * password, which would end up in the plan's output and in the shell's history.
 */
export function checkObservedUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ObservedUrlError(`--observed ${url}: not a valid URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '';
    parsed.password = '';
    throw new ObservedUrlError(
      `--observed ${parsed.href}: put the token in --token-file FILE or $${TOKEN_ENV}, not in the URL`,
    );
  }
}

/**
 * The token and CA for fetching: `--token-file`'s first line (trimmed), else `$VERSIOND_TOKEN`;
 * `--ca`'s PEM. Errors name the flag and the file.
 */
export async function readObservedUrlCredentials(
  files: { readonly tokenFile?: string; readonly caFile?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ token?: string; ca?: string }> {
  let token: string | undefined;
  if (files.tokenFile !== undefined) {
    const where = `--token-file ${files.tokenFile}`;
    const text = await readFile(files.tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ObservedUrlError(`${where}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    token = text.split('\n', 1)[0]!.trim();
    if (token === '') throw new ObservedUrlError(`${where}: its first line is empty (it must hold the token)`);
    checkToken(token, where);
  } else {
    const fromEnv = env[TOKEN_ENV]?.trim();
    if (fromEnv) {
      token = fromEnv;
      checkToken(token, `$${TOKEN_ENV}`);
    }
  }
  let ca: string | undefined;
  if (files.caFile !== undefined) {
    ca = await readFile(files.caFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ObservedUrlError(`--ca ${files.caFile}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ObservedUrlError(`--ca ${files.caFile}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`);
    }
  }
  return { ...(token !== undefined ? { token } : {}), ...(ca !== undefined ? { ca } : {}) };
}

/** A header carries visible ASCII only; say so here rather than let the HTTP client fail obscurely. */
function checkToken(token: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ObservedUrlError(`${where}: the token has a character a header cannot carry`);
  }
}

/**
 * GETs the snapshot at `url` and parses it as observed-file.ts parses a file, the URL standing
 * for the file name in diagnostics. Throws ObservedUrlError (naming the URL) when there is no
 * snapshot to parse: a network or TLS failure, a timeout, an answer other than 2xx, a redirect
 * (followed, it could carry the token to another host), or an answer over the size cap.
 */
export async function fetchObservedSnapshot(
  url: string,
  options: ObservedUrlOptions = {},
): Promise<SnapshotOutcome> {
  return parseObservedSnapshot(await fetchSnapshotBytes(url, options), url);
}

/** The body of a 2xx answer to `GET url`, whole and within the cap; anything else is an ObservedUrlError. */
async function fetchSnapshotBytes(url: string, options: ObservedUrlOptions): Promise<Buffer> {
  checkObservedUrl(url);
  const https = url.toLowerCase().startsWith('https:');
  if (options.ca !== undefined && !https) throw new ObservedUrlError(`--observed ${url}: --ca is for an https:// URL`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? MAX_SNAPSHOT_BYTES;
  const timeout = AbortSignal.timeout(timeoutMs);
  // Aborted when done, whatever happened: an answer left unread (an error, a redirect) frees its connection.
  const done = new AbortController();
  // A one-off connection: plan fetches once, and a kept-alive socket would only linger.
  const agent = https && options.ca !== undefined
    ? new HttpsAgent({ keepAlive: false, ca: [...rootCertificates, options.ca] })
    : undefined;
  try {
    const res = await fetch(url, {
      headers: {
        accept: 'application/json',
        ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      },
      redirect: 'manual',
      size: maxBytes,
      signal: AbortSignal.any([timeout, done.signal]),
      ...(agent !== undefined ? { agent } : {}),
    });
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      const limit = describeBytes(maxBytes);
      throw new ObservedUrlError(`--observed ${url}: the answer is ${declared} bytes, more than ${limit}`);
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      throw new ObservedUrlError(
        `--observed ${url}: ${statusLine(res.status)}: redirects to ${location ?? '(no Location)'}; ` +
          'give that URL (a redirect is not followed, so the token goes nowhere else)',
      );
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status < 200 || res.status >= 300) {
      const said = serverMessage(body);
      const hint = res.status === 401 && options.token === undefined
        ? ` (no token was sent: give --token-file FILE or set $${TOKEN_ENV})`
        : '';
      const status = statusLine(res.status);
      throw new ObservedUrlError(`--observed ${url}: ${status}${said !== '' ? `: ${said}` : ''}${hint}`);
    }
    if (/^text\/html\b/i.test(res.headers.get('content-type') ?? '')) {
      throw new ObservedUrlError(
        `--observed ${url}: the answer is an HTML page, not a snapshot (the controller serves it at /v1/observed)`,
      );
    }
    return body;
  } catch (err) {
    if (err instanceof ObservedUrlError) throw err;
    const e = err as Error & { type?: string; code?: string; cause?: { code?: string } };
    if (timeout.aborted) {
      throw new ObservedUrlError(`--observed ${url}: no complete answer within ${timeoutMs / 1000} s`);
    }
    if (e.type === 'max-size') {
      throw new ObservedUrlError(`--observed ${url}: the answer is more than ${describeBytes(maxBytes)}`);
    }
    throw new ObservedUrlError(`--observed ${url}: cannot fetch: ${describeFailure(e)}`);
  } finally {
    done.abort();
    agent?.destroy();
  }
}

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown Status'}`;
}

/** The message of a JSON error answer (`{"error", "message"}`, as the controller sends), else the first line. */
function serverMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const v = JSON.parse(text) as { message?: unknown };
    if (typeof v.message === 'string') return v.message.slice(0, 500);
  } catch {
    // not JSON: its first line says enough
  }
  return text.split('\n', 1)[0]!.trim().slice(0, 200);
}

const UNTRUSTED = "the server's certificate is not trusted (its CA is not known here): give --ca FILE";

/** What a failed TLS connection means, in a sentence that says what to do (codes from node:tls). */
const TLS_ERRORS: Readonly<Record<string, string>> = {
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed and not trusted: give --ca FILE",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is for another host name than the URL's",
  EPROTO: 'the TLS handshake failed (an https:// URL to a plain HTTP port?)',
};

function describeFailure(e: Error & { code?: string; cause?: { code?: string } }): string {
  const code = e.code ?? e.cause?.code;
  const tls = code !== undefined ? TLS_ERRORS[code] : undefined;
  if (tls !== undefined) return `${tls} (${code})`;
  // node-fetch: "request to <url> failed, reason: connect ECONNREFUSED 127.0.0.1:1"; the URL is said already.
  const reason = /, reason: (.*)$/s.exec(e.message)?.[1] ?? e.message;
  return reason.split('\n', 1)[0]!;
}

function describeBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
