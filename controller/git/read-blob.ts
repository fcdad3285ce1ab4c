import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { Errors } from 'isomorphic-git';
import { packsIn, readAt, StalePackError, type PackFile } from './pack-files.ts';

/**
 * The bytes of a blob, read from the object database with Node's native zlib and SHA-1
 * (isomorphic-git inflates with pako, in JavaScript: reading the blobs of a 10,000-file
 * repository cost as much as parsing them).
 *
 * Sizes are checked before anything is inflated (issue 14, item 1): a blob of 512 MiB of
 * spaces is 2.3 MB in Git. A loose object's size is in its header, the first few inflated
 * bytes; a packed object's in its entry header, and for a delta in the delta's own header.
 * Every inflation then has an output limit (the size announced), so a lying header cannot
 * make one grow either.
 */

/** The default cap: desired-state documents and status files are small text. */
export const DEFAULT_MAX_BLOB_BYTES = 8 * 1024 * 1024;

/** The object is bigger than the caller's limit; nothing was inflated. */
export class BlobTooLargeError extends Error {
  constructor(
    readonly oid: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`object ${oid} is ${size} bytes, over the ${limit}-byte limit; not read`);
    this.name = 'BlobTooLargeError';
  }
}

export async function readBlobBytes(
  gitdir: string,
  oid: string,
  cache: object,
  maxBytes: number = DEFAULT_MAX_BLOB_BYTES,
): Promise<Uint8Array> {
  const found = readObjectSync(gitdir, oid, cache, maxBytes);
  if (found.type !== 'blob') throw new Error(`object ${oid} is a ${found.type}, not a blob`);
  return found.data;
}

/** Any object (a tree, a commit), checked and capped as a blob is. */
export async function readGitObject(
  gitdir: string,
  oid: string,
  cache: object,
  maxBytes: number = DEFAULT_MAX_BLOB_BYTES,
): Promise<GitObject> {
  return readObjectSync(gitdir, oid, cache, maxBytes);
}

function readObjectSync(gitdir: string, oid: string, cache: object, maxBytes: number): GitObject {
  const store = storeFor(cache, gitdir);
  const found = findObject(store, oid, { top: oid, limit: maxBytes, depth: 0 });
  // The error isomorphic-git gives for a missing object, which callers already recognise.
  if (found === undefined) throw new Errors.NotFoundError(oid);
  return found;
}

// ---------------------------------------------------------------------------- objects

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export interface GitObject {
  readonly type: ObjectType;
  readonly data: Buffer;
}
interface Want {
  /** The blob asked for, named in errors. */
  readonly top: string;
  /** The caller's limit. */
  readonly limit: number;
  /** 0 for the object asked for, more for the delta bases below it. */
  readonly depth: number;
}

const PACK_TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** Git itself never writes chains deeper than 4095. */
const MAX_DELTA_DEPTH = 10_000;
/** Decoded base objects kept for the next read of the same chain. */
const BASE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Bases of a delta are inflated too, and must be bounded as well. Git only deltifies
 * against objects of a comparable size, so a base (or a delta's instructions) much larger
 * than the object itself is hostile: twice the limit leaves room for honest history.
 */
function budget(want: Want): number {
  return want.depth === 0 ? want.limit : 2 * want.limit + 1024;
}

function corrupt(oid: string, why: string): Error {
  return new Error(`object ${oid} is corrupt: ${why}`);
}

function tooLarge(want: Want, size: number): BlobTooLargeError {
  return new BlobTooLargeError(want.top, size, want.limit);
}

/**
 * Known packs first (an in-memory index search), then loose files, then the packs listed
 * again: a packed object costs no failed probe for a loose file, and a loose one (the status
 * writer makes them all the time) only a search of the indexes.
 */
function findObject(store: ObjectStore, oid: string, want: Want): GitObject | undefined {
  const id = Buffer.from(oid, 'hex');
  if (id.length !== 20) return undefined;
  let relisted = false;
  let probed = false;
  // A pack replaced or removed between the listing and the read: list them again (bounded).
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const at = store.findPacked(id, relisted);
      if (at) {
        const obj = readPacked(store, at.pack, at.offset, want);
        if (want.depth === 0) checkId(oid, obj);
        return obj;
      }
      if (!probed) {
        probed = true;
        for (const dir of store.objectDirs()) {
          const loose = readLoose(join(dir, oid.slice(0, 2), oid.slice(2)), oid, want);
          if (loose) return loose;
        }
      }
      if (relisted) return undefined;
    } catch (err) {
      if (!(err instanceof StalePackError)) throw err;
    }
    relisted = true;
  }
  return undefined;
}

