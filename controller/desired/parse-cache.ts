/**
 * The loader's per-file results, kept on disk in the controller's state directory so that a
 * restarted controller does not parse an unchanged repository again (issue 16: parsing 10,000
 * files costs seconds of CPU; reading them back costs a fraction of that).
 *
 * An entry is a file's FileResult, keyed by its blob id and its path (the result names the
 * path, and whether a document is in the right folder depends on it). The whole file is tied
 * to a code key: a hash of everything that could make parsing and checking give another
 * answer (versiond's version, the schemas, the loader's own source, the `yaml` and `ajv`
 * versions, Node's ICU and time-zone data, the size limit). A cache with another key is stale.
 *
 * Safety: the cache may only ever save work, never change an answer. A missing, truncated,
 * corrupt, foreign or stale file is ignored (one warning) and rewritten after the next load.
 * The file is one JSON document behind a header and a SHA-256 of key and payload, read once at
 * start-up: JSON.parse was about twice as fast as v8.deserialize on 10,000 results (0.4 s
 * against 0.8-1.8 s on a loaded 2-core machine). JSON cannot say everything a result may hold
 * (NaN, Infinity, -0, `undefined`, other prototypes): a result holding any of these is not
 * cached, so it is parsed again rather than answered differently.
 * Every file is written atomically (a temporary file renamed over it), with mode 0600. Later
 * loads add small delta files; the cache is rewritten whole, with the files of the last load
 * only, once deltas pile up or a quarter of it is files no longer in the tree, so it stays
 * about the size of the repository.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileResult } from './read-document.ts';
import type { SourceEntry } from './source.ts';

/** Bumped when the layout of the file or of an entry changes. */
const FORMAT = 2;
const MAGIC = Buffer.from('versiond-parse-cache\n', 'latin1');
const HEADER_BYTES = MAGIC.length + 4 + 32 + 32;
/** Deltas are named `<file>.delta-<time>-<random>`, so they sort oldest first. */
const DELTA = '.delta-';
/** More deltas than this, or more files no longer in the tree than this share: written whole. */
const MAX_DELTAS = 16;
const MAX_STALE_SHARE = 0.25;
/** A cache larger than this is not read (the repository's own files are capped too). */
const MAX_CACHE_BYTES = 1024 * 1024 * 1024;

export interface ParseCacheOptions {
  /** The cache file, in the controller's state directory. */
  readonly file: string;
  /** Told once per problem with the cache (never an error: the load goes on without it). */
  readonly warn?: (message: string, details: Record<string, unknown>) => void;
  /** How long after a load the file is written, so a burst of commits writes it once. */
  readonly writeDelayMs?: number;
}

/** The key of a file's result: results depend on the blob's content and on its path. */
export function cacheKey(entry: { readonly oid: string; readonly path: string }): string {
  return `${entry.oid}\0${entry.path}`;
}

/**
 * One repository's parse cache. `take` answers from what was read at start-up; `keep`
 * records the results of the latest load and writes them a little later.
 */
