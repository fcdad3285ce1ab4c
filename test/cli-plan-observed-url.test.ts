/**
 * `versiond plan --observed URL` (issue 15): the snapshot fetched from a controller's
 * `GET /v1/observed` with a viewer token, as a reviewer's bot would, against a real HTTP(S)
 * server on 127.0.0.1 standing in for the controller. The plan must be the one made from the
 * same snapshot in a file; every way the fetch fails must name the URL and say why.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../controller/cli/main.ts';
import { fetchObservedSnapshot, ObservedUrlError } from '../controller/plan/observed-url.ts';
import { EXAMPLE_REPO, ROOT } from './helpers/git-repo.ts';
import { TestCa } from './helpers/tls-certs.ts';

const SNAPSHOT_FILE = join(ROOT, 'agent/example-observed.json');
const SNAPSHOT = readFileSync(SNAPSHOT_FILE);
/** Version 6.1 as a number: what cli-plan.test.ts refuses from a file, at 3:73. */
const BAD_SNAPSHOT =
  '{\n  "agents": [\n    { "agent": "x", "components": [ { "product": "watchdoc", "version": 6.1 } ] }\n  ]\n}\n';
const TOKEN = `vdv_${'k'.repeat(43)}`;
const PLAN = ['plan', '--repo', EXAMPLE_REPO, '--now', '2026-11-22T10:00:00Z', '--console-id', 'console-hq'];

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const tmp = mkdtempSync(join(tmpdir(), 'versiond-plan-url-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** What the stand-in controller saw: the Authorization header of every request. */
const seen: { url: string; authorization: string | undefined }[] = [];

/** The controller's `GET /v1/observed`, as far as plan can tell: the bearer token checked, then the snapshot. */
function controller(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/moved') {
    res.writeHead(302, { location: 'http://elsewhere.example/v1/observed' });
    res.end();
    return;
  }
  if (req.url === '/slow') return; // never answers
  if (req.headers.authorization !== `Bearer ${TOKEN}`) {
    json(401, { error: 'UNAUTHENTICATED', message: 'unknown or missing viewer token' });
    return;
  }
  if (req.url === '/v1/observed') {
    // The length announced, as the controller's sendJsonText does (the chunked case is tested below).
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': SNAPSHOT.length });
    res.end(SNAPSHOT);
  } else if (req.url === '/bad/v1/observed') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(BAD_SNAPSHOT);
  } else if (req.url === '/oops') {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('database on fire\nstack trace…');
  } else if (req.url === '/login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Sign in</title>');
  } else {
    json(404, { error: 'NOT_FOUND', message: `no route ${req.url}` });
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return (server.address() as AddressInfo).port;
}

let base: string; // http://127.0.0.1:PORT
beforeAll(async () => {
  base = `http://127.0.0.1:${await listen(createServer(controller))}`;
  // The tests decide whether $VERSIOND_TOKEN is set, not the shell that runs them.
  const saved = process.env.VERSIOND_TOKEN;
  delete process.env.VERSIOND_TOKEN;
  cleanups.push(() => {
    if (saved === undefined) delete process.env.VERSIOND_TOKEN;
    else process.env.VERSIOND_TOKEN = saved;
  });
});

