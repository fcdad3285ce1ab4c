import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { KINDS, type Kind } from '../../reconcilers/model/desired.ts';
import { tryParseVersion } from '../../protocol/version.ts';
import type { FieldPath, Finding } from './diagnostics.ts';
import { extendSchema } from './schema-extensions.ts';
import { sourceTextAt, type ParsedYaml } from './parse-document.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));
const SCHEMA_FILE: Readonly<Record<Kind, string>> = {
  Release: 'release.schema.json',
  Domain: 'domain.schema.json',
  Account: 'account.schema.json',
  DistributionServer: 'distributionserver.schema.json',
  HACluster: 'hacluster.schema.json',
};

const timeZones = new Map<string, boolean>();

/** Whether `tz` is an IANA zone this runtime knows; answers are cached (building a formatter is slow). */
export function isTimeZone(tz: string): boolean {
  let known = timeZones.get(tz);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      known = true;
    } catch {
      known = false;
    }
    if (timeZones.size < 10_000) timeZones.set(tz, known);
  }
  return known;
}

let ajvInstance: Ajv2020 | undefined;
let compiled: Readonly<Record<Kind, ValidateFunction>> | undefined;
const compiledByFile = new Map<string, ValidateFunction>();

/**
 * One ajv for every schema of versiond, with its formats; the schemas get the controller's
 * own formats and messages from schema-extensions.ts. `useDefaults` fills the schemas'
 * `default`s, so the schema is the single source of truth for defaults. It reports all errors
 * (a document is explained whole): agent reports, untrusted and large, are checked instead by
 * `protocol/schema-validation.ts`, which stops at the first.
 */
function ajv(): Ajv2020 {
  ajvInstance ??= newAjv();
  return ajvInstance;
}

/** Schema object -> the controller's message for it (ajv gives it back as `parentSchema`). */
const messages = new WeakMap<object, string>();

function newAjv(): Ajv2020 {
  const a = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, useDefaults: true });
  addFormats(a);
  a.addFormat('versiond-version', { type: 'string', validate: (s: string) => tryParseVersion(s).ok });
  a.addFormat('versiond-time-zone', { type: 'string', validate: isTimeZone });
  // Every schema is added (not compiled) up front, so one may refer to another's `$defs`
  // (the observed snapshot reuses the agent protocol's shapes); each is compiled on first use.
  // A schema's `$id` is its file name, so refs resolve the same here as from the files.
  for (const file of readdirSync(SCHEMA_DIR)) {
    if (!file.endsWith('.schema.json')) continue;
    const schema = readJson(file);
    if ((schema as { $id?: unknown }).$id !== file) throw new Error(`schema ${file}: its $id must be "${file}"`);
    extendSchema(file, schema, messages);
    a.addSchema(schema);
  }
  return a;
}

/** Compiles every kind's schema once per process (compilation is the expensive part). */
function validators(): Readonly<Record<Kind, ValidateFunction>> {
  if (compiled) return compiled;
  const out = {} as Record<Kind, ValidateFunction>;
  for (const kind of KINDS) out[kind] = schemaValidator(SCHEMA_FILE[kind]);
  compiled = out;
  return out;
}

/**
 * The compiled validator of any schema file in schemas/, compiled once. It collects all errors,
 * so its work and memory grow with the input: do not run it on untrusted input to explain it
 * (a 1 MiB list of wrong items is half a million errors, issue 14).
 */
export function schemaValidator(file: string): ValidateFunction {
  let v = compiledByFile.get(file);
  if (!v) {
    const found = ajv().getSchema(file);
    if (!found) throw new Error(`schema ${file} is not in schemas/`);
    compiledByFile.set(file, (v = found));
  }
  return v;
}

function readJson(file: string): object {
  return JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')) as object;
}

/**
 * Validates one document against its kind's schema, filling defaults in place, and turns
 * ajv's errors into catalogue findings that point at the offending field (or its key).
 */
export function validateAgainstSchema(
  kind: Kind,
  value: Record<string, unknown>,
  yaml: ParsedYaml,
  context: { path: string; target?: string },
): Finding[] {
  return validateWith(validators()[kind], value, yaml, context);
}

