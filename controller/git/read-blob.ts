import { createHash } from 'node:crypto';
import { open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { Errors } from 'isomorphic-git';

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
  const store = storeFor(cache, gitdir);
  const found = await findObject(store, oid, { top: oid, limit: maxBytes, depth: 0 });
  // The error isomorphic-git gives for a missing object, which callers already recognise.
  if (found === undefined) throw new Errors.NotFoundError(oid);
  if (found.type !== 'blob') throw new Error(`object ${oid} is a ${found.type}, not a blob`);
  return found.data;
}

// ---------------------------------------------------------------------------- objects

type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
interface GitObject {
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

async function findObject(store: ObjectStore, oid: string, want: Want): Promise<GitObject | undefined> {
  if (want.depth > MAX_DELTA_DEPTH) throw corrupt(want.top, 'delta chain too deep');
  for (const dir of await store.objectDirs()) {
    const loose = await readLoose(join(dir, oid.slice(0, 2), oid.slice(2)), oid, want);
    if (loose) return loose;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const at = await store.findPacked(oid, attempt > 0);
    if (!at) continue;
    try {
      const obj = await readPacked(store, at.pack, at.offset, want);
      if (want.depth === 0) checkId(oid, obj);
      return obj;
    } catch (err) {
      // A pack removed by `git gc` meanwhile: list the packs again, once.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
    }
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

async function readLoose(path: string, oid: string, want: Want): Promise<GitObject | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    const fileSize = (await fh.stat()).size;
    const first = await readAt(fh, 0, Math.min(fileSize, FIRST_READ));
    const limit = budget(want);
    const head = looseHeader(oid, inflatePrefix(oid, first, 32));
    if (head.size > limit) throw tooLarge(want, head.size);
    // Deflate adds a few bytes per 16 KiB block at worst: more on disk is not Git's.
    if (fileSize > head.size + Math.floor(head.size / 64) + 1024) throw corrupt(oid, 'longer on disk than its content');
    const rest = fileSize > first.length ? await readAt(fh, first.length, fileSize - first.length) : undefined;
    const all = rest ? Buffer.concat([first, rest]) : first;
    const wrapped = inflateAtMost(oid, all, head.length + head.size);
    if (wrapped.length !== head.length + head.size) throw corrupt(oid, 'shorter than its header says');
    const obj = { type: head.type, data: wrapped.subarray(head.length) };
    // A corrupt or substituted object must never be read as desired state: check its id.
    checkId(oid, obj);
    return obj;
  } finally {
    await fh.close();
  }
}

function looseHeader(oid: string, bytes: Buffer): { type: ObjectType; size: number; length: number } {
  const nul = bytes.indexOf(0);
  const m = nul > 0 ? LOOSE_HEADER.exec(bytes.toString('latin1', 0, nul)) : null;
  if (!m) throw corrupt(oid, 'no object header');
  return { type: m[1] as ObjectType, size: Number(m[2]), length: nul + 1 };
}

// ---------------------------------------------------------------------------- packed

async function readPacked(store: ObjectStore, pack: Pack, offset: number, want: Want): Promise<GitObject> {
  const key = `${pack.path}:${offset}`;
  const cached = want.depth > 0 ? store.bases.get(key) : undefined;
  if (cached) return cached;
  const limit = budget(want);
  const end = pack.entryEnd(offset);
  if (end <= offset) throw corrupt(want.top, `bad pack offset ${offset}`);
  const fh = await open(pack.path, 'r');
  let obj: GitObject;
  try {
    const head = await readAt(fh, offset, Math.min(end - offset, FIRST_READ));
    const h = packEntryHeader(want.top, head, offset);
    const whole = async () =>
      end - offset <= head.length ? head.subarray(h.length) : readAt(fh, offset + h.length, end - offset - h.length);
    if (h.type !== OFS_DELTA && h.type !== REF_DELTA) {
      const type = PACK_TYPES[h.type];
      if (!type) throw corrupt(want.top, `unknown pack entry type ${h.type}`);
      if (h.size > limit) throw tooLarge(want, h.size);
      obj = { type, data: inflateExactly(want.top, await whole(), h.size) };
    } else {
      // The delta's header holds the size of its base and of the object it makes.
      if (h.size > limit) throw tooLarge(want, h.size);
      const sizes = deltaSizes(want.top, inflatePrefix(want.top, head.subarray(h.length), 20));
      if (sizes.result > limit) throw tooLarge(want, sizes.result);
      if (sizes.base > budget({ ...want, depth: want.depth + 1 })) throw tooLarge(want, sizes.base);
      const below = { ...want, depth: want.depth + 1 };
      const base = h.baseOffset !== undefined
        ? await readPacked(store, pack, h.baseOffset, below)
        : await findObject(store, h.baseOid!, below);
      if (!base) throw corrupt(want.top, `delta base ${h.baseOid} is missing`);
      const delta = inflateExactly(want.top, await whole(), h.size);
      obj = { type: base.type, data: applyDelta(want.top, delta, base.data, sizes) };
    }
  } finally {
    await fh.close();
  }
  if (want.depth > 0) store.keepBase(key, obj);
  return obj;
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

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

// ---------------------------------------------------------------------------- stores

/** One repository's object directories and pack indexes, kept with the caller's cache. */
class ObjectStore {
  readonly bases = new Map<string, GitObject>();
  private baseBytes = 0;
  private dirs: Promise<string[]> | undefined;
  private packs: Pack[] | undefined;

  constructor(private readonly gitdir: string) {}

  /** `objects/` and its alternates (`objects/info/alternates`). */
  objectDirs(): Promise<string[]> {
    this.dirs ??= (async () => {
      const own = join(this.gitdir, 'objects');
      const text = await readFile(join(own, 'info', 'alternates'), 'utf8').catch(() => '');
      const more = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      return [own, ...more.map((l) => resolve(own, l))];
    })();
    return this.dirs;
  }

  async findPacked(oid: string, relist: boolean): Promise<{ pack: Pack; offset: number } | undefined> {
    const id = Buffer.from(oid, 'hex');
    if (id.length !== 20) return undefined;
    const search = (packs: Pack[]) => {
      for (const pack of packs) {
        const offset = pack.lookup(id);
        if (offset !== undefined) return { pack, offset };
      }
      return undefined;
    };
    if (!relist && this.packs) {
      const hit = search(this.packs);
      if (hit) return hit;
    }
    // New packs appear after a fetch or `git gc`: list them again on a miss.
    const known = new Map((this.packs ?? []).map((p) => [p.path, p]));
    const packs: Pack[] = [];
    for (const dir of await this.objectDirs()) {
      const names = await readdir(join(dir, 'pack')).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith('.idx')).sort()) {
        const path = join(dir, 'pack', `${name.slice(0, -4)}.pack`);
        const pack = known.get(path) ?? (await Pack.load(join(dir, 'pack', name), path));
        if (pack) packs.push(pack);
      }
    }
    this.packs = packs;
    return search(packs);
  }

