/**
 * The agent protocol's OpenAPI document, judged by the tools people use on it (issue 14, item 9):
 * redocly lint (recommended rules), swagger-parser, openapi-typescript + tsc. The document must
 * stand alone (no file or network to fetch), the JSON Schemas' refs must resolve to the files
 * next to them, and its generated `components/schemas` must be what scripts/bundle-openapi.ts
 * makes of those schemas.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OPENAPI_FILE, SCHEMA_DIR, renderOpenApi } from '../../scripts/bundle-openapi.ts';
import { runTool, transcript } from './run-tool.ts';

type Json = { [key: string]: unknown };
const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json;

/** operationId of every operation of the document, its paths and its webhooks. */
function operationIds(): string[] {
  const ids: string[] = [];
  for (const group of ['paths', 'webhooks']) {
    for (const item of Object.values((document[group] ?? {}) as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item)) {
        if (['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method)) {
          ids.push(String((op as Json)['operationId']));
        }
      }
    }
  }
  return ids.sort();
}

/** Every `$ref` under `node`, skipping literal values. */
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) refs(v, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else if (!['const', 'enum', 'default', 'examples'].includes(k)) refs(v, out);
    }
  }
  return out;
}

function pointerExists(root: unknown, fragment: string): boolean {
  let node = root;
  for (const raw of fragment === '' ? [] : fragment.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return false;
    node = (node as Json)[key];
  }
  return true;
}

/**
 * One typed call per operation, on the `operations` type openapi-typescript generates: the
 * request (path and header parameters, body) and what the answers carry. Each entry also
 * refuses a wrong call, so a type that lets anything through fails too.
 */
