/**
 * Desired-state loader benchmark (issue "Foundation").
 *
 *   node --import tsx bench/desired-load.bench.ts [--files 10000] [--repeat 5] [--reloads 20]
 *        [--seed 42] [--budget 110] [--breakdown] [--json] [--keep] [--strict]
 *
 * Generates a valid Git repository of N desired-state files in a temporary folder, then
 * measures, first with loose objects (a fresh commit) and then after `git gc` (packed):
 *   - a truly cold load + validation of HEAD: new loader, tree cache and isomorphic-git
 *     object cache each time, no parse cache; repeated --repeat times;
 *   - a restart with a warm parse cache: the same, but the loader reads the parse cache a
 *     cold load wrote (controller/desired/parse-cache.ts); each must parse no file;
 *     repeated --repeat times (in this process: the JIT is warm, unlike a real restart);
 *   - a reload after one account file changed and was committed, with the SAME loader,
 *     tree cache and object cache (what the controller does), repeated --reloads times;
 *     each reload must re-parse exactly one file.
 * Each load's CPU time (all threads of the process, parse workers included) is reported too.
 * The first load of the process (schema compilation, cold JIT) is reported on its own.
 * Goals (issue 16 "Fleet scale", 2-core machine): cold load <= 3 s, restart with a warm
 * cache <= 2 s, one-file reload <= 10 ms.
 * The verdict uses the median. With --json the JSON result goes to stdout and the table to
 * stderr. --breakdown adds timing splits (list, read, parse, schema, policy per rule).
 * --budget (seconds, 0 = none) keeps the run short while the loader is slow: once a series
 * has spent its share it stops after a minimum of runs (3 loads of each kind, 5 reloads), and the
 * report says it was cut short. --keep leaves the repository in place; --strict exits 1
 * when a goal is missed. Exits 1 when the repository is not valid or a check fails.
 */
import { runIfMain } from './run-main.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../controller/desired/diagnostics.ts';
import { DesiredStateLoader, type DesiredState } from '../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../controller/desired/open-source.ts';
import { ParseCache } from '../controller/desired/parse-cache.ts';
import { DEFAULT_MAX_FILE_BYTES, parseDesiredFile } from '../controller/desired/parse-document.ts';
import { checkPolicy, POLICY_RULES } from '../controller/desired/policy/index.ts';
import { policyContext } from '../controller/desired/policy/context.ts';
import { unusableTargets } from '../controller/desired/policy/unusable.ts';
import { validateAgainstSchema } from '../controller/desired/schema-validator.ts';
import type { SourceEntry } from '../controller/desired/source.ts';
import { TreeListingCache } from '../controller/desired/tree-listing-cache.ts';
import { locateRepository, type RepositoryLocation } from '../controller/git/repository.ts';
import { isKind } from '../reconcilers/model/desired.ts';
import { generateGitRepo, git, type GeneratedAccount, type GeneratedRepo } from './generate-repo.ts';
import { mib, round, summarize, table, type Summary } from './stats.ts';

export const GOALS = { fullLoadMs: 3000, restartMs: 2000, reloadMs: 10 } as const;

class BenchFailure extends Error {}

interface Options {
  files: number;
  repeat: number;
  reloads: number;
  seed: number;
  breakdown: boolean;
  json: boolean;
  keep: boolean;
  strict: boolean;
  /** Seconds; each series stops early (after a minimum of runs) once its share is spent. 0: no limit. */
  budget: number;
}

/** Fewest runs a series makes whatever the time budget. */
const MIN_RUNS = { full: 3, restart: 3, reload: 5 } as const;
/** Share of the time budget by the end of each series, in order. */
const DEADLINES = {
  looseFull: 0.3, looseRestart: 0.38, looseReload: 0.45, packedFull: 0.8, packedRestart: 0.9, packedReload: 1,
} as const;

