import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../controller/agents/agent-report.ts';
import { ReportBudget, defaultReportBudget } from '../../controller/agents/report-budget.ts';
import { isJsonMediaType } from '../../controller/agents/report-route.ts';
import { checkReportShape, REPORT_SHAPE_LIMITS } from '../../controller/agents/report-shape.ts';
import { messageValidator, REPORT_SCHEMA } from '../../protocol/schema-validation.ts';

const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));
const MiB = 1024 * 1024;

/** Issue 14, items 2 and 3, below the HTTP server (test/run/agent-report-flood.test.ts goes through it). */
describe('the cost of an invalid report', () => {
  const serves = (n: number, item = '1') => Buffer.from(
    `{"sequence":1,"components":[{"product":"wrs","serves":[${`${item},`.repeat(n - 1)}${item}]}]}`,
  );

  it('a 1 MB list of wrong items is refused in milliseconds, naming the list, without parsing it', () => {
    const body = serves(500_000);
    expect(body.length).toBeGreaterThan(990_000);
    const started = performance.now();
    const verdict = parseReport(body);
    const ms = performance.now() - started;
    expect(verdict).toMatchObject({ ok: false, error: 'INVALID_REPORT', field: 'components[0].serves' });
    // ~1 ms; it was ~1 s (an error object per item). Generous for a loaded CI machine.
    expect(ms).toBeLessThan(100);
  });

  it('a list within the scan limits but over its maxItems is refused by the schema with the field', () => {
    expect(parseReport(serves(300, '"4.3.0"'))).toMatchObject({
      ok: false,
      field: 'components[0].serves',
      message: 'components[0].serves: lists more than 256 items',
    });
  });

  it('names the first wrong item from the first-error check alone', () => {
    const verdict = parseReport(Buffer.from('{"sequence":1,"components":[{"product":"wrs","serves":["4.3.0",1,2]}]}'));
    const field = 'components[0].serves[1]';
    expect(verdict).toMatchObject({ ok: false, field, message: `${field}: must be string` });
  });

  it('a report of typical size is not scanned, and a valid report near 1 MiB passes the scan', () => {
    const small = Buffer.from(`{"a":[${'1,'.repeat(2000)}1]}`);
    expect(checkReportShape(small)).toBeUndefined();
    // Every list of a valid report at its limit that fits in 1 MiB: content entries.
    const entry = `{"path":"defs/x.bin","sha256":"${'a'.repeat(64)}"}`;
    const content = Array.from({ length: 8192 }, () => entry).join(',');
    const body = Buffer.from(`{"sequence":1,"components":[],"facts":{"content":{"patches":[${content}]}}}`);
    expect(body.length).toBeLessThan(MiB);
    expect(checkReportShape(body)).toBeUndefined();
    expect(parseReport(body).ok).toBe(true);
  });

  it('the scan names lists, objects, nesting and the total, and skips strings', () => {
    const all = { ...REPORT_SHAPE_LIMITS, scanFromBytes: 0 };
    expect(checkReportShape(Buffer.from(`{"a\\"b,[":{"c":[[${'1,'.repeat(9000)}1]]}}`), all)).toEqual({
      field: 'a"b,[.c[0]',
      message: 'a"b,[.c[0]: lists more than 8192 items',
    });
    expect(checkReportShape(Buffer.from(`{"x":"${'],['.repeat(10_000)}\\\\"}`), all)).toBeUndefined();
    const fields = Array.from({ length: 65 }, (_, i) => `"f${i}":1`).join(',');
    expect(checkReportShape(Buffer.from(`{"facts":{${fields}}}`), all)?.field).toBe('facts');
    expect(checkReportShape(Buffer.from(`{"a":${'['.repeat(20)}`), all)?.message).toMatch(/nests deeper than 16/);
    const lists = Array.from({ length: 10 }, () => `[${'1,'.repeat(7999)}1]`).join(',');
    const total = checkReportShape(Buffer.from(`{"a":[${lists}]}`), all);
    expect(total?.message).toBe('the report holds more than 65536 values');
    // Not JSON: left to JSON.parse, which says so.
    expect(checkReportShape(Buffer.from('{"a":"unterminated'), all)).toBeUndefined();
    expect(parseReport(Buffer.from(`{"a":"${'x'.repeat(20_000)}`))).toMatchObject({ ok: false, error: 'INVALID_JSON' });
  });
});

