import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPushSignature } from '../../protocol/push-signature.ts';
import { schemaValidator } from '../../controller/desired/schema-validator.ts';
import { domainRepo, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';

interface Pushed {
  readonly body: { agent: string; sentAt: string; commands: { id: string; action: string; member: string }[] };
  readonly signed: boolean;
}

/** The push endpoint of an agent (`POST {endpoint}/v1/commands`), recording what it receives. */
async function agentEndpoint(publicKey: () => string): Promise<{ url: string; pushes: Pushed[]; server: Server }> {
  const pushes: Pushed[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = req.headers['x-versiond-signature'];
      pushes.push({ body: JSON.parse(raw.toString()) as Pushed['body'], signed: verifyPushSignature(publicKey(), raw, typeof header === 'string' ? header : undefined) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pushes, server };
}

describe('commands pushed to bidirectional members (seed 000)', () => {
  let f: Fixture | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    server?.close();
    server?.closeAllConnections();
    await f?.close();
    f = undefined;
  });

  it('pushes a bidirectional slave\'s commands to its endpoint, signed by the controller key, and never a mailbox slave\'s', async () => {
    let key = '';
    const endpoint = await agentEndpoint(() => key);
    server = endpoint.server;
    f = await startFixture({ repo: domainRepo({ s1Endpoint: endpoint.url }), agents: ['wd-master', 'wd-s1', 'wd-s2'] });
    key = ((await (await fetch(`${f.controller.url}/v1/controller-key`)).json()) as { publicKey: string }).publicKey;
    await f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]).report();
    await f.agent('wd-s1').report();
    await f.agent('wd-s2').report();
    const push = await eventually(() => endpoint.pushes.find((p) => p.body.commands.some((c) => c.action === 'stage')), 10_000, 'a pushed stage');
    expect(push.signed).toBe(true);
    expect(schemaValidator('agent-push.schema.json')(push.body)).toBe(true);
    expect(push.body.agent).toBe('wd-s1');
    // Only wd-s1's commands: the push carries no other member's.
    expect(endpoint.pushes.every((p) => p.body.commands.every((c) => c.member === 'wd-s1'))).toBe(true);
    // Counted once the endpoint's answer is back, which may come a moment after the push is seen there.
    const delivered = /versiond_command_pushes_total\{outcome="delivered"\} [1-9]/;
    await eventually(async () => delivered.test(await f!.controller.metrics.registry.render()), 5_000, 'the delivered push counted');
  });

  it('when the agent\'s endpoint is down, the command waits in the mailbox and comes with the next report', async () => {
    // An endpoint nobody listens on: connection refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    probe.close();
    f = await startFixture({ repo: domainRepo({ s1Endpoint: dead }), agents: ['wd-master', 'wd-s1', 'wd-s2'] });
    await f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]).report();
    const s1 = f.agent('wd-s1');
    await s1.report();
    await f.agent('wd-s2').report(); // every server reachable before anything is propagated (seed 000)
    await eventually(async () => f!.controller.metrics.registry.render().includes('versiond_command_pushes_total{outcome="failed"}'), 15_000, 'the push to fail');
    const answer = await s1.report();
    expect(answer.body.commands?.map((c) => c.action)).toEqual(['stage']);
  });

  it('uses the endpoint an agent advertises in its report when Git declares none', async () => {
    let key = '';
    const endpoint = await agentEndpoint(() => key);
    server = endpoint.server;
    f = await startFixture({ repo: domainRepo(), agents: ['wd-master', 'wd-s1', 'wd-s2'] });
    key = ((await (await fetch(`${f.controller.url}/v1/controller-key`)).json()) as { publicKey: string }).publicKey;
    await f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]).report();
    await f.agent('wd-s1').report({ endpoint: endpoint.url });
    await f.agent('wd-s2').report();
    await eventually(() => endpoint.pushes.length > 0, 10_000, 'a push to the advertised endpoint');
    expect(endpoint.pushes[0]!.signed).toBe(true);
  });
});
