import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { StatusEvents } from '../../controller/web/status-events.ts';

let server: Server | undefined;
afterEach(() => server?.close());

function serve(events: StatusEvents, allowed: () => boolean): Promise<string> {
  server = createServer((req, res) => events.handle(req, res, allowed));
  return new Promise((resolve) => server!.listen(0, '127.0.0.1', () =>
    resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/events`)));
}

const status = (phase: TargetStatus['phase']): TargetStatus => ({
  target: 'domain/print-paris', phase, conditions: [], observedRevision: null, summary: `now ${phase}`, members: [],
});

describe('the event stream', () => {
  it('ends a stream whose reader may no longer read, at the next heartbeat', async () => {
    const events = new StatusEvents({ bootId: 'b', heartbeatMs: 50 });
    let allowed = true;
    const url = await serve(events, () => allowed);
    let text = '';
    const ended = new Promise<void>((resolve) => {
      request(url, (res) => {
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve());
      }).end();
    });
    await new Promise((r) => setTimeout(r, 150));
    events.publish('domain/print-paris', status('Progressing'));
    expect(events.openStreams).toBe(1);
    allowed = false; // e.g. `versiond viewers remove` while the page is open
    await ended;
    expect(text).toContain('"phase":"Progressing"');
    expect(text).toContain(': keep-alive');
    expect(events.openStreams).toBe(0);
  });

  it('replays what a reconnecting client missed, and resets one from another run or too far behind', async () => {
    const events = new StatusEvents({ bootId: 'run2', backlog: 2 });
    const url = await serve(events, () => true);
    for (const p of ['Progressing', 'Waiting', 'Converged'] as const) events.publish('domain/print-paris', status(p));
    const read = (lastId: string) => new Promise<string>((resolve) => {
      let text = '';
      const req = request(url, { headers: { 'last-event-id': lastId } }, (res) => {
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        setTimeout(() => {
          req.destroy();
          resolve(text);
        }, 100);
      });
      req.end();
    });
    const replay = await read('run2-2');
    expect(replay).toContain('id: run2-3');
    expect(replay).not.toContain('id: run2-2\n');
    expect(await read('run2-0')).toMatch(/event: reset/); // run2-1 left the backlog of 2
    expect(await read('run1-3')).toMatch(/event: reset/);
  });
});
