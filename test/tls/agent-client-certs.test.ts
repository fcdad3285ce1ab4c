import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { ControllerClient, keepAliveAgents, type AgentTls } from '../../agent/reference/controller-client.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import { memoryLogger, tempDir } from '../agent/helpers/agent-kit.ts';
import { eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { TempRepo } from '../helpers/git-repo.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 13, item 1: what a client certificate proves to the controller, what an agent says when
// TLS fails, and a renewed controller certificate taken without a restart.
let ca: TestCa;
let otherCa: TestCa;
let f: Fixture;
let wrongHost: Server;
const pem = (file: string) => readFileSync(file, 'utf8');
const files = (c: { cert: string; key: string }): AgentTls => ({ ca: ca.pem, cert: pem(c.cert), key: pem(c.key) });
const report = () => ({
  sequence: Date.now(), sentAt: new Date().toISOString(), agentVersion: 'test/1', components: [], results: [],
});

beforeAll(async () => {
  ca = TestCa.create();
  otherCa = TestCa.create('another CA');
  const server = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
  f = await startFixture({
    repo: TempRepo.create(), agents: ['wd-lille', 'wd-brest'],
    controller: { tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.certPath } },
  });
  const elsewhere = ca.issue('elsewhere', 'versiond.example.org', { san: ['DNS:versiond.example.org'] });
  wrongHost = createServer({ cert: pem(elsewhere.cert), key: pem(elsewhere.key) }, (_q, r) => r.end('{}'));
  await new Promise<void>((r) => wrongHost.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  wrongHost?.close();
  await f?.close();
  ca?.dispose();
  otherCa?.dispose();
});

function client(agentId: string, tls: AgentTls, token?: string, url = f.controller.url) {
  const agents = keepAliveAgents(1, tls);
  return new ControllerClient({ controllerUrl: url, agentId, agents, ...(token ? { token } : {}) });
}

describe('a client certificate', () => {
  it.each([
    { name: 'for another agent id', cert: () => ca.issue('brest-as-lille', 'wd-brest', { client: true }), status: 403,
      says: /FORBIDDEN: the client certificate is for wd-brest, not agent wd-lille/ },
    { name: 'that has expired', status: 401,
      cert: () => ca.issue('lille-old', 'wd-lille', { client: true, expired: true }),
      says: /UNAUTHENTICATED: client certificate refused: CERT_HAS_EXPIRED/ },
    { name: 'from another CA', cert: () => otherCa.issue('lille-forged', 'wd-lille', { client: true }), status: 401,
      says: /UNAUTHENTICATED: client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/ },
  ])('$name is refused with $status, even with the right token', async ({ cert, status, says }) => {
    const outcome = await client('wd-lille', files(cert()), f.tokens.get('wd-lille')).report(report());
    expect(outcome).toMatchObject({ kind: 'unauthorized', status, message: expect.stringMatching(says) });
  });

  it('for an agent id never registered (versiond agents add) is refused', async () => {
    const cert = ca.issue('quimper', 'wd-quimper', { client: true });
    const outcome = await client('wd-quimper', files(cert)).report(report());
    expect(outcome).toMatchObject({ kind: 'unauthorized', status: 403,
      message: 'FORBIDDEN: agent wd-quimper is not registered (versiond agents add wd-quimper)' });
  });
});

describe('an agent whose TLS connection fails says what to do', () => {
  it('to a controller whose certificate names another host', async () => {
    const url = `https://127.0.0.1:${(wrongHost.address() as AddressInfo).port}`;
    const outcome = await client('wd-lille', { ca: ca.pem }, 'vda_x', url).report(report());
    expect(outcome.kind === 'answer' ? '' : outcome.message)
      .toMatch(/certificate is for another host name than the --controller URL's \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it.each([
    { name: 'without --ca', url: () => f.controller.url, trust: false,
      says: /controller unreachable \(.*not trusted \(its CA is not known here\): give --ca FILE/ },
    { name: 'by http:// to the TLS port', url: () => f.controller.url.replace('https:', 'http:'), trust: true,
      says: /refuses the report \(.*HTTP 400: this port speaks HTTPS: use an https:\/\/ URL/ },
    { name: 'with a certificate for another agent', url: () => f.controller.url, trust: true, certFor: 'wd-brest',
      says: /client certificate \(403 FORBIDDEN: .*check --cert \(.*naming wd-lille as CN or SAN/ },
  ])('in its log ($name)', async ({ url, trust, certFor, says }) => {
    const dir = await tempDir('tls');
    const { logger, lines } = memoryLogger();
    const cert = certFor !== undefined ? ca.issue(`log-${certFor}`, certFor, { client: true }) : undefined;
    const agent = new Agent({
      id: 'wd-lille', controllerUrl: url(), stateDir: dir.path, logger,
      driver: new SimulatedDriver({ machine: { components: [] } }),
      ...(cert ? { tls: files(cert) } : { token: f.tokens.get('wd-lille')!, tls: trust ? { ca: ca.pem } : {} }),
    });
    await agent.start();
    try {
      await eventually(() => lines.some((l) => says.test(String(l['msg']))), 5000,
        `${String(says)} in the agent's log:\n${lines.map((l) => l['msg']).join('\n')}`);
    } finally {
      await agent.stop();
      await dir.remove();
    }
  });
});

describe('the controller certificate', () => {
  const serial = (port: number) => new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.pem }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });

  it('is re-read when its files are replaced: the next connection gets the new one, without a restart', async () => {
    const port = Number(new URL(f.controller.url).port);
    const before = await serial(port);
    // Same file names as the running controller's: openssl rewrites them in place.
    const renewed = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
    const expected = new X509Certificate(readFileSync(renewed.cert)).serialNumber;
    expect(expected).not.toBe(before);
    await eventually(async () => (await serial(port)) === expected, 8000, `serial ${expected} after the 2 s poll`);
    expect(f.logs.join('\n')).toMatch(/TLS certificate reloaded from .*server\.crt/);
  });
});
