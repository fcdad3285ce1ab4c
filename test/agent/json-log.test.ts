/**
 * The agent's own JSON-lines logger writes what pino writes for the calls the agent makes, so
 * that log readers (the tests, a log shipper) see no difference.
 */
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jsonLog, type Logger } from '../../agent/reference/json-log.ts';

function ours(options: Parameters<typeof jsonLog>[0] = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: jsonLog({ ...options, write: (line) => lines.push(line) }), lines };
}

function theirs(options: pino.LoggerOptions = {}): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: pino(options, stream), lines };
}

/** A line with its time set to 0, to compare two loggers' lines. */
const timeless = (line: string): string => line.replace(/"time":\d+/, '"time":0');

describe('the agent logger writes pino\'s lines', () => {
  it('for every call the agent makes, key for key and in the same order', () => {
    const calls = (log: Logger): void => {
      const child = log.child({ agent: 'wd-paris-s1' });
      const started = { controller: 'http://127.0.0.1:8080', sequence: 3, journaled: undefined };
      child.info(started, 'agent wd-paris-s1 started');
      child.warn('the running command did not finish within 10 s');
      child.error({ err: 'ECONNREFUSED' }, 'report failed: ECONNREFUSED; next attempt in 2 s');
      child.debug({ commands: 2 }, 'report accepted');
      child.info({ command: { id: 'x', action: 'apply', note: 'a "quoted"\nline' } }, 'command started: apply 6.1.4');
      log.fatal({ err: 'bad' }, 'could not start');
    };
    const a = ours({ level: 'info', base: { agent: 'wd-paris-s1', pid: 12 } });
    const b = theirs({ level: 'info', base: { agent: 'wd-paris-s1', pid: 12 } });
    calls(a.log);
    calls(b.log as unknown as Logger);
    expect(a.lines.map(timeless)).toEqual(b.lines.map(timeless));
    expect(a.lines).toHaveLength(5); // debug is below info
  });

  it('carries pid and hostname by default, a numeric level and an epoch-ms time', () => {
    const { log, lines } = ours();
    const before = Date.now();
    log.info('hello');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(['level', 'time', 'pid', 'hostname', 'msg']);
    expect(line).toMatchObject({ level: 30, pid: process.pid, hostname: hostname(), msg: 'hello' });
    expect(line['time']).toBeGreaterThanOrEqual(before);
    expect(lines[0]!.endsWith('}\n')).toBe(true);
  });

  it('honours the level, silent included, in children too', () => {
    const quiet = ours({ level: 'silent' });
    quiet.log.fatal('x');
    quiet.log.child({ a: 1 }).error('y');
    expect(quiet.lines).toEqual([]);
    const debug = ours({ level: 'debug' });
    debug.log.child({ a: 1 }).debug('z');
    debug.log.trace('t');
    expect(debug.lines.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([20]);
  });

  it('never throws: an object that cannot be serialised, an Error, a failing writer', () => {
    const { log, lines } = ours({ base: {} });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    log.info({ circular }, 'circular');
    log.error(new Error('boom'));
    expect(JSON.parse(lines[0]!)).toMatchObject({ circular: '[unserializable]', msg: 'circular' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 50, err: { type: 'Error', message: 'boom' }, msg: 'boom' });
    const broken = jsonLog({ write: () => { throw new Error('EPIPE'); } });
    expect(() => broken.info('lost')).not.toThrow();
  });

  it('refuses an unknown level', () => {
    expect(() => jsonLog({ level: 'loud' as 'info' })).toThrow(/unknown log level "loud"/);
  });
});
