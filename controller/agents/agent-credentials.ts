/**
 * Bearer tokens stored hashed in the controller's state dir, for agents (`agents.json`, `vda_`,
 * issue 4) and read-only viewers (`viewers.json`, `vdv_`, issue 15, see web/viewer-credentials.ts):
 * one implementation, so the atomic writes, the lock and the per-request re-read that shuts a
 * revoked token out at once are the same for both.
 */
import { createHash, hash, randomBytes } from 'node:crypto';
import { syncDirectory } from '../fs/sync-directory.ts';
import { schemaMessage } from '../desired/schema-extensions.ts';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type AuthVerdict = 'ok' | 'unauthenticated' | 'forbidden';

/** The credential file, in the controller's state dir (never in the Git repository: see cli/state-dir.ts). */
export const AGENTS_FILE = 'agents.json';
const FILE_VERSION = 1;

/** Every agent token starts with this, so a leaked one is recognisable by secret scanners and people. */
export const TOKEN_PREFIX = 'vda_';

/**
 * Whose tokens a file holds. Each kind has its own file and token prefix, so a token of one
 * kind is never accepted as the other's and tells by its first characters what it opens.
 */
export interface CredentialKind {
  /** The file in the state dir (e.g. `agents.json`). */
  readonly file: string;
  /** What every token starts with (e.g. `vda_`). */
  readonly tokenPrefix: string;
  /** Who holds the tokens, singular, for messages (`agent`); its plural names the file's map (`agents`). */
  readonly noun: string;
  /** What names one of them in messages (`id` for agents, `name` for viewers). */
  readonly idWord: string;
}

/** The agents' tokens: what `AgentCredentials.open` serves without options. */
export const AGENT_CREDENTIALS: CredentialKind = {
  file: AGENTS_FILE,
  tokenPrefix: TOKEN_PREFIX,
  noun: 'agent',
  idWord: 'id',
};

/** A bearer token longer than this is not one of ours: no need to hash it. */
const MAX_TOKEN_LENGTH = 256;

// The error classes serve every kind (agents and viewers); their messages name the kind.

/** The id is not a valid name (schemas/common.schema.json $defs/name). */
export class AgentIdError extends Error {}
/** `add` without `rotate` of an id that already has a token. */
export class AgentExistsError extends Error {}
/** `remove` (or `add` with `rotate`) of an id that has no token. */
export class UnknownAgentError extends Error {}
/** agents.json cannot be read or is not what this version writes. */
export class AgentsFileError extends Error {}
/** Another process holds agents.json.lock for too long. */
export class AgentsLockError extends Error {}

interface AgentRecord {
  /** SHA-256 of the token, lower-case hex: the token itself is never stored. */
  readonly tokenSha256: string;
  /** When the current token was issued (ISO-8601). */
  readonly createdAt: string;
}

/** Without `file`, `tokenPrefix`, `noun` and `idWord`: the agents' (AGENT_CREDENTIALS). */
export interface AgentCredentialsOptions extends Partial<CredentialKind> {
  readonly now?: () => number;
  /**
   * A changed agents.json that cannot be read while the controller runs: the last good
   * credentials stay in force and the error is reported here, once per change of the file
   * (default: a process warning).
   */
  readonly onRefreshError?: (err: Error) => void;
  /** How long `add`/`remove` wait for another `versiond agents` command to release the lock (default 10 s). */
  readonly lockWaitMs?: number;
}

/**
 * The agents allowed to talk to the controller, each with its own token (issue 4). Only the
 * token's SHA-256 is kept, in `<stateDir>/agents.json`; the token is shown once by `add`.
 *
 * It serves the read-only viewers of the web view and read API too (issue 15): opened with
 * another CredentialKind (`openViewerCredentials`: `viewers.json`, tokens `vdv_…`), the same
 * class keeps their tokens, and `whoHolds` says whose a token is. Wherever this says agent,
 * read viewer for that instance.
 *
 * One instance serves the running controller (`authenticate`, on the hot path) while
 * `versiond agents add|remove` change the file from other processes: writes are atomic
 * renames under an O_EXCL lock file, and the controller looks at the file's identity (inode,
 * size, mtime) on every request, so an added agent is let in, and a rotated or removed token
 * shut out, from the very next request and without a restart.
 *
 * Memory: one record and two Map entries per agent, the hash string shared by both maps —
 * about 400 bytes per agent (test/agents/agent-credentials.test.ts measures 100,000).
 */
