/**
 * DistributionServer reconciler — seed 002, Ivanti Security Controls: "Synchronisation des
 * serveurs de distribution". Content (engines/definitions, patches, or all) is copied from a
 * console to a distribution server on a schedule or on demand ("Exécuter maintenant").
 * A pure function of (desired, observed, previous status, now).
 *
 * Actors. The console is an agent whose id is the console name (`--console-id`, e.g.
 * `console-hq`): it reports what it downloaded (`facts.content`, sha256 per file) and whether
 * it is downloading (`facts.downloading`). It does the copy, with the credential it uses for
 * the server (seed 002), so `sync` commands go to the CONSOLE's agent, by mailbox, with the
 * server as `member`. The server's own agent (`spec.agent ?? metadata.name`) reports what it
 * holds (`facts.content`).
 *
 * Steps, in order (named functions below; `DISTRIBUTION_SERVER_STEPS` lists them):
 *
 *  1. reconcileCredential  `observed.credentials[spec.credentialRef]` must exist and be usable.
 *                          Else: Blocked, Stalled, `CredentialUnavailable` ("credential "ref" …: reason").
 *                          Halts: no sync command; due syncs are plan steps blocked by it.
 *                          Requeue 5 min (the credential store is outside Git: a fix raises no event).
 *  2. reconcileOwnership   Only syncs whose `console` is this controller's `consoleId` are run here;
 *                          the others are reported ("owned by console X"), never run (seed 002: other
 *                          consoles may only delete them). No consoleId: nothing is run, Waiting,
 *                          `NoConsoleIdentity`, no requeue (a person restarts the controller with
 *                          `--console-id`; an identity-less instance is a reporter, not a failure).
 *                          This console uses the server as its own download source (`downloadSourceFor`,
 *                          normally refused by `validate`): Blocked, `DownloadSourceDestination`; halts.
 *  3. reconcileSchedules   Per sync: previous and next scheduled run (`schedule.ts`, local to its time
 *                          zone, DST-safe). An owned sync is DUE when its last scheduled run is later than
 *                          `handledThrough` (memory, see below) or its `runNow` differs from `lastRunNow`.
 *                          Invalid schedule: that sync is Blocked, `InvalidSchedule` (its runNow too).
 *  4. reconcileContent     The file status report: per content set some sync copies, the files the
 *                          source console holds that the server lacks or holds with another sha256.
 *                          Source console of a set: this console when it owns a sync of it, else the
 *                          owner of the first sync of it. Unknown while either side never reported.
 *  5. reconcileSyncs       Per due owned sync, in declaration order, the first that applies:
 *                          its command (by id) `succeeded` → the run is recorded;
 *                          `failed` (or recorded failed) → Failed, Stalled, `SyncFailed` with the agent's
 *                          message, never re-sent for that run (the next scheduled run or a new runNow
 *                          is a new run with a new id); `running` → Progressing, `Syncing`;
 *                          a halt → blocked plan step; console offline or no content reported → Waiting,
 *                          `ConsoleNotReporting`; console `downloading` → Waiting, `WaitingForDownload`
 *                          (seed 002: queued, run once the download is done); server offline or no
 *                          content reported → Waiting, `ServerNotReporting`; nothing missing or outdated →
 *                          the run is recorded with nothing to copy, no command; else a `sync` command
 *                          with exactly the missing or outdated files → Progressing, `Syncing`.
 *  6. reconcileReport      Status: phase, conditions, summary (`2 syncs, 14 files missing or outdated`),
 *                          one member (the server, role `distribution-server`), details (the report and
 *                          the per-sync schedule and memory), requeue.
 *
 * Phase, first that applies: Blocked (`CredentialUnavailable`, `DownloadSourceDestination`,
 * `InvalidSchedule`) > Failed (`SyncFailed`) > Progressing (`Syncing`) > Waiting (`WaitingForDownload`,
 * `ConsoleNotReporting`, `ServerNotReporting`, `NoConsoleIdentity`) > Converged (`Scheduled`).
 * Converged means: no owned sync is due. Content missing between two scheduled runs is NOT a
 * failure — the schedule is the contract — so the phase is Converged and the report lists what
 * the next run will copy (use `runNow` to copy it sooner).
 * Requeue, soonest wins: 30 s while a sync runs, 60 s while a due sync waits, 5 min while the
 * credential is unusable, and always the next scheduled run of an owned sync.
 *
 * Memory (level-triggered: previous status is the only state; `details.syncs[]`, owned syncs):
 *  - `handledThrough`: scheduled runs up to this instant are done, or predate tracking. A sync
 *    seen for the first time (or whose schedule changed) starts at its last scheduled run:
 *    missed history is not replayed (Flux-like); its first run is its next scheduled one.
 *  - `lastRunNow`: the `runNow` value last run. A runNow seen for the first time IS run: it is an
 *    explicit request, and a sync copies only what is missing, so running it is harmless.
 *  - `failed`: the run that failed and the agent's message, so it is not re-sent even once the
 *    agent stops reporting that result.
 * A run is keyed by what made it due (`scheduled <ISO>`, `runNow <value>`, or both: one run
 * covers both); the command id is `commandId(target, server, 'sync', '<sync>@<key>')`, so a
 * re-send within a run is harmless and each run has its own id. If a newer scheduled run
 * comes while one is still queued, the queued one is superseded (one run copies everything);
 * while one still runs (`details.syncs[].run`, reported `running`), the newer one waits for it.
 */
