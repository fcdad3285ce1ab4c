/**
 * The one catalogue of error codes in versiond (in the spirit of isomorphic-git's
 * `src/errors` and fastify's codes): every error a person can see has a stable code,
 * a category that says what happens next, structured data, and a message made from
 * that data. Tests assert on codes and data; people read the message.
 *
 * Categories follow Flux:
 * - `invalid`: the desired state is wrong; the user must fix the file (reported by `validate`).
 * - `stalled`: the rollout cannot continue until the user acts; no retry.
 * - `waiting`: a condition is not met yet; requeue after a delay.
 * - `generic`: anything else; retried with backoff.
 */
import { schemaLevel } from '../../protocol/version.ts';

export type ErrorCategory = 'invalid' | 'stalled' | 'waiting' | 'generic';

interface CodeDef<D> {
  readonly category: ErrorCategory;
  readonly message: (data: D) => string;
}

function code<D>(category: ErrorCategory, message: (data: D) => string): CodeDef<D> {
  return { category, message };
}

const q = JSON.stringify;
const GIT_SIDES = { desired: 'the desired revision', status: 'the status branch', clone: 'the controller\'s clone' };
const list = (items: readonly string[]) => items.map((i) => q(i)).join(', ');

export const ERRORS = {
  // -- reading files
  FILE_TOO_LARGE: code<{ size: number; limit: number }>('invalid', (d) =>
    `file is ${formatBytes(d.size)}, over the ${formatBytes(d.limit)} limit for a desired-state document; not read`),
  NOT_UTF8: code<{ offset: number }>('invalid', (d) => `file is not valid UTF-8 (first bad byte at offset ${d.offset}); save it as UTF-8`),
  BINARY_FILE: code<{ offset: number }>('invalid', (d) => `file contains a NUL byte at offset ${d.offset}; it is not a text YAML document`),
  SYMLINK: code<{ target: string; outside: boolean }>('invalid', (d) =>
    d.outside
      ? `symbolic link to ${q(d.target)} points outside the repository; not followed`
      : `symbolic link to ${q(d.target)} is not followed; put the document in the file itself`),
  UNSAFE_PATH: code<{ entry: string }>('invalid', (d) => `unsafe path entry ${q(d.entry)} in the repository tree; not read`),
  NOT_A_FILE: code<{ type: string }>('invalid', (d) => `${d.type} entries are not read as desired state`),
  // -- YAML
  YAML_SYNTAX: code<{ detail: string }>('invalid', (d) => `YAML syntax: ${d.detail}`),
  MULTIPLE_DOCUMENTS: code<{ count: number }>('invalid', (d) =>
    `${d.count} YAML documents in one file; versiond reads one document per file (split them into separate files)`),
  EMPTY_DOCUMENT: code<Record<string, never>>('invalid', () => 'file holds no YAML document'),
  NOT_A_MAPPING: code<{ actual: string }>('invalid', (d) => `document must be a mapping with apiVersion, kind, metadata and spec, not ${d.actual}`),
  // -- YAML limits (issue 14, item 11)
  NESTING_TOO_DEEP: code<{ limit: number; alias?: string; cycle?: boolean }>('invalid', (d) =>
    `nesting deeper than ${d.limit} levels${!d.alias ? '' : d.cycle ? ` (alias *${d.alias} is inside the node it names)`
      : ` once alias *${d.alias} is expanded`}; not read (a desired-state document needs far fewer)`),
  ALIAS_LIMIT: code<{ limit: number; alias: string; what: 'aliases' | 'values' }>('invalid', (d) =>
    d.what === 'aliases'
      ? `more than ${d.limit} YAML aliases in one file; not read (write the values out)`
      : `alias *${d.alias} expands the document past ${d.limit} values (an alias bomb, "billion laughs"); not read`),
  // -- YAML outside the kind folders (issue 14, item 12)
  DOCUMENT_OUTSIDE_KIND_FOLDER: code<{ kind?: string; expected?: string; folders: readonly string[] }>('invalid', (d) =>
    `versiond document outside the kind folders, so it is never read: ${d.kind && d.expected
      ? `${d.kind} documents live under ${d.expected}/`
      : `documents live under ${d.folders.slice(0, -1).map((f) => `${f}/`).join(', ')} or ${d.folders.at(-1)}/`}`
    + ' (move it there, or list its path in .versiondignore)'),
  YAML_OUTSIDE_KIND_FOLDER: code<{ size?: number; limit?: number }>('invalid', (d) =>
    `YAML file outside the kind folders is not read as desired state (${d.size !== undefined && d.limit !== undefined
      ? `${formatBytes(d.size)}, over the ${formatBytes(d.limit)} limit: not checked`
      : 'list its path in .versiondignore to silence this warning'})`),
  // -- document shape
  UNKNOWN_KIND: code<{ kind: string; known: readonly string[] }>('invalid', (d) =>
    `unknown kind ${q(d.kind)}; known kinds are ${d.known.join(', ')}`),
  WRONG_FOLDER: code<{ kind: string; folder: string; expected: string }>('invalid', (d) =>
    `a ${d.kind} belongs in ${d.expected}/, not ${d.folder}/`),
  MISSING_FIELD: code<{ field: string }>('invalid', (d) => `missing required field ${q(d.field)}`),
  UNKNOWN_FIELD: code<{ field: string; suggestion?: string }>('invalid', (d) =>
    `unknown field ${q(d.field)}${d.suggestion ? ` (did you mean ${q(d.suggestion)}?)` : ''}`),
  WRONG_TYPE: code<{ expected: string; actual: string; hint?: string }>('invalid', (d) =>
    `must be ${article(d.expected)}, not ${article(d.actual)}${d.hint ? ` (${d.hint})` : ''}`),
  NOT_ALLOWED_VALUE: code<{ allowed: readonly unknown[]; actual: unknown }>('invalid', (d) =>
    d.allowed.length === 1 ? `must be ${q(d.allowed[0])}, not ${q(d.actual)}` : `must be one of ${d.allowed.map((a) => q(a)).join(', ')}, not ${q(d.actual)}`),
  BAD_FORMAT: code<{ detail: string }>('invalid', (d) => d.detail),
  NAME_WHITESPACE: code<{ value: string }>('invalid', (d) =>
    `${q(d.value)} has leading or trailing white space, which breaks an update (seed 000); remove it`),
  INVALID_VERSION: code<{ value: unknown; reason: string }>('invalid', (d) => `invalid version: ${d.reason}`),
  SCHEMA_VIOLATION: code<{ detail: string }>('invalid', (d) => d.detail),
  // -- across files (policy)
  DUPLICATE_NAME: code<{ kind: string; name: string; firstPath: string }>('invalid', (d) =>
    `${d.kind} ${q(d.name)} is already declared in ${d.firstPath}; names are unique per kind`),
  DUPLICATE_MEMBER: code<{ name: string; firstField: string }>('invalid', (d) =>
    `${q(d.name)} is already used at ${d.firstField}; names are unique within a target`),
  TEST_DEVICE_BEHIND_PRODUCTION_WRS: code<{ device: string; wrs: string }>('invalid', (d) =>
    `test device ${q(d.device)} is behind WRS ${q(d.wrs)}, which is not in the test ring; devices take their WRS's version (seeds 001, 003), so it could never get the test tag — add ${q(d.wrs)} to testRing.repositoryServers`),
  DANGLING_REFERENCE: code<{ refKind: string; name: string; scope?: string }>('invalid', (d) =>
    `${d.refKind} ${q(d.name)} is not declared${d.scope ? ` ${d.scope}` : ''}`),
  REFERENCE_TO_INVALID: code<{ refKind: string; name: string; path: string }>('invalid', (d) =>
    `${d.refKind} ${q(d.name)} is declared in ${d.path} but is invalid; this target waits until it is fixed`),
  RESERVED_NAME: code<{ name: string; reason: string }>('invalid', (d) => `${q(d.name)} is reserved: ${d.reason}`),
  UNRESOLVED_TAG: code<{ tag: string; product: string }>('invalid', (d) =>
    `tag ${q(d.tag)} does not resolve to any ${d.product} Release (no Release of that product lists it in spec.tags or has it as spec.version)`),
  AMBIGUOUS_TAG: code<{ tag: string; product: string; releases: readonly string[] }>('invalid', (d) =>
    `tag ${q(d.tag)} points at more than one ${d.product} Release (${list(d.releases)}); a tag names exactly one release of a product`),
  DUPLICATE_RELEASE_VERSION: code<{ product: string; version: string; other: string }>('invalid', (d) =>
    `${d.product} ${d.version} is already declared by Release ${q(d.other)}`),
  PRODUCT_MISMATCH: code<{ release: string; expected: string; actual: string }>('invalid', (d) =>
    `Release ${q(d.release)} is a ${d.actual} release, but this target runs ${d.expected}`),
  AGENT_CONFLICT: code<{ agent: string; product: string; other: string }>('invalid', (d) =>
    `agent ${q(d.agent)} already runs ${d.product} for ${d.other}; one agent cannot be told two versions of the same product`),
  CONSOLE_CONFLICT: code<{ consoles: readonly string[] }>('invalid', (d) =>
    `more than one console syncs engines/definitions to this server (${list(d.consoles)}); only one console may (seed 002)`),
  DOWNLOAD_SOURCE_DESTINATION: code<{ console: string }>('invalid', (d) =>
    `this server is the download source of console ${q(d.console)}, so it cannot be that console's sync destination (seed 002)`),
  SCHEMA_DOWNGRADE: code<{ from: string; to: string; base: string }>('invalid', (d) =>
    `changing ${d.from} (at ${d.base.slice(0, 7)}) to ${d.to} lowers the database schema ${schemaLevel(d.from)} -> ${schemaLevel(d.to)}; UMS can only downgrade within one major.minor (seed 004)`),
  DEPENDS_ON_INVALID: code<{ dependency: string }>('invalid', (d) => `depends on ${d.dependency}, which is invalid or missing`),
  // -- rollout governance: windows, freezes, pause, version policy (issue 8, items 4-6)
  CRON_SYNTAX: code<{ expression: string; detail: string }>('invalid', (d) => `invalid cron expression ${q(d.expression)}: ${d.detail}`),
  CRON_NEVER_MATCHES: code<{ expression: string }>('invalid', (d) =>
    `cron expression ${q(d.expression)} never matches (no month it allows has a day of month it names): the window would never open`),
  WINDOW_DURATION_TOO_LONG: code<{ duration: string; max: string }>('invalid', (d) =>
    `duration ${d.duration} is longer than ${d.max}: a recurring window or freeze lasts at most a year (use from/until for one long span)`),
  WINDOW_ENDS_BEFORE_START: code<{ from: string; until: string }>('invalid', (d) =>
    `until ${d.until} is not after from ${d.from}: the window would never be open`),
  DATABASE_RESTORE_MISMATCH: code<{ restored: string; release: string; version: string }>('invalid', (d) =>
    `a database restore is declared for ${d.restored}, but spec.release ${q(d.release)} is ${d.version}: the declaration only allows going back to the restored version (set the release to it, or remove the declaration once the cluster has moved on)`),
  MANDATORY_VERSION_SKIPPED: code<{ observed: string; desired: string; release: string; version: string }>('stalled', (d) =>
    `runs ${d.observed}: ${d.version} (release ${q(d.release)}) is mandatory and must be installed before ${d.desired}; point this target at ${q(d.release)} first`),
  SCHEMA_FENCE: code<{ schemaAt: string; desired: string }>('stalled', (d) =>
    `the production database schema was migrated to ${d.schemaAt}; ${d.desired} is older and cannot run on it, even within ${schemaLevel(d.schemaAt)}: restore a database backup taken before that migration, then declare it in spec.databaseRestore (version ${d.desired}, with the reason)`),
  // -- rollout governance: waves and approval gates (issue 8, items 1, 2)
  WAVE_STEP_EMPTY: code<{ step: string }>('invalid', (d) =>
    `wave step ${d.step} names no member; a step is a cumulative size of at least 1 (a count, or a share such as 5%)`),
  WAVE_STEP_DECREASING: code<{ step: string; previous: string }>('invalid', (d) =>
    `wave step ${d.step} is smaller than the step before it (${d.previous}); steps are cumulative sizes (1, then 5%, then 25%, …), so each is at least the one before`),
  WAVE_MAX_UNAVAILABLE_ZERO: code<{ value: string }>('invalid', (d) => `maxUnavailable ${d.value} lets no member be updated; use at least 1`),
  APPROVAL_WAVE_UNKNOWN: code<{ wave: number; waves: number }>('invalid', (d) =>
    `wave ${d.wave} does not exist: spec.rollout.waves.steps make at most ${d.waves} wave${d.waves === 1 ? '' : 's'} (counting the one implied after a last step below 100%)`),
  APPROVAL_NO_SUCH_WAVE: code<{ wave: number; waves: number; why?: string }>('invalid', (d) =>
    `wave ${d.wave} does not exist: ${d.why ?? (d.waves === 0 ? 'no waves are declared (spec.rollout.waves)' : `spec.rollout.waves.steps make at most ${d.waves} wave${d.waves === 1 ? '' : 's'} (counting the one implied after a last step below 100%)`)}; this approval has no effect`),
  APPROVAL_UNVERIFIED: code<{ by: string; reason: string }>('invalid', (d) =>
    `the approval by ${d.by} does not count: ${d.reason}`),
  APPROVAL_NOT_REQUIRED: code<{ wave: number; required: readonly number[] }>('invalid', (d) =>
    `wave ${d.wave} does not require approval (${d.required.length === 0 ? 'no wave does' : `spec.rollout.waves.approvalRequired is [${d.required.join(', ')}]`}); this approval has no effect`),
  WAVES_WITHOUT_MEMBERS: code<{ kind: string; why: string }>('invalid', (d) =>
    `a ${d.kind} has no wave members: ${d.why}; waves and approval gates declared here would do nothing — remove spec.rollout.waves`),
  // -- rollout governance: promotion (issue 8, item 3)
  PROMOTION_OVERRIDE_UNKNOWN: code<{ version: string; product: string }>('invalid', (d) =>
    `no release of ${d.product} has version ${d.version}: this override would let nothing through`),
  PROMOTION_OVERRIDE_WITHOUT_RING: code<Record<string, never>>('invalid', () =>
    `this account has no testRing: production never waits for one, so there is nothing to override`),
  // -- revisions
  REVISION_NOT_FOUND: code<{ rev: string; detail: string }>('invalid', (d) => `cannot resolve revision ${q(d.rev)}: ${d.detail}`),
  // -- the Git store (issue 14, item 5)
  GIT_OBJECT_MISSING: code<{ oid: string; repository: string; side: 'desired' | 'status' | 'clone' }>('generic', (d) =>
    `Git object ${d.oid} is missing from ${d.repository} (${GIT_SIDES[d.side]})`),
  // A desired revision that --verify-commits refuses (issue 13, item 3).
  REVISION_UNVERIFIED: code<{ commit: string; signature: string; file: string }>('invalid', (d) =>
    `commit ${d.commit.slice(0, 7)} is ${d.signature}; --verify-commits acts only on commits signed by a key in ${d.file}`),
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorData<C extends ErrorCode> = C extends ErrorCode ? ((typeof ERRORS)[C] extends CodeDef<infer D> ? D : never) : never;

export function categoryOf(c: ErrorCode): ErrorCategory {
  return ERRORS[c].category;
}

export function messageOf<C extends ErrorCode>(c: C, data: ErrorData<C>): string {
  return (ERRORS[c].message as (d: ErrorData<C>) => string)(data);
}

/** An error carrying a catalogue code and its structured data. */
export class VersiondError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly category: ErrorCategory;
  readonly data: ErrorData<C>;
  constructor(c: C, data: ErrorData<C>) {
    super(messageOf(c, data));
    this.name = 'VersiondError';
    this.code = c;
    this.category = categoryOf(c);
    this.data = data;
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function article(word: string): string {
  if (word === 'null') return 'null';
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

