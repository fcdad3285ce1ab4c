/**
 * ArtifactVerifier against a real HTTP server on 127.0.0.1 serving the demo packages (signed
 * by the demo key, as the releases of example-repo are), with real files in a temp cache.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoArtifact, demoArtifactBytes } from '../../agent/demo-artifacts.ts';
import { ArtifactVerifier, type ArtifactVerifierOptions } from '../../controller/artifacts/artifact-verifier.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A package server: a handler per path, every request recorded, and how many were answered at once at most. */
class PackageServer {
  readonly requests: { path: string; authorization?: string }[] = [];
  /** Responses the client dropped before they were complete, by path. */
  readonly cutOff: string[] = [];
  maxInFlight = 0;
  private inFlight = 0;
  private readonly routes = new Map<string, Handler>();
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<PackageServer> {
    const server = createServer();
    const ps = new PackageServer(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => ps.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ps;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  route(path: string, handler: Handler): string {
    this.routes.set(path, handler);
    return `${this.origin}${path}`;
  }

  requestsTo(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    res.on('close', () => {
      this.inFlight--;
      if (!res.writableFinished) this.cutOff.push(path);
    });
    const handler = this.routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404).end('not found');
  }
}

/** Answers with `bytes`, after `delayMs`. */
function serve(bytes: Uint8Array, delayMs = 0): Handler {
  return (_req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes), delayMs);
  };
}

/** Answers 500 the first `failures` times, then `then`. */
function failingFirst(failures: number, then: Handler): Handler {
  let left = failures;
  return (req, res) => {
    if (left-- > 0) res.writeHead(500).end('try later');
    else then(req, res);
  };
}

/** Sends bytes forever, without a length, until the client hangs up. */
function endless(): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
}

/** Sends headers, then nothing more. */
function stalling(headers: Record<string, string | number> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, headers);
    res.flushHeaders();
  };
}

const PRODUCT = 'watchdoc';

/** A Release of the demo package `version`, downloaded from `url`, with any artifact field overridden. */
function release(name: string, version: string, url: string, override: Partial<Release['spec']['artifact']> = {}): Release {
  return {
    apiVersion: 'versiond/v1',
    kind: 'Release',
    metadata: { name },
    spec: { product: PRODUCT, version, artifact: { url, ...demoArtifact(PRODUCT, version), ...override } },
    source: { path: `releases/${name}.yaml`, blob: '0'.repeat(40) },
  };
}

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let server: PackageServer;
let root: string;
let cacheDir: string;
let changes: string[];
let logs: string[];
const verifiers: ArtifactVerifier[] = [];

function verifier(options: Partial<ArtifactVerifierOptions> = {}): ArtifactVerifier {
  const v = new ArtifactVerifier({
    cacheDir,
    retryBaseMs: 10,
    retryMaxMs: 40,
    timeoutMs: 2000,
    onChange: (name) => changes.push(name),
    logger: {
      info: (obj, msg) => logs.push(JSON.stringify({ ...obj, msg })),
      warn: (obj, msg) => logs.push(JSON.stringify({ ...obj, msg })),
    },
    ...options,
  });
  verifiers.push(v);
  return v;
}

/** The check of `name` once it is no longer pending. */
function settled(v: ArtifactVerifier, name: string): Promise<ArtifactCheck> {
  return until(() => {
    const check = v.checks.get(name);
    return check !== undefined && check.status !== 'pending' && check;
  }, `${name} to be verified or failed`);
}

const BYTES = demoArtifactBytes(PRODUCT, '6.1.4');
const SHA = demoArtifact(PRODUCT, '6.1.4').sha256;

beforeEach(async () => {
  server = await PackageServer.start();
  root = mkdtempSync(join(tmpdir(), 'versiond-artifacts-'));
  cacheDir = join(root, 'cache');
  changes = [];
  logs = [];
});

