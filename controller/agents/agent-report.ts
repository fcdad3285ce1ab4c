/**
 * Reading a report body on the controller's side: the raw-bytes shape check, JSON, then the
 * protocol schema (`protocol/schema-validation.ts`, the same validator and the same wording of
 * a fault as the agent's). A wrong report is refused whole, naming the field.
 */
import type { AgentReport } from '../../protocol/report.ts';
import { messageProblem, REPORT_SCHEMA } from '../../protocol/schema-validation.ts';
import { checkReportShape } from './report-shape.ts';

export type ReportVerdict =
  | { readonly ok: true; readonly report: AgentReport }
  | {
    readonly ok: false;
    readonly error: 'INVALID_JSON' | 'INVALID_REPORT';
    readonly message: string;
    readonly field?: string;
  };

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
  // One check that stops at its first error, which also explains an invalid report (issue 14):
  // an all-errors validator made a 1 MiB list of wrong items cost a second and a gigabyte.
  const problem = messageProblem(REPORT_SCHEMA, value, 'the report');
  if (problem === undefined) return { ok: true, report: value as AgentReport };
  return { ok: false, error: 'INVALID_REPORT', message: problem.message, field: problem.field };
}
