/**
 * Issue 16, the report path at fleet scale: what it no longer does per report, and that each
 * cut keeps what it must — a revoked token fails at once, a dropped request frees its budget,
 * a heartbeat that changed nothing is not a change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AgentCredentials, sameHex } from '../../controller/agents/agent-credentials.ts';
import { ObservedInventory } from '../../controller/agents/inventory.ts';
import { Mailbox } from '../../controller/agents/mailbox.ts';
import { reportRoute, type Authenticator, type AuthVerdict } from '../../controller/agents/report-route.ts';
import { readBody } from '../../controller/http/respond.ts';
import type { AgentReport } from '../../protocol/report.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** The route on a real server, as the controller wires it (no TLS). */
async function serve(credentials: Authenticator): Promise<{ port: number; inventory: ObservedInventory }> {
  const inventory = new ObservedInventory(30_000);
  const route = reportRoute({
    credentials,
    inventory,
    mailbox: new Mailbox(),
    now: Date.now,
    reportAfterSeconds: 10,
    onReport: () => {},
  });
  const server = createServer((req, res) => route(req, res, decodeURIComponent(req.url!.split('/')[3]!)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, inventory };
}

function post(port: number, agent: string, token: string, sequence: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ sequence, components: [{ product: 'w360-device', version: '4.3.0' }] });
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: `/v1/agents/${agent}/report`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request with a report body, and a response that records its answer, without sockets. */
function exchange(agent: string, token: string) {
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  req.push(JSON.stringify({ sequence: 1, components: [{ product: 'w360-device', version: '4.3.0' }] }));
  req.push(null);
  req.complete = true;
  let settle: (a: { status: number; body: string }) => void = () => {};
  const answered = new Promise<{ status: number; body: string }>((r) => (settle = r));
  let status = 0;
  const res: { headersSent: boolean; destroyed: boolean; writeHead(code: number): unknown; end(body: string): void } = {
    headersSent: false,
    destroyed: false,
    writeHead(code: number) {
      status = code;
      res.headersSent = true;
      return res;
    },
    end(body: string) {
      settle({ status, body });
    },
  };
  return { req, res: res as unknown as ServerResponse, answered, agent };
}

describe('authentication on the report path', () => {
  it('requests arriving together share one look at the credentials, taken after they all arrived', async () => {
    const calls: string[] = [];
    const judge = (agent: string, authorization: string | undefined): AuthVerdict =>
      authorization === `Bearer token-${agent}` ? 'ok' : 'unauthenticated';
    const credentials: Authenticator = {
      authenticate: (a, h) => (calls.push('authenticate'), judge(a, h)),
      isRegistered: () => true,
      lookOnce: () => {
        calls.push('look');
        return { authenticate: judge, isRegistered: () => true };
      },
    };
    const route = reportRoute({
      credentials,
      inventory: new ObservedInventory(30_000),
      mailbox: new Mailbox(),
      now: Date.now,
      reportAfterSeconds: 10,
      onReport: () => {},
    });
    // Five requests handed to the route in one turn of the event loop, as one poll of the sockets does.
    const answers = ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'intruder'].map((agent) => {
      const token = agent === 'intruder' ? 'token-dev-1' : `token-${agent}`;
      const { req, res, answered } = exchange(agent, token);
      route(req, res, agent);
      calls.push(`arrived ${agent}`);
      return answered;
    });
    expect(calls.filter((c) => c === 'look')).toEqual([]); // not before the turn ends
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200, 200, 200, 401]);
    expect(calls.slice(5)).toEqual(['look']); // one look, after every one of them arrived; no look per request
  });

  it('a token revoked by another process fails the very next request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-report-path-'));
    dirs.push(dir);
    const controller = await AgentCredentials.open(dir);
    const cli = await AgentCredentials.open(dir); // `versiond agents …`, another process
    const token = await cli.add('dev-1');
    const { port } = await serve(controller);
    expect((await post(port, 'dev-1', token, 1)).status).toBe(200);
    await cli.add('dev-1', { rotate: true });
    const refused = await post(port, 'dev-1', token, 2);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'UNAUTHENTICATED' });
  });

  it('lookOnce judges as authenticate does, as of its look', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-report-path-'));
    dirs.push(dir);
    const credentials = await AgentCredentials.open(dir);
    const a = await credentials.add('dev-a');
    const b = await credentials.add('dev-b');
    const look = credentials.lookOnce();
    expect(look.authenticate('dev-a', `Bearer ${a}`)).toBe('ok');
    expect(look.authenticate('dev-a', `Bearer ${b}`)).toBe('forbidden');
    expect(look.authenticate('dev-a', 'Bearer vda_unknown')).toBe('unauthenticated');
    expect(look.authenticate('dev-a', undefined)).toBe('unauthenticated');
    expect(look.isRegistered('dev-b')).toBe(true);
    expect(look.isRegistered('dev-c')).toBe(false);
  });

  it('compares digests whole', () => {
    const h = 'ab'.repeat(32);
    expect(sameHex(h, h)).toBe(true);
    expect(sameHex(h, `${h.slice(0, 63)}c`)).toBe(false);
    expect(sameHex(h, `c${h.slice(1)}`)).toBe(false);
    expect(sameHex(h, h.slice(0, 62))).toBe(false);
  });
});

