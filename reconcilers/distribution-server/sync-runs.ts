/**
 * Step 5, reconcileSyncs: runs each due sync this console owns, copying exactly what the
 * server lacks or holds outdated, once per run (seed 002: "Exécuter maintenant" and the
 * scheduled syncs). For each due sync, the first that applies:
 *
 *  1. the console reports its command (by deterministic id) `succeeded`: the run is recorded;
 *  2. it reports it `failed`, or the memory from Git records that run as failed: Failed,
 *     `SyncFailed`, never sent again under that run key; the run is consumed (its scheduled
 *     instant and runNow value count as run), so the next scheduled run or a new runNow
 *     value is a new run with a new id;
 *  3. it reports it `running`, or the run sent before is still `running`: Progressing;
 *  4. a target-wide halt (credential, download source): the step is listed, blocked by it;
 *  5. console-ready or server-reported is not satisfied (offline, downloading, or a fact not
 *     reported): the step is held, Waiting, with what is missing and from whom;
 *  6. nothing is missing or outdated: the run is recorded, no command;
 *  7. else a `sync` command to the console's agent with exactly those files.
 * A failure is reported until a new run is sent or finishes, even once the console forgets the
 * result; a run sent earlier that finished under another key (a newer run became due meanwhile)
 * is settled by its own id first.
 */
import { commandId } from '../command-id.ts';
import type { Blocker, Command } from '../contract.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import { resultOf } from '../observed.ts';
import { gapsOf, setsOf } from './content.ts';
import { consoleReady, serverReported } from './preconditions.ts';
import { iso, isDue, keyParts, plural, runKey, type ServerPass, type Sync } from './server-pass.ts';

const NOT_RESENT = 'not re-sent: the next scheduled run, or a new runNow, runs it again';

/** Records a finished run in the sync's memory. */
function recordRun(s: Sync, finishedAt: string, message: string): void {
  consume(s);
  s.lastRun = finishedAt;
  s.failed = undefined;
  s.run = undefined;
  s.state = 'Scheduled';
  s.message = message;
}

/** What made the run due counts as run, whatever its outcome: it never becomes due again. */
function consume(s: Sync): void {
  if (s.dueScheduled !== undefined) s.handledThrough = Math.max(s.handledThrough ?? s.dueScheduled, s.dueScheduled);
  if (s.dueRunNow !== undefined) s.lastRunNow = s.dueRunNow;
}

/**
 * The run sent before (status in Git) finished under another key — a newer scheduled run made
 * the sync due again meanwhile, or the schedule or runNow changed: what it ran counts as run,
 * and its failure is kept, so it is never sent again under its key.
 */
function settleEarlier(s: Sync, key: string, result: CommandResult): void {
  const parts = keyParts(key);
  if (parts.scheduled !== undefined) s.handledThrough = Math.max(s.handledThrough ?? parts.scheduled, parts.scheduled);
  if (parts.runNow !== undefined) s.lastRunNow = parts.runNow;
  if (result.status === 'succeeded') {
    s.lastRun = result.at;
    s.failed = undefined;
  } else s.failed = { key, message: result.message ?? 'no message from the agent' };
  if (s.dueScheduled !== undefined && s.dueScheduled <= (s.handledThrough ?? -Infinity)) s.dueScheduled = undefined;
  if (s.dueRunNow !== undefined && s.dueRunNow === s.lastRunNow) s.dueRunNow = undefined;
  s.run = undefined;
}

function failureMessage(s: Sync, consoleId: string, failed: { key: string; message: string }): string {
  return `sync ${s.sync.name} (${failed.key}) failed on console ${consoleId}: ${failed.message}`;
}

function reportFailure(pass: ServerPass, s: Sync, consoleId: string, failed: { key: string; message: string }): void {
  const message = failureMessage(s, consoleId, failed);
  s.failed = failed;
  s.state = 'Failed';
  s.message = `${message}; ${NOT_RESENT}`;
  pass.outcome('SyncFailed', message);
}

/**
 * Runs this controller does not decide about (a sync another console owns in this revision, or
 * no --console-id) are still settled by their own id when their console reports a result, and
 * carried otherwise: the facts are kept for the console that will decide again.
 */
function settleCarried(pass: ServerPass): void {
  for (const s of pass.syncs) {
    const run = s.carried?.run;
    if (s.owned || s.carried === undefined || run === undefined) continue;
    const result = resultOf(pass.observed.agents.get(s.carried.console), run.command);
    if (result?.status === 'succeeded' || result?.status === 'failed') {
      settleEarlier(s, run.key, result);
      s.handledThrough = undefined; // not carried: a sync coming back starts at its last scheduled run
    } else s.run = run;
  }
}

