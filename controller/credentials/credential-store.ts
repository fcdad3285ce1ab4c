import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { CredentialCheck } from '../../reconcilers/observed.ts';

/** A credential store is a short list of names and paths: anything bigger is a mistake, refused unread. */
export const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** A problem of the credential file, at the line and column of the field it is about. */
export interface CredentialFileProblem {
  readonly path: string;
  /** 1-based; 0 when the problem is the whole file (it cannot be read). */
  readonly line: number;
  readonly column: number;
  /** `credentials[2].expires`; empty for a problem of the file itself. */
  readonly field: string;
  readonly message: string;
}

/** `path:line:column: field: message`, as `versiond validate` prints desired-state problems. */
export function formatCredentialProblem(p: CredentialFileProblem): string {
  const where = p.line > 0 ? `${p.path}:${p.line}:${p.column}` : p.path;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

interface Entry {
  readonly ref: string;
  /** Absolute: a relative `secretFile` is resolved against the credential file's folder. */
  readonly secretFile: string;
  /** As written, to quote it back, and in epoch milliseconds. */
  readonly expires?: { readonly text: string; readonly at: number };
  readonly line: number;
}

// Same rule as a desired-state name (common.schema.json#/$defs/name), since `credentialRef` is one.
const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// RFC 3339 date-time with an explicit zone: a credential that expires "at midnight" must say whose.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const ENTRY_FIELDS = ['ref', 'secretFile', 'expires'] as const;
const YAML_OPTIONS = { version: '1.2', uniqueKeys: true, prettyErrors: false } as const;

/**
 * The controller's credential store, outside Git (seed 002: a distribution server is synced
 * with the stored credential its `credentialRef` names; an expired or missing credential
 * blocks the sync and the status says why). `<stateDir>/credentials.yaml`:
 *
 * ```yaml
 * credentials:
 *   - ref: ivanti-ds-paris
 *     secretFile: /etc/versiond/secrets/ds-paris   # must exist and be readable
 *     expires: 2027-01-31T00:00:00Z                  # optional
 * ```
 *
 * The store knows where secrets are, never what they are: it checks that each secret file is
 * a readable, non-empty file and never reads it, so no secret can reach a log or a status.
 *
 * A malformed file never stops the controller: the last good content stays in force and the
 * problems, each at `file:line:column` with its field, are in `errors`/`lastError` until the
 * file is fixed. An absent file is an empty store: every ref is then missing from `checks`,
 * which the reconcilers report as not found in the credential store.
 */
export class CredentialStore {
  readonly path: string;
  private entries: readonly Entry[] = [];
  private problems: readonly CredentialFileProblem[] = [];
  /** The text last parsed (`null`: the file was absent), so an unchanged file is not parsed again. */
  private text: string | null | undefined = undefined;
  /** Per secret file: why it cannot be used, or `null` when it can. */
  private secretProblems = new Map<string, string | null>();
  private refreshing: Promise<boolean> = Promise.resolve(false);

  private constructor(path: string) {
    this.path = path;
  }

  /** The store at `path`, read once. Never rejects: a bad or unreadable file shows in `lastError`. */
  static async open(path: string): Promise<CredentialStore> {
    const store = new CredentialStore(path);
    await store.refreshIfChanged();
    return store;
  }

  /**
   * Reads the file again, parsing it only if its text changed, and looks at every secret file
   * again (one may have been removed or replaced without the list changing). Resolves `true`
   * when `checks` or `errors` may now differ, so the controller can requeue what depends on
   * them. Calls are serialised; never rejects.
   */
  refreshIfChanged(): Promise<boolean> {
    this.refreshing = this.refreshing.then(
      () => this.refresh(),
      () => this.refresh(),
    );
    return this.refreshing;
  }

  /** The problems of the file as last read; empty when it is valid (or absent). */
  get errors(): readonly CredentialFileProblem[] {
    return this.problems;
  }

  /** The problems as text, one per line, or `null` when the file as last read is valid. */
  get lastError(): string | null {
    return this.problems.length === 0 ? null : this.problems.map(formatCredentialProblem).join('\n');
  }

  /** Every ref the store defines, and whether it can be used at `now` (epoch ms), for `Observed.credentials`. */
  checks(now: number): ReadonlyMap<string, CredentialCheck> {
    const out = new Map<string, CredentialCheck>();
    for (const [ref, defined] of this.byRef()) {
      const reason = this.unusableBecause(defined, now);
      out.set(ref, reason === undefined ? { ref, usable: true } : { ref, usable: false, reason });
    }
    return out;
  }

  /** Where the secret of `ref` is, only if it is usable at `now`: what a sync step hands to the console. */
  secretFileOf(ref: string, now: number): string | undefined {
    const defined = this.byRef().get(ref);
    return defined !== undefined && this.unusableBecause(defined, now) === undefined ? defined[0]!.secretFile : undefined;
  }

  /** The next time after `now` a credential expires, so the controller can requeue then; `undefined` if none will. */
  nextExpiryAfter(now: number): number | undefined {
    let next: number | undefined;
    for (const e of this.entries) {
      const at = e.expires?.at;
      if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  // ---------------------------------------------------------------- checks

  private byRef(): Map<string, Entry[]> {
    const refs = new Map<string, Entry[]>();
    for (const e of this.entries) {
      const list = refs.get(e.ref);
      if (list) list.push(e);
      else refs.set(e.ref, [e]);
    }
    return refs;
  }

  private unusableBecause(defined: readonly Entry[], now: number): string | undefined {
    if (defined.length > 1) {
      return `defined ${defined.length} times in ${this.path} (lines ${defined.map((e) => e.line).join(', ')}): which secret to use is ambiguous`;
    }
    const entry = defined[0]!;
    const reasons: string[] = [];
    const secret = this.secretProblems.get(entry.secretFile);
    if (secret !== null) reasons.push(secret ?? `secret file ${entry.secretFile} has not been checked yet`);
    if (entry.expires !== undefined && now >= entry.expires.at) reasons.push(`expired since ${entry.expires.text}`);
    return reasons.length === 0 ? undefined : reasons.join('; ');
  }

  // ---------------------------------------------------------------- reading

  private async refresh(): Promise<boolean> {
    try {
      return await this.reread();
    } catch (err) {
      // Not expected (every I/O error is caught below), but the controller must keep running.
      return this.setProblems([{ path: this.path, line: 0, column: 0, field: '', message: `cannot refresh the credential store: ${(err as Error).message}` }]);
    }
  }

  private async reread(): Promise<boolean> {
    let changed = false;
    const read = await this.readText();
    if ('problem' in read) {
      changed = this.setProblems([read.problem]);
    } else if (read.text !== this.text) {
      this.text = read.text;
      const parsed = read.text === null ? { entries: [], problems: [] } : parseCredentialFile(this.path, read.text);
      if (parsed.problems.length === 0) {
        this.entries = parsed.entries;
        changed = true;
      }
      changed = this.setProblems(parsed.problems) || changed;
    }
    return (await this.probeSecretFiles()) || changed;
  }

  private async readText(): Promise<{ text: string | null } | { problem: CredentialFileProblem }> {
    const fileProblem = (message: string) => ({ problem: { path: this.path, line: 0, column: 0, field: '', message } });
    try {
      const info = await stat(this.path);
      if (!info.isFile()) return fileProblem('the credential store is not a file');
      if (info.size > MAX_CREDENTIAL_FILE_BYTES) return fileProblem(`the credential store is ${info.size} bytes, more than the ${MAX_CREDENTIAL_FILE_BYTES} allowed`);
      return { text: await readFile(this.path, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { text: null };
      return fileProblem(`cannot read the credential store: ${code ?? (err as Error).message}`);
    }
  }

  private setProblems(problems: readonly CredentialFileProblem[]): boolean {
    const same = problems.length === this.problems.length && problems.every((p, i) => formatCredentialProblem(p) === formatCredentialProblem(this.problems[i]!));
    this.problems = problems;
    return !same;
  }

  private async probeSecretFiles(): Promise<boolean> {
    const probes = new Map<string, string | null>();
    await Promise.all([...new Set(this.entries.map((e) => e.secretFile))].map(async (file) => probes.set(file, await secretFileProblem(file))));
    const changed = probes.size !== this.secretProblems.size || [...probes].some(([file, problem]) => this.secretProblems.get(file) !== problem);
    this.secretProblems = probes;
    return changed;
  }
}

/** Why a secret file cannot be used, or `null`. Opened and closed to prove it readable, never read. */
async function secretFileProblem(file: string): Promise<string | null> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return `secret file ${file} is not a file`;
    if (info.size === 0) return `secret file ${file} is empty`;
    const handle = await open(file, constants.O_RDONLY);
    await handle.close();
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `secret file ${file} is missing`;
    return `secret file ${file} cannot be read (${code ?? (err as Error).message})`;
  }
}

// ---------------------------------------------------------------- parsing

/** The entries of a credential file's text, or every problem in it (then no entries are used). */
function parseCredentialFile(path: string, text: string): { entries: Entry[]; problems: CredentialFileProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const problems: CredentialFileProblem[] = [];
  const at = (node: Node | null | undefined, field: string, message: string) => {
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    problems.push({ path, line: pos.line, column: pos.col, field, message });
  };
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push({ path, line: pos.line, column: pos.col, field: '', message: e.message.split('\n')[0]!.trim() });
  }
  if (problems.length > 0) return { entries: [], problems };

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { entries: [], problems }; // empty file: no credentials
  if (!isMap(root)) {
    at(root, '', 'expected a mapping with a `credentials` list');
    return { entries: [], problems };
  }
  let list: Node | null = null;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'credentials') list = pair.value as Node | null;
    else at(pair.key as Node, key, 'unknown field (the file has only `credentials`)');
  }

  const entries: Entry[] = [];
  if (list !== null && !(isScalar(list) && list.value === null)) {
    if (!isSeq(list)) at(list, 'credentials', 'must be a list of { ref, secretFile, expires }');
    else {
      list.items.forEach((item, i) => {
        const entry = parseEntry(path, item as Node | null, `credentials[${i}]`, at, lineCounter);
        if (entry) entries.push(entry);
      });
    }
  }
  // In file order, as a person fixes them.
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems.length === 0 ? { entries, problems } : { entries: [], problems };
}