  keepBase(key: string, obj: GitObject): void {
    if (obj.data.length > BASE_CACHE_BYTES / 4) return;
    if (this.baseBytes + obj.data.length > BASE_CACHE_BYTES) {
      this.bases.clear();
      this.baseBytes = 0;
    }
    this.bases.set(key, obj);
    this.baseBytes += obj.data.length;
  }
}

/** A pack and its index (version 1 or 2). */
class Pack {
  private ends: Float64Array | undefined;

  private constructor(
    readonly path: string,
    private readonly idx: Buffer,
    private readonly version: 1 | 2,
    private readonly count: number,
    private readonly packSize: number,
  ) {}

  static async load(idxPath: string, packPath: string): Promise<Pack | undefined> {
    try {
      const idx = await readFile(idxPath);
      const fh = await open(packPath, 'r');
      const packSize = (await fh.stat()).size;
      await fh.close();
      const v2 = idx.readUInt32BE(0) === 0xff744f63;
      if (v2 && idx.readUInt32BE(4) !== 2) return undefined;
      const count = idx.readUInt32BE((v2 ? 8 : 0) + 255 * 4);
      return new Pack(packPath, idx, v2 ? 2 : 1, count, packSize);
    } catch {
      return undefined; // a pack being written or removed: not ours to read now
    }
  }

  /** The offset of object `id` in the pack, or undefined. */
  lookup(id: Buffer): number | undefined {
    const fan = this.version === 2 ? 8 : 0;
    const first = id[0]!;
    let lo = first === 0 ? 0 : this.idx.readUInt32BE(fan + (first - 1) * 4);
    let hi = this.idx.readUInt32BE(fan + first * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.oidAt(mid);
      const cmp = id.compare(this.idx, at, at + 20);
      if (cmp === 0) return this.offsetAt(mid);
      if (cmp < 0) hi = mid;
      else lo = mid + 1;
    }
    return undefined;
  }

  /** Where the entry at `offset` ends: the next entry, or the pack's trailing checksum. */
  entryEnd(offset: number): number {
    if (!this.ends) {
      const all = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) all[i] = this.offsetAt(i);
      this.ends = all.sort();
    }
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < ends.length ? ends[lo]! : this.packSize - 20;
  }

  private oidAt(i: number): number {
    return this.version === 2 ? 8 + 1024 + i * 20 : 1024 + i * 24 + 4;
  }

  private offsetAt(i: number): number {
    if (this.version === 1) return this.idx.readUInt32BE(1024 + i * 24);
    const table = 8 + 1024 + this.count * 24;
    const small = this.idx.readUInt32BE(table + i * 4);
    if (!(small & 0x80000000)) return small;
    const large = table + this.count * 4 + (small & 0x7fffffff) * 8;
    return this.idx.readUInt32BE(large) * 2 ** 32 + this.idx.readUInt32BE(large + 4);
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
