/**
 * The agent's logger: one JSON object per line on stdout, shaped as pino's default output
 * (`{"level":30,"time":1764000000000,"pid":…,"hostname":…,"agent":"wd-paris-s1",…,"msg":"…"}`,
 * numeric levels, epoch-millisecond times), so whatever reads the controller's logs reads the
 * agent's. It is the small part of pino the agent uses — levels, `child(bindings)`, `(obj, msg)`
 * and `(msg)` calls — written here because the agent ships on its own with few dependencies.
 * A pino logger fits the same `Logger` interface: the fleet simulator passes its own.
 */
import { hostname } from 'node:os';

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LevelWithSilent = Level | 'silent';

/** pino's numbers, which log readers compare (`level >= 50`: errors and worse). */
export const LEVEL_VALUES: Readonly<Record<Level, number>> = {
  fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10,
};

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** What the agent needs of a logger. */
export interface Logger {
  readonly fatal: LogFn;
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  readonly trace: LogFn;
  /** A logger whose lines also carry `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
}

export interface JsonLogOptions {
  /** Lines below it are dropped; default `info`. */
  readonly level?: LevelWithSilent;
  /** Fields of every line, after `level` and `time`; default `pid` and `hostname`, as pino's. */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where each line (ending in a newline) goes; default stdout. */
  readonly write?: (line: string) => void;
}

export function jsonLog(options: JsonLogOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (level !== 'silent' && !(level in LEVEL_VALUES)) throw new Error(`unknown log level ${JSON.stringify(level)}`);
  const threshold = level === 'silent' ? Infinity : LEVEL_VALUES[level];
  const base = options.base ?? { pid: process.pid, hostname: hostname() };
  return new JsonLogger(threshold, fields(base), options.write ?? writeStdout);
}

class JsonLogger implements Logger {
  readonly fatal: LogFn;
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  readonly trace: LogFn;

  /** `bound` holds the base and child fields, serialised once: `,"pid":12,"agent":"x"`. */
  constructor(
    private readonly threshold: number,
    private readonly bound: string,
    private readonly write: (line: string) => void,
  ) {
    this.fatal = this.method(LEVEL_VALUES.fatal);
    this.error = this.method(LEVEL_VALUES.error);
    this.warn = this.method(LEVEL_VALUES.warn);
    this.info = this.method(LEVEL_VALUES.info);
    this.debug = this.method(LEVEL_VALUES.debug);
    this.trace = this.method(LEVEL_VALUES.trace);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.threshold, this.bound + fields(bindings), this.write);
  }

  private method(value: number): LogFn {
    if (value < this.threshold) return () => {};
    return (objOrMsg: object | string, msg?: string): void => {
      let line = `{"level":${value},"time":${Date.now()}${this.bound}`;
      let text: unknown = msg;
      if (typeof objOrMsg === 'string') {
        text = objOrMsg;
      } else if (objOrMsg instanceof Error) {
        line += `,"err":${stringify(objOrMsg)}`;
        text ??= objOrMsg.message;
      } else if (objOrMsg !== null) {
        line += fields(objOrMsg);
      }
      if (text !== undefined) line += `,"msg":${stringify(String(text))}`;
      try {
        this.write(`${line}}\n`);
      } catch {
        // A log line that cannot be written must not stop the agent.
      }
    };
  }
}

/** `,"key":value` for each field whose value is not undefined (as pino leaves those out). */
function fields(obj: object): string {
  let out = '';
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    out += `,${JSON.stringify(key)}:${stringify(value)}`;
  }
  return out;
}

/** JSON of a value; errors as pino's `err` serialiser gives them, and never a throw. */
function stringify(value: unknown): string {
  try {
    const errors = (_key: string, v: unknown): unknown =>
      (v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v);
    return JSON.stringify(value, errors) ?? 'null';
  } catch {
    return '"[unserializable]"';
  }
}

let stdoutGuarded = false;
let stdoutBroken = false;

/**
 * Writes to stdout. A reader that went away (EPIPE: the pipe to a supervisor closed) silences
 * the log instead of crashing the agent, as pino's destination does.
 */
function writeStdout(line: string): void {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stdoutBroken = true;
    });
  }
  if (!stdoutBroken) process.stdout.write(line);
}
