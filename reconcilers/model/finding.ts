/**
 * What a validate rule reports: a problem in the desired state, named by code and field path,
 * not yet placed at a line. Pure, so each kind's rules live with the kind (`<kind>/validate.ts`);
 * the loader (controller/desired) turns findings into diagnostics with line and column.
 */
import type { ErrorCode, ErrorData } from './errors.ts';
import type { TargetId } from './identity.ts';

/** A path into a document, as YAML/JSON segments: `['spec', 'devices', 3, 'name']`. */
export type FieldPath = readonly (string | number)[];

/**
 * A problem not yet placed in its file: policy rules work on plain objects and name a field
 * path; the loader turns findings into diagnostics by looking the field up in the YAML.
 */
export type Finding<C extends ErrorCode = ErrorCode> = { [K in C]: FindingOf<K> }[C];

interface FindingOf<C extends ErrorCode> {
  readonly code: C;
  readonly data: ErrorData<C>;
  readonly path: string;
  readonly target?: TargetId | string;
  readonly field?: FieldPath;
  /** Point at the key of `field` rather than its value (unknown fields, names). */
  readonly atKey?: boolean;
  readonly severity?: 'error' | 'warning';
}
