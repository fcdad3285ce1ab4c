/**
 * Strings that come from a repository or from agents (file names, field names, values, commit
 * subjects, agent records), made safe to print (issue 14, item 7). A file named
 * `evil\nok: forged.yaml` must not forge an output line, and one holding `\x1b[2J` must not
 * drive the terminal, in text, Markdown or log output.
 *
 * Escaped, visibly: C0 and C1 controls and DEL (`\n`, `\t`, `\r`, `\x1b`, `\x85`), the line and
 * paragraph separators U+2028/U+2029, bidirectional controls (U+202E…, "Trojan Source") and
 * lone surrogates (`\u202e`). Everything else, accented letters included, prints unchanged.
 * Paths are quoted when escaped, as `git` quotes them (core.quotePath) or `ls
 * --quoting-style=c` does: `"accounts/evil\nok: forged.yaml"`.
 */

/** What is never printed raw. `\p{Cs}` with the `u` flag matches lone surrogates only. */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|\p{Cs}/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** True when `s` holds something `printable` would escape. */
export function hasUnsafe(s: string): boolean {
  return UNSAFE.test(s);
}

/**
 * `s` with every control, separator and bidi control escaped: one line, no terminal escape.
 * A backslash is left as it is, so free text (messages) reads naturally; the JSON output has
 * the exact string.
 */
export function printable(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/**
 * A path as `git` prints it: unchanged when it is plain (accents, spaces, quotes inside and
 * all), else in double quotes with `\` and `"` escaped too. Unambiguous: a path printed with a
 * leading `"` is always a quoted one (a raw path starting with `"` is quoted too).
 */
export function quotePath(path: string): string {
  if (!UNSAFE.test(path) && !path.startsWith('"')) return path;
  return `"${path.replace(/["\\]/g, '\\$&').replace(UNSAFE_ALL, escapeChar)}"`;
}

/** Lines of a text report, each made printable, joined, with a final newline. */
export function printableLines(lines: readonly string[]): string {
  return `${lines.map(printable).join('\n')}\n`;
}

/**
 * JSON text with the characters `JSON.stringify` leaves raw but a terminal acts on (DEL, C1,
 * separators, bidi controls) as `\uXXXX` escapes: the same value for any JSON reader.
 */
export function safeJson(value: unknown, indent?: number): string {
  return safeJsonText(JSON.stringify(value, null, indent));
}

/** `safeJson` for JSON text made elsewhere (a pino log line). */
export function safeJsonText(json: string): string {
  // C0 controls in strings and lone surrogates are escaped by JSON.stringify already; its only raw `\n` is layout.
  return json.replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Markdown inline text: printable, and every character Markdown or HTML acts on backslash-escaped. */
export function markdownText(s: string): string {
  return printable(s).replace(/[\\`*_[\]<>|&~]/g, '\\$&');
}

/**
 * A Markdown code span holding `s` literally: fenced with one backtick more than its longest
 * run of backticks (padded when it starts or ends with one). In a table cell (`table`), `|` is
 * escaped as GitHub's tables need, even inside a code span.
 */
export function markdownCode(s: string, options: { readonly table?: boolean } = {}): string {
  let text = printable(s);
  if (options.table) text = text.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
