import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { compareDiagnosticsFully, makeDiagnostic, type Diagnostic, type Finding } from './diagnostics.ts';
import { ParseCache, type ParseCacheOptions } from './parse-cache.ts';
import { DEFAULT_MAX_FILE_BYTES, locate, reparse, type ParsedYaml } from './parse-document.ts';
import { ParsePool } from './parse-pool.ts';
import { readAndCheck, type FileResult } from './read-document.ts';
import { policyContext } from './policy/context.ts';
import { checkPolicy, POLICY_RULES, POLICY_SUBJECTS } from './policy/index.ts';
import { IncrementalPolicy } from './policy/incremental.ts';
import { haClusterSchemaDowngrades } from '../../reconcilers/ha-cluster/validate-schema-downgrade.ts';
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
  /** `reused` counts files answered from memory or from the parse cache; `fromCache`, with a cache, the latter. */
  readonly stats: {
    readonly files: number;
    readonly parsed: number;
    readonly reused: number;
    readonly fromCache?: number;
  };
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
  /**
   * A parse cache on disk (parse-cache.ts), so a restarted controller does not parse an
   * unchanged repository again. Off by default: one-shot commands gain nothing from it.
   */
  readonly parseCache?: ParseCacheOptions;
  /**
   * Keep the cross-file rules up to date across loads (policy/incremental.ts) instead of
   * running them over the whole revision each time. On by default; off runs the rules as
   * written, the reference the incremental answers are tested against.
   */
  readonly incrementalPolicy?: boolean;
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
  private running: Promise<unknown> = Promise.resolve();
  private readonly maxFileBytes: number;
  private readonly concurrency: number;
  private readonly workerThreshold: number;
  private readonly cacheOptions: ParseCacheOptions | undefined;
  private cache: Promise<ParseCache> | undefined;
  /** The file records last handed to the parse cache, to skip writing an unchanged set. */
  private kept: readonly FileRecord[] = [];
  private policy: IncrementalPolicy | undefined;
  /** Policy findings already located: a finding kept by the incremental policy is the same object. */
  private readonly placed = new WeakMap<Finding, Diagnostic>();

  constructor(options: LoaderOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.cacheOptions = options.parseCache;
    if (options.incrementalPolicy !== false) this.policy = new IncrementalPolicy(POLICY_RULES, POLICY_SUBJECTS);
    this.concurrency = options.concurrency ?? 16;
    this.workerThreshold = options.workers === 'off' || !ParsePool.worthwhile() ? Infinity : (options.workerThreshold ?? 256);
  }

  /** Loads run one at a time: the remembered records and the incremental policy follow one sequence of revisions. */
  load(source: DesiredSource, options: { base?: DesiredState } = {}): Promise<DesiredState> {
    const run = this.running.then(() => this.loadNow(source, options));
    this.running = run.catch(() => {});
    return run;
  }

  private async loadNow(source: DesiredSource, options: { base?: DesiredState }): Promise<DesiredState> {
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
    const remember = (i: number, result: FileResult) => {
      const entry = entries[i]!;
      const { object, ...rest } = result;
      const rec: FileRecord = { ...rest, ...(object !== undefined ? { object: deepFreeze(object) as AnyDesiredObject } : {}), generation };
      this.byEntry.set(entry, rec);
      this.byKey.set(entryKey(entry), rec);
      records[i] = rec;
    };
    // Files not in memory: from the parse cache on disk when it has them, else read and parsed.
    const cache = missing.length > 0 || this.cache ? await this.openCache() : undefined;
    let fromCache = 0;
    let hits = 0;
    let toRead = missing;
    if (cache && cache.size > 0) {
      toRead = [];
      for (const i of missing) {
        const hit = cache.take(entries[i]!);
        if (hit) {
          remember(i, hit);
          hits++;
          if (!isOutsideKindFolders(hit.path)) fromCache++;
        } else toRead.push(i);
      }
    }
    const fresh = await this.readFresh(source, toRead.map((i) => entries[i]!));
    fresh.forEach((result, k) => remember(toRead[k]!, result));
    if (cache) this.keep(cache, entries, records, hits);
    // Stats count desired-state files; YAML outside the kind folders is listed only to be reported.
    const strayFresh = toRead.filter((i) => isOutsideKindFolders(entries[i]!.path)).length;
    const parsed = fresh.length - strayFresh;
    let stray = 0;
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
      // Files outside the kind folders never make an object (stray-files.ts): only files
      // without one need the check, which a one-file reload would otherwise pay 10,000 times.
      if (r.object === undefined && isOutsideKindFolders(r.path)) stray++;
    }
    const files = entries.length - stray;
    const base = options.base;
    let findings: Finding[];
    let unusable: (diagnostics: readonly Diagnostic[]) => Map<TargetId, string[]>;
    if (this.policy) {
      const policy = this.policy;
      try {
        findings = policy.update(objects, invalid);
      } catch (err) {
        // Half updated: start over, so the next load computes everything again.
        this.policy = new IncrementalPolicy(POLICY_RULES, POLICY_SUBJECTS);
        throw err;
      }
      if (base?.revision) {
        findings.push(...haClusterSchemaDowngrades(policyContext(base.objects), base.revision, policy.context()));
      }
      unusable = (d) => policy.unusable(d);
    } else {
      const ctx = policyContext(objects, invalid);
      const against = base?.revision ? { context: policyContext(base.objects), revision: base.revision } : undefined;
      findings = checkPolicy(ctx, against);
      unusable = (d) => unusableTargets(ctx, d);
    }
    for (const d of await this.place(findings, source, entries)) diagnostics.push(d);
    // A total order: the same diagnostics come out in the same order however they were
    // gathered (the incremental policy gathers them in another order than a full run).
    diagnostics.sort(compareDiagnosticsFully);

    return {
      revision: source.revision,
      source: source.description,
      objects,
      byId,
      diagnostics,
      unusable: unusable(diagnostics),
      brokenFiles,
      valid: !diagnostics.some((d) => d.severity === 'error'),
      stats: { files, parsed, reused: files - parsed, ...(cache ? { fromCache } : {}) },
    };
  }

  /** Writes anything the parse cache still holds back (tests, shutdown); a no-op without a cache. */
  async flushCache(): Promise<void> {
    if (this.cache) await (await this.cache).flush();
  }

  private openCache(): Promise<ParseCache> | undefined {
    if (!this.cacheOptions) return undefined;
    this.cache ??= ParseCache.open(this.cacheOptions, this.maxFileBytes);
    return this.cache;
  }

  /** Hands this load's file results to the parse cache, unless they are the ones it has. */
  private keep(cache: ParseCache, entries: readonly SourceEntry[], records: readonly FileRecord[], hits: number): void {
    const files: FileRecord[] = [];
    for (let i = 0; i < entries.length; i++) if (entries[i]!.type === 'file') files.push(records[i]!);
    const kept = this.kept;
    if (files.length === kept.length && files.every((r, i) => r === kept[i])) return;
    this.kept = files;
    // Every file came from the cache, and it holds nothing else: the file on disk is this set.
    if (hits === files.length && cache.size === files.length) return;
    cache.keep(files);
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
    const wanted = new Set(findings.filter((f) => !this.placed.has(f)).map((f) => f.path));
    const parsed = new Map<string, ParsedYaml>();
    for (const entry of wanted.size > 0 ? entries : []) {
      if (entry.type !== 'file' || !wanted.has(entry.path)) continue;
      const bytes = await source.read(entry, this.maxFileBytes);
      parsed.set(entry.path, reparse(new TextDecoder().decode(bytes).replace(/^\uFEFF/, '')));
    }
    return findings.map((f) => {
      let d = this.placed.get(f);
      if (!d) {
        const yaml = parsed.get(f.path);
        d = makeDiagnostic(f, yaml ? locate(yaml, f.field, f.atKey) : { line: 1, column: 1 });
        this.placed.set(f, d);
      }
      return d;
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
