/**
 * How each simulated machine of a fleet behaves: a behaviour file (YAML, or JSON, which is
 * YAML too), with defaults and rules matched by agent id or glob, applied in order — a later
 * rule overrides what an earlier one set, field by field:
 *
 * ```yaml
 * defaults:
 *   installTime: 3s            # an apply (500ms, 3s, 2m, or a number of milliseconds)
 *   stepTime: 500ms            # every other command
 *   failureRate: 0             # share of commands that fail, 0..1
 *   userRestartAfter: 5s       # a user restarts a device whose restart is left to them (null: never)
 * agents:
 *   - match: wd-bordeaux       # an agent id, or a glob: *, ?, [abc], [!abc]
 *     offline: [{ after: 0s, for: 12s }]     # no "for": offline until the fleet stops
 *   - match: wd-paris-master
 *     updateByHandAfter: 8s    # an operator updates this Manual master by hand
 *   - match: "ums-*"
 *     clockSkew: -90s          # a lagging clock
 *   - match: ums-3
 *     stuckInUpdateMode: true
 *   - match: acme-ws-003
 *     lieAboutVersion: "4.2.1" # reports this version whatever it installed
 *   - match: "acme-*"
 *     seed: 7                  # the same seed fails the same commands
 * ```
 *
 * Every problem is reported at once, each as `file:line:column: field: message`, so a typo
 * is found before a fleet of thousands starts. A rule that matches no agent of the fleet is
 * almost always a typo too: `unmatched()` lists those.
 */
import { readFile } from 'node:fs/promises';
import { makeDiagnostic, formatFieldPath, type FieldPath } from '../../controller/desired/diagnostics.ts';
import { locate, parseDesiredFile, sourceTextAt, type ParsedYaml } from '../../controller/desired/parse-document.ts';
import { tryParseVersion } from '../../protocol/version.ts';
import { agentMatcher } from './agent-glob.ts';
import { parseDuration } from './duration.ts';

/** A period without the agent: it stops at `afterMs` from the fleet's start and comes back `forMs` later (never, without it). */
export interface OfflinePeriod {
  readonly afterMs: number;
  readonly forMs?: number;
}

export interface AgentBehaviour {
  readonly installMs: number;
  readonly stepMs: number;
  readonly failureRate: number;
  /** Seed of the failure draws; default: derived from the agent id, so agents fail differently. */
  readonly seed?: number;
  /** The machine's clock minus the true time (negative: a lagging clock). */
  readonly clockSkewMs: number;
  readonly stuckInUpdateMode: boolean;
  readonly lieAboutVersion?: string;
  /** Absent: the file says nothing, and the agent starts offline only if the observed snapshot says so. */
  readonly offline?: readonly OfflinePeriod[];
  /** A Domain master with `update: Manual` is updated by an operator this long after it differs from its desired version. */
  readonly updateByHandAfterMs?: number;
  /** A device whose restart is its user's (LeaveToUser, auto-update) is restarted this long after it asks; absent: never. */
  readonly userRestartAfterMs?: number;
}

/** What a machine does when no file says otherwise. */
export const DEFAULT_BEHAVIOUR: AgentBehaviour = {
  installMs: 2000,
  stepMs: 200,
  failureRate: 0,
  clockSkewMs: 0,
  stuckInUpdateMode: false,
  userRestartAfterMs: 5000,
};

/** The behaviour file is not usable; `problems` lists every finding, one line each. */
export class BehaviourFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Fields = Partial<Mutable<AgentBehaviour>> & { userRestartNever?: boolean };

interface Rule {
  readonly pattern: string;
  readonly matches: (id: string) => boolean;
  readonly fields: Fields;
  /** `file:line:column` of its `match`, for `unmatched`. */
  readonly where: string;
  readonly index: number;
}

/** The fields of `defaults` and of each rule, with the parser of each. */
const FIELD_NAMES = ['installTime', 'stepTime', 'failureRate', 'seed', 'clockSkew', 'stuckInUpdateMode', 'lieAboutVersion', 'offline', 'updateByHandAfter', 'userRestartAfter'] as const;
type FieldName = (typeof FIELD_NAMES)[number];

export class FleetBehaviour {
  private constructor(
    /** Where it came from, for messages (`built-in defaults` without a file). */
    readonly source: string,
    private readonly defaults: Fields,
    private readonly rules: readonly Rule[],
    private readonly timeScale = 1,
  ) {}

  /** No file: every agent behaves as `DEFAULT_BEHAVIOUR`. */
  static defaults(): FleetBehaviour {
    return new FleetBehaviour('built-in defaults', {}, []);
  }