describe('reading a body', () => {
  it('a request already gone when reading starts is aborted, not left pending (its budget is freed)', async () => {
    const req = new IncomingMessage(new Socket());
    req.destroy();
    const verdict = await Promise.race([readBody(req, 1024), new Promise((r) => setTimeout(() => r('pending'), 500))]);
    expect(verdict).toBe('aborted');
  });
});

describe('the inventory on heartbeats', () => {
  const report = (sequence: number, over: Partial<AgentReport> = {}): AgentReport => ({
    sequence,
    sentAt: `2026-11-20T09:00:0${sequence % 10}Z`,
    components: [{ product: 'w360-device', version: '4.3.0', state: 'running', serves: ['4.3.0'] }],
    results: [{ id: 'c1', status: 'succeeded', at: '2026-11-20T09:00:00Z' }],
    facts: { downloading: false },
    ...over,
  });

  it('a report that repeats the last one keeps its arrays and is no change; any field that differs is', () => {
    const inv = new ObservedInventory(30_000);
    expect(inv.record('a', report(1), 0)).toEqual({ kind: 'recorded', changed: true, progressed: true });
    const first = inv.observations.get('a')!;
    expect(inv.record('a', report(2), 1000)).toEqual({ kind: 'recorded', changed: false, progressed: false }); // the clock aside
    const second = inv.observations.get('a')!;
    expect(second).not.toBe(first);
    expect(second.components).toBe(first.components);
    expect(second.results).toBe(first.results);
    expect(second.facts).toMatchObject({ clock: report(2).sentAt });

    const component = { product: 'w360-device', version: '4.3.0', state: 'running' as const, serves: ['4.3.0'] };
    const variants: Partial<AgentReport>[] = [
      { components: [{ ...component, version: '4.3.1' }] },
      { components: [{ ...component, serves: ['4.3.0', '4.3.1'] }] },
      { components: [{ ...component, staged: { version: '4.3.1', verified: true } }] },
      { components: [{ ...component, pendingRestart: true }] },
      { components: [component, { product: 'watchdoc-client' }] },
      { results: [{ id: 'c1', status: 'failed', at: '2026-11-20T09:00:00Z', message: 'disk full' }] },
      { results: [] },
      { facts: { downloading: true } },
    ];
    let sequence = 3;
    for (const over of variants) {
      const what = JSON.stringify(over);
      // The machine progressed when what it runs or a result changed; facts alone are a change, not progress.
      const progressed = over.facts === undefined;
      expect(inv.record('a', report(sequence++, over), 2000), what).toEqual({ kind: 'recorded', changed: true, progressed });
      // …and back: a change again.
      expect(inv.record('a', report(sequence++), 3000), what).toEqual({ kind: 'recorded', changed: true, progressed });
    }
  });

  it('an agent back online is a change even when its report is the same', () => {
    const inv = new ObservedInventory(1000);
    inv.record('a', report(1), 0);
    expect(inv.sweep(5000)).toEqual(['a']);
    expect(inv.record('a', report(2), 6000)).toEqual({ kind: 'recorded', changed: true, progressed: true });
  });
});
