/**
 * DistributionServer reconciler — seed 002, Ivanti Security Controls: "Synchronisation des
 * serveurs de distribution". Content (engines/definitions, patches, or all) is copied from a
 * console to a distribution server on a schedule or on demand ("Exécuter maintenant").
 * A pure function of (desired, observed, previous status from Git, now), on the engine.
 *
 * Actors. The console is an agent whose id is the console name (`--console-id`, e.g.
 * `console-hq`): it reports what it downloaded (`facts.content`) and whether it is
 * downloading (`facts.downloading`), and it does the copy with the credential it uses for the
 * server, so `sync` commands go to the CONSOLE's agent, by mailbox, with the server as
 * `member`. The server's own agent (`spec.agent ?? metadata.name`) reports what it holds.
 *
 * Steps, in order (`DISTRIBUTION_SERVER_STEPS`); preconditions are in preconditions.ts:
 *  1. reconcileCredential  credential-usable. Unusable: Blocked, `CredentialUnavailable`;
 *                          not reported by the store: Waiting, `CredentialUnknown`. Either halts:
 *                          no sync is sent, due syncs are plan steps blocked by it. Requeue 5 min.
 *  2. reconcileOwnership   console-identity, owns-schedule, not-download-source. Only syncs this
 *                          console owns run; others are reported (`NotOwned`), never run. No
 *                          `--console-id`: Waiting, `NoConsoleIdentity`, nothing runs, no requeue.
 *                          This console's own download source: Blocked, `DownloadSourceDestination`; halts.
 *  3. reconcileSchedules   schedule-valid, then per sync the previous and next scheduled runs and
 *                          whether it is due (memory.ts). Invalid: Blocked, `InvalidSchedule`.
 *  4. reconcileContent     the file status report per content set (missing or outdated files).
 *  5. reconcileSyncs       runs the due owned syncs (sync-runs.ts): console-ready (online, not
 *                          downloading, download state and content reported), server-reported.
 *                          `Syncing` (Progressing), `SyncFailed` (Failed), `WaitingForDownload`,
 *                          `ConsoleNotReporting`, `ServerNotReporting`, `ObservationMissing` (Waiting).
 *  6. reconcileReport      phase (engine fold), conditions, summary, the one member, details, requeue.
 *
 * Stops: nothing is sent once a step halts (the engine's `send` refuses); a failed run is never
 * re-sent. Converged (`Scheduled`) means no owned sync is due: content missing between two
 * scheduled runs is not a failure — the schedule is the contract — and the report lists what
 * the next run copies. Requeue: the fold's (30 s syncing, 60 s waiting, 5 min credential),
 * and always the next scheduled run of an owned sync.
 */
import type { ReconcileResult, Reconciler } from '../contract.ts';
import { runSteps, stepNames } from '../engine/steps.ts';
import { CONTENT_SETS, gapsOf, setsOf, type InventorySet } from './content.ts';
import { memoryOf } from './memory.ts';
import { consoleIdentity, credentialUsable, notDownloadSource, ownsSchedule, scheduleValid } from './preconditions.ts';
import { reconcileReport } from './report.ts';
import { describeSchedule, nextRun, previousRun } from './schedule.ts';
import { ServerPass } from './server-pass.ts';
import { reconcileSyncs } from './sync-runs.ts';

export { DISTRIBUTION_SERVER_CATALOGUE, DISTRIBUTION_SERVER_REASONS, DISTRIBUTION_SERVER_REQUEUE } from './reasons.ts';
export type { DistributionServerReason } from './reasons.ts';
export type { CheckDetail, ContentReport, DistributionServerDetails, SyncDetail, SyncState } from './memory.ts';
export { DISTRIBUTION_SERVER_ROLE } from './report.ts';

/** 1. The credential the console uses for this server must be known usable. */
function reconcileCredential(pass: ServerPass): void {
  const answer = pass.record(credentialUsable.name, credentialUsable.check(pass.ctx));
  const blocker = pass.blockerOf(answer);
  if (blocker === undefined) return;
  pass.outcome(blocker.reason, blocker.message);
  pass.haltWith(blocker);
}