import { commandId } from './command-id.ts';
import { conditionsFor } from './conditions.ts';
import type { Blocker, Command, DesiredInput, MemberState, Phase, PlanStep, ReconcileResult, Reconciler, TargetStatus } from './contract.ts';
import { CONTENT_SETS, gapsOf, inventoryOf, setsOf, type FileGap, type InventorySet } from './distribution-server/content.ts';
import { describeSchedule, nextRun, previousRun, scheduleProblem } from './distribution-server/schedule.ts';
import type { DistributionServerSpec, ScheduledSync } from './model/desired.ts';
import { targetId, type TargetId } from './model/identity.ts';
import { resultOf, type AgentObservation, type ContentInventory, type Observed } from './observed.ts';

/** Requeue delays (ms). */
export const DISTRIBUTION_SERVER_REQUEUE = {
  syncing: 30_000,
  waiting: 60_000,
  credential: 300_000,
} as const;

export const DISTRIBUTION_SERVER_REASONS = [
  'CredentialUnavailable',
  'DownloadSourceDestination',
  'InvalidSchedule',
  'NoConsoleIdentity',
  'SyncFailed',
  'Syncing',
  'CommandRunning',
  'WaitingForDownload',
  'ConsoleNotReporting',
  'ServerNotReporting',
  'Scheduled',
] as const;
export type DistributionServerReason = (typeof DISTRIBUTION_SERVER_REASONS)[number];

/** The role of the one member. */
export const DISTRIBUTION_SERVER_ROLE = 'distribution-server';

// ------------------------------------------------------------------ details (status report and memory)

/** Per-sync state in the report. */
export type SyncState = 'Scheduled' | 'Syncing' | 'Waiting' | 'Failed' | 'NotOwned' | 'InvalidSchedule';

