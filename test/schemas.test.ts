import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/git-repo.ts';

/** The schemas are the reference documentation and drive editor completion. */
const SCHEMAS = join(ROOT, 'schemas');
const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'));

/** Every property defined anywhere in a schema, with its JSON path. */
function properties(node: unknown, path: string, out: [string, Record<string, unknown>][] = []) {
  if (!node || typeof node !== 'object') return out;
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'properties' && value && typeof value === 'object') {
      for (const [name, schema] of Object.entries(value as Record<string, unknown>)) {
        out.push([`${path}.${name}`, schema as Record<string, unknown>]);
      }
    }
    // `if` subschemas are conditions on a field declared elsewhere, not declarations.
    if (key !== 'if' && value && typeof value === 'object') properties(value, `${path}/${key}`, out);
  }
  return out;
}

describe('JSON Schemas', () => {
  it.each(files)('%s: every field has a description', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
    expect(schema.description, `${file} top-level`).toBeTruthy();
    const undocumented = properties(schema, file)
      .filter(([, s]) => typeof s.description !== 'string' && !(typeof s.$ref === 'string'))
      .filter(([, s]) => !('not' in s)) // if/then guards that forbid a field carry x-message instead
      .map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  it('validate --format json output conforms to schemas/validate-result.schema.json', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'validate-result.schema.json'), 'utf8')));
    const r = spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), 'validate', '--repo', 'example-repo', '--format', 'json'], { cwd: ROOT, encoding: 'utf8' });
    const out = JSON.parse(r.stdout);
    expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
    expect(out.valid).toBe(true);
  });
});