const CALLS: Record<string, string> = {
  report: `
    const r = await call('report', {
      params: { path: { id: 'wd-paris-s1' } },
      body: {
        sequence: 42,
        sentAt: '2026-11-22T10:00:00Z',
        components: [{ product: 'watchdoc', version: '6.1.3', staged: { version: '6.1.4', verified: true } }],
        results: [{ id: '3f9c0a1b2c3d4e5f', status: 'succeeded', at: '2026-11-22T09:59:58Z' }],
        facts: { registeredMembers: ['wd-paris-s1'] },
      },
    });
    const answer = r[200].content['application/json'];
    const after: number = answer.reportAfterSeconds;
    const first = answer.commands[0];
    const action: 'stage' | 'apply' | 'restart' | 'sync' | 'backup' | 'migrate' | 'end-update-mode' | undefined =
      first?.action;
    const sha: string | undefined = first?.artifact?.sha256;
    const params: unknown = first?.params?.['content'];
    const field: string | undefined = r[400].content['application/json'].field;
    const last: number | undefined = r[409].content['application/json'].lastSequence;
    const retry: number = r[429].headers['Retry-After'];
    // @ts-expect-error a sequence is a number
    await call('report', { params: { path: { id: 'x' } }, body: { sequence: '42', components: [], results: [] } });
    return [after, action, sha, params, field, last, retry];`,
  controllerKey: `
    const r = await call('controllerKey', { params: {} });
    const key = r[200].content['application/json'];
    const algorithm: 'ed25519' = key.algorithm;
    const publicKey: string = key.publicKey;
    // @ts-expect-error the key has no other field
    const other = key.privateKey;
    return [algorithm, publicKey, other, r[408]];`,
  gitWebhook: `
    const r = await call('gitWebhook', { params: {} });
    return [r[202], r[204], r[400], r[401], r[405], r[408], r[413]];`,
  healthz: `
    const r = await call('healthz', { params: {} });
    // @ts-expect-error healthz never answers 503
    const down = r[503];
    return [r[200], r[408], down];`,
  readyz: `
    const r = await call('readyz', { params: {} });
    return [r[200], r[408], r[503]];`,
  metrics: `
    const r = await call('metrics', { params: {} });
    const text: string = r[200].content['text/plain; version=0.0.4'];
    return [text, r[408]];`,
  pushCommands: `
    const r = await call('pushCommands', {
      params: { header: { 'X-Versiond-Signature': 'ed25519=AAAA' } },
      body: {
        agent: 'wd-paris-s1',
        sentAt: '2026-11-22T10:00:00Z',
        commands: [{ id: '8d1e0a1b2c3d4e5f', action: 'apply', target: 'domain/print-paris', member: 'wd-paris-s1' }],
      },
    });
    const wrong = { agent: 'a', sentAt: 'now', commands: [{ id: '1', action: 'reboot', target: 't', member: 'm' }] };
    // @ts-expect-error a command's action is one of the listed ones
    await call('pushCommands', { params: { header: { 'X-Versiond-Signature': 'x' } }, body: wrong });
    return [r[202], r[401]];`,
  listTargets: `
    const r = await call('listTargets', { params: {} });
    const fleet = r[200].content['application/json'];
    const revision: string | null = fleet.revision;
    const row = fleet.targets[0];
    const phase: 'Pending' | 'Progressing' | 'Converged' | 'Waiting' | 'Blocked' | 'Failed' | 'Paused' | undefined = row?.phase;
    const held: 'waiting' | 'stalled' | undefined = row?.blockedBy?.category;
    const who: 'person' | 'controller' | undefined = row?.attention;
    const done: number | undefined = row?.progress.done;
    const unauthenticated: string = r[401].content['application/json'].error;
    // @ts-expect-error a row's summary is a string, never null
    const summary: null = row!.summary;
    return [revision, phase, held, who, done, unauthenticated, summary, r[403], r[405].headers.Allow, r[408], r[500]];`,
  getTarget: `
    const r = await call('getTarget', { params: { path: { kind: 'account', name: 'acme-w360' } } });
    const t = r[200].content['application/json'];
    const phase: string = t.phase;
    const state: 'Pending' | 'Waiting' | 'Staged' | 'Updating' | 'PendingRestart' | 'Updated' | 'Ahead' | 'Failed' | undefined =
      t.members[0]?.state;
    const online: boolean | null | undefined = t.members[0]?.online;
    const step: 'now' | 'by hand' | 'by device' | 'waiting' | 'blocked' | undefined = t.steps[0]?.state;
    const snippet: string | undefined = t.waves?.waves[0]?.approval?.snippet;
    const detail: unknown = t.details['preflight'];
    const missing: string = r[404].content['application/json'].error;
    // @ts-expect-error the kind is one of the four target kinds, lower case
    await call('getTarget', { params: { path: { kind: 'release', name: 'x' } } });
    return [phase, state, online, step, snippet, detail, missing];`,
  getTargetHistory: `
    const r = await call('getTargetHistory', {
      params: { path: { kind: 'hacluster', name: 'ums-prod' }, query: { cursor: '0123456789abcdef0123456789abcdef01234567', limit: 20 } },
    });
    const page = r[200].content['application/json'];
    const next: string | null = page.next;
    const event = page.events[0];
    const when: string | undefined = event?.date;
    const fields = event?.type === 'desired' ? event.changes[0]?.fields : undefined;
    const phase = event?.type === 'status' ? event.targets[0]?.phase : undefined;
    const bad: string = r[400].content['application/json'].message;
    // @ts-expect-error limit is a number
    await call('getTargetHistory', { params: { path: { kind: 'domain', name: 'x' }, query: { limit: '20' } } });
    return [next, when, fields, phase, bad, r[404]];`,
  getObserved: `
    const r = await call('getObserved', { params: {} });
    const snapshot = r[200].content['application/json'];
    const agent: string | undefined = snapshot.agents[0]?.agent;
    return [agent, r[401], r[403]];`,
  planRevision: `
    const r = await call('planRevision', { params: { query: { rev: 'carol/acme-media' } } });
    const plan = r[200].content['application/json'];
    const outcome: 'planned' | 'unusable' | 'no-reconciler' | undefined = plan.targets[0]?.outcome;
    const invalid = r[422].content['application/json'];
    const code: 'REVISION_INVALID' = invalid.error;
    const line: number | undefined = invalid.diagnostics[0]?.line;
    const busy: string = r[503].content['application/json'].error;
    // @ts-expect-error rev is required
    await call('planRevision', { params: { query: {} } });
    return [outcome, code, line, busy, r[400], r[404]];`,
  streamEvents: `
    const r = await call('streamEvents', { params: { header: { 'Last-Event-ID': 'boot-12' }, query: { lastEventId: 'boot-12' } } });
    const stream: string = r[200].content['text/event-stream'];
    const retry: number = r[503].headers['Retry-After'];
    return [stream, retry];`,
};