/** One sync's line in `details.syncs`: the report for people, and (owned syncs) the reconciler's memory. */
export interface SyncDetail {
  readonly name: string;
  readonly content: ScheduledSync['content'];
  readonly owner: string;
  /** Owned by this controller's console: run here. */
  readonly owned: boolean;
  readonly schedule: string;
  readonly state: SyncState;
  readonly message?: string;
  /** ISO: the next scheduled run. */
  readonly nextRun?: string;
  /** ISO: when the last run finished (agent's result time, or the pass that found nothing to copy). */
  readonly lastRun?: string;
  /** Memory: scheduled runs up to this ISO instant are done or predate tracking. */
  readonly handledThrough?: string;
  /** Memory: the `runNow` value last run. */
  readonly lastRunNow?: string;
  /** The run under way or waiting: what made it due, its command id, the files to copy. */
  readonly run?: { readonly key: string; readonly command: string; readonly files?: number };
  /** Memory: a run that failed (never re-sent), with the agent's message. */
  readonly failed?: { readonly key: string; readonly message: string };
}

/** Per content set: the seed's file status report. */
export type ContentReport =
  | { readonly console: string; readonly missing: number; readonly outdated: number; readonly files: readonly FileGap[] }
  | { readonly console: string; readonly unknown: string };

export interface DistributionServerDetails {
  /** The console this report was made by (`--console-id`), null without one. */
  readonly console: string | null;
  readonly content: Readonly<Partial<Record<InventorySet, ContentReport>>>;
  readonly syncs: readonly SyncDetail[];
}