describe('every list of the agent schemas is bounded', () => {
  const names = ['agent-report', 'agent-report-answer', 'agent-command', 'observed-snapshot'];
  const files = names.map((f) => `${f}.schema.json`);
  it.each(files)(
    '%s: maxItems on every array, documented in its description',
    (file) => {
      const unbounded: string[] = [];
      const walk = (node: unknown, path: string) => {
        if (node === null || typeof node !== 'object') return;
        const o = node as Record<string, unknown>;
        if (o['type'] === 'array') {
          if (typeof o['maxItems'] !== 'number') unbounded.push(path);
          else if (!/at most/i.test(String(o['description']))) unbounded.push(`${path} (description)`);
        }
        for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
      };
      walk(JSON.parse(readFileSync(SCHEMAS + file, 'utf8')), '');
      expect(unbounded).toEqual([]);
    },
  );

  it('the OpenAPI document lists the 429 answer of a report, with Retry-After', () => {
    type Response = { description: string; headers?: Record<string, unknown> };
    const doc = JSON.parse(readFileSync(`${SCHEMAS}agent-protocol.openapi.json`, 'utf8')) as {
      paths: Record<string, { post: { responses: Record<string, Response> } }>;
    };
    const answer = doc.paths['/v1/agents/{id}/report']!.post.responses['429'];
    expect(answer?.description).toMatch(/^TOO_MANY_REQUESTS/);
    expect(answer?.headers?.['Retry-After']).toMatchObject({ required: true, schema: { type: 'integer', minimum: 1 } });
  });

  it('a report component keeps its installedAt', () => {
    const validate = messageValidator(REPORT_SCHEMA);
    expect(validate({ sequence: 1, components: [{ product: 'ums', installedAt: '2026-11-22T10:00:00Z' }] })).toBe(true);
  });
});

describe('Content-Type of a report', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON;charset="UTF-8"', true],
    ['application/json; charset=utf8', true],
    [undefined, false],
    ['', false],
    ['text/plain', false],
    ['application/json-seq', false],
    ['application/jsonx', false],
    ['application/json; charset=iso-8859-1', false],
    ['application/x-www-form-urlencoded', false],
  ])('%s → %s', (type, ok) => {
    expect(isJsonMediaType(type)).toBe(ok);
  });
});

describe('per-agent report budget', () => {
  const options = defaultReportBudget(MiB);

  it('a well-behaved agent never gets a bucket, whatever its report rate', () => {
    const b = new ReportBudget(options);
    for (let t = 0; t < 10_000; t++) {
      expect(b.admit('dev-1', t)).toBe(0);
      b.done('dev-1', t, { refused: false, bytes: 600 });
    }
    expect(b.tracked).toBe(0);
  });

  it('refused reports: a burst of 10, then one every 5 s, with the wait in whole seconds', () => {
    const b = new ReportBudget(options);
    let now = 0;
    for (let i = 0; i < 10; i++) {
      expect(b.admit('bad', now)).toBe(0);
      b.done('bad', now, { refused: true, bytes: 100 });
    }
    expect(b.admit('bad', now)).toBe(5);
    expect(b.admit('other', now)).toBe(0); // the others are not affected
    b.done('other', now, { refused: false, bytes: 100 });
    now += 4_000;
    expect(b.admit('bad', now)).toBe(1);
    now += 1_000;
    expect(b.admit('bad', now)).toBe(0);
  });

  it('bytes: 1 MiB reports are let through 4 MiB at once, then one per 8 s; the debt counts', () => {
    const b = new ReportBudget(options);
    let now = 0;
    for (let i = 0; i < 4; i++) {
      expect(b.admit('big', now)).toBe(0);
      b.done('big', now, { refused: false, bytes: MiB });
    }
    expect(b.admit('big', now)).toBe(1); // empty, not yet in debt
    now += 1_000;
    expect(b.admit('big', now)).toBe(0);
    b.done('big', now, { refused: false, bytes: MiB }); // 7/8 MiB in debt
    expect(b.admit('big', now)).toBe(8);
    now += 8_000;
    expect(b.admit('big', now)).toBe(0);
    b.done('big', now, { refused: false, bytes: 100 });
  });

  it('a 429 is held up to 2 s (never longer than the wait), for at most 16 connections of an agent', () => {
    const b = new ReportBudget(options);
    expect(b.hold('bad', 1)).toBe(1000);
    for (let i = 1; i < 16; i++) expect(b.hold('bad', 30)).toBe(2000);
    expect(b.hold('bad', 30)).toBe(0); // answered at once
    expect(b.hold('other', 30)).toBe(2000);
    b.release('bad');
    expect(b.hold('bad', 30)).toBe(2000);
  });

  it('at most 4 reports of one agent in flight; a full bucket is forgotten', () => {
    const b = new ReportBudget(options);
    for (let i = 0; i < 4; i++) expect(b.admit('a', 0)).toBe(0);
    expect(b.admit('a', 0)).toBe(1);
    b.done('a', 0, { refused: true, bytes: 10 });
    expect(b.admit('a', 0)).toBe(0);
    for (let i = 0; i < 4; i++) b.done('a', 0, { refused: false, bytes: 10 });
    expect(b.tracked).toBe(1);
    expect(b.admit('a', 60_000)).toBe(0);
    expect(b.tracked).toBe(0);
  });
});