function parseOptions(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      files: { type: 'string', default: '10000' },
      repeat: { type: 'string', default: '5' },
      reloads: { type: 'string', default: '20' },
      seed: { type: 'string', default: '42' },
      breakdown: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      budget: { type: 'string', default: '110' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const positive = (flag: string, v: string | undefined, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new BenchFailure(`--${flag} must be an integer >= ${min}, not ${JSON.stringify(v)}`);
    return n;
  };
  return {
    files: positive('files', values.files, 50),
    repeat: positive('repeat', values.repeat),
    reloads: positive('reloads', values.reloads),
    seed: positive('seed', values.seed, 0),
    breakdown: values.breakdown ?? false,
    json: values.json ?? false,
    keep: values.keep ?? false,
    strict: values.strict ?? false,
    budget: positive('budget', values.budget, 0),
  };
}

// ------------------------------------------------------------------ measuring

interface LoadRun {
  readonly ms: number;
  /** CPU time of the whole process (every thread) during the load. */
  readonly cpuMs: number;
  readonly state: DesiredState;
  readonly loader: DesiredStateLoader;
  readonly trees: TreeListingCache;
  readonly objectCache: object;
}

/**
 * A load as the controller does it: resolve HEAD, open the source, load and validate. With
 * `cacheFile` and no `reuse`, a new loader reads that parse cache (a restart).
 */
async function timedLoad(
  location: RepositoryLocation,
  reuse?: Omit<LoadRun, 'ms' | 'cpuMs' | 'state'>,
  cacheFile?: string,
): Promise<LoadRun> {
  const parseCache = cacheFile ? { parseCache: { file: cacheFile, warn: cacheWarning } } : {};
  const loader = reuse?.loader ?? new DesiredStateLoader(parseCache);
  const trees = reuse?.trees ?? new TreeListingCache();
  const objectCache = reuse?.objectCache ?? {};
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const source = await openDesiredSource(location, { trees, objectCache });
  const state = await loader.load(source);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, state, loader, trees, objectCache };
}

function cacheWarning(message: string, details: Record<string, unknown>): void {
  throw new BenchFailure(`parse cache: ${message} (${JSON.stringify(details)})`);
}

function assertValid(state: DesiredState, what: string, expectedFiles: number): void {
  if (!state.valid) {
    const errors = state.diagnostics.filter((d) => d.severity === 'error');
    const first = state.diagnostics.slice(0, 15).map((d) => `  ${formatDiagnostic(d)}`).join('\n');
    throw new BenchFailure(
      `${what}: the generated repository is INVALID (${errors.length} error(s), ${state.diagnostics.length} diagnostic(s)); ` +
        `a benchmark on an invalid repository measures the wrong thing. First diagnostics:\n${first}`,
    );
  }
  if (state.stats.files !== expectedFiles) {
    throw new BenchFailure(`${what}: loaded ${state.stats.files} files, expected ${expectedFiles}`);
  }
  if (state.objects.length !== expectedFiles) {
    throw new BenchFailure(`${what}: ${state.objects.length} objects for ${expectedFiles} files`);
  }
}

interface Memory {
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly peakRssMiB: number;
  /** heapUsed after a forced GC with the state still referenced (only with --expose-gc). */
  readonly retainedHeapMiB?: number;
}

function memory(keepAlive?: unknown): Memory {
  const m = process.memoryUsage();
  const peakRssMiB = round(process.resourceUsage().maxRSS / 1024, 1); // maxRSS is in KiB
  const out: Memory = { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), peakRssMiB };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc && keepAlive !== undefined) {
    gc();
    return { ...out, retainedHeapMiB: mib(process.memoryUsage().heapUsed) };
  }
  return out;
}

/** Changes one account document in a valid way: alternately its default tag, or one more device. */
function modifyAccount(dir: string, account: GeneratedAccount, step: number): string {
  const file = join(dir, account.path);
  const text = readFileSync(file, 'utf8');
  let next: string;
  if (step % 2 === 0) {
    const m = /^ {2}defaultTag: "([^"]*)"$/m.exec(text);
    if (!m) throw new BenchFailure(`${account.path}: no defaultTag line`);
    const tag = account.validTags.find((t) => t !== m[1])!;
    next = text.replace(m[0], `  defaultTag: "${tag}"`);
  } else {
    next = text.replace(/^ {2}devices:\n/m, `  devices:\n    - { name: ${account.name}-new-${step}, repositoryServer: cloud }\n`);
  }
  if (next === text) throw new BenchFailure(`${account.path}: modification ${step} changed nothing`);
  writeFileSync(file, next);
  return account.path;
}