export class ParseCache {
  /** Entries read from disk, until the first write replaces them. */
  private loaded: Map<string, FileResult> | undefined;
  /** Keys of the entries on disk (base and deltas); undefined when the next write must be whole. */
  private onDisk: Set<string> | undefined;
  private deltas: string[];
  private pending: readonly FileResult[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly writeDelayMs: number;

  private constructor(
    private readonly options: ParseCacheOptions,
    private readonly key: Buffer,
    read: { loaded: Map<string, FileResult>; deltas: string[]; whole: boolean } | undefined,
  ) {
    this.loaded = read?.loaded;
    this.onDisk = read && !read.whole ? new Set(read.loaded.keys()) : undefined;
    this.deltas = read?.deltas ?? [];
    this.writeDelayMs = options.writeDelayMs ?? 1000;
  }

  /** Opens (reads) the cache; never throws: an unusable cache is an empty one. */
  static async open(options: ParseCacheOptions, maxFileBytes: number): Promise<ParseCache> {
    const key = codeKey(maxFileBytes);
    const warn = (err: unknown, file: string) => {
      const reason = (err as Error).message;
      options.warn?.('desired-state parse cache ignored; it will be rebuilt', { file, reason });
    };
    let loaded: Map<string, FileResult>;
    try {
      loaded = await readCache(options.file, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(err, options.file);
      return new ParseCache(options, key, undefined);
    }
    // Deltas add the files of later loads; a bad one is skipped (its files are parsed again)
    // and the next write is a whole one, which removes every delta.
    const deltas = await deltaFiles(options.file);
    let whole = false;
    for (const delta of deltas) {
      try {
        for (const [k, r] of await readCache(delta, key)) loaded.set(k, r);
      } catch (err) {
        warn(err, delta);
        whole = true;
      }
    }
    return new ParseCache(options, key, { loaded, deltas, whole });
  }

  /** How many results were read from disk (for tests and the benchmark). */
  get size(): number {
    return this.loaded?.size ?? 0;
  }

  /** The remembered result of a regular file, if any. */
  take(entry: SourceEntry): FileResult | undefined {
    if (entry.type !== 'file' || this.loaded === undefined) return undefined;
    const hit = this.loaded.get(cacheKey(entry));
    // The key says path and blob; the entry must say the same (a foreign or crafted cache).
    return hit && hit.path === entry.path && hit.oid === entry.oid ? hit : undefined;
  }

  /**
   * The results of the latest load (regular files only; others are not read), written after
   * a short delay. Results not on disk yet go to a small delta file, so a reload after one
   * commit writes kilobytes, not the whole repository again; once deltas pile up or the
   * cache holds many files no longer in the tree, it is written whole, with these only.
   */
  keep(results: readonly FileResult[]): void {
    this.pending = results;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.writeDelayMs);
    this.timer.unref();
  }

  /** Writes what `keep` was given, now; resolves when it is on disk (or failed, with a warning). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const results = this.pending;
    this.pending = undefined;
    if (results === undefined) return this.writing;
    this.writing = this.writing.then(() => this.write(results));
    return this.writing;
  }

  private async write(results: readonly FileResult[]): Promise<void> {
    const file = this.options.file;
    try {
      const onDisk = this.onDisk;
      if (onDisk !== undefined && this.deltas.length < MAX_DELTAS) {
        const keys = new Set(results.map(cacheKey));
        let stale = 0;
        for (const k of onDisk) if (!keys.has(k)) stale++;
        if (stale <= results.length * MAX_STALE_SHARE) {
          const fresh = results.filter((r) => !onDisk.has(cacheKey(r)) && survivesJson(r));
          if (fresh.length > 0) {
            const delta = `${file}${DELTA}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
            await this.writeFile(delta, fresh);
            this.deltas.push(delta);
            for (const r of fresh) onDisk.add(cacheKey(r));
          }
          this.loaded = undefined;
          return;
        }
      }
      const kept = results.filter(survivesJson);
      await this.writeFile(file, kept);
      // The whole file holds every result now: older deltas only repeat or add stale ones.
      for (const delta of [...this.deltas, ...(await deltaFiles(file))]) await unlink(delta).catch(() => {});
      this.deltas = [];
      this.onDisk = new Set(kept.map(cacheKey));
      // What is on disk now is the truth; the entries read at start-up are not needed any more.
      this.loaded = undefined;
    } catch (err) {
      this.onDisk = undefined; // unsure what is on disk: the next write is whole
      this.options.warn?.('desired-state parse cache not written', { file, reason: (err as Error).message });
    }
  }

  /** Writes `results` to `target` atomically: a private temporary file, renamed over it. */
  private async writeFile(target: string, results: readonly FileResult[]): Promise<void> {
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const payload = Buffer.from(JSON.stringify(results.map(plain)), 'utf8');
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      header.writeUInt32BE(FORMAT, MAGIC.length);
      this.key.copy(header, MAGIC.length + 4);
      digest(this.key, payload).copy(header, MAGIC.length + 4 + 32);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writev([header, payload]);
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}

/** Delta files of the cache `file`, oldest first. */
async function deltaFiles(file: string): Promise<string[]> {
  const prefix = `${basename(file)}${DELTA}`;
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix)).sort().map((n) => join(dirname(file), n));
}

/** Only the fields of a FileResult (records carry the loader's bookkeeping too). */
function plain(r: FileResult): FileResult {
  return {
    path: r.path,
    oid: r.oid,
    ...(r.object !== undefined ? { object: r.object } : {}),
    ...(r.target !== undefined ? { target: r.target } : {}),
    ...(r.declares !== undefined ? { declares: r.declares } : {}),
    diagnostics: r.diagnostics,
  };
}

