/**
 * A tiny tagged-template HTML builder for the web pages (issue 15). Everything the pages show
 * comes from a repository or from agents — target names, messages, commit subjects — so every
 * interpolated value is escaped unless it is markup this module built itself (`html`) or was
 * told to trust (`raw`). Text is made `printable` first: a control character or a bidi
 * override ("Trojan Source") shows as `\u202e` instead of reordering what a reviewer reads.
 *
 * Interpolate into attribute values only between double quotes (escaping `"` keeps the value
 * in); an unquoted value is only ever a number or a word from a fixed list.
 */
import { printable } from '../../observability/printable.ts';

/** Markup that is safe to insert as it is. Nominal (a private field): a plain object is never taken for one. */
export class SafeHtml {
  readonly #html: string;
  constructor(markup: string) {
    this.#html = markup;
  }
  toString(): string {
    return this.#html;
  }
}

/** What a template may interpolate: `null`, `undefined` and `false` render nothing, so `cond && html\`…\`` works. */
export type Html = SafeHtml | string | number | false | null | undefined | readonly Html[];

const SPECIAL = /[&<>"']/;
const SPECIAL_ALL = /[&<>"']/g;
const ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
};

/** Text as HTML: controls and bidi controls visibly escaped, then `& < > " '` as entities. */
export function escapeText(s: string): string {
  const text = printable(s);
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, (c) => ENTITY[c]!) : text;
}

function render(value: Html): string {
  if (typeof value === 'string') return escapeText(value);
  if (value instanceof SafeHtml) return value.toString();
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined || value === false) return '';
  let out = '';
  for (const item of value) out += render(item);
  return out;
}

export function html(strings: TemplateStringsArray, ...values: readonly Html[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup taken as it is: only for strings this code base wrote, never for data. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Multi-line text (a YAML snippet in a `<pre>`): each line escaped like any text, the line breaks kept. */
export function multiline(s: string): SafeHtml {
  return new SafeHtml(s.split('\n').map(escapeText).join('\n'));
}

/** Text of several lines (an error with its details) as one paragraph per line. */
export function paragraphs(s: string): SafeHtml {
  return new SafeHtml(s.split('\n').map((line) => `<p>${escapeText(line)}</p>`).join('\n'));
}

const LONE_SURROGATE = /\p{Cs}/gu;

const QUOTE_LIKE = /[!'()*]/g;

/**
 * One path segment of a URL (a target name, a cursor): percent-encoded, so it can neither add
 * a segment nor a query; a lone surrogate (which `encodeURIComponent` refuses) becomes U+FFFD.
 * `!'()*` are encoded too: what is left (letters, digits, `-_.~%`) may even stand unquoted in
 * an attribute.
 */
export function segment(s: string): string {
  return encodeURIComponent(s.replace(LONE_SURROGATE, '\ufffd')).replace(
    QUOTE_LIKE,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