/** 2. Which syncs this controller runs: those its console owns, never to its own download source. */
function reconcileOwnership(pass: ServerPass): void {
  const consoleId = pass.consoleId;
  pass.syncs = pass.spec.syncs.map((sync) => {
    const owns = ownsSchedule.check({ sync, consoleId });
    const owned = owns.status === 'satisfied';
    const m = pass.memory.get(sync.name);
    const mine = owned && m?.console === consoleId;
    return {
      sync,
      owned,
      describe: describeSchedule(sync.schedule),
      memory: mine ? m : undefined,
      carried: !owned ? m : undefined,
      problem: undefined,
      nextRun: undefined,
      dueScheduled: undefined,
      dueRunNow: undefined,
      handledThrough: undefined,
      lastRun: undefined,
      lastRunNow: undefined,
      failed: undefined,
      state: owned ? 'Scheduled' : 'NotOwned',
      message: owns.status === 'satisfied' ? undefined : owns.message,
      run: undefined,
    };
  });
  const identity = pass.blockerOf(pass.record(consoleIdentity.name, consoleIdentity.check(pass.ctx)));
  if (identity !== undefined) {
    pass.outcome(identity.reason, identity.message);
    pass.haltWith(identity);
    return;
  }
  const source = pass.record(notDownloadSource.name, notDownloadSource.check(pass.ctx));
  const blocker = pass.blockerOf(source);
  if (blocker !== undefined && pass.syncs.some((s) => s.owned)) {
    pass.outcome(blocker.reason, blocker.message);
    pass.haltWith(blocker);
  }
}

/** 3. Previous and next scheduled runs, memory carried or started, and which owned syncs are due. */
function reconcileSchedules(pass: ServerPass): void {
  for (const s of pass.syncs) {
    const m = s.memory;
    const kept = m ?? s.carried;
    s.lastRun = kept?.lastRun;
    s.lastRunNow = kept?.lastRunNow;
    s.failed = kept?.failed;
    const valid = scheduleValid.check({ sync: s.sync, consoleId: pass.consoleId });
    if (valid.status !== 'satisfied') {
      s.problem = valid.message;
      s.state = 'InvalidSchedule';
      s.message = valid.message;
      s.handledThrough = m?.handledThrough;
      s.run = m?.run; // kept, so its result is settled once the schedule is fixed
      if (s.owned) pass.outcome(valid.reason, valid.message);
      continue;
    }
    s.nextRun = nextRun(s.sync.schedule, pass.now);
    if (!s.owned) continue;
    const last = previousRun(s.sync.schedule, pass.now);
    // First sight, or the schedule changed: start at the last scheduled run (no replay of history).
    const handled = m !== undefined && m.schedule === s.describe ? (m.handledThrough ?? last) : last;
    const runNow = s.sync.runNow;
    s.handledThrough = handled;
    s.dueScheduled = last > handled ? last : undefined;
    s.dueRunNow = runNow !== undefined && runNow !== m?.lastRunNow ? runNow : undefined;
  }
}

/** The console whose downloads a set is compared with: this console if it owns a sync of it, else the first owner. */
function sourceConsole(pass: ServerPass, set: InventorySet): string | undefined {
  const copying = pass.syncs.filter((s) => setsOf(s.sync.content).includes(set));
  return (copying.find((s) => s.owned) ?? copying[0])?.sync.console;
}

/** 4. The file status report: per content set some sync copies, what the server lacks or holds outdated. */
function reconcileContent(pass: ServerPass): void {
  const serverInv = pass.observed.agents.get(pass.serverAgent)?.facts?.content;
  for (const set of CONTENT_SETS) {
    const console = sourceConsole(pass, set);
    if (console === undefined) continue;
    const consoleInv = pass.observed.agents.get(console)?.facts?.content;
    if (consoleInv === undefined) {
      pass.content[set] = { console, unknown: `no content reported by ${console}` };
    } else if (serverInv === undefined) {
      pass.content[set] = { console, unknown: `no content reported by ${pass.serverAgent}` };
    } else {
      const files = gapsOf(consoleInv, serverInv, set);
      const missing = files.filter((f) => f.found === null).length;
      pass.content[set] = { console, missing, outdated: files.length - missing, files };
    }
  }
}

const STEPS = [reconcileCredential, reconcileOwnership, reconcileSchedules, reconcileContent, reconcileSyncs] as const;

/** The step names, in the order they run (taken from the functions, so they cannot drift). */
export const DISTRIBUTION_SERVER_STEPS: readonly string[] = [...stepNames(STEPS), reconcileReport.name];

export const reconcileDistributionServer: Reconciler<'DistributionServer'> = (
  desired,
  observed,
  previous,
  now,
): ReconcileResult => {
  const ds = desired.object;
  const memory = memoryOf(previous);
  const pass = new ServerPass(ds.metadata.name, ds.spec, desired.consoleId, observed, previous, now, memory);
  runSteps(pass, STEPS);
  return reconcileReport(pass, desired.revision);
};