/** Whether JSON gives back a value deep-equal to `r`, with the same prototypes. */
function survivesJson(r: FileResult): boolean {
  return jsonSafe(plain(r));
}

function jsonSafe(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonSafe(v[i])) return false;
        return Object.keys(v).length === v.length;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype || Object.getOwnPropertySymbols(v).length > 0) return false;
      const names = Object.getOwnPropertyNames(v);
      if (names.includes('__proto__')) return false;
      for (const name of names) {
        const d = Object.getOwnPropertyDescriptor(v, name)!;
        if (!d.enumerable || !('value' in d) || !jsonSafe(d.value)) return false;
      }
      return true;
    }
    default:
      return false; // undefined, functions, symbols, bigints
  }
}

function digest(key: Buffer, payload: Buffer): Buffer {
  return createHash('sha256').update(key).update(payload).digest();
}

async function readCache(file: string, key: Buffer): Promise<Map<string, FileResult>> {
  const info = await stat(file);
  if (!info.isFile()) throw new Error('not a regular file');
  if (info.size > MAX_CACHE_BYTES) throw new Error(`${info.size} bytes, over the ${MAX_CACHE_BYTES}-byte limit`);
  const bytes = await readFile(file);
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a parse cache');
  }
  if (bytes.readUInt32BE(MAGIC.length) !== FORMAT) throw new Error('another format');
  // Stale: written by other code (another version, other schemas or limits).
  if (!bytes.subarray(MAGIC.length + 4, MAGIC.length + 36).equals(key)) {
    throw new Error('written by another version of the loader');
  }
  const payload = bytes.subarray(HEADER_BYTES);
  if (!digest(key, payload).equals(bytes.subarray(MAGIC.length + 36, HEADER_BYTES))) {
    throw new Error('truncated or corrupt');
  }
  const list: unknown = JSON.parse(payload.toString('utf8'));
  if (!Array.isArray(list)) throw new Error('malformed');
  const out = new Map<string, FileResult>();
  for (const r of list as unknown[]) {
    if (!isFileResult(r)) throw new Error('malformed entry');
    out.set(cacheKey(r), r);
  }
  return out;
}

function isFileResult(r: unknown): r is FileResult {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Record<string, unknown>;
  return typeof x['path'] === 'string' && typeof x['oid'] === 'string' && Array.isArray(x['diagnostics'])
    && (x['target'] === undefined || typeof x['target'] === 'string')
    && (x['declares'] === undefined || typeof x['declares'] === 'string')
    && (x['object'] === undefined || (typeof x['object'] === 'object' && x['object'] !== null));
}

// ---------------------------------------------------------------------------- code key

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Source folders whose code decides a file's result (the loader's modules, the model, versions). */
const CODE_DIRS = ['controller/desired', 'reconcilers/model', 'protocol'];
const keys = new Map<number, Buffer>();

/**
 * What a cached result depends on besides the file: computed once per process. Hashing the
 * source too means a developer's change to a message or a check is never answered from an
 * older cache, even while the version number stays the same.
 */
export function codeKey(maxFileBytes: number): Buffer {
  let key = keys.get(maxFileBytes);
  if (key) return key;
  const h = createHash('sha256');
  const add = (label: string, value: string | Buffer) => h.update(`${label}\0${value.length}\0`).update(value);
  add('format', String(FORMAT));
  add('maxFileBytes', String(maxFileBytes));
  const v = process.versions;
  add('node', `${v.node} icu ${v.icu ?? '-'} tz ${v.tz ?? '-'} unicode ${v.unicode ?? '-'}`);
  for (const pkg of ['package.json', ...['yaml', 'ajv', 'ajv-formats'].map((m) => `node_modules/${m}/package.json`)]) {
    add(pkg, versionOf(join(ROOT, pkg)));
  }
  for (const dir of ['schemas', ...CODE_DIRS]) {
    for (const file of filesUnder(join(ROOT, dir))) add(file.slice(ROOT.length), readFileSync(file));
  }
  key = h.digest();
  keys.set(maxFileBytes, key);
  return key;
}

function versionOf(file: string): string {
  try {
    return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version);
  } catch {
    return '-'; // installed elsewhere (hoisted): the source hash still covers versiond itself
  }
}

/** Source and schema files under `dir`, sorted, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else if (['.ts', '.js', '.json', '.mjs', '.cjs'].includes(extname(name))) out.push(path);
  }
  return out;
}
