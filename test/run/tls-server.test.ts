import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController } from '../../controller/run/controller.ts';
import { startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { TempRepo } from '../helpers/git-repo.ts';
import { controllerLoggerInto } from '../helpers/memory-logger.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 13, item 1, the controller's side: HTTPS with files given on the command line, agents
// authenticated by a client certificate that names them, and every way of getting it wrong
// answered with a clear error rather than a reset connection.
let ca: TestCa;
let other: TestCa;
let f: Fixture;
let port: number;
const body = JSON.stringify({ sequence: 1, components: [] });

function call(options: RequestOptions, payload?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const report = (agent: string, extra: RequestOptions = {}) => call({
  method: 'POST', path: `/v1/agents/${agent}/report`, ca: ca.pem, servername: 'localhost',
  headers: { 'content-type': 'application/json' }, ...extra,
}, body);
const clientCert = (c: { key: string; cert: string }) => ({ key: readFileSync(c.key), cert: readFileSync(c.cert) });

beforeAll(async () => {
  ca = TestCa.create();
  other = TestCa.create('another CA');
  const server = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
  f = await startFixture({
    repo: TempRepo.create(), agents: ['wd-lille', 'wd-rennes'],
    controller: { tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.certPath } },
  });
  port = Number(new URL(f.controller.url).port);
});
afterAll(async () => {
  await f?.close();
  ca?.dispose();
  other?.dispose();
});

describe('the controller over HTTPS', () => {
  it('serves health over HTTPS to a client that trusts its CA, and says https in its URL', async () => {
    expect(f.controller.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await call({ path: '/healthz', ca: ca.pem })).toEqual({ status: 200, text: 'ok\n' });
    await expect(call({ path: '/healthz' })).rejects.toThrow(/self.signed certificate in certificate chain/);
  });

  it('answers plain HTTP on its TLS port with a 400 that says to use https', async () => {
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, text }));
      }).on('error', reject).end();
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/this port speaks HTTPS: use an https:\/\/ URL/);
  });

  it('takes a client certificate that names the agent instead of a token', async () => {
    const lille = ca.issue('lille', 'wd-lille', { client: true });
    const r = await report('wd-lille', clientCert(lille));
    expect(r.status).toBe(200);
  });

  it('refuses a certificate for another agent, an expired one, one from another CA, and an unregistered id', async () => {
    const rennes = ca.issue('rennes', 'wd-rennes', { client: true });
    const forOther = await report('wd-lille', clientCert(rennes));
    expect(forOther.status).toBe(403);
    expect(forOther.text).toContain('the client certificate is for wd-rennes, not agent wd-lille');
    const expired = await report('wd-lille', clientCert(ca.issue('old', 'wd-lille', { client: true, expired: true })));
    expect(expired.status).toBe(401);
    expect(expired.text).toContain('client certificate refused: CERT_HAS_EXPIRED');
    const foreign = await report('wd-lille', clientCert(other.issue('foreign', 'wd-lille', { client: true })));
    expect(foreign.status).toBe(401);
    expect(foreign.text).toMatch(/client certificate refused: (UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
    const unknown = await report('wd-paris', clientCert(ca.issue('paris', 'wd-paris', { client: true })));
    expect(unknown.status).toBe(403);
    expect(unknown.text).toContain('agent wd-paris is not registered');
  });

  it('with a valid certificate, a wrong token sent as well is still refused', async () => {
    const lille = ca.issue('lille2', 'wd-lille', { client: true });
    const r = await report('wd-lille', { ...clientCert(lille), headers: { 'content-type': 'application/json', authorization: 'Bearer vda_wrong' } });
    expect(r.status).toBe(401);
  });
});

describe('starting the controller', () => {
  const start = (over: Record<string, unknown>) => startController({
    repo: '/nonexistent', stateDir: join(ca.dir, 'state'), port: 0, logger: controllerLoggerInto([], 'info'), ...over,
  });

  it('refuses TLS files it cannot use, naming the file and why', async () => {
    const a = ca.issue('a', 'localhost');
    const b = ca.issue('b', 'localhost');
    await expect(start({ tls: { certFile: a.cert, keyFile: b.key } })).rejects.toThrow(`${b.key}: not the key of ${a.cert}`);
    await expect(start({ tls: { certFile: join(ca.dir, 'nope.crt'), keyFile: a.key } })).rejects.toThrow(/nope\.crt: no such file/);
    const garbage = join(ca.dir, 'garbage.crt');
    writeFileSync(garbage, 'not a certificate\n');
    await expect(start({ tls: { certFile: garbage, keyFile: a.key } })).rejects.toThrow(`${garbage}: not a PEM certificate`);
  });

  it('refuses plain HTTP beyond loopback unless told --insecure-listen', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(/refusing plain HTTP on 0\.0\.0\.0: agent tokens would cross the network in clear/);
  });
});
