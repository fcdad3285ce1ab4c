import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { schemaValidator } from '../../controller/desired/schema-validator.ts';
import { openViewerCredentials } from '../../controller/web/viewer-credentials.ts';
import { domainRepo, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';

/** GET with optional headers; the body as text. */
async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The answer, parsed, after checking it against its schema in schemas/ (as the OpenAPI document names it). */
function conforming(file: string, body: string) {
  const value = JSON.parse(body);
  const validate = schemaValidator(file);
  expect(validate(structuredClone(value)), JSON.stringify(validate.errors)).toBe(true);
  return value;
}

/** Reads an event stream until `until` holds for what came so far, or the time is up. */
function readEvents(url: string, headers: Record<string, string>, until: (text: string) => boolean, ms = 8000):
  Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = request(url, { headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (until(text)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', (err) => (text === '' ? reject(err) : resolve(text)));
    setTimeout(() => {
      req.destroy();
      resolve(text);
    }, ms).unref();
    req.end();
  });
}

describe('the read API on loopback (issue 15)', () => {
  let f: Fixture;
  let viewerToken: string;
  beforeAll(async () => {
    f = await startFixture({ repo: domainRepo(), agents: ['wd-master', 'wd-s1', 'wd-s2'] });
    viewerToken = await (await openViewerCredentials(f.stateDir)).add('alice');
    await f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]).report();
    await f.agent('wd-s1').report();
    await eventually(() => f.controller.loop.statusOf('domain/print-test'), 5000, 'a first status');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('lists every target with its phase, progress and what blocks it, anonymously on loopback', async () => {
    const res = await get(`${f.controller.url}/v1/targets`);
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    const view = conforming('view-fleet.schema.json', res.body);
    expect(view.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(view.agents).toEqual({ online: 2, known: 2 });
    const row = view.targets.find((t: { target: string }) => t.target === 'domain/print-test');
    expect(row).toMatchObject({ kind: 'Domain', name: 'print-test', path: 'domains/print-test.yaml' });
    expect(row.progress).toEqual({ done: 1, total: 3 });
    expect(row.phase).not.toBe('Converged');
    // wd-s2 never reported: the domain waits, and says for what.
    expect(row.blockedBy?.message ?? row.message).toMatch(/wd-s2/);
  });

  it('shows one target: members with observed versions and reports, the ordered steps and why each waits', async () => {
    const res = await get(`${f.controller.url}/v1/targets/domain/print-test`);
    expect(res.status).toBe(200);
    const detail = conforming('view-target.schema.json', res.body);
    const s2 = detail.members.find((m: { name: string }) => m.name === 'wd-s2');
    expect(s2).toMatchObject({ agent: 'wd-s2', desired: '6.1.4', observed: null, online: null, lastReport: null });
    const master = detail.members.find((m: { name: string }) => m.name === 'wd-master');
    expect(master).toMatchObject({ observed: '6.1.4', online: true, state: 'Updated' });
    expect(master.lastReport).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(detail.steps.length).toBeGreaterThan(0);
    for (const s of detail.steps) expect(['now', 'by hand', 'by device', 'waiting', 'blocked']).toContain(s.state);
    expect(detail.conditions.map((c: { type: string }) => c.type)).toContain('Ready');
  });

  it('answers 404 with a code for a target that does not exist, and for an unknown kind', async () => {
    for (const path of ['/v1/targets/domain/nope', '/v1/targets/widget/print-test']) {
      const res = await get(`${f.controller.url}${path}`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'TARGET_NOT_FOUND' });
    }
    const page = await get(`${f.controller.url}/targets/domain/nope`);
    expect(page.status).toBe(404);
    expect(page.type).toMatch(/text\/html/);
    expect(page.body).toContain('domain/nope');
  });

  it('serves the observed snapshot in its schema, so plan --observed URL reads what the controller reads', async () => {
    const res = await get(`${f.controller.url}/v1/observed`);
    expect(res.status).toBe(200);
    const snapshot = conforming('observed-snapshot.schema.json', res.body);
    expect(snapshot.agents.map((a: { agent: string }) => a.agent)).toEqual(['wd-master', 'wd-s1']);
    expect(Array.isArray(snapshot.artifacts)).toBe(true);
  });

  it('plans a ref against what agents report now, and refuses an unknown or missing ref with a code', async () => {
    f.repo.git('branch', 'pr-7');
    const ok = await get(`${f.controller.url}/v1/plan?rev=pr-7`);
    expect(ok.status).toBe(200);
    const report = conforming('plan.schema.json', ok.body);
    expect(report.targets.map((t: { target: string }) => t.target)).toEqual(['domain/print-test']);
    expect(report.observed).toEqual({ source: 'the controller (live)', agents: 2 });
    expect((await get(`${f.controller.url}/v1/plan?rev=no-such-branch`)).status).toBe(404);
    expect(JSON.parse((await get(`${f.controller.url}/v1/plan`)).body).error).toBe('BAD_REVISION');
  });

  it('serves the stylesheet and the script compressed and cached by content, and no other file', async () => {
    const page = await get(`${f.controller.url}/`);
    const css = /href="(\/assets\/style\.css\?v=[0-9a-f]{12})"/.exec(page.body)?.[1];
    expect(css).toBeDefined();
    const res = await new Promise<{ headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
      request(`${f.controller.url}${css}`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
        let bytes = 0;
        r.on('data', (c: Buffer) => (bytes += c.length)).on('end', () => resolve({ headers: r.headers, bytes }));
      }).on('error', reject).end();
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cache-control']).toMatch(/immutable/);
    expect(res.bytes).toBeLessThan(4000);
    expect((await get(`${f.controller.url}/assets/../agents.json`)).status).toBe(404);
    expect((await get(`${f.controller.url}/assets/style.css.map`)).status).toBe(404);
  });

  it('refuses to write: the read API answers 405 to anything but GET', async () => {
    const res = await fetch(`${f.controller.url}/v1/targets`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses an agent token, a wrong token, and lets a viewer token read even on loopback', async () => {
    const agent = await get(`${f.controller.url}/v1/targets`, { authorization: `Bearer ${f.tokens.get('wd-s1')}` });
    expect(agent.status).toBe(403);
    expect(JSON.parse(agent.body).error).toBe('AGENT_TOKEN');
    const wrong = await get(`${f.controller.url}/v1/targets`, { authorization: 'Bearer vdv_not-a-token' });
    expect(wrong.status).toBe(401);
    const viewer = await get(`${f.controller.url}/v1/targets`, { authorization: `Bearer ${viewerToken}` });
    expect(viewer.status).toBe(200);
  });

  it('pages the history of a target from Git, newest first, with a cursor', async () => {
    for (const v of ['6.1.3', '6.1.4']) {
      f.repo.write('domains/print-test.yaml',
        f.repo.read('domains/print-test.yaml').replace(/watchdoc-6\.1\.\d/, `watchdoc-${v}`));
      f.repo.commitAll(`print-test to ${v} (PR #${v.at(-1)})`);
    }
    const first = await eventually(async () => {
      const res = await get(`${f.controller.url}/v1/targets/domain/print-test/history?limit=2`);
      const page = conforming('view-history.schema.json', res.body);
      return page.total >= 3 ? page : undefined;
    }, 10_000, 'the new commits in the history');
    expect(first.events).toHaveLength(2);
    expect(first.events[0].type === 'desired' ? first.events[0].subject : first.events[1].subject)
      .toMatch(/to 6\.1\.4/);
    expect(first.next).toBe(first.events[1].commit);
    const second = JSON.parse(
      (await get(`${f.controller.url}/v1/targets/domain/print-test/history?limit=2&cursor=${first.next}`)).body,
    );
    expect(second.events[0].commit).not.toBe(first.events[1].commit);
    const seen = [...first.events, ...second.events].map((e: { commit: string }) => e.commit);
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await get(`${f.controller.url}/v1/targets/domain/print-test/history?cursor=${'0'.repeat(40)}`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('BAD_CURSOR');
    expect((await get(`${f.controller.url}/v1/targets/domain/print-test/history?limit=0`)).status).toBe(400);
  });

  it('streams status changes, and a client reconnecting with Last-Event-ID gets what it missed', async () => {
    const s2 = f.agent('wd-s2');
    const first = readEvents(`${f.controller.url}/v1/events`, {}, (t) => /event: status/.test(t));
    await new Promise((r) => setTimeout(r, 200));
    await s2.report();
    const text = await first;
    expect(text).toMatch(/^retry: \d+/);
    const id = /id: (\S+)\nevent: status\ndata: (.*)\n/.exec(text);
    expect(id).not.toBeNull();
    expect(JSON.parse(id![2]!)).toMatchObject({ target: 'domain/print-test' });

    // Changes while disconnected are replayed after the id the client last saw.
    s2.follow(50);
    f.agent('wd-s1').follow(50);
    await eventually(() => f.controller.loop.statusOf('domain/print-test')?.phase === 'Converged', 15_000,
      'convergence');
    const replay = await readEvents(`${f.controller.url}/v1/events`, { 'last-event-id': id![1]! },
      (t) => /"phase":"Converged"/.test(t), 3000);
    expect(replay).toMatch(/"phase":"Converged"/);
    expect(replay).not.toContain(`id: ${id![1]}\n`);
    // An id from another run of the controller: told to read everything again.
    const reset = await readEvents(`${f.controller.url}/v1/events`, { 'last-event-id': 'older-run-5' },
      (t) => /event: reset/.test(t), 3000);
    expect(reset).toMatch(/event: reset/);
  });
});

describe('the read API beyond loopback', () => {
  let f: Fixture;
  let viewers: AgentCredentials;
  let token: string;
  beforeAll(async () => {
    f = await startFixture({
      repo: domainRepo(), agents: ['wd-master'], controller: { host: '0.0.0.0', insecureListen: true },
    });
    viewers = await openViewerCredentials(f.stateDir);
    token = await viewers.add('bob');
  });
  afterAll(async () => {
    await f?.close();
  });
  const url = () => f.controller.url.replace('0.0.0.0', '127.0.0.1');

  it('needs a viewer token: none is 401, a viewer token reads, ' +
    'a removed one is refused at the next request', async () => {
    expect((await get(`${url()}/v1/targets`)).status).toBe(401);
    expect((await get(`${url()}/v1/events`)).status).toBe(401);
    expect((await get(`${url()}/v1/targets`, { authorization: `Bearer ${token}` })).status).toBe(200);
    await viewers.remove('bob');
    expect((await get(`${url()}/v1/targets`, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('sends a browser without a token to the sign-in page, which sets an HttpOnly cookie', async () => {
    const page = await get(`${url()}/targets/domain/print-test`);
    expect(page.status).toBe(303);
    const fresh = await viewers.add('carol');
    const form = new URLSearchParams({ token: fresh, next: '/targets/domain/print-test' });
    const login = await fetch(`${url()}/login`, {
      method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/targets/domain/print-test');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const withCookie = await get(`${url()}/targets/domain/print-test`, { cookie: cookie.split(';')[0]! });
    expect(withCookie.status).toBe(200);
    expect(withCookie.body).toContain('print-test');
    // An open redirect is not one: next must be a path on this server.
    const evil = await fetch(`${url()}/login`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: fresh, next: '//evil.example/x' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(evil.headers.get('location')).toBe('/');
  });
});
