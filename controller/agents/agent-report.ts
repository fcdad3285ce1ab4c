import type { ErrorObject } from 'ajv';
import type { ComponentReport, CommandResult, AgentObservation } from '../../reconcilers/observed.ts';
import { fastSchemaValidator, schemaValidator } from '../desired/schema-validator.ts';

/** A report as an agent sends it (`schemas/agent-report.schema.json`). */
export interface AgentReport {
  readonly sequence: number;
  readonly sentAt?: string;
  readonly endpoint?: string;
  readonly agentVersion?: string;
  readonly components: readonly ComponentReport[];
  readonly results?: readonly CommandResult[];
  readonly facts?: Omit<NonNullable<AgentObservation['facts']>, 'clock'>;
}

export type ReportVerdict =
  | { readonly ok: true; readonly report: AgentReport }
  | { readonly ok: false; readonly error: 'INVALID_JSON' | 'INVALID_REPORT'; readonly message: string; readonly field?: string };

/**
 * Parses and validates a report body. A wrong report is refused whole with the field that is
 * wrong (`components[0].version`), so the agent's author can fix it; nothing of it is kept.
 */
export function parseReport(body: Buffer): ReportVerdict {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, error: 'INVALID_JSON', message: `the body is not JSON: ${(err as Error).message}` };
  }
  if (fastSchemaValidator('agent-report.schema.json')(value)) return { ok: true, report: value as AgentReport };
  // Invalid: the explaining validator (all errors, with their schemas) names the field.
  const validate = schemaValidator('agent-report.schema.json');
  if (validate(value)) return { ok: true, report: value as AgentReport };
  const first = pickError(validate.errors ?? []);
  const field = fieldOf(first);
  return { ok: false, error: 'INVALID_REPORT', message: `${field === '' ? 'the report' : field}: ${messageOf(first)}`, field };
}

/** The most useful of ajv's errors: the deepest one, which names the actual field. */
function pickError(errors: readonly ErrorObject[]): ErrorObject | undefined {
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
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? 'does not match the schema';
  }
}
