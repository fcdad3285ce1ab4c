import {
  Composer, isMap, isPair, isScalar, isSeq, LineCounter, Parser, parseDocument, type Document, type Node,
} from 'yaml';
import type { FieldPath, Finding } from './diagnostics.ts';
import { checkAliases, checkCstNesting, type LimitFinding } from './yaml-limits.ts';

/** Documents larger than this are refused unread (a desired-state file is small text). */
export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface ParsedYaml {
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
}

export type ParseOutcome =
  | { readonly ok: true; readonly yaml: ParsedYaml; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly findings: readonly (Finding & { line: number; column: number })[] };

const UTF8_BOM = '\uFEFF';
/** YAML 1.2 core schema, so `yes`/`on` stay strings; duplicate keys are errors. */
const YAML_OPTIONS = { prettyErrors: false, version: '1.2', uniqueKeys: true } as const;
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of one file -> one YAML mapping, or precise findings at a line and column.
 * Checks, in order: size, NUL bytes, UTF-8, YAML syntax, exactly one document, a mapping.
 * YAML 1.2 core schema, so `yes`/`on` stay strings and duplicate keys are errors.
 */
export function parseDesiredFile(path: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_FILE_BYTES): ParseOutcome {
  const at1 = { line: 1, column: 1 };
  if (bytes.byteLength > maxBytes) {
    return fail({ code: 'FILE_TOO_LARGE', data: { size: bytes.byteLength, limit: maxBytes }, path, ...at1 });
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return fail({ code: 'BINARY_FILE', data: { offset: nul }, path, ...positionOfByte(bytes, nul) });
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    return fail({ code: 'NOT_UTF8', data: { offset }, path, ...positionOfByte(bytes, offset) });
  }
  if (text.startsWith(UTF8_BOM)) text = text.slice(1);

  const lineCounter = new LineCounter();
  // As parseAllDocuments does, in two steps: the CST (built without recursion) is measured
  // before the recursive composer sees it, so deep nesting is a finding, not a stack overflow.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const cst = checkCstNesting(tokens);
  if (cst.tooDeep) return fail(limitFinding(path, lineCounter, cst.tooDeep));
  const list = Array.from(new Composer({ ...YAML_OPTIONS, lineCounter }).compose(tokens));
  if (list.length === 0 || (list.length === 1 && list[0]!.contents === null && list[0]!.errors.length === 0)) {
    return fail({ code: 'EMPTY_DOCUMENT', data: {}, path, ...at1 });
  }
  const first = list[0]!;
  if (first.errors.length > 0) {
    return fail(
      ...first.errors.map((e) => ({
        code: 'YAML_SYNTAX' as const,
        data: { detail: e.message.split('\n')[0]!.trim() },
        path,
        ...pos(lineCounter, e.pos[0]),
      })),
    );
  }
  if (list.length > 1) {
    const second = list[1]!;
    return fail({ code: 'MULTIPLE_DOCUMENTS', data: { count: list.length }, path, ...pos(lineCounter, second.range[0]) });
  }
  const contents = first.contents;
  if (!isMap(contents)) {
    const actual = isSeq(contents) ? 'a list' : isScalar(contents) ? `the scalar ${JSON.stringify(String(contents.source ?? contents.value))}` : 'empty';
    const offset = contents?.range?.[0] ?? 0;
    return fail({ code: 'NOT_A_MAPPING', data: { actual }, path, ...pos(lineCounter, offset) });
  }
  const aliasProblem = cst.aliases ? checkAliases(first) : undefined;
  if (aliasProblem) return fail(limitFinding(path, lineCounter, aliasProblem));
  let value: unknown;
  try {
    // checkAliases bounds alias expansion ("billion laughs"); the library's own bound is off,
    // since it costs time quadratic in the number of aliases.
    value = first.toJS({ maxAliasCount: -1 });
  } catch (err) {
    return fail({ code: 'YAML_SYNTAX', data: { detail: (err as Error).message }, path, ...at1 });
  }
  return { ok: true, yaml: { text, doc: first, lineCounter }, value: value as Record<string, unknown> };
}

/** Text of a file that already parsed cleanly, parsed again to locate fields (positions are not kept in memory). */
export function reparse(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  return { text, doc: parseDocument(text, { ...YAML_OPTIONS, lineCounter }), lineCounter };
}

function limitFinding(path: string, lc: LineCounter, f: LimitFinding): Finding & { line: number; column: number } {
  return { code: f.code, data: f.data, path, ...pos(lc, f.offset) } as Finding & { line: number; column: number };
}

function fail(...findings: (Finding & { line: number; column: number })[]): ParseOutcome {
  return { ok: false, findings };
}

function pos(lc: LineCounter, offset: number): { line: number; column: number } {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/** Where a field is in the YAML: its value node, or its key when `atKey`. Falls back to the nearest existing parent. */
export function locate(yaml: ParsedYaml, field: FieldPath | undefined, atKey = false): { line: number; column: number } {
  let node: unknown = yaml.doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  if (field) {
    for (let i = 0; i < field.length; i++) {
      const seg = field[i]!;
      const last = i === field.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node;
        if (last && atKey) {
          offset = keyNode.range?.[0] ?? offset;
          break;
        }
        node = pair.value;
        offset = (node as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (!item) break;
        node = item;
        offset = (item as Node).range?.[0] ?? offset;
      } else break;
    }
  }
  return pos(yaml.lineCounter, offset);
}

/** The scalar as written in the file (`6.10`), to explain YAML's reading of it (`6.1`). */
export function sourceTextAt(yaml: ParsedYaml, field: FieldPath): string | undefined {
  const node = yaml.doc.getIn(field as (string | number)[], true);
  return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
}

function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}
