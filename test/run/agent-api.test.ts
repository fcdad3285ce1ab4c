import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { domainRepo, DOMAIN_AGENTS, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';

/**
 * The agent API of `versiond run` (issue 4, items 1–3), against a controller running on a
 * real repository, over real HTTP on 127.0.0.1.
 */
describe('agent protocol v1', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ repo: domainRepo(), agents: [...DOMAIN_AGENTS, 'intruder'] });
  });
  afterAll(async () => {
    await f?.close();
  });

  const post = (agent: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${f.controller.url}/v1/agents/${agent}/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.tokens.get(agent)}`, 'content-type': 'application/json', ...headers },
      body,
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));

  it('mailbox: a slave gets its commands in the answer to its report, and the domain converges (seed 000)', async () => {
    const master = f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]);
    const s1 = f.agent('wd-s1');
    const s2 = f.agent('wd-s2');
    await master.report();
    await s1.report();
    // The package is verified by the controller, then the first answer carries `stage`.
    const staged = await eventually(async () => {
      const a = await s2.report();
      return a.body.commands?.find((c) => c.action === 'stage');
    }, 10_000, 'a stage command for wd-s2');
    expect(staged).toMatchObject({ target: 'domain/print-test', member: 'wd-s2', product: 'watchdoc', version: '6.1.4' });
    expect(staged.artifact?.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const a of [master, s1, s2]) a.follow(50);
    await eventually(() => f.controller.loop.statusOf('domain/print-test')?.phase === 'Converged', 15_000, 'the domain to converge');
    // Propagated before applied, on every slave: stage ran before apply.
    for (const a of [s1, s2]) expect(a.ran.map((c) => c.action)).toEqual(['stage', 'apply']);
    // The status commit lands in Git.
    await eventually(() => /phase: Converged/.test(safeShow(f, 'main:status/domain/print-test.yaml')), 10_000, 'the status commit');
    for (const a of [master, s1, s2]) a.stop();
  });

  it('an agent only ever sees its own commands', () => {
    const seen = (id: string) => f.logs.length >= 0 && f.controller.mailbox.commandsFor(id);
    expect(seen('intruder')).toEqual([]);
  });

  it('a replayed or late report is ignored with 409 and the last sequence', async () => {
    const body = (sequence: number, version: string) => JSON.stringify({ sequence, components: [{ product: 'watchdoc', version }] });
    expect((await post('intruder', body(100, '1.0.0'))).status).toBe(200);
    const replay = await post('intruder', body(100, '9.9.9'));
    expect(replay).toEqual({ status: 409, body: expect.objectContaining({ error: 'STALE_REPORT', lastSequence: 100 }) });
    expect((await post('intruder', body(99, '9.9.9'))).status).toBe(409);
    expect(f.controller.inventory.observations.get('intruder')?.components[0]?.version).toBe('1.0.0');
  });

  it.each([
    ['no token', 'wd-s2', { authorization: '' }, '{"sequence":1000,"components":[]}', 401, 'UNAUTHENTICATED', undefined],
    ['an unknown token', 'wd-s2', { authorization: 'Bearer vda_not-a-real-token' }, '{"sequence":1000,"components":[]}', 401, 'UNAUTHENTICATED', undefined],
    ['another agent\'s token', 'wd-s2', { authorization: 'Bearer TOKEN:intruder' }, '{"sequence":1000,"components":[]}', 403, 'FORBIDDEN', undefined],
    ['a body that is not JSON', 'intruder', {}, '{"sequence":', 400, 'INVALID_JSON', undefined],
    ['a wrong field type', 'intruder', {}, '{"sequence":1000,"components":[{"product":"watchdoc","version":6}]}', 400, 'INVALID_REPORT', 'components[0].version'],
    ['a missing field', 'intruder', {}, '{"sequence":1000}', 400, 'INVALID_REPORT', 'components'],
    ['an unknown field', 'intruder', {}, '{"sequence":1000,"components":[],"colour":"red"}', 400, 'INVALID_REPORT', 'colour'],
    ['a bad enum value', 'intruder', {}, '{"sequence":1000,"components":[{"product":"x","state":"asleep"}]}', 400, 'INVALID_REPORT', 'components[0].state'],
    ['a wrong media type', 'intruder', { 'content-type': 'text/plain' }, '{"sequence":1000,"components":[]}', 415, 'UNSUPPORTED_MEDIA_TYPE', undefined],
  ])('refuses %s, and keeps nothing of it', async (_what, agent, headers, body, status, error, field) => {
    const before = f.controller.inventory.observations.get(agent);
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace(/^Bearer TOKEN:(.+)$/, (_m, id: string) => `Bearer ${f.tokens.get(id)}`)]));
    const res = await post(agent, body, h);
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(error);
    expect(typeof res.body.message).toBe('string');
    if (field !== undefined) expect(res.body.field).toBe(field);
    expect(f.controller.inventory.observations.get(agent)).toBe(before);
  });

  it('refuses a body over the size limit with 413, and the server goes on serving others', async () => {
    const huge = JSON.stringify({ sequence: 5000, components: [{ product: 'x', version: 'y'.repeat(2 * 1024 * 1024) }] });
    const res = await post('intruder', huge);
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('BODY_TOO_LARGE');
    const ok = await post('intruder', JSON.stringify({ sequence: 5001, components: [] }));
    expect(ok.status).toBe(200);
  });

  it('an agent added by another process while the controller runs can report at once', async () => {
    const other = await AgentCredentials.open(f.stateDir);
    const token = await other.add('late-agent');
    // Unknown tokens make the controller look at the file at most every 250 ms; the table above just sent some.
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${f.controller.url}/v1/agents/late-agent/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sequence: 1, components: [] }),
    });
    expect(res.status).toBe(200);
  });

  it('agents registered together and reporting at once are all let in by the same look at the file', async () => {
    await new Promise((r) => setTimeout(r, 300)); // past the throttle of the tests above
    const other = await AgentCredentials.open(f.stateDir);
    const ids = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    const tokens: string[] = [];
    for (const id of ids) tokens.push(await other.add(id));
    const answers = await Promise.all(
      ids.map((id, i) =>
        fetch(`${f.controller.url}/v1/agents/${id}/report`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sequence: 1, components: [] }),
        }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(ids.map(() => 200));
  });

  it('answers other methods and paths with the protocol\'s errors', async () => {
    const get = await fetch(`${f.controller.url}/v1/agents/intruder/report`);
    expect(get.status).toBe(405);
    const nowhere = await fetch(`${f.controller.url}/v1/nowhere`);
    expect(nowhere.status).toBe(404);
  });

  it('serves health, readiness, the controller key and Prometheus metrics', async () => {
    expect((await fetch(`${f.controller.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${f.controller.url}/readyz`)).status).toBe(200);
    const key = (await (await fetch(`${f.controller.url}/v1/controller-key`)).json()) as { publicKey: string };
    expect(Buffer.from(key.publicKey, 'base64')).toHaveLength(32);
    const metrics = await (await fetch(`${f.controller.url}/metrics`)).text();
    for (const name of [
      'versiond_reconciles_total{kind="Domain",outcome="ok"}',
      'versiond_reconcile_duration_seconds_count{kind="Domain"}',
      'versiond_queue_depth',
      'versiond_agents{state="online"}',
      'versiond_commands_pending',
      'versiond_last_applied_revision_timestamp_seconds{revision="',
      'versiond_status_commits_total',
      'versiond_agent_reports_total{outcome="accepted"}',
      'versiond_agent_reports_total{outcome="FORBIDDEN"}',
      'versiond_status_push_retries_total',
    ]) expect(metrics).toContain(name);
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(gauge('process_resident_memory_bytes')).toBeGreaterThan(gauge('nodejs_heap_size_used_bytes'));
    expect(gauge('nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(gauge('nodejs_heap_size_used_bytes'));
    expect(gauge('nodejs_heap_size_used_bytes')).toBeGreaterThan(1024 * 1024);
  });
});

function safeShow(f: Fixture, spec: string): string {
  try {
    return f.repo.git('show', spec);
  } catch {
    return '';
  }
}