interface Memory {
  readonly schedule: string | undefined;
  readonly handledThrough: number | undefined;
  readonly lastRun: string | undefined;
  readonly lastRunNow: string | undefined;
  readonly failed: { readonly key: string; readonly message: string } | undefined;
  /** The run the previous pass sent or waited for. */
  readonly run: { readonly key: string; readonly command: string; readonly files?: number } | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The memory of owned syncs in previous details, read defensively (a status file is plain YAML). */
function memoryOf(previous: TargetStatus | undefined, consoleId: string | undefined): Map<string, Memory> {
  const out = new Map<string, Memory>();
  const syncs = previous?.details?.['syncs'];
  if (consoleId === undefined || !Array.isArray(syncs)) return out;
  for (const e of syncs as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const r = e as Record<string, unknown>;
    const name = str(r['name']);
    if (name === undefined || r['owned'] !== true || r['owner'] !== consoleId) continue;
    const handled = str(r['handledThrough']);
    const handledMs = handled === undefined ? NaN : Date.parse(handled);
    const f = r['failed'];
    const fr = typeof f === 'object' && f !== null ? (f as Record<string, unknown>) : undefined;
    const fKey = str(fr?.['key']);
    const ru = r['run'];
    const rr = typeof ru === 'object' && ru !== null ? (ru as Record<string, unknown>) : undefined;
    const rKey = str(rr?.['key']);
    const rCommand = str(rr?.['command']);
    const rFiles = rr?.['files'];
    out.set(name, {
      schedule: str(r['schedule']),
      handledThrough: Number.isNaN(handledMs) ? undefined : handledMs,
      lastRun: str(r['lastRun']),
      lastRunNow: str(r['lastRunNow']),
      failed: fKey === undefined ? undefined : { key: fKey, message: str(fr?.['message']) ?? '' },
      run: rKey === undefined || rCommand === undefined ? undefined : { key: rKey, command: rCommand, ...(typeof rFiles === 'number' ? { files: rFiles } : {}) },
    });
  }
  return out;
}

// ------------------------------------------------------------------ pass state

interface Outcome {
  readonly phase: Phase;
  readonly reason: DistributionServerReason;
  readonly message: string;
  readonly requeueAfter?: number;
}

/** What one pass knows and decides about one sync. */
interface Sync {
  readonly sync: ScheduledSync;
  readonly owned: boolean;
  readonly describe: string;
  readonly memory: Memory | undefined;
  readonly problem: string | undefined;
  readonly nextRun: number | undefined;
  /** The scheduled run that makes it due (newer than handledThrough). */
  readonly dueScheduled: number | undefined;
  /** The runNow value that makes it due. */
  readonly dueRunNow: string | undefined;
  handledThrough: number | undefined;
  lastRun: string | undefined;
  lastRunNow: string | undefined;
  failed: { key: string; message: string } | undefined;
  state: SyncState;
  message: string | undefined;
  run: { key: string; command: string; files?: number } | undefined;
}

interface Pass {
  readonly target: TargetId;
  readonly name: string;
  readonly spec: DistributionServerSpec;
  readonly serverAgent: string;
  readonly consoleId: string | undefined;
  readonly observed: Observed;
  readonly previous: TargetStatus | undefined;
  readonly now: number;
  readonly memory: Map<string, Memory>;
  syncs: Sync[];
  /** A server-wide obstacle: owned due syncs become plan steps blocked by it, nothing is sent. */
  halt: Blocker | undefined;
  readonly content: Partial<Record<InventorySet, ContentReport>>;
  readonly plan: PlanStep[];
  readonly commands: Command[];
  readonly outcomes: Outcome[];
}

const iso = (t: number): string => new Date(t).toISOString();
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const isDue = (s: Sync): boolean => s.dueScheduled !== undefined || s.dueRunNow !== undefined;

/** What made a run due: `scheduled <ISO>`, `runNow <value>`, or both. */
function runKey(s: Sync): string {
  const parts: string[] = [];
  if (s.dueScheduled !== undefined) parts.push(`scheduled ${iso(s.dueScheduled)}`);
  if (s.dueRunNow !== undefined) parts.push(`runNow ${s.dueRunNow}`);
  return parts.join(' + ');
}

// ------------------------------------------------------------------ steps

/** 1. The credential the console uses for this server must resolve in the controller's store. */
function reconcileCredential(pass: Pass): void {
  const ref = pass.spec.credentialRef;
  const check = pass.observed.credentials?.get(ref);
  if (check?.usable === true) return;
  const why = check === undefined ? 'not found in the controller credential store' : (check.reason ?? 'not usable');
  const message = `credential ${JSON.stringify(ref)} for ${pass.name} cannot be used: ${why}`;
  pass.outcomes.push({ phase: 'Blocked', reason: 'CredentialUnavailable', message, requeueAfter: DISTRIBUTION_SERVER_REQUEUE.credential });
  pass.halt ??= { category: 'stalled', reason: 'CredentialUnavailable', message };
}

/** 2. Which syncs this controller runs: those its console owns. */
function reconcileOwnership(pass: Pass): void {
  const { consoleId, spec } = pass;
  pass.syncs = spec.syncs.map((sync) => {
    const owned = consoleId !== undefined && sync.console === consoleId;
    return {
      sync,
      owned,
      describe: describeSchedule(sync.schedule),
      memory: owned ? pass.memory.get(sync.name) : undefined,
      problem: undefined,
      nextRun: undefined,
      dueScheduled: undefined,
      dueRunNow: undefined,
      handledThrough: undefined,
      lastRun: undefined,
      lastRunNow: undefined,
      failed: undefined,
      state: owned ? 'Scheduled' : 'NotOwned',
      message: owned
        ? undefined
        : consoleId === undefined
          ? `owned by console ${sync.console}; this controller has no console identity (--console-id) and runs no sync`
          : `owned by console ${sync.console}: reported here, run only by its owner (another console may only delete it)`,
      run: undefined,
    } satisfies Sync;
  });
  if (consoleId === undefined) {
    pass.outcomes.push({
      phase: 'Waiting',
      reason: 'NoConsoleIdentity',
      message: `this controller has no console identity (--console-id): it runs none of the ${plural(pass.syncs.length, 'sync')} of ${pass.name}, only reports them`,
    });
    return;
  }
  if (spec.downloadSourceFor.includes(consoleId) && pass.syncs.some((s) => s.owned)) {
    const message = `${pass.name} is the download source of console ${consoleId}: it cannot be a sync destination of that console`;
    pass.outcomes.push({ phase: 'Blocked', reason: 'DownloadSourceDestination', message });
    pass.halt ??= { category: 'stalled', reason: 'DownloadSourceDestination', message };
  }
}

/** 3. Previous and next scheduled runs, memory carried or started, and which owned syncs are due. */
function reconcileSchedules(pass: Pass): void {
  pass.syncs = pass.syncs.map((s) => {
    const problem = scheduleProblem(s.sync.schedule);
    if (problem !== undefined) {
      const message = `sync ${s.sync.name} has an invalid schedule: ${problem}`;
      if (s.owned) pass.outcomes.push({ phase: 'Blocked', reason: 'InvalidSchedule', message });
      return {
        ...s,
        problem,
        state: 'InvalidSchedule',
        message,
        handledThrough: s.memory?.handledThrough,
        lastRun: s.memory?.lastRun,
        lastRunNow: s.memory?.lastRunNow,
      };
    }
    const next = nextRun(s.sync.schedule, pass.now);
    if (!s.owned) return { ...s, nextRun: next };
    const last = previousRun(s.sync.schedule, pass.now);
    const m = s.memory;
    // First sight, or the schedule changed: start at the last scheduled run (no replay of history).
    const handled = m !== undefined && m.schedule === s.describe && m.handledThrough !== undefined ? m.handledThrough : last;
    const runNow = s.sync.runNow;
    return {
      ...s,
      nextRun: next,
      dueScheduled: last > handled ? last : undefined,
      dueRunNow: runNow !== undefined && runNow !== m?.lastRunNow ? runNow : undefined,
      handledThrough: handled,
      lastRun: m?.lastRun,
      lastRunNow: m?.lastRunNow,
    };
  });
}

/** The console whose downloads a set is compared with: this console if it owns a sync of it, else the first sync's owner. */
function sourceConsole(pass: Pass, set: InventorySet): string | undefined {
  const copying = pass.syncs.filter((s) => setsOf(s.sync.content).includes(set));
  return (copying.find((s) => s.owned) ?? copying[0])?.sync.console;
}

/** 4. The file status report: per content set some sync copies, what the server lacks or holds outdated. */
function reconcileContent(pass: Pass): void {
  const serverInv = inventoryOf(pass.observed.agents.get(pass.serverAgent));
  for (const set of CONTENT_SETS) {
    const console = sourceConsole(pass, set);
    if (console === undefined) continue;
    const consoleInv = inventoryOf(pass.observed.agents.get(console));
    if (consoleInv === undefined) {
      pass.content[set] = { console, unknown: `console ${console} has not reported its content` };
    } else if (serverInv === undefined) {
      pass.content[set] = { console, unknown: `server ${pass.name} (agent ${pass.serverAgent}) has not reported its content` };
    } else {
      const files = gapsOf(consoleInv, serverInv, set);
      const missing = files.filter((f) => f.found === null).length;
      pass.content[set] = { console, missing, outdated: files.length - missing, files };
    }
  }
}

type Readiness = { readonly ok: true; readonly consoleInv: ContentInventory; readonly serverInv: ContentInventory } | { readonly ok: false; readonly blocker: Blocker };

/** Whether the console and the server can take part in a sync now. */
function readiness(pass: Pass, console: AgentObservation | undefined, server: AgentObservation | undefined, consoleId: string): Readiness {
  const waiting = (reason: DistributionServerReason, message: string): Readiness => ({ ok: false, blocker: { category: 'waiting', reason, message } });
  const consoleInv = inventoryOf(console);
  if (console === undefined || !console.online || consoleInv === undefined) {
    const why = console === undefined ? 'has never reported' : !console.online ? 'is offline' : 'has not reported its content';
    return waiting('ConsoleNotReporting', `console ${consoleId} ${why}`);
  }
  if (console.facts?.downloading === true) {
    return waiting('WaitingForDownload', `console ${consoleId} is downloading new content; the sync runs once the download is done`);
  }
  const serverInv = inventoryOf(server);
  if (server === undefined || !server.online || serverInv === undefined) {
    const why = server === undefined ? 'has never reported' : !server.online ? 'is offline' : 'has not reported its content';
    return waiting('ServerNotReporting', `server ${pass.name} (agent ${pass.serverAgent}) ${why}: its content is not known`);
  }
  return { ok: true, consoleInv, serverInv };
}

/** Records a finished run in the sync's memory. */
function recordRun(s: Sync, finishedAt: string, message: string): void {
  if (s.dueScheduled !== undefined) s.handledThrough = Math.max(s.handledThrough ?? s.dueScheduled, s.dueScheduled);
  if (s.dueRunNow !== undefined) s.lastRunNow = s.dueRunNow;
  s.lastRun = finishedAt;
  s.failed = undefined;
  s.run = undefined;
  s.state = 'Scheduled';
  s.message = message;
}

/** 5. Run each due owned sync: copy exactly what is missing or outdated, once per run. */
function reconcileSyncs(pass: Pass): void {
  const consoleId = pass.consoleId;
  if (consoleId === undefined) return;
  const console = pass.observed.agents.get(consoleId);
  const server = pass.observed.agents.get(pass.serverAgent);
  const waits = new Map<string, { names: string[]; message: string }>();
  const syncing: string[] = [];

  for (const s of pass.syncs) {
    if (!s.owned || s.problem !== undefined || !isDue(s)) continue;
    const name = s.sync.name;
    const key = runKey(s);
    const version = `${name}@${key}`;
    const id = commandId(pass.target, pass.name, 'sync', version);
    const step = (runnable: boolean, blockedBy?: Blocker): void => {
      pass.plan.push({ target: pass.target, member: pass.name, action: 'sync', version, runnable, ...(blockedBy ? { blockedBy } : {}) });
    };
    s.run = { key, command: id };
    const result = resultOf(console, id);

    if (result?.status === 'succeeded') {
      recordRun(s, result.at, `last run (${key}) succeeded`);
      continue;
    }
    const failedMessage = result?.status === 'failed' ? (result.message ?? 'no message from the agent') : s.memory?.failed?.key === key ? s.memory.failed.message : undefined;
    if (failedMessage !== undefined) {
      const message = `sync ${name} (${key}) failed on console ${consoleId}: ${failedMessage}`;
      s.failed = { key, message: failedMessage };
      s.state = 'Failed';
      s.message = `${message}; not re-sent: the next scheduled run, or a new runNow, runs it again`;
      step(false, { category: 'stalled', reason: 'SyncFailed', message });
      pass.outcomes.push({ phase: 'Failed', reason: 'SyncFailed', message });
      continue;
    }
    if (result?.status === 'running') {
      const message = `sync ${name} (${key}) running on console ${consoleId}`;
      s.state = 'Syncing';
      s.message = message;
      step(false, { category: 'waiting', reason: 'CommandRunning', message });
      syncing.push(name);
      continue;
    }
    // A newer run became due while an earlier one is still running: it waits for it (runs stay one at a time).
    const earlier = s.memory?.run;
    if (earlier !== undefined && earlier.command !== id && resultOf(console, earlier.command)?.status === 'running') {
      const message = `sync ${name}: the earlier run (${earlier.key}) is still running on console ${consoleId}; this run (${key}) waits for it`;
      s.run = earlier;
      s.state = 'Syncing';
      s.message = message;
      step(false, { category: 'waiting', reason: 'CommandRunning', message });
      syncing.push(name);
      continue;
    }
    if (pass.halt !== undefined) {
      s.state = 'Waiting';
      s.message = `due (${key}), held: ${pass.halt.message}`;
      step(false, pass.halt);
      continue;
    }
    const ready = readiness(pass, console, server, consoleId);
    if (!ready.ok) {
      s.state = 'Waiting';
      s.message = `due (${key}), waiting: ${ready.blocker.message}`;
      step(false, ready.blocker);
      const w = waits.get(ready.blocker.reason) ?? { names: [], message: ready.blocker.message };
      w.names.push(name);
      waits.set(ready.blocker.reason, w);
      continue;
    }
    const files = setsOf(s.sync.content).flatMap((set) => gapsOf(ready.consoleInv, ready.serverInv, set));
    if (files.length === 0) {
      recordRun(s, iso(pass.now), `last run (${key}) had nothing to copy`);
      continue;
    }
    s.run = { key, command: id, files: files.length };
    s.state = 'Syncing';
    s.message = `copying ${plural(files.length, 'file')} (${key})`;
    step(true);
    pass.commands.push({
      id,
      target: pass.target,
      member: pass.name,
      agent: consoleId,
      action: 'sync',
      delivery: 'mailbox',
      version,
      params: {
        sync: name,
        content: s.sync.content,
        address: pass.spec.address,
        credentialRef: pass.spec.credentialRef,
        files: files.map((f) => ({ path: f.path, sha256: f.expected })),
      },
    });
    syncing.push(name);
  }

  if (syncing.length > 0) {
    pass.outcomes.push({ phase: 'Progressing', reason: 'Syncing', message: `syncing ${syncing.join(', ')} from console ${consoleId} to ${pass.name}`, requeueAfter: DISTRIBUTION_SERVER_REQUEUE.syncing });
  }
  for (const reason of ['WaitingForDownload', 'ConsoleNotReporting', 'ServerNotReporting'] as const) {
    const w = waits.get(reason);
    if (w === undefined) continue;
    pass.outcomes.push({ phase: 'Waiting', reason, message: `${w.names.join(', ')} due, waiting: ${w.message}`, requeueAfter: DISTRIBUTION_SERVER_REQUEUE.waiting });
  }
}

const PHASE_ORDER: readonly Phase[] = ['Blocked', 'Failed', 'Progressing', 'Waiting', 'Converged'];

/** 6. Phase, conditions, summary, member, details, requeue. */
function reconcileReport(pass: Pass, desired: DesiredInput<'DistributionServer'>): ReconcileResult {
  const owned = pass.syncs.filter((s) => s.owned);
  const upcoming = owned.filter((s) => s.nextRun !== undefined).sort((a, b) => (a.nextRun ?? 0) - (b.nextRun ?? 0));
  const soonest = upcoming[0];

  const reports = CONTENT_SETS.flatMap((set) => {
    const r = pass.content[set];
    return r === undefined ? [] : [{ set, r }];
  });
  const known = reports.flatMap(({ r }) => ('files' in r ? [r] : []));
  const unknownSets = reports.filter(({ r }) => !('files' in r)).map(({ set }) => set);
  const gaps = known.reduce((n, r) => n + r.files.length, 0);
  const gapText = reports.length === 0 ? 'no content' : known.length === 0 ? 'content not reported' : `${plural(gaps, 'file')} missing or outdated${unknownSets.length ? ` (${unknownSets.join(', ')} not reported)` : ''}`;

  if (!pass.outcomes.some((o) => o.phase !== 'Converged')) {
    const foreign = pass.syncs.filter((s) => !s.owned);
    const parts = [
      owned.length === 0 ? `no sync of ${pass.name} is owned by console ${pass.consoleId}` : `${plural(owned.length, 'sync')} of console ${pass.consoleId} up to date with ${owned.length === 1 ? 'its schedule' : 'their schedules'}`,
      ...(soonest?.nextRun !== undefined ? [`next: ${soonest.sync.name} at ${iso(soonest.nextRun)}`] : []),
      ...(known.length > 0 && gaps > 0 && owned.length > 0 ? [`${plural(gaps, 'file')} missing or outdated, copied by the next run`] : []),
      ...(foreign.length > 0 ? [`${plural(foreign.length, 'sync')} of other consoles reported only`] : []),
    ];
    pass.outcomes.push({ phase: 'Converged', reason: 'Scheduled', message: parts.join('; ') });
  }
  const outcome = [...pass.outcomes].sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase))[0]!;

  const requeues = pass.outcomes.flatMap((o) => (o.requeueAfter === undefined ? [] : [o.requeueAfter]));
  if (soonest?.nextRun !== undefined) requeues.push(soonest.nextRun - pass.now);
  const requeueAfter = requeues.length > 0 ? Math.min(...requeues) : undefined;

  const memberState: MemberState = owned.some((s) => s.state === 'Failed')
    ? 'Failed'
    : owned.some((s) => s.state === 'Syncing')
      ? 'Updating'
      : outcome.phase === 'Converged'
        ? 'Updated'
        : 'Waiting';
  const sets = CONTENT_SETS.filter((set) => pass.syncs.some((s) => setsOf(s.sync.content).includes(set)));

  const details: DistributionServerDetails = {
    console: pass.consoleId ?? null,
    content: Object.fromEntries(reports.map(({ set, r }) => [set, r])),
    syncs: pass.syncs.map((s) => ({
      name: s.sync.name,
      content: s.sync.content,
      owner: s.sync.console,
      owned: s.owned,
      schedule: s.describe,
      state: s.state,
      ...(s.message !== undefined ? { message: s.message } : {}),
      ...(s.nextRun !== undefined ? { nextRun: iso(s.nextRun) } : {}),
      ...(s.lastRun !== undefined ? { lastRun: s.lastRun } : {}),
      ...(s.handledThrough !== undefined ? { handledThrough: iso(s.handledThrough) } : {}),
      ...(s.lastRunNow !== undefined ? { lastRunNow: s.lastRunNow } : {}),
      ...(s.run !== undefined ? { run: s.run } : {}),
      ...(s.failed !== undefined ? { failed: s.failed } : {}),
    })),
  };

  const status: TargetStatus = {
    target: pass.target,
    phase: outcome.phase,
    conditions: conditionsFor(outcome.phase, outcome.reason, outcome.message, pass.previous?.conditions, pass.now),
    observedRevision: desired.revision,
    summary: `${plural(pass.syncs.length, 'sync')}, ${gapText}`,
    members: [
      {
        name: pass.name,
        agent: pass.serverAgent,
        role: DISTRIBUTION_SERVER_ROLE,
        desired: sets.length > 0 ? sets.join(' + ') : 'no content',
        ...(known.length > 0 ? { observed: gaps === 0 && unknownSets.length === 0 ? 'up to date' : gapText } : {}),
        state: memberState,
        message: outcome.message,
      },
    ],
    details: details as unknown as Readonly<Record<string, unknown>>,
  };
  return { commands: pass.commands, status, plan: pass.plan, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
}

const STEPS: readonly ((pass: Pass) => void)[] = [reconcileCredential, reconcileOwnership, reconcileSchedules, reconcileContent, reconcileSyncs];

/** The step names, in the order they run (taken from the functions, so they cannot drift). */
export const DISTRIBUTION_SERVER_STEPS: readonly string[] = [...STEPS.map((f) => f.name), reconcileReport.name];

// ------------------------------------------------------------------ the reconciler

export const reconcileDistributionServer: Reconciler<'DistributionServer'> = (desired, observed, previous, now): ReconcileResult => {
  const ds = desired.object;
  const pass: Pass = {
    target: targetId('DistributionServer', ds.metadata.name),
    name: ds.metadata.name,
    spec: ds.spec,
    serverAgent: ds.spec.agent ?? ds.metadata.name,
    consoleId: desired.consoleId,
    observed,
    previous,
    now,
    memory: memoryOf(previous, desired.consoleId),
    syncs: [],
    halt: undefined,
    content: {},
    plan: [],
    commands: [],
    outcomes: [],
  };
  for (const run of STEPS) run(pass);
  return reconcileReport(pass, desired);
};