interface Phase {
  readonly storage: 'loose' | 'packed';
  readonly full: Summary;
  readonly fullCpu: Summary;
  readonly fullFilesPerSec: number;
  /** A new loader with a warm parse cache (a controller restart). */
  readonly restart: Summary;
  readonly restartCpu: Summary;
  readonly cacheMiB: number;
  readonly reload: Summary;
  readonly reloadCpu: Summary;
  /** Series cut short by the time budget (fewer runs than asked). */
  readonly truncated: readonly string[];
  readonly git: { readonly looseObjects: number; readonly packs: number; readonly sizeMiB: number };
  /** Measured after the series, before any breakdown. */
  readonly memory: Memory;
  readonly breakdown?: Breakdown;
}

function objectStats(dir: string): Phase['git'] {
  const out = Object.fromEntries(
    git(dir, 'count-objects', '-v')
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
  return {
    looseObjects: Number(out['count']),
    packs: Number(out['packs']),
    sizeMiB: round((Number(out['size']) + Number(out['size-pack'])) / 1024, 1),
  };
}

/** When a series must stop: after `max` runs, or after `min` runs once `deadline` (performance.now() ms) has passed. */
interface Limit {
  readonly min: number;
  readonly max: number;
  readonly deadline: number;
}

const more = (done: number, limit: Limit) => done < limit.max && (done < limit.min || performance.now() < limit.deadline);

/** The same decision: what a restarted controller acts on must be what a running one does. */
function sameDecision(a: DesiredState, b: DesiredState): boolean {
  return a.valid === b.valid && a.objects.length === b.objects.length && a.diagnostics.length === b.diagnostics.length
    && JSON.stringify(a.objects) === JSON.stringify(b.objects);
}

async function runPhase(
  storage: Phase['storage'],
  cacheDir: string,
  location: RepositoryLocation,
  repo: GeneratedRepo,
  opts: Options,
  limits: { full: Limit; restart: Limit; reload: Limit },
  reloadCursor: { next: number },
  log: (s: string) => void,
): Promise<Phase> {
  const gitStats = objectStats(repo.dir);
  log(`[${storage}] ${gitStats.looseObjects} loose objects, ${gitStats.packs} pack(s), ${gitStats.sizeMiB} MiB`);
  const truncated: string[] = [];

  const fullMs: number[] = [];
  const fullCpuMs: number[] = [];
  let last: LoadRun | undefined;
  while (more(fullMs.length, limits.full)) {
    last = undefined; // let the previous state go before measuring the next load
    last = await timedLoad(location);
    const n = fullMs.length + 1;
    assertValid(last.state, `${storage} full load #${n}`, repo.files);
    if (last.state.stats.parsed !== repo.files) throw new BenchFailure(`${storage} full load: parsed ${last.state.stats.parsed} of ${repo.files} files`);
    fullMs.push(last.ms);
    fullCpuMs.push(last.cpuMs);
    log(`[${storage}] cold load #${n}: ${round(last.ms)} ms, ${round(last.cpuMs)} ms CPU`);
  }
  if (fullMs.length < limits.full.max) {
    truncated.push(`cold load: ${fullMs.length} of ${limits.full.max} runs (time budget)`);
  }

  // Restarts: a cold load with a parse cache writes it; then new loaders read it.
  const cacheFile = join(cacheDir, `${storage}-desired-parse-cache`);
  const writer = await timedLoad(location, undefined, cacheFile);
  await writer.loader.flushCache();
  const cacheMiB = mib(statSync(cacheFile).size);
  const restartMs: number[] = [];
  const restartCpuMs: number[] = [];
  while (more(restartMs.length, limits.restart)) {
    last = undefined;
    last = await timedLoad(location, undefined, cacheFile);
    const n = restartMs.length + 1;
    assertValid(last.state, `${storage} restart #${n}`, repo.files);
    if (last.state.stats.parsed !== 0 || last.state.stats.fromCache !== repo.files) {
      const { parsed, fromCache } = last.state.stats;
      throw new BenchFailure(`${storage} restart: ${parsed} parsed, ${fromCache} from the cache, of ${repo.files}`);
    }
    if (!sameDecision(last.state, writer.state)) {
      throw new BenchFailure(`${storage} restart #${n}: not the desired state of the cold load`);
    }
    restartMs.push(last.ms);
    restartCpuMs.push(last.cpuMs);
    log(`[${storage}] restart, warm cache (${cacheMiB} MiB) #${n}: ${round(last.ms)} ms, ${round(last.cpuMs)} ms CPU`);
  }
  if (restartMs.length < limits.restart.max) {
    truncated.push(`restart: ${restartMs.length} of ${limits.restart.max} runs (time budget)`);
  }

  // Reloads: same loader, tree cache and object cache as the last full load.
  const reloadMs: number[] = [];
  const reloadCpuMs: number[] = [];
  let reuse = last!;
  while (more(reloadMs.length, limits.reload)) {
    // Spread the changed files over the whole repository.
    const step = reloadCursor.next++;
    const account = repo.accounts[(step * 7919) % repo.accounts.length]!;
    const path = modifyAccount(repo.dir, account, step);
    git(repo.dir, 'add', '--', path);
    git(repo.dir, 'commit', '-q', '-m', `bench: change ${account.name}`);
    const head = git(repo.dir, 'rev-parse', 'HEAD');
    const run = await timedLoad(location, reuse);
    const n = reloadMs.length + 1;
    assertValid(run.state, `${storage} reload #${n}`, repo.files);
    if (run.state.revision !== head) throw new BenchFailure(`${storage} reload #${n}: loaded ${run.state.revision}, HEAD is ${head}`);
    if (run.state.stats.parsed !== 1) {
      throw new BenchFailure(`${storage} reload #${n} (${path}): re-parsed ${run.state.stats.parsed} files, expected exactly 1`);
    }
    reloadMs.push(run.ms);
    reloadCpuMs.push(run.cpuMs);
    reuse = run;
  }
  if (reloadMs.length < limits.reload.max) truncated.push(`reload: ${reloadMs.length} of ${limits.reload.max} runs (time budget)`);
  const reload = summarize(reloadMs);
  log(`[${storage}] ${reloadMs.length} reloads: median ${round(reload.median)} ms, p95 ${round(reload.p95)} ms, ` +
    `median CPU ${round(summarize(reloadCpuMs).median)} ms`);

  const full = summarize(fullMs);
  const mem = memory(reuse.state);
  const breakdown = opts.breakdown ? await measureBreakdown(location, reuse.state, cacheFile, log) : undefined;
  return {
    storage,
    full,
    fullCpu: summarize(fullCpuMs),
    fullFilesPerSec: Math.round(repo.files / (full.median / 1000)),
    restart: summarize(restartMs),
    restartCpu: summarize(restartCpuMs),
    cacheMiB,
    reload,
    reloadCpu: summarize(reloadCpuMs),
    truncated,
    git: gitStats,
    memory: mem,
    ...(breakdown ? { breakdown } : {}),
  };
}

// ------------------------------------------------------------------ breakdown

interface Breakdown {
  /** Resolve HEAD + walk every tree (fresh caches). */
  readonly listMs: number;
  /** Read every blob, 16 at a time as the loader does. */
  readonly readMs: number;
  /** UTF-8 decode + YAML parse + toJS. */
  readonly parseMs: number;
  /** ajv validation (with defaults) of every document. */
  readonly schemaMs: number;
  /** checkPolicy over every object. */
  readonly policyMs: number;
  readonly policyRulesMs: Readonly<Record<string, number>>;
  /** unusableTargets (runs policyContext and tag resolution again). */
  readonly unusableMs: number;
  /** Opening the parse cache: reading, checking and parsing the file. */
  readonly cacheReadMs: number;
}

/** Each stage of a load, on its own, in the loader's order, with fresh caches. */
async function measureBreakdown(
  location: RepositoryLocation,
  state: DesiredState,
  cacheFile: string,
  log: (s: string) => void,
): Promise<Breakdown> {
  const objectCache = {};
  let t = performance.now();
  const source = await openDesiredSource(location, { trees: new TreeListingCache(), objectCache });
  const entries = (await source.list()).filter((e) => e.type === 'file');
  const listMs = performance.now() - t;

  t = performance.now();
  const blobs: Uint8Array[] = new Array(entries.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < entries.length) {
        const i = next++;
        blobs[i] = await source.read(entries[i]!);
      }
    }),
  );
  const readMs = performance.now() - t;

  t = performance.now();
  const parsed = entries.map((e, i) => parseDesiredFile(e.path, blobs[i]!));
  const parseMs = performance.now() - t;

  t = performance.now();
  for (let i = 0; i < parsed.length; i++) {
    const p = parsed[i]!;
    if (!p.ok) continue;
    const kind = p.value['kind'];
    if (isKind(kind)) validateAgainstSchema(kind, p.value, p.yaml, { path: entries[i]!.path });
  }
  const schemaMs = performance.now() - t;

  t = performance.now();
  checkPolicy(policyContext(state.objects));
  const policyMs = performance.now() - t;
  const policyRulesMs: Record<string, number> = {};
  t = performance.now();
  const ctx = policyContext(state.objects);
  policyRulesMs['policyContext'] = round(performance.now() - t);
  for (const rule of POLICY_RULES) {
    t = performance.now();
    rule(ctx);
    policyRulesMs[rule.name] = round(performance.now() - t);
  }

  t = performance.now();
  unusableTargets(ctx, state.diagnostics);
  const unusableMs = performance.now() - t;

  t = performance.now();
  await ParseCache.open({ file: cacheFile }, DEFAULT_MAX_FILE_BYTES);
  const cacheReadMs = performance.now() - t;

  const out = {
    cacheReadMs: round(cacheReadMs),
    listMs: round(listMs),
    readMs: round(readMs),
    parseMs: round(parseMs),
    schemaMs: round(schemaMs),
    policyMs: round(policyMs),
    policyRulesMs,
    unusableMs: round(unusableMs),
  };
  log(`breakdown: ${JSON.stringify(out)}`);
  return out;
}

