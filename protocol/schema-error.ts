/**
 * The one way a schema violation of an agent message is told: the field as a path
 * (`components[0].version`) and what is wrong with it, in one line. The controller answers a
 * bad report with it (`INVALID_REPORT`, `field`), and the agent says it of an answer, a push
 * or a hook's inventory it refuses, so both sides of the protocol name a fault the same way.
 */
import type { ErrorObject } from 'ajv';

export interface SchemaProblem {
  /** `components[0].version`; `''` when the message as a whole is wrong (not an object). */
  readonly field: string;
  /** `components[0].version: must be string`. */
  readonly message: string;
}

/**
 * Errors looked at to name the field: a few, whatever ajv returns. The validators stop at the
 * first error, so there is one, or a handful under an `anyOf`; never one per item of the input.
 */
const MAX_EXPLAINED = 8;

/**
 * The problem ajv's `errors` describe. `whole` names the message when the fault is at its
 * root (`the report`), where there is no field to name.
 */
export function schemaProblemOf(errors: readonly ErrorObject[] | null | undefined, whole: string): SchemaProblem {
  const e = deepest((errors ?? []).slice(0, MAX_EXPLAINED));
  const field = fieldOf(e);
  return { field, message: `${field === '' ? whole : field}: ${messageOf(e)}` };
}

/** The deepest error names the actual field; the outer ones only say that some branch failed. */
function deepest(errors: readonly ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  for (const e of errors) if (best === undefined || e.instancePath.length > best.instancePath.length) best = e;
  return best;
}

/** `/components/0/version` → `components[0].version`; a missing or unknown property is named too. */
function fieldOf(e: ErrorObject | undefined): string {
  if (e === undefined) return '';
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push((e.params as { missingProperty: string }).missingProperty);
  if (e.keyword === 'additionalProperties') parts.push((e.params as { additionalProperty: string }).additionalProperty);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function messageOf(e: ErrorObject | undefined): string {
  if (e === undefined) return 'does not match the schema';
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a field of the protocol';
    case 'maxItems':
      return `lists more than ${(e.params as { limit: number }).limit} items`;
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    default:
      return e.message ?? 'does not match the schema';
  }
}
