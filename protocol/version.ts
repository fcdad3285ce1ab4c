/**
 * The version module: the one place in versiond that knows what a version string is.
 *
 * WHY a module of our own instead of plain `semver`: versiond manages real products whose
 * vendors do not write strict semver:
 *   - `6.09.120`, `12.08.110` — leading zeros (IGEL UMS, Watchdoc). Strict semver rejects them.
 *   - `v4.2`                  — a `v` prefix and only two parts (tags in release feeds).
 *   - `11.10.150.01`          — a fourth "build" part (Windows-style product builds).
 *   - `4.3.0-rc.1`            — ordinary semver prereleases, which must still order correctly.
 * So we parse leniently but strictly *validated* (every reject has a precise reason), and hand
 * the parts semver is good at (prerelease precedence) to `semver` itself.
 *
 * Rules of the codebase:
 *   - This is the ONLY file allowed to import `semver`; everything else goes through this API,
 *     so there is exactly one notion of "newer" across controller, reconcilers and agent.
 *   - Pure: no I/O, no clock, no globals. Values are frozen.
 *   - It lives in `protocol/` because agents compare versions too (`6.09.120` is `6.9.120` to
 *     the reference agent as to the reconcilers), and the agent ships without the controller.
 */
import semver from 'semver';

/** A parsed version. Produced only by {@link parseVersion} / {@link tryParseVersion}. */
export interface Version {
  /** The string exactly as written (white space is rejected, so this is also the trimmed input). */
  readonly raw: string;
  readonly major: number;
  readonly minor: number;
  /** 0 when absent: `v4.2` is 4.2.0, as release feeds that drop the patch part mean it. */
  readonly patch: number;
  /** The 4th numeric part, e.g. `01` -> 1 in `11.10.150.01`; `undefined` when the version has 3 or fewer parts. */
  readonly build: number | undefined;
  /** Prerelease identifiers, numeric ones as numbers: `-rc.1` -> `['rc', 1]`. Empty for a release. */
  readonly prerelease: readonly (string | number)[];
}