function clientSource(): string {
  const functions = Object.entries(CALLS).map(([id, body]) => `export async function ${id}Call() {${body}\n}`);
  return `import type { operations } from './api';

type Params<O> = O extends { parameters: infer P } ? P : never;
type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
type Answers<O> = O extends { responses: infer R } ? R : never;
/** The smallest typed client over \`operations\`, as openapi-fetch and the like build one. */
declare function call<K extends keyof operations>(
  operation: K,
  request: { params: Params<operations[K]>; body?: Body<operations[K]> },
): Promise<Answers<operations[K]>>;

${functions.join('\n\n')}
`;
}

describe('the agent protocol OpenAPI document', () => {
  const work = mkdtempSync(join(tmpdir(), 'versiond-openapi-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is what scripts/bundle-openapi.ts makes of schemas/ (npm run schemas:openapi)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApi());
  });

  it.concurrent('passes redocly lint with the recommended rules: no error, no warning', async () => {
    const run = await runTool('redocly', ['lint', '--extends=recommended', '--format=json', OPENAPI_FILE]);
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { totals: object; problems: unknown[] };
    expect(report.problems, transcript(run)).toEqual([]);
    expect(report.totals, transcript(run)).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(run.code, transcript(run)).toBe(0);
  });

  it.concurrent('passes swagger-parser validate standing alone: no file or network resolver', async () => {
    const api = await SwaggerParser.validate(structuredClone(document) as never, {
      resolve: { file: false, http: false },
    });
    expect(Object.keys(api.paths ?? {}).length).toBeGreaterThan(0);
    expect(refs(document).filter((r) => !r.startsWith('#/'))).toEqual([]);
  });

  it.concurrent('gives an openapi-typescript client that type-checks a call per operation', async () => {
    expect(Object.keys(CALLS).sort()).toEqual(operationIds()); // a new operation needs its call here
    const api = join(work, 'api.ts'); // .ts, not .d.ts: checked even with skipLibCheck
    const generated = await runTool('openapi-typescript', [OPENAPI_FILE, '--output', api]);
    expect(generated.code, transcript(generated)).toBe(0);
    writeFileSync(join(work, 'client.ts'), clientSource());
    const tsc = await runTool('tsc', [
      '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--target', 'es2022', '--module', 'esnext',
      '--moduleResolution', 'bundler', '--skipLibCheck', join(work, 'client.ts'),
    ], work);
    expect(tsc.stdout + tsc.stderr, transcript(tsc)).toBe('');
    expect(tsc.code).toBe(0);
  });
});

describe('the JSON Schemas resolve from their files alone', () => {
  const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));

  // JSON Schema 2020-12: a ref resolves against the schema's `$id`, itself resolved against
  // where the file was read from. An absolute `$id` on a host the project does not serve
  // sends a spec-following tool to that host.
  it.each(files)('%s: every $ref, resolved against its $id, is a file of schemas/', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as Json;
    const base = new URL(String(schema['$id'] ?? ''), pathToFileURL(join(SCHEMA_DIR, file)));
    const wrong: string[] = [];
    for (const ref of refs(schema)) {
      const url = new URL(ref, base);
      const fragment = decodeURIComponent(url.hash.slice(1));
      const target = url.protocol === 'file:' ? decodeURIComponent(url.pathname) : '';
      const ok = url.href.split('#')[0] === base.href.split('#')[0] // within this schema
        ? pointerExists(schema, fragment)
        : url.protocol === 'file:' && target.startsWith(SCHEMA_DIR) && existsSync(target)
          && pointerExists(JSON.parse(readFileSync(target, 'utf8')), fragment);
      if (!ok) wrong.push(`${ref} -> ${url.href}`);
    }
    expect(wrong).toEqual([]);
  });
});
