import { pino, type Logger, type LevelWithSilent } from 'pino';
import { hasUnsafe, printable, safeJsonText } from './printable.ts';

export type { Logger };

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Readonly<Record<number, string>> = { 20: '\x1b[90m', 30: '\x1b[36m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[41m' };
const RESET = '\x1b[0m';
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'target', 'revision']);

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The controller's logger: pino JSON lines (one object per line, for log pipelines), or, when
 * the output is a terminal, one readable line per entry — `12:04:05 INFO  account/acme-w360
 * @1a2b3c4 message key=value`. Pretty printing is done in-process by a tiny formatter rather
 * than pino-pretty's worker transport: it is only for people watching a terminal.
 *
 * Pretty lines are coloured only when `colorWanted` says so (a terminal, no NO_COLOR): pretty
 * into a file or a pipe is plain text. Either way a line stays one line: what it quotes is
 * escaped (`printable`), and JSON lines escape the characters JSON leaves raw (`safeJsonText`).
 *
 * Lines about a target carry `target` and `revision` (child loggers), so `jq 'select(.target
 * == "account/acme-w360")'` follows one rollout.
 */
export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** One readable line per entry instead of JSON (default: when the stream is a terminal). */
  readonly pretty?: boolean;
  /** Colour pretty lines (default: `colorWanted`). */
  readonly color?: boolean;
  readonly stream?: NodeJS.WritableStream;
  /** Where NO_COLOR, FORCE_COLOR and TERM are read (default: process.env). */
  readonly env?: Env;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.pretty ?? Boolean((stream as { isTTY?: boolean }).isTTY);
  const base = { level: options.level ?? 'info', base: { name: 'versiond' } };
  if (!pretty) return pino(base, { write: (line: string) => void stream.write(safeJsonText(line)) });
  const color = options.color ?? colorWanted(stream as { isTTY?: boolean }, options.env ?? process.env);
  return pino(base, { write: (line: string) => void stream.write(prettyLine(line, color)) });
}

/**
 * Whether to colour output to `stream`, by the usual conventions: FORCE_COLOR non-empty forces
 * colour on (`0` or `false`: off), as Node and chalk read it; else NO_COLOR non-empty turns it
 * off (no-color.org); else TERM=dumb turns it off; else colour only on a terminal.
 */
export function colorWanted(stream: { readonly isTTY?: boolean }, env: Env = process.env): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (env['NO_COLOR']) return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

/** One JSON log line as a terminal line: always one line, whatever the entry quotes. */
export function prettyLine(json: string, color = true): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `${printable(json.replace(/\n$/, ''))}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const where = [entry.target, typeof entry.revision === 'string' ? `@${entry.revision.slice(0, 7)}` : undefined].filter((x) => typeof x === 'string').join(' ');
  const extras = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${printable(k)}=${value(v)}`)
    .join(' ');
  const head = color ? `${COLORS[level] ?? ''}${name}${RESET}` : name;
  const msg = printable(String(entry.msg ?? ''));
  return `${time} ${head} ${where ? `${printable(where)} ` : ''}${msg}${extras ? `  ${extras}` : ''}\n`;
}

/** A plain word as it is; anything with spaces, quotes or controls, and structures, as JSON. */
function value(v: unknown): string {
  if (typeof v === 'string' && !/[\s"\\]/.test(v) && !hasUnsafe(v)) return v;
  return printable(JSON.stringify(v) ?? String(v));
}
