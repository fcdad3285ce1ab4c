/**
 * TLS for the controller's HTTP server (issue 13, item 1): certificate and key from files that
 * are re-read when they change (a renewal needs no restart), and optional client certificates
 * checked against `--tls-client-ca`. A client without a certificate still connects (it may
 * use a token); what a presented certificate proves is read per request by `clientIdentity`.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
}

/** A TLS file that cannot be used: which file, and why. */
export class TlsConfigError extends Error {
  constructor(readonly file: string, readonly why: string) {
    super(`${file}: ${why}`);
    this.name = 'TlsConfigError';
  }
}

interface Material {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly notAfter: string;
}

export class ReloadingTls {
  private material: Material;
  private stamp: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly files: TlsFiles) {
    this.material = readMaterial(files);
    this.stamp = stampOf(files);
  }

  /** Options for `https.createServer`. */
  serverOptions(): ServerOptions {
    const { cert, key, ca } = this.material;
    return {
      cert, key,
      ...(ca !== undefined ? { ca, requestCert: true, rejectUnauthorized: false } : {}),
      minVersion: 'TLSv1.2',
    };
  }

  get notAfter(): string {
    return this.material.notAfter;
  }

  /**
   * Polls the files (a renewal tool replaces them, often by rename, which file watchers can
   * miss) and swaps the server's context when they change. Files caught half-written are
   * retried at the next poll; the old certificate stays in use meanwhile.
   */
  watch(server: HttpsServer, log: (level: 'info' | 'error', msg: string) => void, intervalMs = 2000): void {
    this.timer = setInterval(() => {
      let stamp: string;
      try {
        stamp = stampOf(this.files);
      } catch (err) {
        return log('error', `TLS files unreadable, keeping the current certificate: ${(err as Error).message}`);
      }
      if (stamp === this.stamp) return;
      try {
        this.material = readMaterial(this.files);
        this.stamp = stamp;
        server.setSecureContext(this.serverOptions());
        log('info', `TLS certificate reloaded from ${this.files.certFile} (valid until ${this.material.notAfter})`);
      } catch (err) {
        const why = (err as Error).message;
        log('error', `TLS files changed but cannot be used, keeping the current certificate: ${why}`);
      }
    }, intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function stampOf(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.clientCaFile]
    .filter((f): f is string => f !== undefined)
    .map((f) => {
      const s = statSync(f);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    })
    .join('|');
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TlsConfigError(file, missing ? 'no such file' : (err as Error).message);
  }
}

function readMaterial(files: TlsFiles): Material {
  const cert = read(files.certFile);
  const key = read(files.keyFile);
  const ca = files.clientCaFile !== undefined ? read(files.clientCaFile) : undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsConfigError(files.certFile, 'not a PEM certificate');
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      throw new TlsConfigError(files.keyFile, `not the key of ${files.certFile}`);
    }
  } catch (err) {
    if (err instanceof TlsConfigError) throw err;
    throw new TlsConfigError(files.keyFile, 'not a PEM private key (an encrypted key needs its passphrase removed)');
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new TlsConfigError(files.clientCaFile!, 'not a PEM certificate');
    }
  }
  try {
    createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  } catch (err) {
    throw new TlsConfigError(files.certFile, (err as Error).message);
  }
  return { cert, key, ...(ca !== undefined ? { ca } : {}), notAfter: new Date(x509.validTo).toISOString() };
}

/** OpenSSL's verdicts on a client certificate, as what the agent's admin should check. */
const CLIENT_CERT_ERRORS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'it has expired: issue a new one',
  CERT_NOT_YET_VALID: 'it is not valid yet, or a clock is wrong',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it is not issued by the --tls-client-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it is not issued by the --tls-client-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'it is not issued by the --tls-client-ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed, not issued by the --tls-client-ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'it is not issued by the --tls-client-ca',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
};

/** What the client's certificate, if any, proves on this connection. */
export type ClientIdentity =
  | { readonly state: 'none' }
  | { readonly state: 'invalid'; readonly why: string }
  | { readonly state: 'valid'; readonly names: readonly string[] };

export function clientIdentity(socket: unknown): ClientIdentity {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function') return { state: 'none' };
  const peer = tls.getPeerCertificate();
  if (peer === null || peer === undefined || Object.keys(peer).length === 0) return { state: 'none' };
  if (tls.authorized !== true) {
    const code = String(tls.authorizationError ?? 'NOT_TRUSTED');
    const meaning = CLIENT_CERT_ERRORS[code];
    return { state: 'invalid', why: `client certificate refused: ${code}${meaning ? ` (${meaning})` : ''}` };
  }
  const names: string[] = [];
  const cn = peer.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const part of (peer.subjectaltname ?? '').split(/,\s*/)) {
    const m = /^(?:DNS|URI|email):(.*)$/.exec(part);
    if (m) names.push(m[1]!);
  }
  return { state: 'valid', names: [...new Set(names)] };
}
