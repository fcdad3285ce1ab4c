import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/**
 * Pack files and their indexes, kept across reads for the whole process (issue 16): opening
 * and closing a pack for every object and every delta base cost more than inflating them.
 *
 * A pack may be replaced or deleted at any time (`git gc`, `git repack -a -d`, a fetch), so
 * each pack is known by its identity (device, inode, size, modification and change times)
 * and by the checksum its index and its pack both carry. Whoever reads a pack first calls
 * `current()`, which compares the file now at its path with that identity: a pack that
 * changed or disappeared is closed and forgotten, and never read from again.
 *
 * Reads are synchronous: entries are small and in the page cache, and an asynchronous read
 * costs a trip through libuv's thread pool each. It also means a file descriptor is never
 * closed (and its number reused) while a read on it is in flight.
 */

/** Open pack file descriptors kept in the process; the least recently used is closed beyond this. */
const MAX_OPEN_PACKS = 32;
/** Object directories whose pack lists (and indexes) are kept. */
const MAX_DIRS = 64;

interface Identity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

function sameFile(st: Stats, id: Identity): boolean {
  return (
    st.dev === id.dev && st.ino === id.ino && st.size === id.size && st.mtimeMs === id.mtimeMs &&
    st.ctimeMs === id.ctimeMs
  );
}

/** The pack on disk is no longer the one its index was read for. */
export class StalePackError extends Error {
  constructor(readonly path: string) {
    super(`pack ${path} changed or disappeared while being read`);
    this.name = 'StalePackError';
  }
}

/** Packs with an open descriptor, least recently used first. */
const openPacks = new Set<PackFile>();

/** A pack and its index (version 1 or 2), read once per identity. */
export class PackFile {
  private fd: number | undefined;
  private ends: Float64Array | undefined;
  private dropped = false;
  /** Names this pack's version in caches (a same-named pack rewritten is another). */
  readonly key: string;

  private constructor(
    readonly path: string,
    private readonly identity: Identity,
    private readonly idx: Buffer,
    private readonly version: 1 | 2,
    private readonly count: number,
    fd: number,
  ) {
    this.key = `${path}:${identity.ino}:${identity.size}:${identity.mtimeMs}`;
    this.fd = fd;
    touch(this);
  }

  /** The pack, or undefined while it is being written or removed, or when it does not match its index. */
  static load(idxPath: string, packPath: string): PackFile | undefined {
    let fd: number;
    try {
      fd = openSync(packPath, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      const identity = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
      const idx = readFileSync(idxPath);
      const v2 = idx.length >= 8 && idx.readUInt32BE(0) === 0xff744f63;
      if (v2 && idx.readUInt32BE(4) !== 2) throw new Error('unknown index version');
      const fan = v2 ? 8 : 0;
      if (idx.length < fan + 1024 + 40 || st.size < 32) throw new Error('truncated');
      const count = idx.readUInt32BE(fan + 255 * 4);
      // A shorter index would make lookups read past its end.
      if (idx.length < fan + 1024 + count * (v2 ? 28 : 24) + 40) throw new Error('truncated index');
      // Both files name the pack's checksum: an index beside another version of its pack is not read.
      const tail = readAt(fd, st.size - 20, 20);
      if (tail.length !== 20 || !tail.equals(idx.subarray(idx.length - 40, idx.length - 20))) {
        throw new Error('index and pack do not match');
      }
      return new PackFile(packPath, identity, idx, v2 ? 2 : 1, count, fd);
    } catch {
      closeSync(fd);
      return undefined; // not ours to read now; a later listing tries again
    }
  }

  /** Whether the file at the pack's path is still the one indexed; forgets the pack when not. */
  current(): boolean {
    if (this.dropped) return false;
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (st && sameFile(st, this.identity)) return true;
    this.drop();
    return false;
  }

  /** `length` bytes at `position` (fewer at the end of the file). */
  read(position: number, length: number): Buffer {
    return readAt(this.handle(), position, length);
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
    return lo < ends.length ? ends[lo]! : this.identity.size - 20;
  }

  /** Closes the descriptor; the pack may be opened again if it is still current. */
  closeHandle(): void {
    openPacks.delete(this);
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing held
    }
  }

  /** Closes and never reads this pack again. */
  drop(): void {
    this.dropped = true;
    this.closeHandle();
  }

  private handle(): number {
    if (this.dropped) throw new StalePackError(this.path);
    if (this.fd === undefined) {
      // Closed to bound the open descriptors: reopen only the very file that was indexed.
      let fd: number;
      try {
        fd = openSync(this.path, 'r');
      } catch {
        this.drop();
        throw new StalePackError(this.path);
      }
      if (!sameFile(fstatSync(fd), this.identity)) {
        closeSync(fd);
        this.drop();
        throw new StalePackError(this.path);
      }
      this.fd = fd;
    }
    touch(this);
    return this.fd;
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

function touch(pack: PackFile): void {
  openPacks.delete(pack);
  openPacks.add(pack);
  for (const old of openPacks) {
    if (openPacks.size <= MAX_OPEN_PACKS) break;
    old.closeHandle();
  }
}

/** Packs listed per object directory, most recently used last. */
const listed = new Map<string, PackFile[]>();

/**
 * The packs of object directory `dir`, as last listed; listed now when never listed or when
 * `relist` (a miss: a fetch or `git gc` made new packs). Packs no longer there are closed.
 */
export function packsIn(dir: string, relist = false): readonly PackFile[] {
  let packs = listed.get(dir);
  if (packs && !relist) {
    listed.delete(dir);
    listed.set(dir, packs);
    return packs;
  }
  const known = new Map((packs ?? []).map((p) => [p.path, p]));
  packs = [];
  let names: string[];
  try {
    names = readdirSync(join(dir, 'pack'));
  } catch {
    names = [];
  }
  for (const name of names.filter((n) => n.endsWith('.idx')).sort()) {
    const path = join(dir, 'pack', `${name.slice(0, -4)}.pack`);
    let pack = known.get(path);
    known.delete(path);
    if (pack && !pack.current()) pack = undefined;
    pack ??= PackFile.load(join(dir, 'pack', name), path);
    if (pack) packs.push(pack);
  }
  for (const gone of known.values()) gone.drop();
  listed.delete(dir);
  listed.set(dir, packs);
  for (const [old, oldPacks] of listed) {
    if (listed.size <= MAX_DIRS) break;
    for (const p of oldPacks) p.drop();
    listed.delete(old);
  }
  return packs;
}

/** Closes every pack (tests; a process about to exit needs not). */
export function closeAllPacks(): void {
  for (const packs of listed.values()) for (const p of packs) p.drop();
  listed.clear();
}

/** Up to `length` bytes at `position` (fewer only at the end of the file). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}
