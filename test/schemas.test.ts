import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/git-repo.ts';
import { SCHEMA_FORMATS, SCHEMA_MESSAGES, schemaAt } from '../controller/desired/schema-extensions.ts';

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

/** JSON Schema 2020-12: the keywords of its vocabularies, and the formats it defines. */
const KEYWORDS = new Set([
  ...['$schema', '$id', '$ref', '$anchor', '$dynamicRef', '$dynamicAnchor', '$vocabulary', '$comment', '$defs'],
  ...['prefixItems', 'items', 'contains', 'additionalProperties', 'properties', 'patternProperties'],
  ...['dependentSchemas', 'propertyNames', 'if', 'then', 'else', 'allOf', 'anyOf', 'oneOf', 'not'],
  ...['unevaluatedItems', 'unevaluatedProperties', 'type', 'const', 'enum', 'multipleOf', 'maximum'],
  ...['exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems'],
  ...['minItems', 'uniqueItems', 'maxContains', 'minContains', 'maxProperties', 'minProperties', 'required'],
  ...['dependentRequired', 'title', 'description', 'default', 'deprecated', 'readOnly', 'writeOnly'],
  ...['examples', 'format', 'contentEncoding', 'contentMediaType', 'contentSchema'],
]);
const FORMATS = new Set([
  ...['date-time', 'date', 'time', 'duration', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4'],
  ...['ipv6', 'uri', 'uri-reference', 'iri', 'iri-reference', 'uuid', 'uri-template', 'json-pointer'],
  ...['relative-json-pointer', 'regex'],
]);
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const SCHEMA_LISTS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'];
const SCHEMA_ONE = ['additionalProperties', 'propertyNames', 'items', 'contains', 'if', 'then', 'else', 'not'];

/** Keywords and format values outside JSON Schema 2020-12, with where they are. */
function nonStandard(schema: unknown, at: string, out: string[] = []): string[] {
  if (typeof schema === 'boolean') return out;
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return [...out, `${at}: not a schema`];
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!KEYWORDS.has(key)) out.push(`${at}/${key}`);
  if ('format' in s && !FORMATS.has(String(s['format']))) out.push(`${at}/format: ${String(s['format'])}`);
  for (const k of SCHEMA_MAPS) {
    for (const [name, sub] of Object.entries((s[k] ?? {}) as object)) nonStandard(sub, `${at}/${k}/${name}`, out);
  }
  for (const k of SCHEMA_LISTS) {
    ((s[k] ?? []) as unknown[]).forEach((sub, i) => nonStandard(sub, `${at}/${k}/${i}`, out));
  }
  for (const k of [...SCHEMA_ONE, 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema']) {
    if (k in s) nonStandard(s[k], `${at}/${k}`, out);
  }
  return out;
}

describe('JSON Schemas', () => {
  it.each(files)('%s: every field has a description', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
    expect(schema.description, `${file} top-level`).toBeTruthy();
    const undocumented = properties(schema, file)
      .filter(([, s]) => typeof s.description !== 'string' && !(typeof s.$ref === 'string'))
      .filter(([, s]) => !('not' in s)) // if/then guards that forbid a field: their message is in schema-extensions.ts
      .map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  // Editors (yaml-language-server), ajv-cli in strict mode and CI tools read the files as they
  // are: JSON Schema 2020-12 keywords and formats only, `$schema` declared, `$id` the file's own
  // name (so refs resolve next to the file, issue 14, items 9 and 10).
  it.each(files)('%s: standard keywords and formats only, $schema declared, $id its file name', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(file);
    expect(nonStandard(schema, '#')).toEqual([]);
  });

  it('the messages and formats the controller adds point at schema objects that use them', () => {
    for (const [file, byPointer] of Object.entries(SCHEMA_MESSAGES)) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
      for (const pointer of Object.keys(byPointer)) {
        const at = schemaAt(schema, pointer, file);
        expect('pattern' in at || 'not' in at, `${file}#${pointer} has a pattern or a not`).toBe(true);
      }
    }
    for (const [file, byPointer] of Object.entries(SCHEMA_FORMATS)) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8'));
      for (const pointer of Object.keys(byPointer)) {
        const at = schemaAt(schema, pointer, file);
        expect(at, `${file}#${pointer}`).toMatchObject({ type: 'string' });
        expect(at['format'], `${file}#${pointer} has no format of its own`).toBeUndefined();
      }
    }
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