afterEach(async () => {
  await Promise.all(verifiers.splice(0).map((v) => v.stop()));
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a release package is verified before any step uses it (seed 000)', () => {
  it('the signed package is verified, kept in the cache under its digest, and the change is announced', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(v.checks.get('watchdoc-6.1.4')?.status).toBe('pending');

    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(readFileSync(join(cacheDir, SHA)).equals(BYTES)).toBe(true);
    expect(readdirSync(cacheDir)).toEqual([SHA]);
    expect(changes).toEqual(['watchdoc-6.1.4']);
  });

  it('an altered package fails as not secure, is not cached, and is not downloaded again', async () => {
    const altered = Buffer.from(BYTES);
    altered[200] = altered[200]! ^ 0xff;
    const url = server.route('/watchdoc/6.1.4.pkg', serve(altered));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);

    const check = await settled(v, 'watchdoc-6.1.4');
    expect(check.status).toBe('failed');
    expect(check.reason).toMatch(new RegExp(`^sha256 [0-9a-f]{64} does not match the release's ${SHA}$`));
    await new Promise((r) => setTimeout(r, 150)); // many retry periods
    expect(server.requestsTo('/watchdoc/6.1.4.pkg')).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(changes).toEqual(['watchdoc-6.1.4']);
  });

  it('a package whose digest matches but that the release key did not sign fails', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url, { signature: demoArtifact(PRODUCT, '6.1.3').signature })]);
    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'failed', reason: 'the Ed25519 signature does not verify' });
  });

  it('a package of another size than the release declares fails', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url, { size: BYTES.length + 10 })]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'failed', reason: `${BYTES.length} bytes, the release declares ${BYTES.length + 10}` });
  });

  it('a package the release declares larger than this controller accepts fails without a download', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const v = verifier({ maxBytes: 1000 });
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'failed', reason: `the release declares ${BYTES.length} bytes, more than the 1000 this controller accepts` });
    expect(server.requests).toEqual([]);
  });

  it('a package URL of another protocol fails with the reason', async () => {
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', 'ftp://ftp.vendor.example/watchdoc-6.1.4.pkg')]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'failed', reason: 'cannot download ftp://ftp.vendor.example/watchdoc-6.1.4.pkg: only http:, https: and file: URLs are supported' });
  });

  it('a package is read from a file: URL as well', async () => {
    const file = join(root, 'watchdoc-6.1.4.pkg');
    writeFileSync(file, BYTES);
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', pathToFileURL(file).href)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(readFileSync(join(cacheDir, SHA)).equals(BYTES)).toBe(true);
  });
});

describe('a hostile or broken server cannot fill the disk nor hang the check', () => {
  it('a response longer than the declared size is cut off and fails', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', endless());
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'failed', reason: `${url} sent more than the ${BYTES.length} bytes the release declares (download stopped)` });
    await until(() => server.cutOff.includes('/watchdoc/6.1.4.pkg'), 'the server to see the connection dropped');
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a response announcing more bytes than declared fails before its body is read', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', stalling({ 'content-length': 10 * 1024 * 1024 * 1024 }));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'failed', reason: `${url} announces 10737418240 bytes, the release declares ${BYTES.length}` });
  });

  it('a download that stops sending is abandoned after the timeout and retried', async () => {
    const path = '/watchdoc/6.1.4.pkg';
    let calls = 0;
    const url = server.route(path, (req, res) => (++calls === 1 ? stalling({ 'content-length': BYTES.length })(req, res) : serve(BYTES)(req, res)));
    const v = verifier({ timeoutMs: 100 });
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    const waiting = await until(() => /no data/.test(v.checks.get('watchdoc-6.1.4')?.reason ?? '') && v.checks.get('watchdoc-6.1.4'), 'the timeout');
    expect(waiting).toMatchObject({ status: 'pending', reason: expect.stringMatching(`^no data from ${url} for 100 ms; retrying in`) });
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'verified' });
  });

  it('a server error leaves the check pending and is retried with back-off until the package arrives', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', failingFirst(2, serve(BYTES)));
    const v = verifier({ retryBaseMs: 30, retryMaxMs: 1000 });
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    const failed = await until(() => /HTTP 500/.test(v.checks.get('watchdoc-6.1.4')?.reason ?? '') && v.checks.get('watchdoc-6.1.4'), 'the first error');
    expect(failed).toEqual({ release: 'watchdoc-6.1.4', status: 'pending', reason: `HTTP 500 Internal Server Error from ${url}; retrying in 30 ms` });
    expect(changes).toEqual([]); // still pending: nothing for the controller to requeue

    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(server.requestsTo('/watchdoc/6.1.4.pkg')).toBe(3);
    expect(changes).toEqual(['watchdoc-6.1.4']);
    const retries = logs.map((l) => JSON.parse(l) as { msg: string; retryInMs?: number }).filter((l) => l.retryInMs !== undefined);
    expect(retries.map((l) => l.retryInMs)).toEqual([30, 60]);
  });

  it('credentials and tokens of a URL are used but never shown in a reason or a log', async () => {
    const path = '/private/watchdoc-6.1.4.pkg';
    server.route(path, (_req, res) => res.writeHead(404).end());
    const url = `http://robot:s3cr3t-pass@127.0.0.1:${server.origin.split(':')[2]}${path}?token=t0ken-value&expires=1`;
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    const check = await until(() => /HTTP 404/.test(v.checks.get('watchdoc-6.1.4')?.reason ?? '') && v.checks.get('watchdoc-6.1.4'), 'the 404');

    expect(check.reason).toBe(`HTTP 404 Not Found from http://robot:***@127.0.0.1:${server.origin.split(':')[2]}${path}?***; retrying in 10 ms`);
    expect(server.requests[0]?.authorization).toBe(`Basic ${Buffer.from('robot:s3cr3t-pass').toString('base64')}`);
    expect(logs.length).toBeGreaterThan(0);
    for (const text of [check.reason!, ...logs]) {
      expect(text).not.toContain('s3cr3t-pass');
      expect(text).not.toContain('t0ken-value');
    }
  });

  it('stop() aborts a download in progress and leaves no partial file', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', stalling({ 'content-length': BYTES.length }));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    await until(() => server.requests.length === 1, 'the request');
    const started = Date.now();
    await v.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await until(() => server.cutOff.includes('/watchdoc/6.1.4.pkg'), 'the server to see the connection dropped');
    expect(v.checks.get('watchdoc-6.1.4')?.status).toBe('pending');
    expect(readdirSync(cacheDir)).toEqual([]);
  });
});

