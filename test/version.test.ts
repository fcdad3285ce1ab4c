import { describe, it, expect } from 'vitest';
import {
  versionKey,
  VersionParseError,
  compareVersions,
  crossesSchemaDowngrade,
  formatVersion,
  isNewer,
  isOlder,
  isValidVersion,
  parseVersion,
  sameSchemaLevel,
  schemaLevel,
  sortVersions,
  tryParseVersion,
  versionsEqual,
} from '../protocol/version.ts';

describe('parseVersion: real product version strings', () => {
  it.each([
    // input,          major, minor, patch, build,     prerelease
    ['6.1.4', 6, 1, 4, undefined, []],
    ['6.09.120', 6, 9, 120, undefined, []], // IGEL UMS: leading zero ignored numerically
    ['12.08.110', 12, 8, 110, undefined, []], // Watchdoc style
    ['4.3.0-rc.1', 4, 3, 0, undefined, ['rc', 1]],
    ['v4.2', 4, 2, 0, undefined, []], // v prefix, missing patch is 0
    ['V4.2', 4, 2, 0, undefined, []], // capital V prefix
    ['11.10.150.01', 11, 10, 150, 1, []], // fourth build part
    ['1.2.3+build.5', 1, 2, 3, undefined, []], // build metadata accepted, not a part
    ['1.2.3-beta.2+exp.sha-5114f85', 1, 2, 3, undefined, ['beta', 2]],
    ['4.3.0-rc.01', 4, 3, 0, undefined, ['rc', 1]], // numeric prerelease ids: leading zero ignored too
    ['2.0.0-alpha-1.x-y', 2, 0, 0, undefined, ['alpha-1', 'x-y']],
    ['0.0', 0, 0, 0, undefined, []],
    ['999999999.0.0', 999999999, 0, 0, undefined, []], // 9 digits is the maximum
  ])('accepts %j', (input, major, minor, patch, build, prerelease) => {
    const v = parseVersion(input);
    expect(v).toEqual({ raw: input, major, minor, patch, build, prerelease });
    expect(isValidVersion(input)).toBe(true);
    expect(tryParseVersion(input)).toEqual({ ok: true, version: v });
  });

  it('keeps raw exactly as written (formatVersion returns raw, never a normalised form)', () => {
    for (const s of ['6.09.120', 'v4.2', '11.10.150.01', '1.2.3+build.5']) {
      expect(formatVersion(parseVersion(s))).toBe(s);
    }
  });

  it('returns frozen values', () => {
    const v = parseVersion('4.3.0-rc.1');
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.prerelease)).toBe(true);
  });
});

