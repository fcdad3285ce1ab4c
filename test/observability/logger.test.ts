/**
 * Issue 14, items 7 and 8: the controller's log lines. Colour only on a terminal and never when
 * NO_COLOR is set (no-color.org); `--log-format pretty` into a file or a pipe is plain text; and
 * what a log line quotes (paths, targets, agent values) cannot forge a line or send an escape.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { colorWanted, createLogger, prettyLine } from '../../controller/observability/logger.ts';

/** A stream that keeps what is written, and says whether it is a terminal. */
function fakeStream(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  stream.isTTY = isTTY;
  stream.text = () => chunks.join('');
  return stream;
}

type Env = Record<string, string | undefined>;
async function logOnce(options: { isTTY: boolean; env: Env; pretty?: boolean }): Promise<string> {
  const stream = fakeStream(options.isTTY);
  const pretty = options.pretty !== undefined ? { pretty: options.pretty } : {};
  const logger = createLogger({ stream, env: options.env, ...pretty });
  logger.warn({ target: 'account/acme-w360' }, 'something to see');
  await new Promise((resolve) => setImmediate(resolve));
  return stream.text();
}

const ESC = '\x1b';

describe('colour (no-color.org)', () => {
  it('a terminal gets coloured pretty lines', async () => {
    const out = await logOnce({ isTTY: true, env: {} });
    expect(out).toContain(`${ESC}[33mWARN `);
    expect(out).toContain('account/acme-w360 something to see');
  });

  it('NO_COLOR set to anything non-empty turns colour off; set but empty, it does not', async () => {
    expect(await logOnce({ isTTY: true, env: { NO_COLOR: '1' } })).not.toContain(ESC);
    expect(await logOnce({ isTTY: true, env: { NO_COLOR: 'false' } })).not.toContain(ESC);
    expect(await logOnce({ isTTY: true, env: { NO_COLOR: '' } })).toContain(ESC);
  });

  it('--log-format pretty into a file or a pipe: readable lines, no escape code', async () => {
    const out = await logOnce({ isTTY: false, env: {}, pretty: true });
    expect(out).not.toContain(ESC);
    expect(out).toMatch(/^\d\d:\d\d:\d\d WARN  account\/acme-w360 something to see\n$/);
  });

  it('not a terminal and no format asked: JSON lines, no escape code', async () => {
    const out = await logOnce({ isTTY: false, env: {} });
    expect(out).not.toContain(ESC);
    expect(JSON.parse(out)).toMatchObject({ level: 40, target: 'account/acme-w360', msg: 'something to see' });
  });

  it('FORCE_COLOR forces colour on (over NO_COLOR, as Node does); FORCE_COLOR=0 forces it off', () => {
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: 'false' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: '' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
  });
});

describe('what a log line quotes (issue 14, item 7)', () => {
  const hostile = JSON.stringify({
    level: 30,
    time: 0,
    target: 'account/evil\u202e',
    revision: 'abc\x1b[2Jdef',
    msg: 'file accounts/evil\nok: forged.yaml\x1b]0;title\x07 unreadable',
    path: 'a\x1b[31mb',
    'k\ney': 'v\u2028w',
    nested: { x: '\x85' },
  });

  it('a pretty line stays one line with every control escaped, coloured or not', () => {
    for (const color of [true, false]) {
      const line = prettyLine(hostile, color);
      expect(line.endsWith('\n')).toBe(true);
      const body = line.slice(0, -1).replace(/\x1b\[(?:\d+)m/g, '');
      expect(body).not.toMatch(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
      expect(body).toContain('file accounts/evil\\nok: forged.yaml\\x1b]0;title\\x07 unreadable');
      expect(body).toContain('account/evil\\u202e');
      expect(body).toContain('path="a\\u001b[31mb"');
    }
  });

  it('JSON lines escape what JSON.stringify leaves raw (C1, separators, bidi) and parse back the same', async () => {
    const stream = fakeStream(false);
    createLogger({ stream, pretty: false, env: {} }).info({ v: 'a\u2028b\x85c\u202ed' }, 'm\u2029');
    await new Promise((resolve) => setImmediate(resolve));
    const out = stream.text();
    expect(out.slice(0, -1)).not.toMatch(/[\p{Cc}\u2028\u2029\u202a-\u202e]/u);
    expect(JSON.parse(out)).toMatchObject({ v: 'a\u2028b\x85c\u202ed', msg: 'm\u2029' });
  });
});
