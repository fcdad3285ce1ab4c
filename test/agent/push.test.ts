import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/reference/agent.ts';
import { SimulatedDriver } from '../../agent/reference/drivers/simulated-driver.ts';
import type { AgentCommand } from '../../agent/reference/protocol.ts';
import { command, CountingDriver, memoryLogger, tempDir, waitUntil } from './helpers/agent-kit.ts';
import { FakeController } from './helpers/fake-controller.ts';

const ID = 'wd-rennes';
const TOKEN = 'vda_rennes';

function keyPair(): { privateKey: KeyObject; publicBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicBase64: Buffer.from(der.subarray(der.length - 32)).toString('base64') };
}

describe('push endpoint (POST /v1/commands)', () => {
  const controllerKey = keyPair();
  const impostor = keyPair();
  let controller: FakeController;
  let dir: { path: string; remove: () => Promise<void> };
  let agent: Agent;
  let driver: CountingDriver;

  beforeAll(async () => {
    controller = await FakeController.start({ [ID]: TOKEN });
    controller.reportAfterSeconds = 60; // results must come from the push, not from a later answer
    dir = await tempDir('push');
    driver = new CountingDriver(new SimulatedDriver({ machine: { components: [{ product: 'watchdoc', version: '6.1.3', state: 'running' }] } }));
    agent = new Agent({
      id: ID,
      controllerUrl: controller.url,
      token: TOKEN,
      stateDir: dir.path,
      driver,
      logger: memoryLogger().logger,
      push: { host: '127.0.0.1', port: 0, controllerKey: controllerKey.publicBase64 },
    });
    await agent.start();
    await controller.waitForReport(ID, () => true);
  });
  afterAll(async () => {
    await agent.stop();
    await controller.close();
    await dir.remove();
  });

  function body(commands: AgentCommand[], overrides: Record<string, unknown> = {}): Buffer {
    return Buffer.from(JSON.stringify({ agent: ID, sentAt: new Date().toISOString(), commands, ...overrides }));
  }

  async function push(raw: Buffer, signer: KeyObject | null = controllerKey.privateKey, method = 'POST', path = '/v1/commands'): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signer) headers['x-versiond-signature'] = `ed25519=${sign(null, raw, signer).toString('base64')}`;
    const res = await fetch(`${agent.endpoint}${path}`, { method, headers, ...(method === 'POST' ? { body: new Uint8Array(raw) } : {}) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('advertises its endpoint in every report', async () => {
    expect(agent.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(controller.reportsOf(ID).every((r) => r.endpoint === agent.endpoint)).toBe(true);
  });

  it('accepts a push signed by the controller (202), runs its commands, and reports the results at once', async () => {
    const restart = command('domain/print-branches', ID, 'restart', { product: 'watchdoc', version: '6.1.3' });
    const res = await push(body([restart]));
    expect(res).toEqual({ status: 202, json: { accepted: 1 } });
    const report = await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === restart.id && x.status === 'succeeded'), 3_000);
    expect(report.results.find((x) => x.id === restart.id)?.message).toMatch(/restarted/);
  });

  it('runs a command received both by push and in an answer once', async () => {
    const backup = command('domain/print-branches', ID, 'backup', { product: 'watchdoc', version: '6.1.4' });
    controller.mailbox.set(ID, [backup]);
    agent.reportSoon();
    expect((await push(body([backup]))).status).toBe(202);
    await controller.waitForReport(ID, (r) => r.results.some((x) => x.id === backup.id && x.status === 'succeeded'), 3_000);
    expect((await push(body([backup]))).status).toBe(202);
    agent.reportSoon();
    await waitUntil(() => controller.reportsOf(ID).filter((r) => r.results.some((x) => x.id === backup.id && x.status === 'succeeded')).length >= 2, 'another report');
    expect(driver.runsOf(backup.id)).toBe(1);
    controller.mailbox.delete(ID);
  });

  describe('refuses, and runs nothing of,', () => {
    const refused = command('domain/print-branches', ID, 'sync', { params: { files: [] } });
    const cases: Array<[string, () => Promise<{ status: number; json: Record<string, unknown> }>, number, RegExp]> = [
      ['a push signed by another key', () => push(body([refused]), impostor.privateKey), 401, /does not verify with the controller key/],
      ['a push without signature', () => push(body([refused]), null), 401, /missing or does not verify/],
      [
        'a push altered after it was signed',
        async () => {
          const raw = body([refused]);
          const headers = { 'content-type': 'application/json', 'x-versiond-signature': `ed25519=${sign(null, raw, controllerKey.privateKey).toString('base64')}` };
          const altered = Buffer.from(raw.toString('utf8').replace('"sync"', '"apply"'));
          const res = await fetch(`${agent.endpoint}/v1/commands`, { method: 'POST', headers, body: new Uint8Array(altered) });
          return { status: res.status, json: (await res.json()) as Record<string, unknown> };
        },
        401,
        /does not verify/,
      ],
      ['a push for another agent', () => push(body([refused], { agent: 'wd-lille' })), 401, /for agent "wd-lille", not "wd-rennes"/],
      ['a push sent more than 5 minutes ago (a replay)', () => push(body([refused], { sentAt: new Date(Date.now() - 6 * 60_000).toISOString() })), 401, /more than 5 minutes off/],
      ['a push over 1 MiB', () => push(Buffer.concat([body([refused]), Buffer.alloc(1024 * 1024, 0x20)])), 413, /at most 1048576 bytes/],
      ['a signed body that is not JSON', () => push(Buffer.from('{"agent":')), 400, /not JSON/],
      ['a signed body that is not a push of protocol v1', () => push(body([{ ...refused, action: 'reboot' } as unknown as AgentCommand])), 400, /commands\[0\]\.action: must be one of/],
      ['another method', () => push(Buffer.alloc(0), null, 'GET'), 405, /use POST/],
      ['another path', () => push(body([refused]), controllerKey.privateKey, 'POST', '/v1/other'), 404, /only POST \/v1\/commands/],
    ];
    it.each(cases)('%s', async (_, send, status, message) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(String(res.json['message'])).toMatch(message);
      expect(driver.runsOf(refused.id)).toBe(0);
    });
  });
});