/** `versiond …` in this process, its output captured. */
async function versiond(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

interface PlanJson {
  observed: { source: string | null; agents: number };
  targets: unknown[];
}

const tokenFile = () => file('viewer.token', `${TOKEN}\n# anything after the first line is ignored\n`);

describe('versiond plan --observed URL', () => {
  let fromFile: PlanJson;
  beforeAll(async () => {
    const r = await versiond(...PLAN, '--observed', SNAPSHOT_FILE, '--format', 'json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    fromFile = JSON.parse(r.stdout) as PlanJson;
  });

  it('with --token-file plans exactly as with the same snapshot in a file, and the source is the URL', async () => {
    const url = `${base}/v1/observed`;
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile(), '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as PlanJson;
    expect(report.targets).toEqual(fromFile.targets);
    expect(fromFile.targets.length).toBeGreaterThan(0);
    expect(report.observed).toEqual({ source: url, agents: fromFile.observed.agents });
    expect(r.stdout).not.toContain(TOKEN);
    expect(seen.at(-1)).toEqual({ url: '/v1/observed', authorization: `Bearer ${TOKEN}` });

    const text = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile());
    expect(text.stdout.split('\n')[1]).toBe(`observed: ${fromFile.observed.agents} agents from ${url}`);
  });

  it('takes the token from $VERSIOND_TOKEN when there is no --token-file, which wins over it', async () => {
    const url = `${base}/v1/observed`;
    process.env.VERSIOND_TOKEN = ` ${TOKEN}\n`;
    try {
      const r = await versiond(...PLAN, '--observed', url, '--format', 'json');
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect((JSON.parse(r.stdout) as PlanJson).targets).toEqual(fromFile.targets);

      process.env.VERSIOND_TOKEN = 'vdv_wrong';
      const fileWins = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile(), '--format', 'json');
      expect(fileWins).toMatchObject({ code: 0, stderr: '' });
    } finally {
      delete process.env.VERSIOND_TOKEN;
    }
  });

  it('a wrong token: exit 1, naming the URL, 401 and what the server said; nothing planned', async () => {
    const url = `${base}/v1/observed`;
    const r = await versiond(...PLAN, '--observed', url, '--token-file', file('wrong.token', 'vdv_nope\n'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `versiond plan: --observed ${url}: 401 Unauthorized: unknown or missing viewer token\n` +
        'no observed snapshot: nothing planned\n',
    );
  });

  it('no token at all: the 401 says how to give one', async () => {
    const url = `${base}/v1/observed`;
    const r = await versiond(...PLAN, '--observed', url);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `versiond plan: --observed ${url}: 401 Unauthorized: unknown or missing viewer token ` +
        '(no token was sent: give --token-file FILE or set $VERSIOND_TOKEN)',
    );
    expect(seen.at(-1)).toEqual({ url: '/v1/observed', authorization: undefined });
  });

  it('an invalid snapshot gets the diagnostics a file gets, naming the URL as the file', async () => {
    const url = `${base}/bad/v1/observed`;
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(
      `${url}:3:73: -: agents[0].components[0].version: must be a string, not a decimal number (quote it: "6.1")`,
    );
    expect(r.stderr).toContain('\ninvalid observed snapshot: nothing planned\n');
  });

  it.each([
    ['/oops', '500 Internal Server Error: database on fire'],
    ['/nowhere', '404 Not Found: no route /nowhere'],
    ['/moved', '302 Found: redirects to http://elsewhere.example/v1/observed; give that URL'],
    ['/login', 'the answer is an HTML page, not a snapshot'],
  ])('%s: exit 1 with "%s"', async (path, message) => {
    const url = `${base}${path}`;
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`versiond plan: --observed ${url}: ${message}`)).toBe(true);
  });

  it('an unreachable URL is a clear error naming it and the cause', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/v1/observed`;
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `versiond plan: --observed ${url}: cannot fetch: connect ECONNREFUSED 127.0.0.1:${port}\n` +
        'no observed snapshot: nothing planned\n',
    );
  });

  it.each([
    [['--observed', SNAPSHOT_FILE, '--token-file', 'x'], '--token-file is for an http(s):// --observed URL'],
    [['--observed', SNAPSHOT_FILE, '--ca', 'x'], '--ca is for an https:// --observed URL'],
    [['--observed', 'http://127.0.0.1:1/v1/observed', '--ca', 'x'],
      '--ca is for an https:// --observed URL, not http://127.0.0.1:1/v1/observed'],
    [['--observed', 'http://127.0.0.1:1/v1/observed', '--token-file', '/no/such/token'],
      '--token-file /no/such/token: no such file'],
    [['--observed', 'https://127.0.0.1:1/v1/observed', '--ca', '/no/such/ca.pem'],
      '--ca /no/such/ca.pem: no such file'],
    [['--observed', 'http://viewer:vdv_secret@127.0.0.1:1/v1/observed'],
      '--observed http://127.0.0.1:1/v1/observed: put the token in --token-file FILE or $VERSIOND_TOKEN, ' +
        'not in the URL'],
    [['--observed', 'http://[::1/v1/observed'], '--observed http://[::1/v1/observed: not a valid URL'],
  ])('usage error %j exits 2 before anything is fetched', async (args, message) => {
    const before = seen.length;
    const r = await versiond(...PLAN, ...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`versiond plan: ${message}`);
    expect(r.stderr).not.toContain('vdv_secret');
    expect(seen.length).toBe(before);
  });

  it('an empty token file is a usage error', async () => {
    const r = await versiond(...PLAN, '--observed', `${base}/v1/observed`, '--token-file', file('empty.token', '\n'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--token-file .*empty\.token: its first line is empty/);
  });

  it('--help documents the URL, --token-file, $VERSIOND_TOKEN and --ca', async () => {
    const r = await versiond('plan', '--help');
    for (const s of ['--observed FILE|URL', '/v1/observed', '--token-file FILE', '$VERSIOND_TOKEN', '--ca FILE']) {
      expect(r.stdout).toContain(s);
    }
  });
});

describe('over https', () => {
  let url: string;
  let caFile: string;
  beforeAll(async () => {
    const ca = TestCa.create();
    cleanups.push(() => ca.dispose());
    const { key, cert } = ca.issue('controller', 'versiond controller', { san: ['IP:127.0.0.1', 'DNS:localhost'] });
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, controller);
    url = `https://127.0.0.1:${await listen(server)}/v1/observed`;
    caFile = file('ca.pem', ca.pem);
  }, 60_000);

  it('--ca trusts the controller\'s CA', async () => {
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile(), '--ca', caFile,
      '--format', 'json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(r.stdout) as PlanJson).observed.source).toBe(url);
  });

  it('without --ca, the untrusted certificate is refused, saying to give --ca', async () => {
    const r = await versiond(...PLAN, '--observed', url, '--token-file', tokenFile());
    expect(r.code).toBe(1);
    const [first] = r.stderr.split('\n');
    expect(first!.startsWith(`versiond plan: --observed ${url}: cannot fetch: `)).toBe(true);
    expect(first).toMatch(/the server's certificate is not trusted .*: give --ca FILE \(\w+\)$/u);
  });

  it('a file that is not a certificate is refused as --ca', async () => {
    const r = await versiond(...PLAN, '--observed', url, '--ca', file('not-a-ca.pem', 'hello'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ca .*not-a-ca\.pem: not a PEM certificate/);
  });
});

