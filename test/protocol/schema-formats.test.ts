/**
 * The protocol's `date-time` and `uri` formats are ajv-formats' full ones, rewritten so the
 * agent needs no package for them: they must accept and refuse exactly the same strings, or
 * the controller's report route and its loader would disagree on a report.
 */
import fc from 'fast-check';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { describe, expect, it } from 'vitest';
import { isDateTime, isUri } from '../../protocol/schema-formats.ts';

const reference = (name: 'date-time' | 'uri'): ((s: string) => boolean) => {
  const format = fullFormats[name] as { validate: (s: string) => boolean } | ((s: string) => boolean);
  return typeof format === 'function' ? format : format.validate;
};

const DATE_TIMES = [
  '2026-11-22T10:00:00Z', '2026-11-22t10:00:00z', '2026-11-22 10:00:00Z', '2026-11-22T10:00:00.123+01:00',
  '2026-11-22T10:00:00+0100', '2026-11-22T10:00:00', '2024-02-29T00:00:00Z', '2026-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-12-31T23:59:60Z', '2026-12-31T22:59:60-01:00', '2026-12-31T23:58:60Z', '2026-11-22T24:00:00Z',
  '2026-11-22T10:60:00Z', '2026-11-22T10:00:00+24:00', '2026-11-22T10:00:00+01:60', '2026-11-22', '10:00:00Z',
  '2026-11-22T10:00:00ZT', '', ' 2026-11-22T10:00:00Z', '2026-11-22T10:00Z', '+2026-11-22T10:00:00Z',
];

const URIS = [
  'http://127.0.0.1:8443', 'https://ds-paris.example:8443/agent', 'http://[::1]:8080/', 'http://[fe80::1%25eth0]/',
  'http://[v7.abc]/', 'http://user:pw@host/path?q=1#frag', 'urn:isbn:0451450523', 'mailto:a@b.example', 'http://a b',
  'http://a/b c', 'http://a/<x>', 'http://a/%zz', 'http://a/%41', 'http:', 'http://', '//host/path', 'host/path',
  '#fragment', 'ftp://ftp.example/file', 'http://256.1.1.1/', 'http://1.2.3.4/', 'http://ex"ample/', 'HTTP://EXAMPLE/',
  '1http://x', 'http://x:port/', 'http://x:80:80/', '', 'http://[::ffff:1.2.3.4]/', 'http://[1:2:3:4:5:6:7:8:9]/',
];

describe('the protocol formats are ajv-formats\' full ones', () => {
  it.each(DATE_TIMES)('date-time %j', (s) => {
    expect(isDateTime(s)).toBe(reference('date-time')(s));
  });

  it.each(URIS)('uri %j', (s) => {
    expect(isUri(s)).toBe(reference('uri')(s));
  });

  it('agree on generated date-times', () => {
    const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
    const separator = fc.constantFrom('T', 't', ' ', 'x');
    const fraction = fc.constantFrom('', '.5', '.123456');
    const zone = fc.constantFrom('', 'Z', 'z', '+01:00', '-23:59', '+2400', '+01');
    const two = digits(2);
    const dateTime = fc.tuple(digits(4), two, two, separator, two, two, two, fraction, zone)
      .map(([y, mo, d, sep, h, mi, s, frac, tz]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${tz}`);
    fc.assert(fc.property(dateTime, (s) => isDateTime(s) === reference('date-time')(s)), { numRuns: 5_000 });
  });

  it('agree on generated URIs', () => {
    const characters = 'aZ09-._~!$&\'()*+,;=:@/?#%[] "<>{}|\\^`'.split('');
    const part = fc.string({ unit: fc.constantFrom(...characters), maxLength: 12 });
    const uri = fc.tuple(fc.constantFrom('http://', 'https://', 'urn:', 'x+y.z:', '1a:', '', '//'), part, part)
      .map(([scheme, a, b]) => `${scheme}${a}${b}`);
    fc.assert(fc.property(uri, (s) => isUri(s) === reference('uri')(s)), { numRuns: 20_000 });
  });
});