describe('where packages come from and how often', () => {
  it('a mirror serves the package under <mirror>/<host>/<path> and the vendor is never asked', async () => {
    server.route('/mirror/download.vendor.example/watchdoc/6.1.4/wd.pkg', serve(BYTES));
    const v = verifier({ mirror: `${server.origin}/mirror/` });
    v.want([release('watchdoc-6.1.4', '6.1.4', 'https://download.vendor.example/watchdoc/6.1.4/wd.pkg')]);
    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(server.requests.map((r) => r.path)).toEqual(['/mirror/download.vendor.example/watchdoc/6.1.4/wd.pkg']);
  });

  it('after a restart the cached package is verified again from disk without any download', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const first = verifier();
    first.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    await settled(first, 'watchdoc-6.1.4');
    await first.stop();
    expect(server.requests).toHaveLength(1);

    const second = verifier();
    second.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(await settled(second, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(server.requests).toHaveLength(1);
  });

  it('a cached file that is not the bytes its digest names is downloaded again', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const corrupt = Buffer.from(BYTES);
    corrupt[0] = corrupt[0]! ^ 0x01;
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, SHA), corrupt);

    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toEqual({ release: 'watchdoc-6.1.4', status: 'verified' });
    expect(server.requests).toHaveLength(1);
    expect(readFileSync(join(cacheDir, SHA)).equals(BYTES)).toBe(true);
  });

  it('two releases of the same package share one download', async () => {
    const url = server.route('/watchdoc/6.1.4.pkg', serve(BYTES, 20));
    const v = verifier();
    v.want([release('watchdoc-6.1.4', '6.1.4', url), release('watchdoc-stable', '6.1.4', url)]);
    expect(await settled(v, 'watchdoc-6.1.4')).toMatchObject({ status: 'verified' });
    expect(await settled(v, 'watchdoc-stable')).toMatchObject({ status: 'verified' });
    expect(server.requests).toHaveLength(1);
  });

  it('an edited release is checked again, and a release no longer wanted is forgotten', async () => {
    const oldUrl = server.route('/watchdoc/6.1.4.pkg', serve(BYTES));
    const newUrl = server.route('/watchdoc/6.1.5.pkg', serve(demoArtifactBytes(PRODUCT, '6.1.5')));
    const v = verifier();
    v.want([release('watchdoc-current', '6.1.4', oldUrl)]);
    await settled(v, 'watchdoc-current');
    v.want([release('watchdoc-current', '6.1.4', oldUrl)]);
    expect(v.checks.get('watchdoc-current')?.status).toBe('verified'); // same release: nothing to do

    v.want([release('watchdoc-current', '6.1.5', newUrl)]);
    expect(v.checks.get('watchdoc-current')?.status).toBe('pending');
    expect(await settled(v, 'watchdoc-current')).toEqual({ release: 'watchdoc-current', status: 'verified' });
    expect(server.requests.map((r) => r.path)).toEqual(['/watchdoc/6.1.4.pkg', '/watchdoc/6.1.5.pkg']);
    expect(readdirSync(cacheDir).sort()).toEqual([SHA, demoArtifact(PRODUCT, '6.1.5').sha256].sort());

    v.want([]);
    expect(v.checks.size).toBe(0);
  });

  it('no more packages are downloaded at once than the concurrency allows', async () => {
    const versions = ['6.1.0', '6.1.1', '6.1.2', '6.1.3', '6.1.4', '6.1.5', '6.1.6'];
    const releases = versions.map((version) => release(`watchdoc-${version}`, version, server.route(`/watchdoc/${version}.pkg`, serve(demoArtifactBytes(PRODUCT, version), 40))));
    const v = verifier({ concurrency: 2 });
    v.want(releases);
    for (const r of releases) expect(await settled(v, r.metadata.name)).toMatchObject({ status: 'verified' });
    expect(server.requests).toHaveLength(versions.length);
    expect(server.maxInFlight).toBe(2);
    expect(new Set(changes)).toEqual(new Set(releases.map((r) => r.metadata.name)));
  });
});
