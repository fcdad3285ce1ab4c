/**
 * Checks a message against its protocol schema and says what is wrong in one line, naming
 * the field as a path (`components[0].version: must be string`). The agent checks what it
 * receives (an answer or a push it cannot understand is refused rather than half-obeyed)
 * and what a hook prints (an inventory a reconciler could not read is an error of the hook).
 */
import type { ErrorObject } from 'ajv';
import { schemaValidator } from '../../controller/desired/schema-validator.ts';

/** `undefined` when `value` matches `schemaFile` (a file of `schemas/`), else the first problem. */
export function schemaProblem(schemaFile: string, value: unknown): string | undefined {
  const validate = schemaValidator(schemaFile);
  if (validate(value)) return undefined;
  return describe(deepest(validate.errors ?? []));
}

/** The deepest error names the actual field; ajv's outer errors only say "some branch failed". */
function deepest(errors: readonly ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  for (const e of errors) if (best === undefined || e.instancePath.length > best.instancePath.length) best = e;
  return best;
}

function describe(e: ErrorObject | undefined): string {
  if (e === undefined) return 'does not match the schema';
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let message = e.message ?? 'does not match the schema';
  if (e.keyword === 'required') {
    parts.push((e.params as { missingProperty: string }).missingProperty);
    message = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    parts.push((e.params as { additionalProperty: string }).additionalProperty);
    message = 'is not a field of the protocol';
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  let field = '';
  for (const p of parts) field += /^\d+$/.test(p) ? `[${p}]` : field === '' ? p : `.${p}`;
  return `${field === '' ? '(the message)' : field}: ${message}`;
}
