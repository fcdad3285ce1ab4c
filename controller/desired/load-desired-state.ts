import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { compareDiagnostics, makeDiagnostic, type Diagnostic, type Finding } from './diagnostics.ts';
import { DEFAULT_MAX_FILE_BYTES, locate, reparse, type ParsedYaml } from './parse-document.ts';
import { ParsePool } from './parse-pool.ts';
import { readAndCheck, type FileResult } from './read-document.ts';
import { policyContext } from './policy/context.ts';
import { checkPolicy } from './policy/index.ts';
import { unusableTargets } from './policy/unusable.ts';
import type { DesiredSource, SourceEntry } from './source.ts';
import { isOutsideKindFolders } from './stray-files.ts';

/** The desired state of one revision, loaded and validated as a whole. */
export interface DesiredState {
  /** Commit id, or `null` when read from a plain folder. */
  readonly revision: string | null;
  readonly source: string;
  /** Documents that passed their own checks (schema and shape), in path order. */
  readonly objects: readonly AnyDesiredObject[];
  readonly byId: ReadonlyMap<TargetId, AnyDesiredObject>;
  /** Every problem, sorted by file and position. */
  readonly diagnostics: readonly Diagnostic[];
  /** Targets the controller must not act on, with the reasons. */
  readonly unusable: ReadonlyMap<TargetId, readonly string[]>;
  /** Files no target could be read from at all (syntax, encoding, size, links). */
  readonly brokenFiles: readonly string[];
  /** No error anywhere: the revision may be acted on as a whole. */
  readonly valid: boolean;
  readonly stats: { readonly files: number; readonly parsed: number; readonly reused: number };
}

/** A file's result, remembered across loads while its blob is unchanged. */
interface FileRecord extends FileResult {
  readonly object?: AnyDesiredObject;
  generation: number;
}

export interface LoaderOptions {
  readonly maxFileBytes?: number;
  /** How many files are read at once in-process. */
  readonly concurrency?: number;
  /**
   * Worker threads for loads with many new files: `auto` (default) uses every core when at
   * least `workerThreshold` files must be parsed; `off` parses in-process.
   */
  readonly workers?: 'auto' | 'off';
  readonly workerThreshold?: number;
}

/**
 * Loads desired state from a source. Parsed files are remembered by (path, blob id), so
 * loading a newer revision re-reads and re-parses only the files whose content changed;
 * cross-file policy then runs over the whole revision, which is cheap.
 */
export class DesiredStateLoader {
  /** Records by the source's entry object: unchanged tree listings hand back the same objects. */
  private readonly byEntry = new WeakMap<SourceEntry, FileRecord>();
  /** Records by path and blob id, for entries re-listed because a sibling changed. */
  private readonly byKey = new Map<string, FileRecord>();
  private generation = 0;
  private readonly maxFileBytes: number;
  private readonly concurrency: number;
  private readonly workerThreshold: number;

  constructor(options: LoaderOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.concurrency = options.concurrency ?? 16;
    this.workerThreshold = options.workers === 'off' || !ParsePool.worthwhile() ? Infinity : (options.workerThreshold ?? 256);
  }

  async load(source: DesiredSource, options: { base?: DesiredState } = {}): Promise<DesiredState> {
    const generation = ++this.generation;
    const entries = await source.list();
    const records: FileRecord[] = new Array(entries.length);
    const missing: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const rec = this.lookup(entries[i]!);
      if (rec) {
        rec.generation = generation;
        records[i] = rec;
      } else missing.push(i);
    }
    const fresh = await this.readFresh(source, missing.map((i) => entries[i]!));
    fresh.forEach((result, k) => {
      const i = missing[k]!;
      const entry = entries[i]!;
      const { object, ...rest } = result;
      const rec: FileRecord = { ...rest, ...(object !== undefined ? { object: deepFreeze(object) as AnyDesiredObject } : {}), generation };
      this.byEntry.set(entry, rec);
      this.byKey.set(entryKey(entry), rec);
      records[i] = rec;
    });
    // Stats count desired-state files; YAML outside the kind folders is listed only to be reported.
    const strayFresh = missing.filter((i) => isOutsideKindFolders(entries[i]!.path)).length;
    const parsed = fresh.length - strayFresh;
    let files = 0;
    for (const e of entries) if (!isOutsideKindFolders(e.path)) files++;
    // Keep what this load and the previous one used (a revision and its base, or the
    // current and the next revision); drop the rest so memory follows the repository.
    // Swept only once stale records pile up, so a one-file reload does not scan them all.
    if (this.byKey.size > entries.length * 1.25 + 64) {
      for (const [key, rec] of this.byKey) if (rec.generation < generation - 1) this.byKey.delete(key);
    }

