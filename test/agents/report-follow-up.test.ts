/**
 * Issue 16: a mailbox agent whose machine just progressed is asked back soon, because the
 * reconcile its report starts usually has its next step (a restart after an install); a
 * whole report interval per step is what kept a rollout at 4 intervals. Nothing else
 * shortens the interval, so a fleet at rest costs what it did.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ObservedInventory } from '../../controller/agents/inventory.ts';
import { Mailbox } from '../../controller/agents/mailbox.ts';
import { reportRoute } from '../../controller/agents/report-route.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(followUpSeconds: number | undefined, heartbeatTimeoutMs = 30_000): Promise<{
  report: (body: object) => Promise<number>; inventory: ObservedInventory;
}> {
  const inventory = new ObservedInventory(heartbeatTimeoutMs);
  const route = reportRoute({
    credentials: { authenticate: () => 'ok', isRegistered: () => true },
    inventory, mailbox: new Mailbox(), now: Date.now, reportAfterSeconds: 10,
    ...(followUpSeconds !== undefined ? { followUpSeconds } : {}),
    onReport: () => {},
  });
  const server = createServer((req, res) => route(req, res, 'dev-1'));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const report = (body: object): Promise<number> => new Promise((resolve, reject) => {
    const options = {
      port, host: '127.0.0.1', method: 'POST', path: '/v1/agents/dev-1/report', headers: { 'content-type': 'application/json' },
    };
    const req = request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200
        ? resolve((JSON.parse(text) as { reportAfterSeconds: number }).reportAfterSeconds)
        : reject(new Error(`${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  return { report, inventory };
}

const running = (version: string) => [{ product: 'w360-device', version, state: 'running' }];

describe('how soon an agent is asked to report again', () => {
  it('after an install finished, the agent is asked back in the follow-up; when nothing moves, in the interval', async () => {
    const { report } = await serve(2);
    expect(await report({ sequence: 1, components: running('4.2.1') })).toBe(2); // a new agent: its targets look at it now
    expect(await report({ sequence: 2, components: running('4.2.1') })).toBe(10); // a heartbeat
    const installed = { id: '0123456789abcdef', status: 'succeeded', at: '2026-12-06T09:00:00Z' };
    expect(await report({ sequence: 3, components: running('4.2.1'), results: [installed] })).toBe(2);
    expect(await report({ sequence: 4, components: running('4.2.1'), results: [installed] })).toBe(10);
    // Restarted by hand or by a command: it runs another version.
    expect(await report({ sequence: 5, components: running('4.3.0'), results: [installed] })).toBe(2);
    expect(await report({ sequence: 6, components: running('4.3.0'), results: [installed] })).toBe(10);
  });

  it('facts that change on every report do not keep the agent reporting fast', async () => {
    const { report } = await serve(2);
    await report({ sequence: 1, components: running('4.2.1'), facts: { lastBackup: '2026-12-06T09:00:00Z' } });
    for (let i = 2; i < 6; i++) {
      expect(await report({ sequence: i, components: running('4.2.1'), facts: { lastBackup: `2026-12-06T09:00:0${i}Z` } })).toBe(10);
    }
  });

  it('an agent back from offline is asked back in the follow-up', async () => {
    const { report, inventory } = await serve(2, 1000);
    await report({ sequence: 1, components: running('4.2.1') });
    expect(await report({ sequence: 2, components: running('4.2.1') })).toBe(10);
    inventory.sweep(Date.now() + 5000);
    expect(await report({ sequence: 3, components: running('4.2.1') })).toBe(2);
  });

  it('without a follow-up, or with one longer than the interval, the interval is asked every time', async () => {
    for (const followUp of [undefined, 60]) {
      const { report } = await serve(followUp);
      expect(await report({ sequence: 1, components: running('4.2.1') })).toBe(10);
      expect(await report({ sequence: 2, components: running('4.3.0') })).toBe(10);
    }
  });
});
