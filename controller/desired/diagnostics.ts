import type { ErrorCategory, ErrorCode, ErrorData } from '../../reconcilers/model/errors.ts';
import { categoryOf, messageOf } from '../../reconcilers/model/errors.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { FieldPath, Finding } from '../../reconcilers/model/finding.ts';
import { printable, quotePath } from '../observability/printable.ts';

export type { FieldPath, Finding };

/**
 * One problem found in the desired state, with everything a person needs to fix it:
 * `path:line:column: kind/name: field: message`.
 */
export interface Diagnostic {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly severity: 'error' | 'warning';
  /** Repository-relative path of the file, with `/` separators. */
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** The target the document declares, when it got far enough to say. */
  readonly target?: TargetId | string;
  /** Field in the document (`spec.devices[3].repositoryServer`), when the problem is in one. */
  readonly field?: string;
  readonly message: string;
  readonly data: unknown;
}


export function makeDiagnostic(
  f: Finding,
  position: { line: number; column: number },
): Diagnostic {
  return {
    code: f.code,
    category: categoryOf(f.code),
    severity: f.severity ?? 'error',
    path: f.path,
    line: position.line,
    column: position.column,
    ...(f.target !== undefined ? { target: f.target } : {}),
    ...(f.field !== undefined && f.field.length > 0 ? { field: formatFieldPath(f.field) } : {}),
    message: messageOf(f.code, f.data as never),
    data: f.data,
  };
}

/** `['spec', 'devices', 3, 'name']` -> `spec.devices[3].name` */
export function formatFieldPath(field: FieldPath): string {
  let out = '';
  for (const seg of field) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * The one-line form every tool and test uses: `path:line:column: kind/name: field: message`.
 * Always one line: a path that needs it is quoted as git quotes it, and controls anywhere
 * else are escaped (a file name or a value cannot forge a line or drive a terminal).
 */
export function formatDiagnostic(d: Diagnostic): string {
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  const rest = `${d.target ?? '-'}: ${d.field ?? '-'}: ${sev}${d.message}`;
  return `${quotePath(d.path)}:${d.line}:${d.column}: ${printable(rest)}`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
  );
}

/**
 * compareDiagnostics, then every other field: a total order, so a list sorted with it does
 * not depend on the order the diagnostics were found in (the loader's incremental policy
 * finds them in another order than a full run, and must give the very same list).
 */
export function compareDiagnosticsFully(a: Diagnostic, b: Diagnostic): number {
  return compareDiagnostics(a, b) || compareStrings(a.code, b.code) || compareStrings(a.severity, b.severity)
    || compareStrings(a.target ?? '', b.target ?? '') || compareStrings(a.field ?? '', b.field ?? '')
    || compareStrings(a.category, b.category)
    || compareStrings(JSON.stringify(a.data) ?? '', JSON.stringify(b.data) ?? '');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