function checkId(oid: string, obj: GitObject): void {
  const actual = createHash('sha1').update(`${obj.type} ${obj.data.length}\0`).update(obj.data).digest('hex');
  if (actual !== oid) throw corrupt(oid, `its content hashes to ${actual}`);
}

// ---------------------------------------------------------------------------- loose

const LOOSE_HEADER = /^(blob|tree|commit|tag) (\d{1,16})$/;
/** Reads this much first: enough for the header of any object, and all of most files. */
const FIRST_READ = 4096;

function readLoose(path: string, oid: string, want: Want): GitObject | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    const fileSize = fstatSync(fd).size;
    const first = readAt(fd, 0, Math.min(fileSize, FIRST_READ));
    const limit = budget(want);
    const head = looseHeader(oid, inflatePrefix(oid, first, 32));
    if (head.size > limit) throw tooLarge(want, head.size);
    // Deflate adds a few bytes per 16 KiB block at worst: more on disk is not Git's.
    if (fileSize > head.size + Math.floor(head.size / 64) + 1024) throw corrupt(oid, 'longer on disk than its content');
    const rest = fileSize > first.length ? readAt(fd, first.length, fileSize - first.length) : undefined;
    const all = rest ? Buffer.concat([first, rest]) : first;
    const wrapped = inflateAtMost(oid, all, head.length + head.size);
    if (wrapped.length !== head.length + head.size) throw corrupt(oid, 'shorter than its header says');
    const obj = { type: head.type, data: wrapped.subarray(head.length) };
    // A corrupt or substituted object must never be read as desired state: check its id.
    checkId(oid, obj);
    return obj;
  } finally {
    closeSync(fd);
  }
}

function looseHeader(oid: string, bytes: Buffer): { type: ObjectType; size: number; length: number } {
  const nul = bytes.indexOf(0);
  const m = nul > 0 ? LOOSE_HEADER.exec(bytes.toString('latin1', 0, nul)) : null;
  if (!m) throw corrupt(oid, 'no object header');
  return { type: m[1] as ObjectType, size: Number(m[2]), length: nul + 1 };
}

// ---------------------------------------------------------------------------- packed

/** A delta on the way down its chain, applied on the way back up. */
interface Link {
  readonly pack: PackFile;
  readonly offset: number;
  readonly end: number;
  readonly head: Buffer;
  readonly h: PackEntryHeader;
  readonly sizes: DeltaSizes;
  readonly want: Want;
}

/**
 * The object at `offset` in `pack` (which the caller found current). A delta chain is walked
 * down to a whole object or a cached base, then applied back up, in a loop: Git allows
 * chains thousands deep, more than the stack would take as recursion.
 */
function readPacked(store: ObjectStore, pack: PackFile, offset: number, want: Want): GitObject {
  const chain: Link[] = [];
  let base: GitObject | undefined;
  let at = { pack, offset, want };
  while (base === undefined) {
    const { pack: p, offset: o, want: w } = at;
    if (w.depth > MAX_DELTA_DEPTH) throw corrupt(w.top, 'delta chain too deep');
    const key = `${p.key}:${o}`;
    if (w.depth > 0 && (base = store.base(key))) break;
    const limit = budget(w);
    const end = p.entryEnd(o);
    if (end <= o) throw corrupt(w.top, `bad pack offset ${o}`);
    const head = p.read(o, Math.min(end - o, FIRST_READ));
    const h = packEntryHeader(w.top, head, o);
    if (h.type !== OFS_DELTA && h.type !== REF_DELTA) {
      const type = PACK_TYPES[h.type];
      if (!type) throw corrupt(w.top, `unknown pack entry type ${h.type}`);
      if (h.size > limit) throw tooLarge(w, h.size);
      base = { type, data: inflateExactly(w.top, entryData(p, o, end, head, h), h.size) };
      if (w.depth > 0) store.keepBase(key, base);
      break;
    }
    // The delta's header holds the size of its base and of the object it makes.
    if (h.size > limit) throw tooLarge(w, h.size);
    const sizes = deltaSizes(w.top, inflatePrefix(w.top, head.subarray(h.length), 20));
    if (sizes.result > limit) throw tooLarge(w, sizes.result);
    const below = { ...w, depth: w.depth + 1 };
    if (sizes.base > budget(below)) throw tooLarge(w, sizes.base);
    chain.push({ pack: p, offset: o, end, head, h, sizes, want: w });
    if (h.baseOffset !== undefined) {
      at = { pack: p, offset: h.baseOffset, want: below };
      continue;
    }
    // A base named by id: in this pack as a rule, else another pack or a loose object.
    const id = Buffer.from(h.baseOid!, 'hex');
    const inSame = p.lookup(id);
    const found = inSame !== undefined ? { pack: p, offset: inSame } : store.findPacked(id, false);
    if (found) {
      if (found.pack !== p && !found.pack.current()) throw new StalePackError(found.pack.path);
      at = { ...found, want: below };
      continue;
    }
    for (const dir of store.objectDirs()) {
      base ??= readLoose(join(dir, h.baseOid!.slice(0, 2), h.baseOid!.slice(2)), h.baseOid!, below);
    }
    if (!base) throw corrupt(w.top, `delta base ${h.baseOid} is missing`);
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const l = chain[i]!;
    const delta = inflateExactly(l.want.top, entryData(l.pack, l.offset, l.end, l.head, l.h), l.h.size);
    base = { type: base.type, data: applyDelta(l.want.top, delta, base.data, l.sizes) };
    if (l.want.depth > 0) store.keepBase(`${l.pack.key}:${l.offset}`, base);
  }
  return base;
}

