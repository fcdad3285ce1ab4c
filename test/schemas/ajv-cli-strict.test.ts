/**
 * The JSON Schemas of schemas/, judged by ajv-cli in its default strict mode, as an editor
 * plug-in or a CI job runs it (issue 14, item 10): every schema compiles, and the example
 * repository's documents validate. Only ajv-formats is loaded (`-c ajv-formats`), for the
 * standard formats (date-time, uri); never `--strict=false`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXAMPLE_REPO, ROOT } from '../helpers/git-repo.ts';
import { runTool, transcript } from './run-tool.ts';

const SCHEMAS = join(ROOT, 'schemas');
const FILES = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json')).sort();
const KINDS = ['Account', 'DistributionServer', 'Domain', 'HACluster', 'Release'];
const BASE = ['--spec=draft2020', '-c', 'ajv-formats'];

/**
 * ajv-cli compiles its `-s` schemas in order, and each compiled one can be referred to by the
 * next: so the schemas others refer to come first, and one run compiles every file.
 */
const FIRST = ['common.schema.json', 'agent-command.schema.json', 'agent-report.schema.json'];
const ORDER = [...FIRST, ...FILES.filter((f) => !FIRST.includes(f))];

describe('ajv-cli, default strict mode', () => {
  const work = mkdtempSync(join(tmpdir(), 'versiond-ajv-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.concurrent('compiles every schema of schemas/', async () => {
    const run = await runTool('ajv', ['compile', ...BASE, ...ORDER.flatMap((f) => ['-s', f])], SCHEMAS);
    expect(run.code, transcript(run)).toBe(0);
    for (const file of FILES) expect(run.stdout + run.stderr, transcript(run)).toContain(`schema ${file} is valid`);
  });

  it.concurrent('validates every document of example-repo/ against its kind', async () => {
    const data: string[] = [];
    for (const dir of readdirSync(EXAMPLE_REPO)) {
      for (const file of readdirSync(join(EXAMPLE_REPO, dir)).filter((f) => f.endsWith('.yaml'))) {
        const doc = parse(readFileSync(join(EXAMPLE_REPO, dir, file), 'utf8')) as { kind: string };
        data.push(join(work, `${dir}-${basename(file, '.yaml')}.json`));
        writeFileSync(data.at(-1)!, JSON.stringify(doc));
      }
    }
    expect(data.length).toBeGreaterThanOrEqual(KINDS.length);
    // One run for every kind: a schema that sends each document to its kind's schema, by `kind`.
    const byKind = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'example-repo.schema.json',
      type: 'object',
      required: ['kind'],
      properties: { kind: { enum: KINDS } },
      allOf: KINDS.map((kind) => ({
        if: { type: 'object', required: ['kind'], properties: { kind: { const: kind } } },
        then: { $ref: `${kind.toLowerCase()}.schema.json` },
      })),
    };
    writeFileSync(join(work, 'by-kind.json'), JSON.stringify(byKind));
    const refs = ['common', ...KINDS.map((k) => k.toLowerCase())].flatMap((n) => ['-r', `${n}.schema.json`]);
    const args = ['validate', ...BASE, '-s', join(work, 'by-kind.json'), ...refs, ...data.flatMap((f) => ['-d', f])];
    const run = await runTool('ajv', args, SCHEMAS);
    expect(run.code, transcript(run)).toBe(0);
    for (const f of data) expect(run.stdout + run.stderr, transcript(run)).toContain(`${f} valid`);
  });
});
