/**
 * The agent's HTTP client (node:http/https instead of node-fetch): redirects as fetch follows
 * them, credentials kept from other hosts, aborts at any point, keep-alive pools, and refusal
 * of encodings it did not ask for.
 */
import { createServer, Agent as HttpAgent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, readText } from '../../agent/reference/http-request.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly port: number;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', base);
  const hop = Number(url.searchParams.get('hop') ?? 0);
  switch (url.pathname) {
    case '/text':
      res.end(`\uFEFFhello ${req.method} ${body}`);
      return;
    case '/found':
      res.writeHead(302, { location: '/text' }).end();
      return;
    case '/see-other':
      res.writeHead(303, { location: '/text' }).end();
      return;
    case '/temporary':
      res.writeHead(307, { location: '/text' }).end();
      return;
    case '/elsewhere':
      // The same server under another host name: credentials must not follow.
      res.writeHead(302, { location: `${base.replace('127.0.0.1', 'localhost')}/text` }).end();
      return;
    case '/loop':
      res.writeHead(302, { location: `/loop?hop=${hop + 1}` }).end();
      return;
    case '/gzip':
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('not really gzip');
      return;
    case '/silent':
      return; // never answers
    case '/slow':
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(10)); // and never the rest
      return;
    default:
      res.writeHead(404).end();
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const port = req.socket.remotePort ?? 0;
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, port });
      route(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const last = (): Seen => seen.at(-1)!;

describe('the agent HTTP client', () => {
  it('reads a body as text, without its BOM, and asks for the bytes as they are', async () => {
    const res = await httpRequest(`${base}/text`);
    expect(res.status).toBe(200);
    expect(await readText(res)).toBe('hello GET ');
    expect(last().headers)
      .toMatchObject({ 'accept-encoding': 'identity', 'user-agent': 'versiond-agent', accept: '*/*' });
  });

  it('follows redirects as fetch does: a GET stays a GET, a POST after 303 becomes a GET without body', async () => {
    const found = await httpRequest(`${base}/found`);
    expect([found.status, found.url, await readText(found)]).toEqual([200, `${base}/text`, 'hello GET ']);
    const post = { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } } as const;
    const seeOther = await httpRequest(`${base}/see-other`, post);
    expect(await readText(seeOther)).toBe('hello GET ');
    expect(last().headers['content-type']).toBeUndefined();
  });

  it('a 307 repeats the POST with its body', async () => {
    const res = await httpRequest(`${base}/temporary`, { method: 'POST', body: 'report' });
    expect(await readText(res)).toBe('hello POST report');
  });

  it('does not carry the token to another host', async () => {
    const res = await httpRequest(`${base}/elsewhere`, { headers: { Authorization: 'Bearer vda_secret' } });
    await readText(res);
    expect(seen.at(-2)!.headers.authorization).toBe('Bearer vda_secret');
    expect(last().headers.host).toMatch(/^localhost:/);
    expect(last().headers.authorization).toBeUndefined();
  });

  it('gives up after 20 redirects', async () => {
    await expect(httpRequest(`${base}/loop`)).rejects.toThrow(/maximum redirect reached at: .*\/loop\?hop=20/);
  });

  it('refuses an encoded answer it did not ask for', async () => {
    await expect(httpRequest(`${base}/gzip`)).rejects.toThrow(/the answer is gzip-encoded, which was not asked for/);
  });

  it('aborts while the body is read, with fetch\'s AbortError', async () => {
    const controller = new AbortController();
    const res = await httpRequest(`${base}/slow`, { signal: controller.signal });
    const reading = readText(res);
    setTimeout(() => controller.abort(), 50);
    await expect(reading).rejects.toMatchObject({ name: 'AbortError', message: 'The operation was aborted.' });
    await expect(httpRequest(`${base}/text`, { signal: controller.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails with a TimeoutError when the connection stays silent for timeoutMs, before the answer or in its body', async () => {
    await expect(httpRequest(`${base}/silent`, { timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError', message: 'no answer within 0.2 s' });
    const res = await httpRequest(`${base}/slow`, { timeoutMs: 200 });
    expect(res.status).toBe(200);
    await expect(readText(res)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('reuses a keep-alive connection of the pool it is given', async () => {
    const pool = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) await readText(await httpRequest(`${base}/text`, { agent: () => pool }));
      expect(new Set(seen.slice(-3).map((s) => s.port)).size).toBe(1);
    } finally {
      pool.destroy();
    }
  });

  it('fails with the system error code when nobody listens, and on a scheme it cannot speak', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(httpRequest(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(httpRequest('file:///etc/passwd')).rejects.toThrow('URL scheme "file" is not supported.');
  });
});