describe('fetchObservedSnapshot bounds what it waits for and reads', () => {
  it('gives up after the timeout, naming the URL', async () => {
    const url = `${base}/slow`;
    const started = Date.now();
    const attempt = fetchObservedSnapshot(url, { token: TOKEN, timeoutMs: 300 });
    await expect(attempt).rejects.toThrow(ObservedUrlError);
    await expect(attempt).rejects.toThrow(`--observed ${url}: no complete answer within 0.3 s`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses an answer over the size cap', async () => {
    const url = `${base}/v1/observed`;
    const attempt = fetchObservedSnapshot(url, { token: TOKEN, maxBytes: 100 });
    await expect(attempt).rejects.toThrow(
      `--observed ${url}: the answer is ${SNAPSHOT.length} bytes, more than 100 bytes`,
    );
  });

  it('refuses a body over the cap that was not announced (chunked)', async () => {
    const chunked = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(SNAPSHOT.subarray(0, 80));
      res.end(SNAPSHOT.subarray(80));
    });
    const url = `http://127.0.0.1:${await listen(chunked)}/v1/observed`;
    await expect(fetchObservedSnapshot(url, { maxBytes: 100 })).rejects.toThrow(
      `--observed ${url}: the answer is more than 100 bytes`,
    );
    const whole = await fetchObservedSnapshot(url);
    expect(whole.ok).toBe(true);
  });

  it('does not follow a redirect, so the token goes nowhere else', async () => {
    const before = seen.length;
    await expect(fetchObservedSnapshot(`${base}/moved`, { token: TOKEN })).rejects.toThrow(/302 Found: redirects to/);
    expect(seen.slice(before).map((s) => s.url)).toEqual(['/moved']);
  });
});
