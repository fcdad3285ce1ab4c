/**
 * The `allowed_signers` file of ssh-keygen(1): who may sign what. The root of trust for
 * approvals (`--approvers`) and for desired revisions (`--verify-commits`) lives in such a
 * file outside the repository, so a push cannot add its own key. Each line:
 *
 *   principals [options] keytype base64-key [comment]
 *
 * with `namespaces="git"`, `valid-after=`, `valid-before=` honoured, and `cert-authority`
 * refused (SSH certificates are not supported: a line that needs them must not half-work).
 */
import { parsePublicKeyLine, type SshPublicKey } from './ssh-public-key.ts';
import { SshWireError } from './ssh-wire.ts';

export interface AllowedSigner {
  /** Patterns as written (`alice@example.com`, `*@example.com`, `!bob@example.com`). */
  readonly principals: readonly string[];
  readonly namespaces?: readonly string[];
  readonly validAfter?: number;
  readonly validBefore?: number;
  readonly key: SshPublicKey;
  readonly line: number;
}

export interface AllowedSignersProblem {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly message: string;
}

export class AllowedSignersError extends Error {
  constructor(readonly problems: readonly AllowedSignersProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`).join('\n'));
    this.name = 'AllowedSignersError';
  }
}

export interface AllowedSigners {
  readonly file: string;
  readonly signers: readonly AllowedSigner[];
}

const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;

/** Parses the whole file; every problem is reported at once, with its line. Throws AllowedSignersError. */
export function parseAllowedSigners(text: string, file: string): AllowedSigners {
  const signers: AllowedSigner[] = [];
  const problems: AllowedSignersProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (field: string, message: string) => problems.push({ file, line: i + 1, field, message });
    const fields = splitFields(line);
    if (fields === undefined) {
      fail('line', 'unbalanced double quote');
      continue;
    }
    const [principalField, second, ...rest] = fields;
    if (principalField === undefined || second === undefined) {
      fail('line', 'expected "principals [options] keytype key"');
      continue;
    }
    let options: string | undefined;
    let keyFields = [second, ...rest];
    // Options are `cert-authority` or `name=value` pairs; anything else is the key type.
    if (/^cert-authority(,|$)/i.test(second) || (second.includes('=') && !KEY_TYPE.test(second))) {
      options = second;
      keyFields = rest;
    }
    const [type, base64] = keyFields;
    if (type === undefined || base64 === undefined) {
      fail('key', 'missing key type or key');
      continue;
    }
    const principals = unquote(principalField).split(',').map((p) => p.trim());
    if (principals.some((p) => p === '')) {
      fail('principals', 'empty principal in the list');
      continue;
    }
    const parsedOptions = options === undefined ? {} : parseOptions(options, fail);
    if (parsedOptions === undefined) continue;
    if (!KEY_TYPE.test(type)) {
      fail('keytype', `key type ${JSON.stringify(type)} is not supported (ssh-ed25519, ssh-rsa, ecdsa-sha2-* are)`);
      continue;
    }
    try {
      signers.push({ principals, ...parsedOptions, key: parsePublicKeyLine(type, base64), line: i + 1 });
    } catch (err) {
      if (!(err instanceof SshWireError)) throw err;
      fail('key', err.message);
    }
  }
  if (problems.length > 0) throw new AllowedSignersError(problems);
  return { file, signers };
}

/**
 * What a signature by `key` may stand for, in `namespace`, at `time` (ms): the principals of
 * every line listing that key whose options allow it — literal ones, else the patterns as
 * written. Empty when no line allows it. Git checks validity at the commit's time; so do we.
 */
export function principalsOf(list: AllowedSigners, key: SshPublicKey, namespace: string, time: number): string[] {
  const lines = list.signers.filter((s) => s.key.blob.equals(key.blob) && allows(s, namespace, time));
  const all = lines.flatMap((s) => s.principals.filter((p) => !p.startsWith('!')));
  const literal = all.filter((p) => !/[*?]/.test(p));
  return [...new Set(literal.length > 0 ? literal : all)];
}

/** Whether `principal` may sign with `key` in `namespace` at `time`. Patterns as in ssh_config. */
export function mayActAs(list: AllowedSigners, principal: string, key: SshPublicKey, namespace: string, time: number) {
  return list.signers.some((s) =>
    s.key.blob.equals(key.blob) && allows(s, namespace, time) && matchesList(principal, s.principals));
}

/** Whether any line lists this key at all (to tell "unknown key" from "not this person's key"). */
export function isListed(list: AllowedSigners, key: SshPublicKey): boolean {
  return list.signers.some((s) => s.key.blob.equals(key.blob));
}

function allows(s: AllowedSigner, namespace: string, time: number): boolean {
  if (s.namespaces !== undefined && !s.namespaces.some((n) => matchPattern(namespace, n))) return false;
  if (s.validAfter !== undefined && time < s.validAfter) return false;
  if (s.validBefore !== undefined && time > s.validBefore) return false;
  return true;
}

function matchesList(name: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchPattern(name, p.slice(1))) return false;
    } else if (matchPattern(name, p)) matched = true;
  }
  return matched;
}

function matchPattern(name: string, pattern: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

type Fail = (field: string, message: string) => void;

function parseOptions(text: string, fail: Fail): Omit<AllowedSigner, 'principals' | 'key' | 'line'> | undefined {
  const out: { namespaces?: string[]; validAfter?: number; validBefore?: number } = {};
  for (const option of splitComma(text)) {
    const eq = option.indexOf('=');
    const name = (eq < 0 ? option : option.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : unquote(option.slice(eq + 1));
    if (name === 'cert-authority') {
      fail('options', 'cert-authority is not supported: list each person\'s own key');
      return undefined;
    }
    if (value === undefined) {
      fail('options', `unknown option ${JSON.stringify(name)}`);
      return undefined;
    }
    if (name === 'namespaces') out.namespaces = value.split(',').map((n) => n.trim());
    else if (name === 'valid-after' || name === 'valid-before') {
      const t = parseTime(value);
      if (t === undefined) {
        fail(name, `${JSON.stringify(value)} is not YYYYMMDD[HHMM[SS]][Z]`);
        return undefined;
      }
      if (name === 'valid-after') out.validAfter = t;
      else out.validBefore = t;
    } else {
      fail('options', `unknown option ${JSON.stringify(name)}`);
      return undefined;
    }
  }
  return out;
}

/** ssh-keygen's times: YYYYMMDD[HHMM[SS]], UTC with a trailing Z, else local time (as OpenSSH reads them). */
function parseTime(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(v);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', z] = m;
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const t = z === 'Z' ? Date.UTC(...parts) : new Date(...parts).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/** Splits on blanks outside double quotes; undefined when a quote is not closed. */
function splitFields(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === ' ' || ch === '\t')) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) return undefined;
  if (cur !== '') out.push(cur);
  return out;
}

function splitComma(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((o) => o !== '');
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