  static async read(file: string): Promise<FleetBehaviour> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new BehaviourFileError([`${file}: cannot read the behaviour file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    return FleetBehaviour.parse(file, bytes);
  }

  /** Parses and checks a behaviour file; throws BehaviourFileError listing every problem. */
  static parse(file: string, content: string | Uint8Array): FleetBehaviour {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const parsed = parseDesiredFile(file, bytes);
    if (!parsed.ok) throw new BehaviourFileError(parsed.findings.map((f) => `${file}:${f.line}:${f.column}: ${makeDiagnostic(f, f).message}`));
    const checker = new Checker(file, parsed.yaml);
    const root = parsed.value;
    checker.knownKeys(root, [], ['defaults', 'agents']);
    const defaults = root['defaults'] === undefined || root['defaults'] === null ? {} : checker.fields(root['defaults'], ['defaults'], false);
    const rules: Rule[] = [];
    const list = root['agents'];
    if (list !== undefined && list !== null) {
      if (!Array.isArray(list)) checker.problem(['agents'], `must be a list of rules ({match: ID or glob, …}), not ${describe(list)}`);
      else
        list.forEach((item: unknown, i) => {
          const path = ['agents', i];
          const fields = checker.fields(item, path, true);
          const match = isRecord(item) ? item['match'] : undefined;
          if (match === undefined) return; // reported by fields()
          if (typeof match !== 'string') return checker.problem([...path, 'match'], `must be an agent id or a glob, not ${describe(match)}`);
          const matcher = agentMatcher(match);
          if (typeof matcher !== 'function') return checker.problem([...path, 'match'], matcher.problem);
          const at = locate(parsed.yaml, [...path, 'match']);
          rules.push({ pattern: match, matches: matcher, fields, where: `${file}:${at.line}:${at.column}`, index: i });
        });
    }
    if (checker.problems.length > 0) throw new BehaviourFileError(checker.sorted());
    return new FleetBehaviour(file, defaults, rules);
  }

  /**
   * The same behaviour with every duration multiplied by `factor` (a clock skew excepted: it
   * is a fact about a machine, not a pace). A demo's `--fast` uses it.
   */
  scaled(factor: number): FleetBehaviour {
    if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`time scale must be a positive number, not ${factor}`);
    return new FleetBehaviour(this.source, this.defaults, this.rules, this.timeScale * factor);
  }

  /** The behaviour of one agent: built-in defaults, then the file's defaults, then each matching rule in order. */
  for(agentId: string): AgentBehaviour {
    const merged: Fields = { ...DEFAULT_BEHAVIOUR, ...this.defaults };
    if (this.defaults.userRestartNever) delete merged.userRestartAfterMs;
    for (const rule of this.rules) {
      if (!rule.matches(agentId)) continue;
      Object.assign(merged, rule.fields);
      if (rule.fields.userRestartNever) delete merged.userRestartAfterMs;
      else if (rule.fields.userRestartAfterMs !== undefined) delete merged.userRestartNever;
    }
    delete merged.userRestartNever;
    return this.applyScale(merged as AgentBehaviour);
  }

  /** Rules that match none of `ids`: `file:line:column: agents[i].match: "x" matches no agent of the fleet`. */
  unmatched(ids: Iterable<string>): string[] {
    const all = [...ids];
    return this.rules.filter((r) => !all.some((id) => r.matches(id))).map((r) => `${r.where}: agents[${r.index}].match: ${JSON.stringify(r.pattern)} matches no agent of the fleet`);
  }

  private applyScale(b: AgentBehaviour): AgentBehaviour {
    const f = this.timeScale;
    if (f === 1) return b;
    const s = (ms: number): number => Math.round(ms * f);
    return {
      ...b,
      installMs: s(b.installMs),
      stepMs: s(b.stepMs),
      ...(b.offline !== undefined ? { offline: b.offline.map((p) => ({ afterMs: s(p.afterMs), ...(p.forMs !== undefined ? { forMs: s(p.forMs) } : {}) })) } : {}),
      ...(b.updateByHandAfterMs !== undefined ? { updateByHandAfterMs: s(b.updateByHandAfterMs) } : {}),
      ...(b.userRestartAfterMs !== undefined ? { userRestartAfterMs: s(b.userRestartAfterMs) } : {}),
    };
  }
}

/** Collects problems, each located at its field in the file. */
class Checker {
  readonly problems: { readonly line: number; readonly column: number; readonly text: string }[] = [];

  constructor(
    private readonly file: string,
    private readonly yaml: ParsedYaml,
  ) {}

  problem(field: FieldPath, message: string, atKey = false): void {
    const at = locate(this.yaml, field, atKey);
    this.problems.push({ ...at, text: `${this.file}:${at.line}:${at.column}: ${formatFieldPath(field)}: ${message}` });
  }

  /** In the order of the file. */
  sorted(): string[] {
    return [...this.problems].sort((a, b) => a.line - b.line || a.column - b.column).map((p) => p.text);
  }

  knownKeys(value: Record<string, unknown>, path: FieldPath, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const near = closest(key, known);
      this.problem([...path, key], `unknown field${near !== undefined ? ` (did you mean "${near}"?)` : ''}; allowed: ${known.join(', ')}`, true);
    }
  }

  /** The behaviour fields of `defaults` or of one rule (`withMatch`). */
  fields(value: unknown, path: FieldPath, withMatch: boolean): Fields {
    const out: Fields = {};
    if (!isRecord(value)) {
      this.problem(path, `must be a mapping of behaviour fields, not ${describe(value)}`);
      return out;
    }
    this.knownKeys(value, path, withMatch ? ['match', ...FIELD_NAMES] : FIELD_NAMES);
    if (withMatch && value['match'] === undefined) this.problem(path, 'match is missing: which agents the rule is for (an agent id or a glob)');
    for (const name of FIELD_NAMES) {
      if (!(name in value)) continue;
      this.field(name, value[name], [...path, name], out);
    }
    return out;
  }

  private field(name: FieldName, v: unknown, path: FieldPath, out: Fields): void {
    const duration = (allowNegative = false): number | undefined => {
      const d = parseDuration(v, { allowNegative });
      if (typeof d === 'number') return d;
      this.problem(path, d.problem);
      return undefined;
    };
    switch (name) {
      case 'installTime': {
        const d = duration();
        if (d !== undefined) out.installMs = d;
        return;
      }
      case 'stepTime': {
        const d = duration();
        if (d !== undefined) out.stepMs = d;
        return;
      }
      case 'clockSkew': {
        const d = duration(true);
        if (d !== undefined) out.clockSkewMs = d;
        return;
      }
      case 'updateByHandAfter': {
        const d = duration();
        if (d !== undefined) out.updateByHandAfterMs = d;
        return;
      }
      case 'userRestartAfter': {
        if (v === null || v === 'never') {
          out.userRestartNever = true;
          return;
        }
        const d = duration();
        if (d !== undefined) out.userRestartAfterMs = d;
        return;
      }
      case 'failureRate':
        if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return this.problem(path, `must be a number from 0 to 1 (the share of commands that fail), not ${describe(v)}`);
        out.failureRate = v;
        return;
      case 'seed':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.problem(path, `must be a whole number, not ${describe(v)}`);
        out.seed = v;
        return;
      case 'stuckInUpdateMode':
        if (typeof v !== 'boolean') return this.problem(path, `must be true or false, not ${describe(v)}`);
        out.stuckInUpdateMode = v;
        return;
      case 'lieAboutVersion': {
        if (typeof v === 'number') {
          const written = sourceTextAt(this.yaml, path) ?? String(v);
          return this.problem(path, `must be a version string: quote it ("${written}"), YAML reads ${written} as the number ${String(v)}`);
        }
        if (typeof v !== 'string') return this.problem(path, `must be a version string, not ${describe(v)}`);
        const parsed = tryParseVersion(v);
        if (!parsed.ok) return this.problem(path, `is not a version: ${parsed.reason}`);
        out.lieAboutVersion = v;
        return;
      }
      case 'offline': {
        if (!Array.isArray(v)) return this.problem(path, `must be a list of periods ({after: 10s, for: 30s}), not ${describe(v)}`);
        const periods: OfflinePeriod[] = [];
        v.forEach((p: unknown, i) => {
          const at = [...path, i];
          if (!isRecord(p)) return this.problem(at, `must be a period {after: 10s, for: 30s}, not ${describe(p)}`);
          this.knownKeys(p, at, ['after', 'for']);
          if (p['after'] === undefined) return this.problem(at, 'after is missing: when the agent goes offline, from the fleet\'s start (0s: at once)');
          const after = parseDuration(p['after']);
          if (typeof after !== 'number') return this.problem([...at, 'after'], after.problem);
          if (p['for'] === undefined || p['for'] === null) return void periods.push({ afterMs: after });
          const span = parseDuration(p['for']);
          if (typeof span !== 'number') return this.problem([...at, 'for'], span.problem);
          if (span === 0) return this.problem([...at, 'for'], 'must be longer than 0 (leave it out to stay offline)');
          periods.push({ afterMs: after, forMs: span });
        });
        const sorted = [...periods].sort((a, b) => a.afterMs - b.afterMs);
        for (let i = 1; i < sorted.length; i++) {
          const prev = sorted[i - 1]!;
          if (prev.forMs === undefined || prev.afterMs + prev.forMs > sorted[i]!.afterMs) {
            this.problem(path, 'periods overlap: each must start after the one before it ended');
            break;
          }
        }
        out.offline = sorted;
        return;
      }
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}

/** The known name nearest to a misspelt one (edit distance ≤ 3), for "did you mean". */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
