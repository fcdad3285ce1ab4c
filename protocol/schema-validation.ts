/**
 * Validation of agent protocol messages against their JSON Schemas (`schemas/agent-*.schema.json`,
 * the contract): the controller checks each report with it, the agent each answer, push and
 * hook inventory. One ajv, loaded with the message schemas and what they `$ref` (the endpoint
 * of `common.schema.json`) and nothing else, each schema compiled once on first use. The
 * schemas are found next to this module (`../schemas/`), in a clone as in the installed agent.
 *
 * The validators stop at the first error (issue 14): a report is untrusted input, and an
 * all-errors validator's work and memory grow with it (a 1 MiB list of wrong items was half a
 * million errors, a second and a gigabyte). That first error is enough to name the field
 * (`schema-error.ts`). `useDefaults` fills the schemas' defaults (a report without `results`
 * gets `[]`), so the schema stays the one source of them.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { schemaProblemOf, type SchemaProblem } from './schema-error.ts';
import { PROTOCOL_FORMATS } from './schema-formats.ts';

export const REPORT_SCHEMA = 'agent-report.schema.json';
export const ANSWER_SCHEMA = 'agent-report-answer.schema.json';
export const COMMAND_SCHEMA = 'agent-command.schema.json';
export const PUSH_SCHEMA = 'agent-push.schema.json';
export const ERROR_SCHEMA = 'agent-error.schema.json';

/** The messages of protocol v1, one schema file each. */
export const MESSAGE_SCHEMAS = [REPORT_SCHEMA, ANSWER_SCHEMA, COMMAND_SCHEMA, PUSH_SCHEMA, ERROR_SCHEMA] as const;
export type MessageSchema = (typeof MESSAGE_SCHEMAS)[number];

const SCHEMA_DIR = new URL('../schemas/', import.meta.url);

let instance: { readonly ajv: Ajv2020; readonly files: readonly string[] } | undefined;

function protocolAjv(): Ajv2020 {
  if (instance !== undefined) return instance.ajv;
  const ajv = new Ajv2020({ allErrors: false, strict: true, strictRequired: false, useDefaults: true });
  for (const [name, validate] of Object.entries(PROTOCOL_FORMATS)) ajv.addFormat(name, { type: 'string', validate });
  // The message schemas, then every file they refer to, transitively: a schema's `$id` is its
  // file name, so refs resolve here as they do between the files.
  const queue: string[] = [...MESSAGE_SCHEMAS];
  const added: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (added.includes(file)) continue;
    added.push(file);
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as object;
    if ((schema as { $id?: unknown }).$id !== file) throw new Error(`schema ${file}: its $id must be "${file}"`);
    ajv.addSchema(schema);
    queue.push(...referencedFiles(schema));
  }
  instance = { ajv, files: added };
  return ajv;
}

/** The schema files the protocol reads: the messages and what they refer to (what an agent package ships). */
export function protocolSchemaFiles(): readonly string[] {
  protocolAjv();
  return instance!.files;
}

/** The files a schema's `$ref`s name (`common.schema.json#/$defs/endpoint` → `common.schema.json`). */
export function referencedFiles(schema: unknown): string[] {
  const files = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) files.add(value.split('#')[0]!);
        else visit(value);
      }
    }
  };
  visit(schema);
  return [...files];
}

/** The compiled validator of a message: first error only, compiled on first use and kept. */
export function messageValidator(schema: MessageSchema): ValidateFunction {
  const validate = protocolAjv().getSchema(schema);
  if (validate === undefined) throw new Error(`schema ${schema} is not a protocol schema`);
  return validate;
}

/**
 * `undefined` when `value` is a valid `schema` message (its defaults filled in), else what is
 * wrong, naming the field; `whole` names the message when the fault is at its root.
 */
export function messageProblem(
  schema: MessageSchema,
  value: unknown,
  whole = 'the message',
): SchemaProblem | undefined {
  const validate = messageValidator(schema);
  return validate(value) ? undefined : schemaProblemOf(validate.errors, whole);
}