export class AgentCredentials {
  readonly stateDir: string;
  readonly file: string;
  readonly kind: CredentialKind;
  private readonly lockFile: string;
  private readonly now: () => number;
  private readonly onRefreshError: (err: Error) => void;
  private readonly lockWaitMs: number;

  private agents = new Map<string, AgentRecord>();
  /** Token hash → agent id: tells a token of another agent (403) from an unknown one (401) in O(1). */
  private ownerByHash = new Map<string, string>();
  /** Identity of the file the maps were read from (`absent` when there was none). */
  private signature = 'absent';
  /** A changed file that failed to parse: not retried (nor reported again) until it changes again. */
  private rejectedSignature: string | undefined;
  /** Bumped on every install: tells `refreshIfChanged` whether its check installed anything. */
  private generation = 0;

  private constructor(stateDir: string, options: AgentCredentialsOptions) {
    this.stateDir = stateDir;
    this.kind = {
      file: options.file ?? AGENT_CREDENTIALS.file,
      tokenPrefix: options.tokenPrefix ?? AGENT_CREDENTIALS.tokenPrefix,
      noun: options.noun ?? AGENT_CREDENTIALS.noun,
      idWord: options.idWord ?? AGENT_CREDENTIALS.idWord,
    };
    this.file = join(stateDir, this.kind.file);
    this.lockFile = `${this.file}.lock`;
    this.now = options.now ?? Date.now;
    const warning = `Versiond${capitalized(this.kind.noun)}sWarning`; // VersiondAgentsWarning
    this.onRefreshError = options.onRefreshError ?? ((err) => process.emitWarning(err.message, warning));
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  /**
   * Reads `<stateDir>/agents.json` (absent: no agents yet), or the file of `options.file`. A
   * malformed file is an error naming it, never "no agents".
   */
  static async open(stateDir: string, options: AgentCredentialsOptions = {}): Promise<AgentCredentials> {
    const credentials = new AgentCredentials(stateDir, options);
    const read = await credentials.readFromDisk();
    credentials.install(read.agents, read.signature);
    return credentials;
  }

  get size(): number {
    return this.agents.size;
  }

  /**
   * Whether `authorization` (`Bearer <token>`) proves to be agent `agentId`: `ok`; a token of
   * another agent: `forbidden`; a missing, malformed or unknown token: `unauthenticated`.
   * Synchronous: one stat of agents.json, one SHA-256 and two Map look-ups. The stat makes a
   * revoked or rotated token fail from the very next request, however long the controller was
   * idle (issue 13): a changed file is re-read before the request is judged.
   */
  authenticate(agentId: string, authorization: string | undefined): AuthVerdict {
    this.syncIfChanged();
    return this.judge(agentId, authorization);
  }

  /**
   * One look at agents.json (re-read if it changed), then `authenticate` and `isRegistered` as
   * of that look, without looking again: for requests all received before this call (issue 16),
   * so each is still judged against the file as it was after it arrived, at one stat for all.
   */
  lookOnce(): { authenticate: AgentCredentials['authenticate']; isRegistered: AgentCredentials['isRegistered'] } {
    this.syncIfChanged();
    return this.asLooked;
  }

  private readonly asLooked = {
    authenticate: (agentId: string, authorization: string | undefined) => this.judge(agentId, authorization),
    isRegistered: (agentId: string) => this.agents.has(agentId),
  };

  private judge(agentId: string, authorization: string | undefined): AuthVerdict {
    const token = bearerToken(authorization);
    if (token === undefined) return 'unauthenticated';
    // One-shot hash (Node >= 20.12), as hex: the form stored, so no Buffer is made per request.
    const digest = hash('sha256', token, 'hex');
    // The claimed agent's hash is compared in constant time. The map look-up below may leak,
    // through timing, how far the hash of a *guessed* token matches a stored hash; that says
    // nothing usable about any token (finding a token with a given hash prefix is a preimage
    // attack on SHA-256), so a Map is safe there.
    const own = this.agents.get(agentId);
    if (own !== undefined && sameHex(digest, own.tokenSha256)) return 'ok';
    return this.ownerByHash.has(digest) ? 'forbidden' : 'unauthenticated';
  }

  /**
   * The id whose token `token` is (the bare token, not an Authorization header: see
   * `bearerToken`), or undefined. As `authenticate`: the file is looked at first, so a removed or
   * rotated token fails from the next call on; then one SHA-256 and one Map look-up. A token
   * without this kind's prefix is not hashed at all: an agent token never opens the read API.
   */
  whoHolds(token: string): string | undefined {
    this.syncIfChanged();
    if (!token.startsWith(this.kind.tokenPrefix) || token.length > MAX_TOKEN_LENGTH) return undefined;
    // A Map look-up by hash, as `authenticate` does for a token of another agent (why that is safe: there).
    return this.ownerByHash.get(hash('sha256', token, 'hex'));
  }

  /** Whether `agentId` is registered now (a client certificate proves who, this says whether it may). */
  isRegistered(agentId: string): boolean {
    this.syncIfChanged();
    return this.agents.has(agentId);
  }

  /** The check behind every request and `refreshIfChanged`: a stat per call, a read only when the file changed. */
  private syncIfChanged(): void {
    let current: string | undefined;
    try {
      current = signatureOfSync(this.file);
      if (current === this.signature || current === this.rejectedSignature) return;
      const text = current === 'absent' ? undefined : readFileSync(this.file, 'utf8');
      const agents = text === undefined ? new Map<string, AgentRecord>() : parseAgentsFile(this.file, text, this.kind);
      this.install(agents, current);
    } catch (err) {
      this.rejectedSignature = current;
      this.onRefreshError(this.fileError(err));
    }
  }

  private fileError(err: unknown): AgentsFileError {
    if (err instanceof AgentsFileError) return err;
    return new AgentsFileError(`cannot read ${this.file}: ${(err as Error).message}`);
  }

  /**
   * Re-reads agents.json if it changed (inode, size or mtime) since it was last read; true
   * when it did. A changed file that cannot be read keeps the last good credentials in force
   * and goes to `onRefreshError` (once per change), since a hand-edit gone wrong must not lock
   * every agent out of a running controller; the answer is then false.
   */
  async refreshIfChanged(): Promise<boolean> {
    const generation = this.generation;
    this.syncIfChanged();
    return generation !== this.generation;
  }

  /**
   * Issues a token for `agentId` and returns it: the only time it exists outside the agent.
   * An id that already has one is refused unless `rotate`, which replaces it (the old token
   * stops working at once here, within a second in a running controller).
   */
  async add(agentId: string, options: { rotate?: boolean } = {}): Promise<string> {
    const { noun, idWord, tokenPrefix } = this.kind;
    checkCredentialId(agentId, `${noun} ${idWord}`);
    return this.change((agents) => {
      const existing = agents.get(agentId);
      if (existing !== undefined && !options.rotate) {
        throw new AgentExistsError(
          `${noun} ${agentId} already has a token (issued ${existing.createdAt}); rotate it to issue a new one`,
        );
      }
      if (existing === undefined && options.rotate) {
        throw new UnknownAgentError(`${noun} ${agentId} has no token to rotate (it is not registered in ${this.file})`);
      }
      const token = tokenPrefix + randomBytes(32).toString('base64url');
      agents.set(agentId, { tokenSha256: sha256Hex(token), createdAt: new Date(this.now()).toISOString() });
      return token;
    });
  }

  /** Removes `agentId`: its token stops working. */
  async remove(agentId: string): Promise<void> {
    const { noun, idWord } = this.kind;
    checkCredentialId(agentId, `${noun} ${idWord}`);
    await this.change((agents) => {
      if (!agents.delete(agentId)) throw new UnknownAgentError(`${noun} ${agentId} is not registered in ${this.file}`);
    });
  }

  /** Registered agents, by id. */
  list(): { id: string; createdAt: string }[] {
    return [...this.agents]
      .map(([id, record]) => ({ id, createdAt: record.createdAt }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Applies `mutate` to the file's current content — re-read under the lock, so two
   * `versiond agents add` at once both land — and writes the result atomically.
   */
  private async change<T>(mutate: (agents: Map<string, AgentRecord>) => T): Promise<T> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const release = await acquireLock(this.lockFile, this.lockWaitMs, `versiond ${this.kind.noun}s`);
    try {
      const { agents } = await this.readFromDisk();
      const result = mutate(agents);
      await writeFileAtomically(this.file, serialize(agents, this.kind));
      this.install(agents, signatureOfSync(this.file));
      return result;
    } finally {
      await release();
    }
  }

  private install(agents: Map<string, AgentRecord>, signature: string): void {
    const ownerByHash = new Map<string, string>();
    for (const [id, record] of agents) ownerByHash.set(record.tokenSha256, id);
    this.agents = agents;
    this.ownerByHash = ownerByHash;
    this.signature = signature;
    this.rejectedSignature = undefined;
    this.generation++;
  }

  /** Content and identity of the same inode: an fstat of the open file, so a rename in between cannot mismatch them. */
  private async readFromDisk(): Promise<{ agents: Map<string, AgentRecord>; signature: string }> {
    let handle: FileHandle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { agents: new Map(), signature: 'absent' };
      throw new AgentsFileError(`cannot read ${this.file}: ${code ?? (err as Error).message}`);
    }
    try {
      const signature = signatureOf(await handle.stat());
      const text = await handle.readFile('utf8');
      return { agents: parseAgentsFile(this.file, text, this.kind), signature };
    } finally {
      await handle.close();
    }
  }
}

/** Throws AgentIdError unless `id` is a valid agent id (the same rule as member names). */
export function checkAgentId(id: string): void {
  checkCredentialId(id, 'agent id');
}

/**
 * `checkAgentId` for any kind: `what` names the id in the message (`viewer name`). Viewer names
 * follow the agents' rule: one rule for every name a person types into versiond.
 */
export function checkCredentialId(id: string, what: string): void {
  const problem = agentIdProblem(id);
  if (problem !== undefined) throw new AgentIdError(`${what} ${JSON.stringify(id)} ${problem}`);
}

// The rule comes from the schema, so agent ids and the member names/agents they must match
// can never drift apart.
const NAME_RULE = (() => {
  const common = JSON.parse(readFileSync(new URL('../../schemas/common.schema.json', import.meta.url), 'utf8')) as {
    $defs: { name: { pattern: string; minLength: number; maxLength: number } };
  };
  const name = common.$defs.name;
  const message = schemaMessage('common.schema.json', '/$defs/name');
  return { pattern: new RegExp(name.pattern, 'u'), minLength: name.minLength, maxLength: name.maxLength, message };
})();

function agentIdProblem(id: string): string | undefined {
  if (id.length < NAME_RULE.minLength) return 'must not be empty';
  if (id.length > NAME_RULE.maxLength) return `must be at most ${NAME_RULE.maxLength} characters long`;
  if (!NAME_RULE.pattern.test(id)) return NAME_RULE.message;
  return undefined;
}

/**
 * The token of an `Authorization: Bearer <token>` header:
 * undefined when there is none or it is too long to be ours.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  // RFC 7235: the scheme is case-insensitive.
  const m = /^bearer +(\S+) *$/i.exec(authorization);
  const token = m?.[1];
  return token === undefined || token.length > MAX_TOKEN_LENGTH ? undefined : token;
}

/**
 * Whether two SHA-256 hex digests are equal, in time independent of where they differ: every
 * character is looked at, with no branch on the data (as timingSafeEqual, without two Buffers).
 */
export function sameHex(a: string, b: string): boolean {
  if (a.length !== 64 || b.length !== 64) return false;
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function sha256Hex(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function signatureOf(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function signatureOfSync(file: string): string {
  try {
    return signatureOf(statSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The content of agents.json (or of another kind's file), checked field by field: every
 * problem names the file and the field.
 */
function parseAgentsFile(file: string, text: string, kind: CredentialKind): Map<string, AgentRecord> {
  const { noun, idWord } = kind;
  const map = `${noun}s`; // the file's map of records: "agents", "viewers"
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AgentsFileError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) {
    throw new AgentsFileError(`${file}: must be a JSON object {"version": 1, "${map}": {…}}, not ${kindOf(doc)}`);
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'version' && key !== map) throw new AgentsFileError(`${file}: unknown field ${JSON.stringify(key)}`);
  }
  if (doc.version !== FILE_VERSION) {
    throw new AgentsFileError(
      doc.version === undefined
        ? `${file}: "version" is missing (expected ${FILE_VERSION})`
        : `${file}: "version" must be ${FILE_VERSION}, not ${JSON.stringify(doc.version)} (written by another versiond?)`,
    );
  }
  const entries = doc[map];
  if (!isObject(entries)) {
    const what = `an object of ${noun} ${idWord} → record`;
    throw new AgentsFileError(`${file}: "${map}" must be ${what}, not ${kindOf(entries)}`);
  }
  const agents = new Map<string, AgentRecord>();
  const ownerByHash = new Map<string, string>();
  for (const [id, value] of Object.entries(entries)) {
    const where = `${file}: ${map}.${id}`;
    const problem = agentIdProblem(id);
    if (problem !== undefined) throw new AgentsFileError(`${file}: ${noun} ${idWord} ${JSON.stringify(id)} ${problem}`);
    if (!isObject(value)) {
      throw new AgentsFileError(`${where}: must be an object {"tokenSha256", "createdAt"}, not ${kindOf(value)}`);
    }
    for (const key of Object.keys(value)) {
      if (key !== 'tokenSha256' && key !== 'createdAt') throw new AgentsFileError(`${where}: unknown field ${JSON.stringify(key)}`);
    }
    const { tokenSha256, createdAt } = value;
    if (typeof tokenSha256 !== 'string' || !HEX64.test(tokenSha256)) {
      throw new AgentsFileError(`${where}.tokenSha256: must be 64 lower-case hex digits (a SHA-256), not ${JSON.stringify(tokenSha256)}`);
    }
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) {
      throw new AgentsFileError(`${where}.createdAt: must be an ISO-8601 date, not ${JSON.stringify(createdAt)}`);
    }
    const other = ownerByHash.get(tokenSha256);
    if (other !== undefined) {
      throw new AgentsFileError(`${where}.tokenSha256: same as ${noun} ${other}'s; each ${noun} needs its own token`);
    }
    ownerByHash.set(tokenSha256, id);
    agents.set(id, { tokenSha256, createdAt });
  }
  return agents;
}

function serialize(agents: ReadonlyMap<string, AgentRecord>, kind: CredentialKind): string {
  const sorted: Record<string, AgentRecord> = {};
  for (const id of [...agents.keys()].sort()) {
    const record = agents.get(id)!;
    sorted[id] = { tokenSha256: record.tokenSha256, createdAt: record.createdAt };
  }
  return `${JSON.stringify({ version: FILE_VERSION, [`${kind.noun}s`]: sorted }, null, 2)}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * Writes `text` to `file` so readers see the old or the new content, never a mix: a private
 * temporary file next to it (mode 0600, since it is named and readable before the rename),
 * flushed, then renamed over the file, and the directory flushed so the rename survives a crash.
 */
async function writeFileAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(file));
}


/**
 * Takes `lockFile` by creating it with O_EXCL (the one operation two processes cannot both
 * win), retrying briefly while another `versiond agents` (`command`) holds it. A lock left by a
 * crashed process is never broken automatically — two waiters could both "break" it — the
 * error says whose it is and that it can be removed.
 */
async function acquireLock(lockFile: string, waitMs: number, command: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return () => rm(lockFile, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new AgentsLockError(`cannot create the lock ${lockFile}: ${code ?? (err as Error).message}`);
    }
    if (Date.now() >= deadline) {
      const holder = await lockHolder(lockFile, command);
      throw new AgentsLockError(`${lockFile} is still held after ${waitMs / 1000} s ${holder}`);
    }
    await sleep(5 + Math.random() * 20);
  }
}

async function lockHolder(lockFile: string, command: string): Promise<string> {
  const pid = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0) return '(by an unknown process)';
  try {
    process.kill(pid, 0);
    return `by process ${pid}, still running`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return `by process ${pid}, still running`;
    return `by process ${pid}, which no longer runs: remove the file if no other \`${command}\` command is running`;
  }
}