describe('parseVersion: rejects garbage with a reason that names the problem', () => {
  it.each([
    ['empty string', '', '"": version is empty'],
    ['leading white space', ' 6.1.4', '" 6.1.4": leading white space is not allowed'],
    ['trailing white space (seed: a trailing space broke an update)', '6.1.4 ', '"6.1.4 ": trailing white space is not allowed'],
    ['trailing newline', '6.1.4\n', '"6.1.4\\n": trailing white space is not allowed'],
    ['leading and trailing white space', '\t6.1.4 ', '"\\t6.1.4 ": leading and trailing white space is not allowed'],
    ['only one part', '6', '"6": has only one part; expected at least major.minor (e.g. 6.1)'],
    ['only one part with v prefix', 'v6', '"v6": has only one part; expected at least major.minor (e.g. 6.1)'],
    ['more than four parts', '1.2.3.4.5', '"1.2.3.4.5": has 5 parts; at most 4 are allowed (major.minor.patch.build)'],
    ['non-numeric part', '6.x.1', '"6.x.1": part 2 "x" is not a number'],
    ['non-numeric first part (double v)', 'vv4.2', '"vv4.2": part 1 "v4" is not a number'],
    ['internal space', '6.1 .4', '"6.1 .4": part 2 "1 " is not a number'],
    ['empty part', '6..1', '"6..1": part 2 is empty'],
    ['trailing dot', '6.1.', '"6.1.": part 3 is empty'],
    ['negative major', '-6.1.4', '"-6.1.4": part 1 "-6" is negative'],
    ['negative minor', '6.-1.4', '"6.-1.4": part 2 "-1" is negative'],
    ['a tag, not a version', 'latest', '"latest": is not a version number (expected 2 to 4 dot-separated numbers, e.g. 6.1.4)'],
    ['a bare v', 'v', '"v": is not a version number (expected 2 to 4 dot-separated numbers, e.g. 6.1.4)'],
    ['number part longer than 9 digits', '6.1234567890.1', '"6.1234567890.1": part 2 "1234567890" is longer than 9 digits'],
    ['10 digits even with leading zeros', '0000000001.0', '"0000000001.0": part 1 "0000000001" is longer than 9 digits'],
    ['empty prerelease', '4.3.0-', '"4.3.0-": prerelease after "-" is empty'],
    ['empty prerelease identifier', '4.3.0-rc..1', '"4.3.0-rc..1": prerelease identifier 2 is empty'],
    ['bad prerelease character', '4.3.0-rc_1', '"4.3.0-rc_1": prerelease identifier 1 "rc_1" may only contain 0-9, A-Z, a-z and "-"'],
    ['prerelease number too large', '1.0.0-rc.9007199254740993', '"1.0.0-rc.9007199254740993": prerelease identifier 2 "9007199254740993" is too large'],
    ['empty build metadata', '1.2.3+', '"1.2.3+": build metadata after "+" is empty'],
    ['bad build metadata character', '1.2.3+a/b', '"1.2.3+a/b": build metadata identifier 1 "a/b" may only contain 0-9, A-Z, a-z and "-"'],
    ['too long', `1.2.3-${'a'.repeat(200)}`, `"1.2.3-${'a'.repeat(200)}": is longer than 128 characters`],
  ])('rejects %s', (_rule, input, reason) => {
    expect(tryParseVersion(input)).toEqual({ ok: false, reason });
    expect(isValidVersion(input)).toBe(false);
    let caught: unknown;
    try {
      parseVersion(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(VersionParseError);
    const err = caught as VersionParseError;
    expect(err.input).toBe(input);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`invalid version ${reason}`);
  });

  it('rejects a non-string from unquoted YAML (6.10 parses as the number 6.1)', () => {
    const fromYaml = 6.1 as unknown as string;
    expect(tryParseVersion(fromYaml)).toEqual({
      ok: false,
      reason: '6.1: version must be a string, got number (quote versions in YAML)',
    });
  });
});

describe('compareVersions: ordering', () => {
  it.each([
    ['numeric minor, not string order: 6.09.120 < 6.10.120', '6.09.120', '6.10.120'],
    ['patch decides: 6.10.120 < 6.10.140', '6.10.120', '6.10.140'],
    ['prerelease is older than its release: 4.3.0-rc.1 < 4.3.0', '4.3.0-rc.1', '4.3.0'],
    ['numeric prerelease ids compare numerically: rc.2 < rc.10', '4.3.0-rc.2', '4.3.0-rc.10'],
    ['build part compares numerically: 11.10.150.01 < 11.10.150.2', '11.10.150.01', '11.10.150.2'],
    ['missing build counts as 0: 11.10.150 < 11.10.150.1', '11.10.150', '11.10.150.1'],
    ['Watchdoc patch: 12.08.110 < 12.08.120', '12.08.110', '12.08.120'],
    ['numbers before prerelease: 4.3.0 < 4.3.1-rc.1', '4.3.0', '4.3.1-rc.1'],
    ['semver prerelease precedence: alpha < alpha.1', '1.0.0-alpha', '1.0.0-alpha.1'],
    ['semver prerelease precedence: numeric < alphanumeric', '1.0.0-1', '1.0.0-alpha'],
    ['semver prerelease precedence: beta.11 < rc.1', '1.0.0-beta.11', '1.0.0-rc.1'],
    ['prerelease on a build part: 11.10.150.1-rc.1 < 11.10.150.1', '11.10.150.1-rc.1', '11.10.150.1'],
    ['major dominates: 9.99.999 < 10.0', '9.99.999', '10.0'],
  ])('%s', (_rule, older, newer) => {
    expect(compareVersions(older, newer)).toBe(-1);
    expect(compareVersions(newer, older)).toBe(1);
    expect(isOlder(older, newer)).toBe(true);
    expect(isNewer(newer, older)).toBe(true);
    expect(isNewer(older, newer)).toBe(false);
    expect(isOlder(newer, older)).toBe(false);
    expect(versionsEqual(older, newer)).toBe(false);
  });

  it.each([
    ['missing patch is 0: v4.2 == 4.2.0', 'v4.2', '4.2.0'],
    ['leading zeros are ignored: 6.09.120 == 6.9.120', '6.09.120', '6.9.120'],
    ['missing build is 0: 11.10.150 == 11.10.150.0', '11.10.150', '11.10.150.0'],
    ['build metadata is ignored: 1.2.3+build.5 == 1.2.3', '1.2.3+build.5', '1.2.3'],
    ['build metadata is ignored on prereleases', '1.2.3-rc.1+a', '1.2.3-rc.1+b'],
    ['leading zeros in numeric prerelease ids are ignored', '4.3.0-rc.01', '4.3.0-rc.1'],
  ])('%s', (_rule, a, b) => {
    expect(compareVersions(a, b)).toBe(0);
    expect(compareVersions(b, a)).toBe(0);
    expect(versionsEqual(a, b)).toBe(true);
    expect(isNewer(a, b)).toBe(false);
    expect(isOlder(a, b)).toBe(false);
  });

  it('accepts parsed Version values as well as strings', () => {
    expect(compareVersions(parseVersion('6.09.120'), '6.10.120')).toBe(-1);
    expect(versionsEqual(parseVersion('v4.2'), parseVersion('4.2.0'))).toBe(true);
  });

  it('throws VersionParseError when comparing an invalid string', () => {
    expect(() => compareVersions('6.1.4 ', '6.1.4')).toThrow(VersionParseError);
    expect(() => isNewer('6.1.4', 'latest')).toThrow('"latest": is not a version number');
  });
});

describe('schema level (seed 004, IGEL UMS: "6.10 for all 6.10.x")', () => {
  it.each([
    ['6.10.140', '6.10'],
    ['6.09.120', '6.9'], // numeric and normalised: no leading zeros
    ['6.9.120', '6.9'],
    ['12.08.110', '12.8'],
    ['v4.2', '4.2'],
    ['11.10.150.01', '11.10'],
    ['4.3.0-rc.1', '4.3'],
  ])('schemaLevel(%j) is %j', (v, level) => {
    expect(schemaLevel(v)).toBe(level);
    expect(schemaLevel(parseVersion(v))).toBe(level);
  });

  it.each([
    ['same major.minor, different patch', '6.10.140', '6.10.120', true],
    ['same level regardless of leading zeros', '6.09.120', '6.9.100', true],
    ['prerelease of the same line', '4.3.0-rc.1', '4.3.2', true],
    ['different minor', '6.10.140', '6.09.120', false],
    ['different major', '11.10.150', '12.10.150', false],
  ])('sameSchemaLevel: %s', (_rule, a, b, same) => {
    expect(sameSchemaLevel(a, b)).toBe(same);
    expect(sameSchemaLevel(b, a)).toBe(same);
  });

  it.each([
    ['patch downgrade keeps the schema (seed 004 allows 6.10.140 -> 6.10.120)', '6.10.140', '6.10.120', false],
    ['patch downgrade with leading zeros keeps the schema: 12.08.120 -> 12.08.110', '12.08.120', '12.08.110', false],
    ['minor downgrade crosses the schema: 12.08 -> 12.07', '12.08', '12.07', true],
    ['minor downgrade crosses the schema (seed 004 forbids 6.10.140 -> 6.09.120)', '6.10.140', '6.09.120', true],
    ['major downgrade crosses the schema: 7.0.0 -> 6.10.140', '7.0.0', '6.10.140', true],
    ['major downgrade with higher minor still crosses: 7.0 -> 6.99', '7.0', '6.99', true],
    ['upgrade never does: 6.09.120 -> 6.10.140', '6.09.120', '6.10.140', false],
    ['upgrade never does: 12.07 -> 12.08', '12.07', '12.08', false],
    ['upgrade never does: 6.10.140 -> 7.0.0', '6.10.140', '7.0.0', false],
    ['upgrade never does: 4.3.0-rc.1 -> 4.3.0', '4.3.0-rc.1', '4.3.0', false],
    ['staying put never does: 6.10.140 -> 6.10.140', '6.10.140', '6.10.140', false],
    ['build downgrade keeps the schema: 11.10.150.2 -> 11.10.150.01', '11.10.150.2', '11.10.150.01', false],
    ['release to prerelease of the same line keeps the schema', '4.3.0', '4.3.0-rc.1', false],
    ['same level written differently is no downgrade: 6.9.120 -> 6.09.100', '6.9.120', '6.09.100', false],
  ])('crossesSchemaDowngrade: %s', (_rule, from, to, crosses) => {
    expect(crossesSchemaDowngrade(from, to)).toBe(crosses);
    expect(crossesSchemaDowngrade(parseVersion(from), parseVersion(to))).toBe(crosses);
  });
});

describe('sortVersions', () => {
  it('sorts a shuffled list ascending by version, not by string', () => {
    const shuffled = [
      '6.10.140',
      '4.3.0',
      '11.10.150.2',
      '6.09.120',
      '4.3.0-rc.10',
      'v4.2',
      '12.08.110',
      '4.3.0-rc.1',
      '11.10.150.01',
      '6.1.4',
      '6.10.120',
      '4.3.0-rc.2',
      '12.08.120',
    ];
    expect(sortVersions(shuffled)).toEqual([
      'v4.2',
      '4.3.0-rc.1',
      '4.3.0-rc.2',
      '4.3.0-rc.10',
      '4.3.0',
      '6.1.4',
      '6.09.120',
      '6.10.120',
      '6.10.140',
      '11.10.150.01',
      '11.10.150.2',
      '12.08.110',
      '12.08.120',
    ]);
  });

  it('is stable: equal versions keep their input order and spelling', () => {
    expect(sortVersions(['6.9.120', '6.10.0', '6.09.120', 'v4.2', '4.2.0', '4.2'])).toEqual([
      'v4.2',
      '4.2.0',
      '4.2',
      '6.9.120',
      '6.09.120',
      '6.10.0',
    ]);
    expect(sortVersions(['1.2.3+b', '1.2.3+a', '1.2.3'])).toEqual(['1.2.3+b', '1.2.3+a', '1.2.3']);
  });

  it('does not mutate its input', () => {
    const input = ['2.0', '1.0'] as const;
    expect(sortVersions(input)).toEqual(['1.0', '2.0']);
    expect(input).toEqual(['2.0', '1.0']);
  });

  it('handles the empty list', () => {
    expect(sortVersions([])).toEqual([]);
  });

  it('throws on an invalid entry instead of hiding it', () => {
    expect(() => sortVersions(['6.1.4', '6.x.1'])).toThrow(VersionParseError);
  });
});

describe('versionKey: the map key the release index uses', () => {
  const spellings = ['6.1.4', '6.09.120', '6.9.120', '6.10.120', '12.08.110', '4.3.0-rc.1', '4.3.0-rc.01', '4.3.0', 'v4.3', '4.2', 'v4.2', '4.2.0', '11.10.150.01', '11.10.150.1', '11.10.150', '11.10.150.0', '1.2.3+build.5', '1.2.3'];
  const pairs = spellings.flatMap((a) => spellings.map((b) => [a, b] as const));
  it.each(pairs)('%s and %s share a key exactly when they compare equal', (a, b) => {
    expect(versionKey(a) === versionKey(b)).toBe(compareVersions(a, b) === 0);
  });
});
