import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient, keepAliveAgents, type AgentTls } from '../../agent/reference/controller-client.ts';
import { eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 13, item 1, the agent's side: --ca to trust the controller, --cert/--key to be known by
// a certificate instead of a token; every misconfiguration says what is wrong and what to do.
let ca: TestCa;
let f: Fixture;
let expiredServer: Server;
const report = { sequence: 1, sentAt: new Date().toISOString(), agentVersion: 'test/1', components: [], results: [] };
const pem = (file: string) => readFileSync(file, 'utf8');
const run = promisify(execFile);

beforeAll(async () => {
  ca = TestCa.create();
  const server = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
  f = await startFixture({
    repo: TempRepo.create(), agents: ['wd-lille', 'wd-rennes', 'wd-nantes'],
    controller: { tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.certPath } },
  });
  const old = ca.issue('old-server', 'localhost', { san: ['IP:127.0.0.1'], expired: true });
  expiredServer = createServer({ cert: pem(old.cert), key: pem(old.key) }, (_q, r) => r.end('{}'));
  await new Promise<void>((r) => expiredServer.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  expiredServer?.close();
  await f?.close();
  ca?.dispose();
});

function client(url: string, agentId: string, tls: AgentTls, token?: string) {
  return new ControllerClient({ controllerUrl: url, agentId, agents: keepAliveAgents(1, tls), ...(token ? { token } : {}) });
}

describe('an agent talking to an HTTPS controller', () => {
  it('reports with --ca and its token, or with --ca and a client certificate alone', async () => {
    const byToken = await client(f.controller.url, 'wd-lille', { ca: ca.pem }, f.tokens.get('wd-lille')).report(report);
    expect(byToken.kind).toBe('answer');
    const cert = ca.issue('rennes', 'wd-rennes', { client: true });
    const byCert = await client(f.controller.url, 'wd-rennes', { ca: ca.pem, cert: pem(cert.cert), key: pem(cert.key) })
      .report(report);
    expect(byCert.kind).toBe('answer');
  });

  it.each([
    { name: 'without --ca', url: () => f.controller.url, says: /not trusted \(its CA is not known here\): give --ca FILE/ },
    { name: 'to an expired certificate', url: () => `https://127.0.0.1:${(expiredServer.address() as AddressInfo).port}`,
      says: /certificate has expired: it must be renewed \(CERT_HAS_EXPIRED\)/ },
    { name: 'by http:// to the TLS port', url: () => f.controller.url.replace('https:', 'http:'),
      says: /HTTP 400: this port speaks HTTPS: use an https:\/\/ URL/ },
  ])('fails $name with a sentence that says what to do', async ({ name, url, says }) => {
    const tls = name === 'without --ca' ? {} : { ca: ca.pem };
    const outcome = await client(url(), 'wd-lille', tls, f.tokens.get('wd-lille')).report(report);
    expect(outcome.kind === 'answer' ? 'answered' : outcome.message).toMatch(says);
  });

  it('a real versiond-agent process reports over HTTPS with --ca, --cert and --key, no token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-agent-'));
    const cert = ca.issue('nantes', 'wd-nantes', { client: true });
    const machine = join(dir, 'machine.json');
    writeFileSync(machine, JSON.stringify({ components: [{ product: 'watchdoc', version: '6.1.3', state: 'running' }] }));
    const child = spawn(process.execPath, [join(ROOT, 'agent/reference/bin.js'), '--controller', f.controller.url,
      '--id', 'wd-nantes', '--state-dir', join(dir, 'state'), '--driver', `simulated:${machine}`,
      '--ca', ca.certPath, '--cert', cert.cert, '--key', cert.key], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(() => f.controller.inventory.observations.has('wd-nantes'), 20_000, `wd-nantes to report; its log:\n${log}`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Not spawnSync: the controller runs in this process, and a blocked event loop never answers curl.
  it.skipIf(spawnSync('curl', ['--version']).error !== undefined)('curl --cacert reaches the controller as the README shows',
    async () => {
      const url = `${f.controller.url.replace('127.0.0.1', 'localhost')}/healthz`;
      const r = await run('curl', ['-sS', '--max-time', '10', '--cacert', ca.certPath, url]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('ok\n');
    });
});