function parseEntry(
  path: string,
  node: Node | null,
  field: string,
  at: (node: Node | null | undefined, field: string, message: string) => void,
  lineCounter: LineCounter,
): Entry | undefined {
  if (!isMap(node)) {
    at(node, field, 'must be a mapping with `ref` and `secretFile`');
    return undefined;
  }
  const values = new Map<string, Node | null>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if ((ENTRY_FIELDS as readonly string[]).includes(key)) values.set(key, pair.value as Node | null);
    else at(pair.key as Node, `${field}.${key}`, `unknown field (expected ${ENTRY_FIELDS.join(', ')})`);
  }
  const text = (name: string): string | undefined => {
    const value = values.get(name);
    if (value === undefined) return undefined;
    if (!isScalar(value) || typeof value.value !== 'string' || value.value.trim() === '') {
      at(value ?? node, `${field}.${name}`, 'must be a non-empty string');
      return undefined;
    }
    return value.value;
  };

  const ref = text('ref');
  const secretFile = text('secretFile');
  const expiresText = text('expires');
  let ok = true;
  if (!values.has('ref')) ok = missing(node, field, 'ref', at);
  else if (ref === undefined) ok = false;
  else if (!NAME.test(ref) || ref.length > 63) {
    at(values.get('ref'), `${field}.ref`, `${JSON.stringify(ref)} must be letters, digits, '.', '_' or '-', starting and ending with a letter or digit (as a credentialRef)`);
    ok = false;
  }
  if (!values.has('secretFile')) ok = missing(node, field, 'secretFile', at);
  else if (secretFile === undefined) ok = false;
  let expires: Entry['expires'];
  if (values.has('expires')) {
    const expiresAt = expiresText === undefined ? undefined : parseDateTime(expiresText);
    if (expiresAt === undefined) {
      if (expiresText !== undefined) at(values.get('expires'), `${field}.expires`, `${JSON.stringify(expiresText)} is not a date-time with a time zone, like 2027-01-31T00:00:00Z`);
      ok = false;
    } else expires = { text: expiresText!, at: expiresAt };
  }
  if (!ok || ref === undefined || secretFile === undefined) return undefined;
  return {
    ref,
    secretFile: isAbsolute(secretFile) ? secretFile : resolve(dirname(path), secretFile),
    ...(expires ? { expires } : {}),
    line: lineCounter.linePos(node.range?.[0] ?? 0).line,
  };
}

/** Epoch ms of an RFC 3339 date-time with a zone; `undefined` for anything else, 2027-02-31 included (Date.parse rolls it over). */
function parseDateTime(text: string): number | undefined {
  if (!DATE_TIME.test(text)) return undefined;
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

function missing(node: Node, field: string, name: string, at: (node: Node, field: string, message: string) => void): false {
  at(node, `${field}.${name}`, 'is required');
  return false;
}
