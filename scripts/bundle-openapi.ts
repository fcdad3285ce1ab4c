/**
 * Generates `components/schemas` of schemas/agent-protocol.openapi.json from the JSON Schemas
 * next to it, so the OpenAPI document stands alone: tools read it offline without resolving
 * files, and openapi-typescript sees no `$defs` (which it would type as a required property,
 * issue 14, item 9). The rest of the document is written by hand; it names a message schema as
 * `#/components/schemas/<Name>`: `AgentReport` for agent-report.schema.json, `CommonName` for
 * common.schema.json#/$defs/name. Those, and what they refer to, are copied with refs rewritten.
 *
 *   node --import tsx scripts/bundle-openapi.ts          rewrite the document
 *   node --import tsx scripts/bundle-openapi.ts --check  exit 1 if it is not up to date
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
export const OPENAPI_FILE = `${SCHEMA_DIR}agent-protocol.openapi.json`;
const PREFIX = '#/components/schemas/';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Source {
  file: string;
  def?: string;
}

const pascal = (s: string) => s.replace(/(^|[-_.])([a-z0-9])/gi, (_, _sep: string, c: string) => c.toUpperCase());

/** Every file and `$defs` entry of the schemas, by component name; a name used twice is an error. */
function nameTable(schemas: ReadonlyMap<string, JsonObject>): Map<string, Source> {
  const names = new Map<string, Source>();
  const add = (name: string, source: Source) => {
    if (names.has(name)) throw new Error(`component name ${name} would stand for two schemas`);
    names.set(name, source);
  };
  for (const [file, schema] of schemas) {
    const stem = pascal(file.replace(/\.schema\.json$/, ''));
    add(stem, { file });
    const defs = schema['$defs'];
    if (defs && typeof defs === 'object' && !Array.isArray(defs)) {
      for (const def of Object.keys(defs)) add(stem + pascal(def), { file, def });
    }
  }
  return names;
}

/** Calls `visit` on every object under `node`, skipping literal values (const, enum, default, examples). */
function eachObject(node: Json, visit: (o: JsonObject) => void): void {
  if (Array.isArray(node)) for (const v of node) eachObject(v, visit);
  else if (node !== null && typeof node === 'object') {
    visit(node);
    for (const [k, v] of Object.entries(node)) {
      if (!['const', 'enum', 'default', 'examples'].includes(k)) eachObject(v, visit);
    }
  }
}

/** The document with its `components/schemas` generated from `schemas` (file name -> parsed schema). */
export function bundleOpenApi(document: JsonObject, schemas: ReadonlyMap<string, JsonObject>): JsonObject {
  const names = nameTable(schemas);
  const byTarget = new Map([...names].map(([name, s]) => [`${s.file}#${s.def ?? ''}`, name]));
  const components = { ...((document['components'] ?? {}) as JsonObject) };
  delete components['schemas'];
  const handWritten: JsonObject = { ...document, components };

  const wanted: string[] = [];
  const want = (ref: string, from: string) => {
    const name = ref.slice(PREFIX.length);
    if (!names.has(name)) throw new Error(`${from}: ${ref} names no schema file or $defs entry`);
    if (!wanted.includes(name)) wanted.push(name);
  };
  eachObject(handWritten, (o) => {
    if (typeof o['$ref'] === 'string' && o['$ref'].startsWith(PREFIX)) want(o['$ref'], 'the document');
  });

  const out: Record<string, Json> = {};
  for (let i = 0; i < wanted.length; i++) {
    const name = wanted[i]!;
    const { file, def } = names.get(name)!;
    const root = schemas.get(file)!;
    const copy = structuredClone(def === undefined ? root : (root['$defs'] as JsonObject)[def]!) as JsonObject;
    if (def === undefined) for (const k of ['$schema', '$id', '$defs']) delete copy[k];
    eachObject(copy, (o) => {
      const ref = o['$ref'];
      if (typeof ref !== 'string') return;
      const m = /^([\w.-]*)(?:#(?:\/\$defs\/([\w-]+))?)?$/.exec(ref);
      const target = m ? byTarget.get(`${m[1] || file}#${m[2] ?? ''}`) : undefined;
      if (target === undefined) throw new Error(`${file}: cannot bundle $ref ${ref}`);
      o['$ref'] = PREFIX + target;
      want(PREFIX + target, file);
    });
    out[name] = copy;
  }
  const sorted = Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]!]));
  // Spread the original so `schemas` keeps its place once it exists: the output is a fixed point.
  return { ...document, components: { ...((document['components'] ?? {}) as JsonObject), schemas: sorted } };
}

/** The document as it should be committed, from the files of schemas/. */
export function renderOpenApi(): string {
  const schemas = new Map<string, JsonObject>();
  for (const file of readdirSync(SCHEMA_DIR).sort()) {
    if (!file.endsWith('.schema.json')) continue;
    schemas.set(file, JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')) as JsonObject);
  }
  const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as JsonObject;
  return `${JSON.stringify(bundleOpenApi(document, schemas), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderOpenApi();
  if (process.argv.includes('--check')) {
    if (readFileSync(OPENAPI_FILE, 'utf8') !== text) {
      console.error('schemas/agent-protocol.openapi.json is out of date: run npm run schemas:openapi');
      process.exitCode = 1;
    }
  } else writeFileSync(OPENAPI_FILE, text);
}
