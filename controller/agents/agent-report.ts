import type { ErrorObject } from 'ajv';
import type { ComponentReport, CommandResult, AgentObservation } from '../../reconcilers/observed.ts';
import { fastSchemaValidator } from '../desired/schema-validator.ts';
import { checkReportShape } from './report-shape.ts';

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
  // Lists too long for the schema are refused before JSON.parse builds them (issue 14).
  const shape = checkReportShape(body);
  if (shape !== undefined) return { ok: false, error: 'INVALID_REPORT', message: shape.message, field: shape.field };
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, error: 'INVALID_JSON', message: `the body is not JSON: ${(err as Error).message}` };
  }
  const validate = fastSchemaValidator('agent-report.schema.json');
  if (validate(value)) return { ok: true, report: value as AgentReport };
  // Invalid: explained by the errors of that same first-error check (issue 14). Running the
  // all-errors validator here made a 1 MiB list of wrong items cost a second and a gigabyte;
  // these errors are bounded by the schema (one, as it has no anyOf/oneOf), not by the body.
  const first = pickError((validate.errors ?? []).slice(0, MAX_EXPLAINED));
  const field = fieldOf(first);
  return { ok: false, error: 'INVALID_REPORT', message: `${field === '' ? 'the report' : field}: ${messageOf(first)}`, field };
}

/** Errors looked at to name the field: a few, whatever ajv returns. */
const MAX_EXPLAINED = 8;

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
    case 'maxItems':
      return `lists more than ${(e.params as { limit: number }).limit} items`;
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? 'does not match the schema';
  }
}
