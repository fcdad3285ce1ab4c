import { BlobTooLargeError } from '../git/read-blob.ts';
import { API_VERSION, isKind, KINDS } from '../../reconcilers/model/desired.ts';
import { KIND_FOLDERS, kindOfFolder } from '../../reconcilers/model/identity.ts';
import { makeDiagnostic, type Diagnostic, type Finding } from './diagnostics.ts';
import { locate, parseDesiredFile } from './parse-document.ts';
import { validateAgainstSchema } from './schema-validator.ts';
import { symlinkStaysInside, type SourceEntry } from './source.ts';
import { isOutsideKindFolders, strayResult } from './stray-files.ts';

/**
 * What one file of the repository amounts to, on its own: a document that passed its own
 * checks, or the diagnostics that explain why not. Plain data, so it crosses from a parse
 * worker to the loader unchanged; the same function runs in both places.
 */
export interface FileResult {
  readonly path: string;
  readonly oid: string;
  /** The document (apiVersion, kind, metadata, spec, source) when it passed its own checks. */
  readonly object?: unknown;
  /** `kind/name` with the kind in lower case, when the document got far enough to say. */
  readonly target?: string;
  /** `Kind/name` the document declares even though it is invalid, for clearer references to it. */
  readonly declares?: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** Entries that are not regular files say what they are without being read. */
export function needsBytes(entry: SourceEntry): boolean {
  return entry.type === 'file';
}

/**
 * A file whose blob is over the size limit: the reader refused it from the object header,
 * so it is reported as parseDesiredFile reports an oversized file, without its bytes.
 */
export function tooLargeResult(entry: SourceEntry, size: number, limit: number): FileResult {
  const finding: Finding = { code: 'FILE_TOO_LARGE', data: { size, limit }, path: entry.path };
  return { path: entry.path, oid: entry.oid, diagnostics: [makeDiagnostic(finding, { line: 1, column: 1 })] };
}

/** Reads a file's bytes and checks it; a blob over the limit is refused before it is inflated. */
export async function readAndCheck(
  entry: SourceEntry,
  read: (entry: SourceEntry, maxBytes: number) => Promise<Uint8Array>,
  maxFileBytes: number,
): Promise<FileResult> {
  if (!needsBytes(entry)) return readDocument(entry, undefined, maxFileBytes);
  // Sources list files outside the kind folders only to report them (stray-files.ts).
  const stray = isOutsideKindFolders(entry.path);
  let bytes: Uint8Array;
  try {
    bytes = await read(entry, maxFileBytes);
  } catch (err) {
    if (!(err instanceof BlobTooLargeError)) throw err;
    if (stray) return strayResult(entry, undefined, maxFileBytes, { size: err.size });
    return tooLargeResult(entry, err.size, maxFileBytes);
  }
  return stray ? strayResult(entry, bytes, maxFileBytes) : readDocument(entry, bytes, maxFileBytes);
}

export function readDocument(entry: SourceEntry, bytes: Uint8Array | undefined, maxFileBytes: number): FileResult {
  const base = { path: entry.path, oid: entry.oid };
  const fileLevel = (f: Finding): FileResult => ({ ...base, diagnostics: [makeDiagnostic(f, { line: 1, column: 1 })] });
  switch (entry.type) {
    case 'unsafe':
      return fileLevel({ code: 'UNSAFE_PATH', data: { entry: entry.detail ?? entry.path }, path: entry.path });
    case 'symlink': {
      const target = entry.detail ?? '';
      return fileLevel({ code: 'SYMLINK', data: { target, outside: !symlinkStaysInside(entry.path, target) }, path: entry.path });
    }
    case 'submodule':
      return fileLevel({ code: 'NOT_A_FILE', data: { type: 'submodule' }, path: entry.path });
    case 'file':
      break;
  }
  const outcome = parseDesiredFile(entry.path, bytes ?? new Uint8Array(), maxFileBytes);
  if (!outcome.ok) return { ...base, diagnostics: outcome.findings.map((f) => makeDiagnostic(f, f)) };

  const { yaml, value } = outcome;
  const kind = value['kind'];
  const name = (value['metadata'] as { name?: unknown } | null | undefined)?.name;
  // Only a known kind makes a target; a name with surrounding white space is quoted so the
  // space shows in `kind/name`.
  const target = isKind(kind) && typeof name === 'string'
    ? `${kind.toLowerCase()}/${name === name.trim() ? name : JSON.stringify(name)}`
    : undefined;
  const withTarget = { ...base, ...(target !== undefined ? { target } : {}) };
  const ctx = { path: entry.path, ...(target !== undefined ? { target } : {}) };
  const place = (f: Finding) => makeDiagnostic(f, locate(yaml, f.field, f.atKey));
  if (kind === undefined) {
    return { ...withTarget, diagnostics: [place({ ...ctx, code: 'MISSING_FIELD', data: { field: 'kind' }, field: [] })] };
  }
  if (!isKind(kind)) {
    return { ...withTarget, diagnostics: [place({ ...ctx, code: 'UNKNOWN_KIND', data: { kind: String(kind), known: KINDS }, field: ['kind'] })] };
  }
  const diagnostics: Diagnostic[] = [];
  if (kindOfFolder(entry.path) !== kind) {
    diagnostics.push(place({
      ...ctx,
      code: 'WRONG_FOLDER',
      data: { kind, folder: entry.path.split('/', 1)[0]!, expected: KIND_FOLDERS[kind] },
      field: ['kind'],
    }));
  }
  for (const f of validateAgainstSchema(kind, value, yaml, ctx)) diagnostics.push(place(f));
  if (diagnostics.length > 0) {
    return { ...withTarget, ...(typeof name === 'string' ? { declares: `${kind}/${name}` } : {}), diagnostics };
  }
  const object = {
    apiVersion: API_VERSION,
    kind,
    metadata: value['metadata'],
    spec: value['spec'],
    source: { path: entry.path, blob: entry.oid },
  };
  return { ...withTarget, object, diagnostics: [] };
}