/** The zlib stream of an entry: already in its first read as a rule. */
function entryData(pack: PackFile, offset: number, end: number, head: Buffer, h: PackEntryHeader): Buffer {
  return end - offset <= head.length ? head.subarray(h.length) : pack.read(offset + h.length, end - offset - h.length);
}

interface PackEntryHeader {
  readonly type: number;
  /** Inflated size of the entry's data (for a delta: of its instructions). */
  readonly size: number;
  /** Bytes before the zlib stream. */
  readonly length: number;
  readonly baseOffset?: number;
  readonly baseOid?: string;
}

function packEntryHeader(oid: string, b: Buffer, offset: number): PackEntryHeader {
  let p = 0;
  const next = () => {
    if (p >= b.length) throw corrupt(oid, 'truncated pack entry');
    return b[p++]!;
  };
  let c = next();
  const type = (c >> 4) & 7;
  let size = c & 15;
  for (let mul = 16; c & 0x80; mul *= 128) {
    c = next();
    size += (c & 0x7f) * mul;
  }
  if (type === OFS_DELTA) {
    c = next();
    let back = c & 0x7f;
    while (c & 0x80) {
      c = next();
      back = (back + 1) * 128 + (c & 0x7f);
    }
    // Bases come earlier in the pack; anything else would loop.
    if (back <= 0 || back > offset - 12) throw corrupt(oid, 'bad delta base offset');
    return { type, size, length: p, baseOffset: offset - back };
  }
  if (type === REF_DELTA) {
    if (p + 20 > b.length) throw corrupt(oid, 'truncated pack entry');
    const baseOid = b.toString('hex', p, p + 20);
    return { type, size, length: p + 20, baseOid };
  }
  return { type, size, length: p };
}

function deltaSizes(oid: string, b: Buffer): DeltaSizes {
  let p = 0;
  const varint = () => {
    let n = 0;
    for (let mul = 1; ; mul *= 128) {
      if (p >= b.length || mul > 2 ** 56) throw corrupt(oid, 'bad delta header');
      const c = b[p++]!;
      n += (c & 0x7f) * mul;
      if (!(c & 0x80)) return n;
    }
  };
  const base = varint();
  const result = varint();
  return { base, result, length: p };
}

/** Git's delta format: copy ranges of the base, or insert literal bytes. */
type DeltaSizes = { readonly base: number; readonly result: number; readonly length: number };