export function reconcileSyncs(pass: ServerPass): void {
  settleCarried(pass);
  const consoleId = pass.consoleId;
  if (consoleId === undefined) return;
  const console = pass.observed.agents.get(consoleId);
  const waits = new Map<string, { names: string[]; message: string }>();
  const syncing: string[] = [];

  for (const s of pass.syncs) {
    if (!s.owned || s.problem !== undefined) continue;
    const earlier = s.memory?.run;
    const earlierResult = earlier === undefined ? undefined : resultOf(console, earlier.command);
    const earlierDone = earlierResult?.status === 'succeeded' || earlierResult?.status === 'failed';
    if (earlier !== undefined && earlierResult !== undefined && earlierDone && earlier.key !== runKey(s)) {
      settleEarlier(s, earlier.key, earlierResult);
    }
    if (!isDue(s)) {
      // A run sent and not finished stays watched, so its result is not missed.
      if (earlier !== undefined && !earlierDone) s.run = earlier;
      if (earlier !== undefined && earlierResult?.status === 'running') {
        s.state = 'Syncing';
        s.message = `sync ${s.sync.name} (${earlier.key}) running on console ${consoleId}`;
        const blockedBy = pass.blocker('CommandRunning', s.message);
        pass.step(pass.name, 'sync', { version: `${s.sync.name}@${earlier.key}`, blockedBy });
        syncing.push(s.sync.name);
      }
      // A failed run stays reported (from Git) until a new run is sent.
      if (s.failed !== undefined) reportFailure(pass, s, consoleId, s.failed);
      continue;
    }
    const name = s.sync.name;
    const key = runKey(s);
    const version = `${name}@${key}`;
    const id = commandId(pass.target, pass.name, 'sync', version);
    const hold = (blockedBy: Blocker): void => pass.step(pass.name, 'sync', { version, blockedBy });
    // An earlier failure stays reported until the new run is sent or finishes.
    const earlierFailure = s.failed;
    const held = (): void => {
      if (earlierFailure !== undefined) pass.outcome('SyncFailed', failureMessage(s, consoleId, earlierFailure));
      // Memory keeps the run sent last until its result is known: a run that is only due must not
      // make Git forget one that may still fail (it would then be sent again under its key).
      if (earlier !== undefined && !earlierDone && earlier.command !== id) s.run = earlier;
    };
    s.run = { key, command: id };
    const result = resultOf(console, id);

    if (result?.status === 'succeeded') {
      recordRun(s, result.at, `last run (${key}) succeeded`);
      continue;
    }
    const failedMessage =
      result?.status === 'failed'
        ? (result.message ?? 'no message from the agent')
        : earlierFailure?.key === key
          ? earlierFailure.message
          : undefined;
    if (failedMessage !== undefined) {
      consume(s);
      s.run = undefined;
      reportFailure(pass, s, consoleId, { key, message: failedMessage });
      continue; // the run is over: no step left for it

    }
    if (result?.status === 'running') {
      const message = `sync ${name} (${key}) running on console ${consoleId}`;
      s.failed = undefined; // the new run is under way
      s.state = 'Syncing';
      s.message = message;
      hold(pass.blocker('CommandRunning', message));
      syncing.push(name);
      continue;
    }
    // A newer run became due while an earlier one is still running: it waits for it (runs stay one at a time).
    if (earlier !== undefined && earlier.command !== id && earlierResult?.status === 'running') {
      const message =
        `sync ${name}: the earlier run (${earlier.key}) is still running on console ${consoleId}; ` +
        `this run (${key}) waits for it`;
      s.run = earlier;
      s.state = 'Syncing';
      s.message = message;
      hold(pass.blocker('CommandRunning', message));
      syncing.push(name);
      held();
      continue;
    }
    if (pass.halt !== undefined) {
      s.state = 'Waiting';
      s.message = `due (${key}), held: ${pass.halt.message}`;
      hold(pass.halt);
      held();
      continue;
    }
    const notReady =
      pass.blockerOf(pass.record(consoleReady.name, consoleReady.check(pass.ctx))) ??
      pass.blockerOf(pass.record(serverReported.name, serverReported.check(pass.ctx)));
    const consoleInv = console?.facts?.content;
    const serverInv = pass.observed.agents.get(pass.serverAgent)?.facts?.content;
    if (notReady !== undefined || consoleInv === undefined || serverInv === undefined) {
      const blocker = notReady ?? pass.blocker('ObservationMissing', 'content not reported');
      s.state = 'Waiting';
      s.message = `due (${key}), waiting: ${blocker.message}`;
      hold(blocker);
      const w = waits.get(blocker.reason) ?? { names: [], message: blocker.message };
      w.names.push(name);
      waits.set(blocker.reason, w);
      held();
      continue;
    }
    const files = setsOf(s.sync.content).flatMap((set) => gapsOf(consoleInv, serverInv, set));
    if (files.length === 0) {
      recordRun(s, iso(pass.now), `last run (${key}) had nothing to copy`);
      continue;
    }
    const command: Command = {
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
    };
    if (!pass.send(command)) continue;
    s.failed = undefined; // the new run is under way
    s.run = { key, command: id, files: files.length };
    s.state = 'Syncing';
    s.message = `copying ${plural(files.length, 'file')} (${key})`;
    syncing.push(name);
  }

  if (syncing.length > 0) {
    pass.outcome('Syncing', `syncing ${syncing.join(', ')} from console ${consoleId} to ${pass.name}`);
  }
  for (const [reason, w] of waits) pass.outcome(reason, `${w.names.join(', ')} due, waiting: ${w.message}`);
}
