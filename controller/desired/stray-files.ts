import { isKind } from '../../reconcilers/model/desired.ts';
import { DESIRED_FOLDERS, KIND_FOLDERS } from '../../reconcilers/model/identity.ts';
import { makeDiagnostic, type Finding } from './diagnostics.ts';
import { locate, parseDesiredFile } from './parse-document.ts';
import type { FileResult } from './read-document.ts';
import type { SourceEntry } from './source.ts';

/**
 * YAML files outside the kind folders (issue 14, item 12). The loader never reads them as
 * desired state, but a typo (`domain/new.yaml`) or a file at the top used to be ignored in
 * silence, so a target someone meant to add never ran. Sources list such files (minus
 * `.versiondignore`); here a versiond document among them is an error naming the folder it
 * belongs in, and any other YAML a warning.
 */

const KIND_FOLDER_SET = new Set(DESIRED_FOLDERS);

/** Whether `path` is outside every kind folder (called per entry on every load: no allocation). */
export function isOutsideKindFolders(path: string): boolean {
  const slash = path.indexOf('/');
  return slash < 0 || !KIND_FOLDER_SET.has(path.slice(0, slash));
}

const API_VERSION_LINE = /^apiVersion[ \t]*:[ \t]*["']?versiond\//m;
const KIND_LINE = /^(kind[ \t]*:[ \t]*["']?)([A-Za-z]+)/m;
const lenient = new TextDecoder('utf-8');

/** What a stray file amounts to; `tooLarge` when its blob was refused unread. */
export function strayResult(
  entry: SourceEntry,
  bytes: Uint8Array | undefined,
  maxFileBytes: number,
  tooLarge?: { size: number },
): FileResult {
  const base = { path: entry.path, oid: entry.oid };
  const at1 = { line: 1, column: 1 };
  const warn = (data: { size?: number; limit?: number }): FileResult => {
    const finding: Finding = { code: 'YAML_OUTSIDE_KIND_FOLDER', data, path: entry.path, severity: 'warning' };
    return { ...base, diagnostics: [makeDiagnostic(finding, at1)] };
  };
  const size = tooLarge?.size ?? bytes?.byteLength ?? 0;
  if (tooLarge || !bytes || size > maxFileBytes) return warn({ size, limit: maxFileBytes });

  const outcome = parseDesiredFile(entry.path, bytes, maxFileBytes);
  if (outcome.ok) {
    const { yaml, value } = outcome;
    const apiVersion = value['apiVersion'];
    if (typeof apiVersion !== 'string' || !apiVersion.startsWith('versiond/')) return warn({});
    const kind = value['kind'];
    const name = (value['metadata'] as { name?: unknown } | null | undefined)?.name;
    const target = isKind(kind) && typeof name === 'string' ? `${kind.toLowerCase()}/${name}` : undefined;
    const field = kind === undefined ? ['apiVersion'] : ['kind'];
    const finding: Finding = {
      code: 'DOCUMENT_OUTSIDE_KIND_FOLDER',
      data: dataFor(kind),
      path: entry.path,
      field,
      ...(target !== undefined ? { target } : {}),
    };
    return { ...base, diagnostics: [makeDiagnostic(finding, locate(yaml, field))] };
  }
  // Not a clean YAML mapping (syntax, several documents, too deep…): a versiond document
  // still shows in its text, and an error there is more useful than a warning.
  const text = lenient.decode(bytes);
  const api = API_VERSION_LINE.exec(text);
  if (!api) return warn({});
  const kind = KIND_LINE.exec(text);
  const offset = kind ? kind.index + kind[1]!.length : api.index + api[0].length - 'versiond/'.length;
  const finding: Finding = { code: 'DOCUMENT_OUTSIDE_KIND_FOLDER', data: dataFor(kind?.[2]), path: entry.path };
  return { ...base, diagnostics: [makeDiagnostic(finding, positionOf(text, offset))] };
}

function dataFor(kind: unknown): { kind?: string; expected?: string; folders: readonly string[] } {
  return isKind(kind) ? { kind, expected: KIND_FOLDERS[kind], folders: DESIRED_FOLDERS } : { folders: DESIRED_FOLDERS };
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}