function applyDelta(oid: string, delta: Buffer, base: Buffer, sizes: DeltaSizes): Buffer {
  if (base.length !== sizes.base) throw corrupt(oid, 'delta base has the wrong size');
  const out = Buffer.allocUnsafe(sizes.result);
  let p = sizes.length;
  let o = 0;
  const next = () => {
    if (p >= delta.length) throw corrupt(oid, 'truncated delta');
    return delta[p++]!;
  };
  while (p < delta.length) {
    const op = next();
    if (op & 0x80) {
      let from = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) from += next() * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) size += next() * 2 ** (8 * i);
      if (size === 0) size = 0x10000;
      if (from + size > base.length || o + size > out.length) throw corrupt(oid, 'delta copies out of range');
      base.copy(out, o, from, from + size);
      o += size;
    } else if (op > 0) {
      if (p + op > delta.length || o + op > out.length) throw corrupt(oid, 'delta inserts out of range');
      delta.copy(out, o, p, p + op);
      p += op;
      o += op;
    } else {
      throw corrupt(oid, 'reserved delta opcode');
    }
  }
  if (o !== out.length) throw corrupt(oid, 'delta result has the wrong size');
  return out;
}

// ---------------------------------------------------------------------------- zlib

/**
 * The first inflated bytes of a zlib stream, at least `want` of them when there are: a
 * truncated input flushed with Z_SYNC_FLUSH inflates as far as it goes, and at most
 * ~1032 bytes come out of each byte in, so 4 KiB in is at most ~4 MiB out.
 */
function inflatePrefix(oid: string, stream: Buffer, want: number): Buffer {
  let out = Buffer.alloc(0);
  for (const n of [256, FIRST_READ]) {
    try {
      out = inflateSync(stream.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw corrupt(oid, (err as Error).message);
    }
    if (out.length >= want || n >= stream.length) break;
  }
  return out;
}

/** Inflates, refusing to produce more than `max` bytes. */
function inflateAtMost(oid: string, stream: Buffer, max: number): Buffer {
  try {
    return inflateSync(stream, { maxOutputLength: Math.max(1, max) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw corrupt(oid, code === 'ERR_BUFFER_TOO_LARGE' ? 'longer than its header says' : (err as Error).message);
  }
}

function inflateExactly(oid: string, stream: Buffer, size: number): Buffer {
  const out = inflateAtMost(oid, stream, size);
  if (out.length !== size) throw corrupt(oid, 'shorter than its header says');
  return out;
}

// ---------------------------------------------------------------------------- stores

/**
 * One repository's object directories and the delta bases last decoded, kept with the
 * caller's cache. Packs and their indexes are shared by the whole process (pack-files.ts).
 */
class ObjectStore {
  /** Least recently used first. */
  private readonly bases = new Map<string, GitObject>();
  private baseBytes = 0;
  private dirs: string[] | undefined;

  constructor(private readonly gitdir: string) {}

  /** `objects/` and its alternates (`objects/info/alternates`). */
  objectDirs(): string[] {
    if (!this.dirs) {
      const own = join(this.gitdir, 'objects');
      let text = '';
      try {
        text = readFileSync(join(own, 'info', 'alternates'), 'utf8');
      } catch {
        // no alternates
      }
      const more = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      this.dirs = [own, ...more.map((l) => resolve(own, l))];
    }
    return this.dirs;
  }

  /** Where object `id` is packed, in a pack found current just now; listed again when `relist`. */
  findPacked(id: Buffer, relist: boolean): { pack: PackFile; offset: number } | undefined {
    for (const dir of this.objectDirs()) {
      for (const pack of packsIn(dir, relist)) {
        const offset = pack.lookup(id);
        if (offset === undefined) continue;
        // Checked on every read, so a deleted or replaced pack is never read from.
        if (!pack.current()) throw new StalePackError(pack.path);
        return { pack, offset };
      }
    }
    return undefined;
  }

  base(key: string): GitObject | undefined {
    const hit = this.bases.get(key);
    if (hit) {
      this.bases.delete(key);
      this.bases.set(key, hit);
    }
    return hit;
  }

  keepBase(key: string, obj: GitObject): void {
    if (obj.data.length > BASE_CACHE_BYTES / 4 || this.bases.has(key)) return;
    this.bases.set(key, obj);
    this.baseBytes += obj.data.length;
    for (const [old, o] of this.bases) {
      if (this.baseBytes <= BASE_CACHE_BYTES) break;
      this.bases.delete(old);
      this.baseBytes -= o.data.length;
    }
  }
}

const stores = new WeakMap<object, Map<string, ObjectStore>>();

function storeFor(cache: object, gitdir: string): ObjectStore {
  let byDir = stores.get(cache);
  if (!byDir) stores.set(cache, (byDir = new Map()));
  let store = byDir.get(gitdir);
  if (!store) byDir.set(gitdir, (store = new ObjectStore(gitdir)));
  return store;
}