    // One pass over the records: the objects, every file's own diagnostics, documents that
    // declare a name but are invalid (for clearer references), and the index by target.
    const objects: AnyDesiredObject[] = [];
    const diagnostics: Diagnostic[] = [];
    const invalid = new Map<string, string>();
    const byId = new Map<TargetId, AnyDesiredObject>();
    const brokenFiles: string[] = [];
    for (const r of records) {
      if (r.object) {
        objects.push(r.object);
        if (!byId.has(r.target as TargetId)) byId.set(r.target as TargetId, r.object);
      } else if (r.declares) invalid.set(r.declares, r.path);
      if (r.diagnostics.length > 0) {
        for (const d of r.diagnostics) diagnostics.push(d);
        if (r.target === undefined && !isOutsideKindFolders(r.path)) brokenFiles.push(r.path);
      }
    }
    const ctx = policyContext(objects, invalid);
    const base = options.base;
    const findings = checkPolicy(ctx, base?.revision ? { context: policyContext(base.objects), revision: base.revision } : undefined);
    for (const d of await this.place(findings, source, entries)) diagnostics.push(d);
    diagnostics.sort(compareDiagnostics);

    return {
      revision: source.revision,
      source: source.description,
      objects,
      byId,
      diagnostics,
      unusable: unusableTargets(ctx, diagnostics),
      brokenFiles,
      valid: !diagnostics.some((d) => d.severity === 'error'),
      stats: { files, parsed, reused: files - parsed },
    };
  }

  private lookup(entry: SourceEntry): FileRecord | undefined {
    let rec = this.byEntry.get(entry);
    if (!rec) {
      rec = this.byKey.get(entryKey(entry));
      if (rec) this.byEntry.set(entry, rec);
    }
    return rec;
  }

  /** Reads, parses and checks files not seen before: in worker threads when there are many. */
  private async readFresh(source: DesiredSource, entries: readonly SourceEntry[]): Promise<FileResult[]> {
    if (entries.length >= this.workerThreshold) {
      // Workers live for this load only: big loads are rare (start-up, a huge change), and
      // idle workers would hold their own heaps for the life of the controller.
      const pool = new ParsePool();
      try {
        return await pool.parse(source.location, this.maxFileBytes, entries, (batch) => this.readInProcess(source, batch));
      } catch {
        // A worker died (killed, out of memory): the same work in-process gives the same
        // answer, only slower. A real read error surfaces from there.
      } finally {
        await pool.close();
      }
    }
    return this.readInProcess(source, entries);
  }

  private async readInProcess(source: DesiredSource, entries: readonly SourceEntry[]): Promise<FileResult[]> {
    const out: FileResult[] = new Array(entries.length);
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const i = next++;
        const entry = entries[i]!;
        out[i] = await readAndCheck(entry, (e, max) => source.read(e, max), this.maxFileBytes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, entries.length) }, worker));
    return out;
  }

  /**
   * Policy findings name a file and a field; find the line and column by reading that file
   * again (positions are not kept in memory: findings are rare, documents are many).
   */
  private async place(findings: readonly Finding[], source: DesiredSource, entries: readonly SourceEntry[]): Promise<Diagnostic[]> {
    if (findings.length === 0) return [];
    const wanted = new Set(findings.map((f) => f.path));
    const parsed = new Map<string, ParsedYaml>();
    for (const entry of entries) {
      if (entry.type !== 'file' || !wanted.has(entry.path)) continue;
      const bytes = await source.read(entry, this.maxFileBytes);
      parsed.set(entry.path, reparse(new TextDecoder().decode(bytes).replace(/^\uFEFF/, '')));
    }
    return findings.map((f) => {
      const yaml = parsed.get(f.path);
      return makeDiagnostic(f, yaml ? locate(yaml, f.field, f.atKey) : { line: 1, column: 1 });
    });
  }
}

function entryKey(e: SourceEntry): string {
  return `${e.type}\0${e.oid}\0${e.path}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