/** Validates `value` with a compiled schema and returns catalogue findings located in `yaml`. */
export function validateWith(
  validate: ValidateFunction,
  value: unknown,
  yaml: ParsedYaml,
  context: { path: string; target?: string },
): Finding[] {
  if (validate(value)) return [];
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const error of validate.errors ?? []) {
    const f = translate(error, value, yaml, context);
    if (!f) continue;
    const key = `${f.code}|${JSON.stringify(f.field)}|${JSON.stringify(f.data)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(f);
  }
  return findings;
}

function translate(
  e: ErrorObject,
  root: unknown,
  yaml: ParsedYaml,
  ctx: { path: string; target?: string },
): Finding | undefined {
  const field = pointerToPath(e.instancePath, root);
  const base = { path: ctx.path, ...(ctx.target !== undefined ? { target: ctx.target } : {}) };
  const custom = e.parentSchema !== undefined ? messages.get(e.parentSchema) : undefined;
  switch (e.keyword) {
    case 'if':
      return undefined; // the `then` branch reports the real problem
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return { ...base, code: 'MISSING_FIELD', data: { field: missing }, field: [...field, missing], atKey: false };
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const suggestion = closest(extra, known);
      return {
        ...base,
        code: 'UNKNOWN_FIELD',
        data: suggestion ? { field: extra, suggestion } : { field: extra },
        field: [...field, extra],
        atKey: true,
      };
    }
    case 'type': {
      const expected = yamlTypeName((e.params as { type: string }).type);
      const actual = yamlTypeOf(e.data);
      let hint: string | undefined;
      if (expected === 'string' && typeof e.data === 'number') {
        const written = sourceTextAt(yaml, field) ?? String(e.data);
        hint = written === String(e.data)
          ? `quote it: "${written}"`
          : `quote it: "${written}" — YAML reads ${written} as the number ${String(e.data)}`;
      }
      return { ...base, code: 'WRONG_TYPE', data: hint ? { expected, actual, hint } : { expected, actual }, field };
    }
    case 'enum':
      return { ...base, code: 'NOT_ALLOWED_VALUE', data: { allowed: (e.params as { allowedValues: unknown[] }).allowedValues, actual: e.data }, field };
    case 'const':
      return { ...base, code: 'NOT_ALLOWED_VALUE', data: { allowed: [(e.params as { allowedValue: unknown }).allowedValue], actual: e.data }, field };
    case 'pattern':
    case 'format': {
      if (typeof e.data === 'string' && e.data !== e.data.trim()) {
        return { ...base, code: 'NAME_WHITESPACE', data: { value: e.data }, field };
      }
      if (e.keyword === 'format') return formatFinding((e.params as { format: string }).format, e.data, field, base);
      return { ...base, code: 'BAD_FORMAT', data: { detail: custom ?? `must match ${e.schema as string}` }, field };
    }
    case 'not':
    case 'false schema':
      return { ...base, code: 'SCHEMA_VIOLATION', data: { detail: custom ?? 'is not allowed here' }, field, atKey: true };
    case 'minItems':
      return { ...base, code: 'SCHEMA_VIOLATION', data: { detail: `must list at least ${(e.params as { limit: number }).limit} item(s)` }, field };
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number };
      return { ...base, code: 'SCHEMA_VIOLATION', data: { detail: `lists ${JSON.stringify((e.data as unknown[])[i])} twice (items ${j} and ${i})` }, field: [...field, i] };
    }
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit;
      const detail = {
        minimum: `must be at least ${limit}`,
        maximum: `must be at most ${limit}`,
        minLength: `must be at least ${limit} character(s) long`,
        maxLength: `must be at most ${limit} characters long`,
      }[e.keyword];
      return { ...base, code: 'SCHEMA_VIOLATION', data: { detail }, field };
    }
    default:
      return { ...base, code: 'SCHEMA_VIOLATION', data: { detail: e.message ?? e.keyword }, field };
  }
}

function formatFinding(format: string, data: unknown, field: FieldPath, base: { path: string; target?: string }): Finding {
  if (format === 'versiond-version') {
    const r = tryParseVersion(String(data));
    return { ...base, code: 'INVALID_VERSION', data: { value: data, reason: r.ok ? 'not a version' : r.reason }, field };
  }
  if (format === 'versiond-time-zone') {
    return { ...base, code: 'BAD_FORMAT', data: { detail: `unknown time zone ${JSON.stringify(data)} (use an IANA name such as "Europe/Paris" or "UTC")` }, field };
  }
  if (format === 'uri') return { ...base, code: 'BAD_FORMAT', data: { detail: `${JSON.stringify(data)} is not a URL` }, field };
  return { ...base, code: 'BAD_FORMAT', data: { detail: `must be a valid ${format}` }, field };
}

/** `/spec/devices/3/name` -> ['spec', 'devices', 3, 'name'], with indices as numbers where the data is a list. */
function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(seg);
      out.push(i);
      node = node[i];
    } else {
      out.push(seg);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function yamlTypeName(t: string): string {
  return t === 'object' ? 'mapping' : t === 'array' ? 'list' : t === 'integer' ? 'whole number' : t;
}

function yamlTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'number' : 'decimal number';
  return typeof v;
}

/** The known field nearest to a misspelt one (edit distance ≤ 2, or ≤ 3 for long names). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = word.length > 8 ? 3 : 2;
  return bestD <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