// ------------------------------------------------------------------ report

function machineInfo() {
  const cpus = os.cpus();
  let gitVersion = 'unknown';
  try {
    gitVersion = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim().replace(/^git version /, '');
  } catch {
    /* reported as unknown */
  }
  return {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemMiB: mib(os.totalmem()),
    node: process.version,
    git: gitVersion,
  };
}

function verdict(value: number, goal: number): string {
  return value <= goal ? 'ok' : 'MISSED';
}

function renderTable(result: BenchResult): string {
  const m = result.machine;
  const r = result.repo;
  const out: string[] = [];
  out.push('versiond desired-state loader benchmark');
  out.push(`machine: ${m.platform}, ${m.cpus} cpus (${m.cpuModel}), ${m.totalMemMiB} MiB RAM, node ${m.node}, git ${m.git}`);
  out.push(
    `repo:    ${r.files} files (${Object.entries(r.counts).map(([k, n]) => `${k} ${n}`).join(', ')}), ${r.sizeMiB} MiB of YAML; ` +
      `written in ${r.writeMs} ms, git add+commit ${r.commitMs} ms, git gc ${r.gcMs} ms`,
  );
  out.push('');
  const f = result.firstLoadMs;
  const rows: (string | number)[][] = [
    [
      'first cold load in the process (loose)', 1, f, f, f, '-', Math.round(r.files / (f / 1000)),
      `<= ${GOALS.fullLoadMs}`, verdict(f, GOALS.fullLoadMs),
    ],
  ];
  for (const p of result.phases) {
    const row = (what: string, s: Summary, cpu: Summary, perSec: number | string, goal: number) =>
      rows.push([
        what, s.runs, round(s.min), round(s.median), round(s.p95), round(cpu.median), perSec, `<= ${goal}`,
        verdict(s.median, goal),
      ]);
    row(`cold load + validation, no cache (${p.storage})`, p.full, p.fullCpu, p.fullFilesPerSec, GOALS.fullLoadMs);
    row(`restart, warm parse cache (${p.storage})`, p.restart, p.restartCpu, '-', GOALS.restartMs);
    row(`reload, 1 file changed (${p.storage})`, p.reload, p.reloadCpu, '-', GOALS.reloadMs);
  }
  const header = ['scenario', 'runs', 'min ms', 'median ms', 'p95 ms', 'CPU ms', 'files/s', 'goal ms', 'median'];
  out.push(table(header, rows));
  out.push('');
  const mem = result.memory;
  const fmtMem = (m: Memory) =>
    `rss ${m.rssMiB} MiB, heapUsed ${m.heapUsedMiB} MiB` +
    (m.retainedHeapMiB !== undefined ? ` (${m.retainedHeapMiB} MiB after a forced GC, state still referenced)` : '') +
    `, peak rss so far ${m.peakRssMiB} MiB`;
  out.push(`memory after the first full load: ${fmtMem(mem.afterFullLoad)}`);
  for (const p of result.phases) out.push(`memory after the ${p.storage} series: ${fmtMem(p.memory)}`);
  for (const p of result.phases) {
    out.push(
      `git (${p.storage}): ${p.git.looseObjects} loose objects, ${p.git.packs} pack(s), ${p.git.sizeMiB} MiB; ` +
        `parse cache ${p.cacheMiB} MiB` + (p.truncated.length > 0 ? `; cut short: ${p.truncated.join('; ')}` : ''),
    );
  }
  for (const p of result.phases) {
    if (!p.breakdown) continue;
    const b = p.breakdown;
    out.push(
      `breakdown (${p.storage}, each stage alone): parse cache read ${b.cacheReadMs} ms, list ${b.listMs} ms, ` +
        `read ${b.readMs} ms, parse ${b.parseMs} ms, schema ${b.schemaMs} ms, ` +
        `policy ${b.policyMs} ms [${Object.entries(b.policyRulesMs).map(([k, v]) => `${k} ${v}`).join(', ')}], unusable ${b.unusableMs} ms`,
    );
  }
  out.push(
    'first cold load = process start-up (JSON schemas compiled, JIT cold); every cold load uses a new loader,',
    'tree cache and object cache; a restart is the same with a parse cache a cold load wrote (no file parsed,',
    'the same objects: checked; JIT warm, in this process); reloads reuse the loader and both caches after one',
    'account file changed and was committed (exactly 1 file re-parsed, checked); CPU ms = median CPU time',
    'of all threads of the process (parse workers included): compare it with the wall time on a busy machine.',
  );
  out.push(`total benchmark time: ${round(result.totalSeconds, 1)} s${result.keptRepo ? `; repository kept at ${result.keptRepo}` : ''}`);
  return out.join('\n');
}

