/**
 * A pass over a report's raw bytes before JSON.parse (issue 14): it refuses a list or an
 * object too long, nesting too deep, or too many values in all, for any report the schema
 * allows. JSON.parse of a 1 MiB list of half a million items takes 50–200 ms of the event
 * loop (and its garbage); this pass takes about 1 ms per MiB and allocates nothing. The
 * schema, checked after, holds each list to its own `maxItems`: these limits only need to
 * let every schema-valid report through.
 */
export interface ShapeLimits {
  /** Smaller bodies are not looked at: JSON.parse of 16 KiB costs little whatever it holds. */
  readonly scanFromBytes: number;
  /** Items of any list: the largest `maxItems` of schemas/agent-report.schema.json. */
  readonly maxItems: number;
  /** Fields of any object: the report's objects have at most a dozen. */
  readonly maxFields: number;
  /** Nesting: a valid report is 5 deep. */
  readonly maxDepth: number;
  /**
   * Values in all the lists and objects: a schema-valid report holds at most ~55,000 (every
   * list at its `maxItems`, which would not fit in 1 MiB anyway). JSON.parse of 65,536 values
   * takes a few ms.
   */
  readonly maxValues: number;
}

export const REPORT_SHAPE_LIMITS: ShapeLimits = {
  scanFromBytes: 16 * 1024,
  maxItems: 8192,
  maxFields: 64,
  maxDepth: 16,
  maxValues: 65_536,
};

export interface ShapeProblem {
  /** Where, as `parseReport` names fields: `components[0].serves`. */
  readonly field: string;
  readonly message: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The first limit `body` goes over, or undefined. Bytes that are not JSON are let through:
 * JSON.parse then says what is wrong with them.
 */
export function checkReportShape(body: Buffer, limits: ShapeLimits = REPORT_SHAPE_LIMITS): ShapeProblem | undefined {
  // Per open container: is it a list, its commas so far, and (objects) where its last key is.
  const isArray: boolean[] = [];
  const commas: number[] = [];
  const keyStart: number[] = [];
  const keyEnd: number[] = [];
  let expectKey = false;
  let depth = 0;
  let values = 0;
  const n = body.length;
  if (n < limits.scanFromBytes) return undefined;
  for (let i = 0; i < n; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      // The closing quote is the next one not escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = body.indexOf(QUOTE, j + 1);
        if (j < 0) return undefined; // unterminated: not JSON
        let k = j - 1;
        while (body[k] === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      if (expectKey) {
        keyStart[depth - 1] = i;
        keyEnd[depth - 1] = j + 1;
        expectKey = false;
      }
      i = j;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (depth >= limits.maxDepth) {
        return problem(body, depth, isArray, commas, keyStart, keyEnd, `nests deeper than ${limits.maxDepth}`);
      }
      isArray[depth] = c === OPEN_ARRAY;
      commas[depth] = 0;
      keyStart[depth] = -1;
      depth++;
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth === 0) return undefined;
      depth--;
      expectKey = false;
    } else if (c === COMMA && depth > 0) {
      const d = depth - 1;
      const count = ++commas[d]!;
      if (++values >= limits.maxValues) {
        return { field: '', message: `the report holds more than ${limits.maxValues} values` };
      }
      if (isArray[d]) {
        if (count >= limits.maxItems) {
          return problem(body, d, isArray, commas, keyStart, keyEnd, `lists more than ${limits.maxItems} items`);
        }
      } else {
        if (count >= limits.maxFields) {
          return problem(body, d, isArray, commas, keyStart, keyEnd, `has more than ${limits.maxFields} fields`);
        }
        expectKey = true;
      }
    }
  }
  return undefined;
}

/** The path of the container at `depth` (only computed for a refusal). */
function problem(
  body: Buffer,
  depth: number,
  isArray: readonly boolean[],
  commas: readonly number[],
  keyStart: readonly number[],
  keyEnd: readonly number[],
  what: string,
): ShapeProblem {
  let field = '';
  for (let d = 0; d < depth; d++) {
    if (isArray[d]) {
      field += `[${commas[d]}]`;
      continue;
    }
    let key = '?';
    try {
      if (keyStart[d]! >= 0) key = String(JSON.parse(body.toString('utf8', keyStart[d], keyEnd[d])));
    } catch {
      // a key that is not valid JSON: JSON.parse would refuse the body anyway
    }
    field += field === '' ? key : `.${key}`;
  }
  return { field, message: `${field === '' ? 'the report' : field}: ${what}` };
}