/** Thrown by {@link parseVersion}; `reason` names the input and the exact problem. */
export class VersionParseError extends Error {
  override readonly name = 'VersionParseError';
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`invalid version ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** Parts are 1..9 digits: keeps every value far inside the safe-integer range and catches pasted serials/timestamps. */
const MAX_PART_DIGITS = 9;
/**
 * Upper bound on the whole string. Real product versions are < 40 characters; the bound also
 * guarantees the canonical prerelease string we hand to semver stays under semver's own
 * 256-character limit, so comparison can never throw on a value we accepted.
 */
const MAX_LENGTH = 128;
const DIGITS = /^[0-9]+$/;
const IDENTIFIER = /^[0-9A-Za-z-]+$/;

type ParseResult = { ok: true; version: Version } | { ok: false; reason: string };

const q = (s: string): string => JSON.stringify(s);

/**
 * Parse without throwing. Grammar:
 *
 *   [v|V] N.N[.N[.N]] [-pre.ident.ifiers] [+build.meta]     where N is 1..9 ASCII digits
 *
 * - Leading zeros are allowed and ignored numerically (`6.09.120` is 6.9.120): IGEL UMS and
 *   Watchdoc publish versions this way, and desired-state files copy them verbatim.
 * - Surrounding white space is an error, not trimmed away: the seeds warn that a trailing space
 *   in a desired version silently broke an update, so we surface it where it was written.
 * - Prerelease numeric identifiers may also carry leading zeros (`rc.01` == `rc.1`), for the
 *   same reason as the numeric parts; otherwise prerelease follows semver.
 * - `+build` metadata is validated and kept in `raw`, but ignored for ordering (semver rule).
 */
export function tryParseVersion(input: string): ParseResult {
  const fail = (reason: string): ParseResult => ({ ok: false, reason: `${q(input)}: ${reason}` });

  // Callers reading YAML get numbers for unquoted versions (`6.10` becomes 6.1): say so.
  if (typeof input !== 'string') {
    const got: unknown = input;
    return {
      ok: false,
      reason: `${String(got)}: version must be a string, got ${typeof got} (quote versions in YAML)`,
    };
  }
  if (input.length === 0) return fail('version is empty');
  const leading = /^\s/.test(input);
  const trailing = /\s$/.test(input);
  if (leading || trailing) {
    const where = leading && trailing ? 'leading and trailing' : leading ? 'leading' : 'trailing';
    return fail(`${where} white space is not allowed`);
  }
  if (input.length > MAX_LENGTH) return fail(`is longer than ${MAX_LENGTH} characters`);

  let rest = input.startsWith('v') || input.startsWith('V') ? input.slice(1) : input;

  // Build metadata: everything after the first '+'. Split it off first, since it may contain '-'.
  let metadata: string | undefined;
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    metadata = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
  }

  // Prerelease: everything after the first '-' of what remains.
  let pre: string | undefined;
  const dash = rest.indexOf('-');
  let core = rest;
  if (dash >= 0) {
    core = rest.slice(0, dash);
    pre = rest.slice(dash + 1);
  }

  // A '-' where a number should start ("-6.1.4", "6.-1.2") is a negative number, not a prerelease.
  if (pre !== undefined && (core === '' || core.endsWith('.'))) {
    const digits = /^[0-9]+/.exec(pre);
    if (digits) {
      const partNo = core === '' ? 1 : core.split('.').length;
      return fail(`part ${partNo} "-${digits[0]}" is negative`);
    }
  }

  // No digit at all ("latest", "stable", "v"): a tag or channel name, not a version.
  if (!/[0-9]/.test(core)) {
    return fail('is not a version number (expected 2 to 4 dot-separated numbers, e.g. 6.1.4)');
  }

  const parts = core.split('.');
  const numbers: number[] = [];
  for (const [i, part] of parts.entries()) {
    const partNo = i + 1;
    if (part === '') return fail(`part ${partNo} is empty`);
    if (!DIGITS.test(part)) return fail(`part ${partNo} ${q(part)} is not a number`);
    if (part.length > MAX_PART_DIGITS) {
      return fail(`part ${partNo} ${q(part)} is longer than ${MAX_PART_DIGITS} digits`);
    }
    numbers.push(Number.parseInt(part, 10));
  }
  if (parts.length === 1) return fail('has only one part; expected at least major.minor (e.g. 6.1)');
  if (parts.length > 4) {
    return fail(`has ${parts.length} parts; at most 4 are allowed (major.minor.patch.build)`);
  }

  const prerelease: (string | number)[] = [];
  if (pre !== undefined) {
    if (pre === '') return fail('prerelease after "-" is empty');
    for (const [i, id] of pre.split('.').entries()) {
      const idNo = i + 1;
      if (id === '') return fail(`prerelease identifier ${idNo} is empty`);
      if (!IDENTIFIER.test(id)) {
        return fail(`prerelease identifier ${idNo} ${q(id)} may only contain 0-9, A-Z, a-z and "-"`);
      }
      if (DIGITS.test(id)) {
        const n = Number(id);
        // semver keeps numeric ids >= MAX_SAFE_INTEGER as strings and then compares them imprecisely.
        if (!(n < Number.MAX_SAFE_INTEGER)) {
          return fail(`prerelease identifier ${idNo} ${q(id)} is too large`);
        }
        prerelease.push(n);
      } else {
        prerelease.push(id);
      }
    }
  }

  if (metadata !== undefined) {
    if (metadata === '') return fail('build metadata after "+" is empty');
    for (const [i, id] of metadata.split('.').entries()) {
      const idNo = i + 1;
      if (id === '') return fail(`build metadata identifier ${idNo} is empty`);
      if (!IDENTIFIER.test(id)) {
        return fail(`build metadata identifier ${idNo} ${q(id)} may only contain 0-9, A-Z, a-z and "-"`);
      }
    }
  }

  const version: Version = Object.freeze({
    raw: input,
    major: numbers[0] ?? 0,
    minor: numbers[1] ?? 0,
    patch: numbers[2] ?? 0,
    build: numbers[3],
    prerelease: Object.freeze(prerelease),
  });
  return { ok: true, version };
}

/**
 * Parsed versions by input string. A fleet's desired state names a few hundred distinct
 * versions but compares them millions of times (every tag lookup, every member), so each
 * string is parsed once. Parsing is pure, so memoising it changes no result; the bound keeps
 * a stream of garbage input from growing memory.
 */
const MEMO_LIMIT = 50_000;
const memo = new Map<string, ParseResult>();

function parseMemo(input: string): ParseResult {
  let result = memo.get(input);
  if (result === undefined) {
    result = tryParseVersion(input);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(input, result);
  }
  return result;
}

/** Parse or throw a {@link VersionParseError} whose `reason` names the problem. */
export function parseVersion(input: string): Version {
  const result = typeof input === 'string' ? parseMemo(input) : tryParseVersion(input);
  if (!result.ok) throw new VersionParseError(input, result.reason);
  return result.version;
}

export function isValidVersion(input: string): boolean {
  return (typeof input === 'string' ? parseMemo(input) : tryParseVersion(input)).ok;
}

/**
 * A string equal for two versions exactly when {@link compareVersions} says they are equal
 * (`6.09.120` and `6.9.120` share a key, `v4.2` and `4.2.0` too), for indexing versions in
 * maps instead of comparing them pairwise. Throws {@link VersionParseError} if invalid.
 */
export function versionKey(v: Version | string): string {
  const ver = toVersion(v);
  const numeric = `${ver.major}.${ver.minor}.${ver.patch}.${ver.build ?? 0}`;
  return ver.prerelease.length === 0 ? numeric : `${numeric}-${ver.prerelease.join('.')}`;
}

function toVersion(v: Version | string): Version {
  return typeof v === 'string' ? parseVersion(v) : v;
}

function cmp(a: number, b: number): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Total order on versions (strings are parsed and throw {@link VersionParseError} if invalid):
 *   1. the numeric tuple (major, minor, patch, build), a missing build counting as 0
 *      (`11.10.150` == `11.10.150.0`; `11.10.150.01` < `11.10.150.2`);
 *   2. only on a tie, prerelease precedence exactly as semver defines it (a release is newer than
 *      any of its prereleases; numeric identifiers compare numerically: rc.2 < rc.10).
 * Build metadata never affects the order.
 *
 * Step 2 is delegated to `semver.compare` on the canonical `0.0.0[-pre]`, so we do not
 * re-implement semver's precedence rules.
 */
export function compareVersions(a: Version | string, b: Version | string): -1 | 0 | 1 {
  const va = toVersion(a);
  const vb = toVersion(b);
  const numeric =
    cmp(va.major, vb.major) ||
    cmp(va.minor, vb.minor) ||
    cmp(va.patch, vb.patch) ||
    cmp(va.build ?? 0, vb.build ?? 0);
  if (numeric !== 0) return numeric;
  if (va.prerelease.length === 0 && vb.prerelease.length === 0) return 0;
  return semver.compare(canonicalPrerelease(va), canonicalPrerelease(vb));
}

function canonicalPrerelease(v: Version): string {
  return v.prerelease.length === 0 ? '0.0.0' : `0.0.0-${v.prerelease.join('.')}`;
}

/** Same precedence, whatever the spelling: `6.09.120` equals `6.9.120`, `v4.2` equals `4.2.0`. */
export function versionsEqual(a: Version | string, b: Version | string): boolean {
  return compareVersions(a, b) === 0;
}

/** A version an agent reported (free text) is valid and equals `b`: an invalid one is never "equal". */
export function reportsVersion(reported: unknown, b: string): boolean {
  return typeof reported === 'string' && isValidVersion(reported) && versionsEqual(reported, b);
}

/** A version an agent reported is valid and newer than `b`. */
export function reportsNewerVersion(reported: unknown, b: string): boolean {
  return typeof reported === 'string' && isValidVersion(reported) && isNewer(reported, b);
}

/** `a` > `b`. */
export function isNewer(a: Version | string, b: Version | string): boolean {
  return compareVersions(a, b) > 0;
}

/** `a` < `b`. */
export function isOlder(a: Version | string, b: Version | string): boolean {
  return compareVersions(a, b) < 0;
}

/**
 * The database schema level of products whose schema follows major.minor (seed 004, IGEL UMS:
 * "6.10 for all 6.10.x").
 *
 * Choice: the level is NUMERIC and normalised — `major.minor` without leading zeros — so
 * `6.09.120` and `6.9.120` have the same level `'6.9'`, and `6.10.140` has `'6.10'`. A vendor's
 * spelling (`6.09`) must never make one schema look like two, since the level is used as a key
 * and compared for equality. Consequence: the string may differ from the vendor's display form
 * ('6.9' for "6.09"); show `raw` to humans, use this for logic.
 */
export function schemaLevel(v: Version | string): string {
  const ver = toVersion(v);
  return `${ver.major}.${ver.minor}`;
}

/** Both versions run the same database schema (same numeric major.minor). */
export function sameSchemaLevel(a: Version | string, b: Version | string): boolean {
  const va = toVersion(a);
  const vb = toVersion(b);
  return va.major === vb.major && va.minor === vb.minor;
}

/**
 * A change from `from` to `to` that lowers major.minor: seed 004 forbids it (6.10.140 -> 6.09.120),
 * because the database schema was already migrated forward and the older server cannot run on it.
 * It allows 6.10.140 -> 6.10.120 (patch downgrade, same schema). Upgrades never cross a downgrade.
 * Prerelease and build parts are irrelevant: schema follows major.minor only.
 */
export function crossesSchemaDowngrade(from: Version | string, to: Version | string): boolean {
  const f = toVersion(from);
  const t = toVersion(to);
  return (cmp(t.major, f.major) || cmp(t.minor, f.minor)) < 0;
}

/** The version as its author wrote it (`raw`), never a normalised form: `6.09.120` stays `6.09.120`. */
export function formatVersion(v: Version): string {
  return v.raw;
}

/**
 * Ascending by {@link compareVersions}; stable, so equal spellings (`6.09.120`, `6.9.120`) keep
 * their input order. Returns a new array of the original strings. Throws
 * {@link VersionParseError} on the first invalid entry: silently dropping or misplacing a bad
 * version would hide the error from whoever wrote it.
 */
export function sortVersions(list: readonly string[]): string[] {
  const parsed = list.map((raw) => ({ raw, version: parseVersion(raw) }));
  parsed.sort((x, y) => compareVersions(x.version, y.version));
  return parsed.map((p) => p.raw);
}
