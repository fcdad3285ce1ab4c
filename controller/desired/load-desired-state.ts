import { API_VERSION, isKind, KINDS, type AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { KIND_FOLDERS, kindOfFolder, type TargetId } from '../../reconcilers/model/identity.ts';
import { compareDiagnostics, makeDiagnostic, type Diagnostic, type Finding } from './diagnostics.ts';
import { DEFAULT_MAX_FILE_BYTES, locate, parseDesiredFile, reparse, type ParsedYaml } from './parse-document.ts';
import { policyContext } from './policy/context.ts';
import { checkPolicy } from './policy/index.ts';
import { unusableTargets } from './policy/unusable.ts';
import { validateAgainstSchema } from './schema-validator.ts';
import { symlinkStaysInside, type DesiredSource, type SourceEntry } from './source.ts';

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

interface FileRecord {
  readonly path: string;
  readonly oid: string;
  readonly object?: AnyDesiredObject;
  readonly target?: string;
  /** `Kind/name` the document declares, when it says (even if it is invalid). */
  readonly declares?: string;
  readonly diagnostics: readonly Diagnostic[];
  /** Kept for documents that loaded, so policy findings can be placed at a line later. */
  readonly text?: string;
  generation: number;
}

export interface LoaderOptions {
  readonly maxFileBytes?: number;
  /** How many files are read at once. */
  readonly concurrency?: number;
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

  constructor(options: LoaderOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.concurrency = options.concurrency ?? 16;
  }

  async load(source: DesiredSource, options: { base?: DesiredState } = {}): Promise<DesiredState> {
    const generation = ++this.generation;
    const entries = await source.list();
    let parsed = 0;
    const records: FileRecord[] = new Array(entries.length);
    const missing: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const rec = this.lookup(entries[i]!);
      if (rec) {
        rec.generation = generation;
        records[i] = rec;
      } else missing.push(i);
    }
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const i = missing[next++]!;
        const entry = entries[i]!;
        const rec = await this.loadEntry(source, entry);
        rec.generation = generation;
        this.byEntry.set(entry, rec);
        this.byKey.set(entryKey(entry), rec);
        records[i] = rec;
        parsed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, missing.length) }, worker));
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
        if (r.target === undefined) brokenFiles.push(r.path);
      }
    }
    const ctx = policyContext(objects, invalid);
    const base = options.base;
    const findings = checkPolicy(ctx, base?.revision ? { context: policyContext(base.objects), revision: base.revision } : undefined);
    for (const d of this.place(findings, records)) diagnostics.push(d);
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
      stats: { files: entries.length, parsed, reused: entries.length - parsed },
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

  private async loadEntry(source: DesiredSource, entry: SourceEntry): Promise<FileRecord> {
    const base = { path: entry.path, oid: entry.oid, generation: 0 };
    const fileLevel = (f: Finding): FileRecord => ({ ...base, diagnostics: [makeDiagnostic(f, { line: 1, column: 1 })] });
    switch (entry.type) {
      case 'unsafe':
        return fileLevel({ code: 'UNSAFE_PATH', data: { entry: entry.detail ?? entry.path }, path: entry.path });
      case 'symlink': {
        const target = entry.detail ?? '';
        return fileLevel({ code: 'SYMLINK', data: { target, outside: !symlinkStaysInside(entry.path, target) }, path: entry.path });
      }
      case 'submodule':
        return fileLevel({ code: 'NOT_A_FILE', data: { type: 'submodule' }, path: entry.path });
      case 'file':
        break;
    }
    const bytes = await source.read(entry);
    const outcome = parseDesiredFile(entry.path, bytes, this.maxFileBytes);
    if (!outcome.ok) {
      return { ...base, diagnostics: outcome.findings.map((f) => makeDiagnostic(f, f)) };
    }
    const { yaml, value } = outcome;
    const kind = value['kind'];
    const name = (value['metadata'] as { name?: unknown } | null | undefined)?.name;
    // Only a known kind makes a target; a name with surrounding white space is quoted so
    // the space shows in `kind/name`.
    const target = isKind(kind) && typeof name === 'string'
      ? `${kind.toLowerCase()}/${name === name.trim() ? name : JSON.stringify(name)}`
      : undefined;
    const ctx = { path: entry.path, ...(target !== undefined ? { target } : {}) };
    const place = (f: Finding) => makeDiagnostic(f, locate(yaml, f.field, f.atKey));
    if (kind === undefined) {
      return { ...base, ...tgt(target), diagnostics: [place({ ...ctx, code: 'MISSING_FIELD', data: { field: 'kind' }, field: [] })] };
    }
    if (!isKind(kind)) {
      return {
        ...base,
        ...tgt(target),
        diagnostics: [place({ ...ctx, code: 'UNKNOWN_KIND', data: { kind: String(kind), known: KINDS }, field: ['kind'] })],
      };
    }
    const diagnostics: Diagnostic[] = [];
    const folderKind = kindOfFolder(entry.path);
    if (folderKind !== kind) {
      diagnostics.push(place({
        ...ctx,
        code: 'WRONG_FOLDER',
        data: { kind, folder: entry.path.split('/', 1)[0]!, expected: KIND_FOLDERS[kind] },
        field: ['kind'],
      }));
    }
    diagnostics.push(...validateAgainstSchema(kind, value, yaml, ctx).map(place));
    if (diagnostics.length > 0) {
      return { ...base, ...tgt(target), ...(typeof name === 'string' ? { declares: `${kind}/${name}` } : {}), diagnostics };
    }
    const object = deepFreeze({
      apiVersion: API_VERSION,
      kind,
      metadata: value['metadata'],
      spec: value['spec'],
      source: { path: entry.path, blob: entry.oid },
    }) as AnyDesiredObject;
    return { ...base, ...tgt(target), object, diagnostics: [], text: yaml.text };
  }

  /** Policy findings name a file and a field; find the line and column in that file. */
  private place(findings: readonly Finding[], records: readonly FileRecord[]): Diagnostic[] {
    if (findings.length === 0) return [];
    const byPath = new Map(records.map((r) => [r.path, r]));
    const reparsed = new Map<string, ParsedYaml | undefined>();
    return findings.map((f) => {
      let yaml = reparsed.get(f.path);
      if (!reparsed.has(f.path)) {
        const text = byPath.get(f.path)?.text;
        if (text !== undefined) yaml = reparse(text);
        reparsed.set(f.path, yaml);
      }
      return makeDiagnostic(f, yaml ? locate(yaml, f.field, f.atKey) : { line: 1, column: 1 });
    });
  }
}

function entryKey(e: SourceEntry): string {
  return `${e.type}\0${e.oid}\0${e.path}`;
}

function tgt(target: string | undefined): { target?: string } {
  return target !== undefined ? { target } : {};
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
