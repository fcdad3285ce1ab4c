import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateControllerKey } from '../../controller/agents/controller-key.ts';
import { Agent } from '../../agent/reference/agent.ts';
import { ControllerClient, keepAliveAgents } from '../../agent/reference/controller-client.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import type { AgentReport } from '../../agent/reference/protocol.ts';
import { memoryLogger, tempDir } from '../agent/helpers/agent-kit.ts';
import { DOMAIN_AGENTS, domainRepo, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 13, item 1: a bidirectional member's push endpoint serves HTTPS with the agent's own
// certificate, and the controller pushes only to one issued by its --tls-client-ca.
let ca: TestCa;
let otherCa: TestCa;
let server: { cert: string; key: string };
const pem = (file: string) => readFileSync(file, 'utf8');
const running = (version: string) => [{ product: 'watchdoc', version, state: 'running' as const }];

beforeAll(() => {
  ca = TestCa.create();
  otherCa = TestCa.create('another CA');
  server = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
});
afterAll(() => {
  ca?.dispose();
  otherCa?.dispose();
});

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function tlsFixture(): Promise<Fixture> {
  return startFixture({
    repo: domainRepo(), agents: DOMAIN_AGENTS,
    controller: { tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.certPath } },
  });
}

/** One report by token over HTTPS (the master at 6.1.4 and wd-s2 need only be seen, seed 000). */
async function reportOnce(fx: Fixture, id: string, version: string, extra: Partial<AgentReport> = {}): Promise<void> {
  const client = new ControllerClient({ controllerUrl: fx.controller.url, agentId: id, token: fx.tokens.get(id)!,
    agents: keepAliveAgents(1, { ca: ca.pem }) });
  const outcome = await client.report({ sequence: 1, sentAt: new Date().toISOString(), agentVersion: 'test/1',
    components: running(version), results: [], ...extra });
  expect(outcome.kind).toBe('answer');
}

async function pushes(fx: Fixture, outcome: string): Promise<boolean> {
  const metrics = await fx.controller.metrics.registry.render();
  return new RegExp(`versiond_command_pushes_total\\{outcome="${outcome}"\\} [1-9]`).test(metrics);
}

describe('pushes to an agent over HTTPS', () => {
  it('the reference agent serves its certificate; the controller verifies it against --tls-client-ca and delivers',
    async () => {
      const fx = (f = await tlsFixture());
      const dir = await tempDir('push-tls');
      const { logger, lines } = memoryLogger();
      const controllerKey = (await loadOrCreateControllerKey(fx.stateDir)).publicKeyBase64;
      // One certificate for both ends of the agent: client (reports) and server (its push endpoint).
      const cert = ca.issue('s1', 'wd-s1', { client: true, server: true, san: ['IP:127.0.0.1'] });
      const agent = new Agent({
        id: 'wd-s1', controllerUrl: fx.controller.url, stateDir: dir.path, logger,
        tls: { ca: ca.pem, cert: pem(cert.cert), key: pem(cert.key) },
        driver: new SimulatedDriver({ machine: { components: running('6.1.3') } }),
        push: { host: '127.0.0.1', port: 0, controllerKey },
        artifactMirror: fx.packages.mirror,
      });
      await agent.start();
      try {
        expect(agent.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        await eventually(() => fx.controller.inventory.observations.has('wd-s1'), 5000, 'wd-s1 to report');
        await reportOnce(fx, 'wd-master', '6.1.4');
        await reportOnce(fx, 'wd-s2', '6.1.3');
        await eventually(() => lines.some((l) => /^push accepted/.test(String(l['msg']))), 10_000,
          `a push accepted by wd-s1; its log:\n${lines.map((l) => l['msg']).join('\n')}`);
        await eventually(() => pushes(fx, 'delivered'), 5000, 'the controller to count the push delivered');
      } finally {
        await agent.stop();
        await dir.remove();
      }
    });

  it('an endpoint whose certificate another CA issued gets nothing: the push fails, saying why', async () => {
    const fx = (f = await tlsFixture());
    const forged = otherCa.issue('forged-s1', 'wd-s1', { client: true, server: true, san: ['IP:127.0.0.1'] });
    let requests = 0;
    const impostor: Server = createServer({ cert: pem(forged.cert), key: pem(forged.key) }, (_q, r) => {
      requests++;
      r.writeHead(202).end();
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    try {
      const endpoint = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
      await reportOnce(fx, 'wd-s1', '6.1.3', { endpoint });
      await reportOnce(fx, 'wd-master', '6.1.4');
      await reportOnce(fx, 'wd-s2', '6.1.3');
      await eventually(() => pushes(fx, 'failed'), 10_000, 'the push to fail');
      expect(requests).toBe(0);
      expect(fx.logs.join('\n'))
        .toMatch(/"err":"request to https:.*unable to verify the first certificate","msg":"push failed/);
    } finally {
      impostor.close();
      impostor.closeAllConnections();
    }
  });
});
