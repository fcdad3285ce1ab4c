/**
 * Step 6, reconcileReport: the status of a DistributionServer — phase (the engine's fold),
 * conditions, summary (`2 syncs, 14 files missing or outdated`), one member (the server, role
 * `distribution-server`), details (the file status report, the syncs with their schedule and
 * memory, the target-wide preconditions this pass checked — console-ready and server-reported
 * only when a due sync needed them, so a console's downloads do not churn status) and requeue.
 */
import { conditionsFor } from '../conditions.ts';
import type { MemberState, ReconcileResult, TargetStatus } from '../contract.ts';
import { foldOutcomes } from '../engine/fold.ts';
import { CONTENT_SETS, setsOf } from './content.ts';
import type { DistributionServerDetails } from './memory.ts';
import { iso, plural, type ServerPass } from './server-pass.ts';

/** The role of the one member. */
export const DISTRIBUTION_SERVER_ROLE = 'distribution-server';

export function reconcileReport(pass: ServerPass, revision: string | null): ReconcileResult {
  const owned = pass.syncs.filter((s) => s.owned);
  let soonest: { name: string; at: number } | undefined;
  for (const s of owned) {
    if (s.nextRun === undefined || (soonest !== undefined && s.nextRun >= soonest.at)) continue;
    soonest = { name: s.sync.name, at: s.nextRun };
  }

  const reports = CONTENT_SETS.flatMap((set) => {
    const r = pass.content[set];
    return r === undefined ? [] : [{ set, r }];
  });
  const known = reports.flatMap(({ r }) => ('files' in r ? [r] : []));
  const unknownSets = reports.filter(({ r }) => !('files' in r)).map(({ set }) => set);
  const gaps = known.reduce((n, r) => n + r.files.length, 0);
  const notReported = unknownSets.length ? ` (${unknownSets.join(', ')} not reported)` : '';
  const gapText =
    reports.length === 0
      ? 'no content'
      : known.length === 0
        ? 'content not reported'
        : `${plural(gaps, 'file')} missing or outdated${notReported}`;

  const foreign = pass.syncs.filter((s) => !s.owned);
  const upToDate = owned.length === 1 ? 'its schedule' : 'their schedules';
  const fallback = [
    owned.length === 0
      ? `no sync of ${pass.name} is owned by console ${pass.consoleId}`
      : `${plural(owned.length, 'sync')} of console ${pass.consoleId} up to date with ${upToDate}`,
    ...(soonest !== undefined ? [`next: ${soonest.name} at ${iso(soonest.at)}`] : []),
    ...(known.length > 0 && gaps > 0 && owned.length > 0
      ? [`${plural(gaps, 'file')} missing or outdated, copied by the next run`]
      : []),
    ...(foreign.length > 0 ? [`${plural(foreign.length, 'sync')} of other consoles reported only`] : []),
  ].join('; ');
  const folded = foldOutcomes(pass.outcomes, pass.catalogue, { reason: 'Scheduled', message: fallback });

  let requeueAfter = folded.requeueAfter;
  if (soonest !== undefined) requeueAfter = Math.min(requeueAfter ?? Infinity, soonest.at - pass.now);

  const memberState: MemberState = owned.some((s) => s.state === 'Failed' || s.failed !== undefined)
    ? 'Failed'
    : owned.some((s) => s.state === 'Syncing')
      ? 'Updating'
      : folded.phase === 'Converged'
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
      ...(s.carried !== undefined && (s.lastRun ?? s.lastRunNow ?? s.failed ?? s.run) !== undefined
        ? { memoryOf: s.carried.console }
        : {}),
    })),
    preconditions: pass.checks,
  };

  const status: TargetStatus = {
    target: pass.target,
    phase: folded.phase,
    conditions: conditionsFor(folded.phase, folded.reason, folded.message, pass.previous?.conditions, pass.now),
    observedRevision: revision,
    summary: `${plural(pass.syncs.length, 'sync')}, ${gapText}`,
    members: [
      {
        name: pass.name,
        agent: pass.serverAgent,
        role: DISTRIBUTION_SERVER_ROLE,
        desired: sets.length > 0 ? sets.join(' + ') : 'no content',
        ...(known.length > 0 ? { observed: gaps === 0 && unknownSets.length === 0 ? 'up to date' : gapText } : {}),
        state: memberState,
        message: folded.message,
      },
    ],
    details: details as unknown as Readonly<Record<string, unknown>>,
  };
  return { commands: pass.commands, status, plan: pass.plan, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
}