export interface BenchResult {
  readonly benchmark: 'desired-load';
  readonly machine: ReturnType<typeof machineInfo>;
  readonly options: Options;
  readonly goals: typeof GOALS;
  readonly repo: {
    readonly files: number;
    readonly counts: Readonly<Record<string, number>>;
    readonly sizeMiB: number;
    readonly writeMs: number;
    readonly commitMs: number;
    readonly gcMs: number;
  };
  readonly firstLoadMs: number;
  readonly phases: readonly Phase[];
  readonly memory: { readonly afterFullLoad: Memory };
  readonly goalsMet: { readonly fullLoad: boolean; readonly restart: boolean; readonly reload: boolean };
  readonly totalSeconds: number;
  readonly keptRepo?: string;
}

// ------------------------------------------------------------------ main

export async function main(argv: readonly string[]): Promise<number> {
  const started = performance.now();
  let opts: Options | 'help';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`desired-load.bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(
      'usage: node --import tsx bench/desired-load.bench.ts [--files N] [--repeat N] [--reloads N] [--seed N] [--budget SECONDS] [--breakdown] [--json] [--keep] [--strict]\n',
    );
    return 0;
  }
  const options = opts;
  const log = (s: string) => process.stderr.write(`  ${s}\n`);
  const dir = mkdtempSync(join(os.tmpdir(), 'versiond-bench-'));
  // The parse caches, as in a controller's state directory (outside the repository).
  const cacheDir = mkdtempSync(join(os.tmpdir(), 'versiond-bench-state-'));
  const cleanup = () => {
    rmSync(cacheDir, { recursive: true, force: true });
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`generating ${options.files} documents in ${dir}`);
    const repo = generateGitRepo(dir, { files: options.files, seed: options.seed });
    log(`written in ${round(repo.writeMs)} ms, git add+commit in ${round(repo.commitMs)} ms`);
    const location = locateRepository(dir);

    // The very first load of the process also compiles the JSON schemas and warms the JIT:
    // reported on its own, outside the series.
    const { firstMs, afterFullLoad } = await (async () => {
      const first = await timedLoad(location); // not kept: later memory figures must not count it
      assertValid(first.state, 'first load', repo.files);
      return { firstMs: first.ms, afterFullLoad: memory(first.state) };
    })();
    log(`first load in the process: ${round(firstMs)} ms (rss ${afterFullLoad.rssMiB} MiB)`);

    const cursor = { next: 0 };
    const phases: Phase[] = [];
    const deadline = (share: number) => (options.budget > 0 ? started + share * options.budget * 1000 : Infinity);
    const limits = (full: number, restart: number, reload: number) => ({
      full: { min: Math.min(MIN_RUNS.full, options.repeat), max: options.repeat, deadline: deadline(full) },
      restart: { min: Math.min(MIN_RUNS.restart, options.repeat), max: options.repeat, deadline: deadline(restart) },
      reload: { min: Math.min(MIN_RUNS.reload, options.reloads), max: options.reloads, deadline: deadline(reload) },
    });
    const looseLimits = limits(DEADLINES.looseFull, DEADLINES.looseRestart, DEADLINES.looseReload);
    phases.push(await runPhase('loose', cacheDir, location, repo, options, looseLimits, cursor, log));

    let t = performance.now();
    git(dir, 'gc', '-q');
    const gcMs = performance.now() - t;
    log(`git gc in ${round(gcMs)} ms`);
    const packedLimits = limits(DEADLINES.packedFull, DEADLINES.packedRestart, DEADLINES.packedReload);
    phases.push(await runPhase('packed', cacheDir, location, repo, options, packedLimits, cursor, log));

    const goalsMet = {
      fullLoad: firstMs <= GOALS.fullLoadMs && phases.every((p) => p.full.median <= GOALS.fullLoadMs),
      restart: phases.every((p) => p.restart.median <= GOALS.restartMs),
      reload: phases.every((p) => p.reload.median <= GOALS.reloadMs),
    };
    const result: BenchResult = {
      benchmark: 'desired-load',
      machine: machineInfo(),
      options,
      goals: GOALS,
      repo: {
        files: repo.files,
        counts: repo.counts,
        sizeMiB: mib(repo.bytes),
        writeMs: round(repo.writeMs),
        commitMs: round(repo.commitMs),
        gcMs: round(gcMs),
      },
      firstLoadMs: round(firstMs),
      phases,
      memory: { afterFullLoad },
      goalsMet,
      totalSeconds: round((performance.now() - started) / 1000, 1),
      ...(options.keep ? { keptRepo: dir } : {}),
    };
    const text = renderTable(result);
    if (options.json) {
      process.stderr.write(`${text}\n`);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
    return options.strict && !(goalsMet.fullLoad && goalsMet.restart && goalsMet.reload) ? 1 : 0;
  } catch (err) {
    if (err instanceof BenchFailure) {
      process.stderr.write(`desired-load.bench: FAILED: ${err.message}\n`);
      if (!options.keep) process.stderr.write('  (re-run with --keep to inspect the repository)\n');
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

runIfMain(import.meta.url, main);
