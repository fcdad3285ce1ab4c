import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Readonly<Record<number, string>> = { 20: '\x1b[90m', 30: '\x1b[36m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[41m' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'target', 'revision']);

/**
 * The controller's logger: pino JSON lines (one object per line, for log pipelines), or, when
 * the output is a terminal, one readable line per entry — `12:04:05 INFO  account/acme-w360
 * @1a2b3c4 message key=value`. Pretty printing is done in-process by a tiny formatter rather
 * than pino-pretty's worker transport: it is only for people watching a terminal.
 *
 * Lines about a target carry `target` and `revision` (child loggers), so `jq 'select(.target
 * == "account/acme-w360")'` follows one rollout.
 */
export function createLogger(options: { level?: LevelWithSilent; pretty?: boolean; stream?: NodeJS.WritableStream } = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.pretty ?? Boolean((stream as { isTTY?: boolean }).isTTY);
  const base = { level: options.level ?? 'info', base: { name: 'versiond' } };
  if (!pretty) return pino(base, stream as pino.DestinationStream);
  return pino(base, { write: (line: string) => void stream.write(prettyLine(line)) });
}

/** One JSON log line as a terminal line. */
export function prettyLine(json: string, color = true): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const where = [entry.target, typeof entry.revision === 'string' ? `@${entry.revision.slice(0, 7)}` : undefined].filter((x) => typeof x === 'string').join(' ');
  const extras = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  const head = color ? `${COLORS[level] ?? ''}${name}\x1b[0m` : name;
  return `${time} ${head} ${where ? `${where} ` : ''}${String(entry.msg ?? '')}${extras ? `  ${extras}` : ''}\n`;
}
