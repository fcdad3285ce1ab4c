import { API_VERSION, isKind, KINDS, type AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { KIND_FOLDERS, kindOfFolder, type TargetId } from '../../reconcilers/model/identity.ts';
import { compareDiagnostics, makeDiagnostic, type Diagnostic, type Finding } from './diagnostics.ts';
import { DEFAULT_MAX_FILE_BYTES, locate, parseDesiredFile, reparse, type ParsedYaml } from './parse-document.ts';
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
  private readonly records = new Map<string, FileRecord>();
  private generation = 0;
  private readonly maxFileBytes: number;
  private readonly concurrency: number;

  constructor(options: LoaderOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.concurrency = options.concurrency ?? 16;
  }

  async load(source: DesiredSource, options: { base?: DesiredState } = {}): Promise<DesiredState> {
    const generation = ++this.generation;
    const entries = [...(await source.list())].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    let parsed = 0;
    const records: FileRecord[] = new Array(entries.length);
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const i = next++;
        const entry = entries[i]!;
        const key = `${entry.path}\0${entry.oid}\0${entry.type}`;
        let rec = this.records.get(key);
        if (!rec) {
          rec = await this.loadEntry(source, entry);
          this.records.set(key, rec);
          parsed++;
        }
        rec.generation = generation;
        records[i] = rec;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, entries.length) }, worker));
    // Keep what this load and the previous one used (a revision and its base, or the
    // current and the next revision); drop the rest so memory follows the repository.
    for (const [key, rec] of this.records) if (rec.generation < generation - 1) this.records.delete(key);

    const objects = records.flatMap((r) => (r.object ? [r.object] : []));
    const diagnostics: Diagnostic[] = records.flatMap((r) => r.diagnostics);
    const invalid = new Map<string, string>();
    for (const r of records) if (!r.object && r.declares) invalid.set(r.declares, r.path);
    const findings = checkPolicy(
      objects,
      options.base && options.base.revision ? { objects: options.base.objects, revision: options.base.revision } : undefined,
      invalid,
    );
    diagnostics.push(...this.place(findings, records));
    diagnostics.sort(compareDiagnostics);

    const byId = new Map<TargetId, AnyDesiredObject>();
    for (const o of objects) {
      const id = `${o.kind.toLowerCase()}/${o.metadata.name}` as TargetId;
      if (!byId.has(id)) byId.set(id, o);
    }
    return {
      revision: source.revision,
      source: source.description,
      objects,
      byId,
      diagnostics,
      unusable: unusableTargets(objects, diagnostics),
      brokenFiles: records.filter((r) => r.target === undefined && r.diagnostics.length > 0).map((r) => r.path),
      valid: !diagnostics.some((d) => d.severity === 'error'),
      stats: { files: entries.length, parsed, reused: entries.length - parsed },
    };
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
