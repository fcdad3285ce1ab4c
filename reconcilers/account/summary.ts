/**
 * Step 8, `summarise`: the pass's outcomes, folded by the engine (`foldOutcomes`) into phase,
 * reason and requeue, and the status. Outcomes are aggregated per reason (never one per
 * device: a million devices), in the order a person reads them:
 *
 *   RepositoryServerFailed  a WRS command failed (its devices cannot proceed)        Failed
 *   the first stall         PackageNotSecure, UnknownRepositoryServer, ReleaseNotFound Blocked
 *   MemberAhead             a member is newer than desired, not rolled back by Git    Blocked
 *   RollingOut              commands sent or running (failures and a held production
 *                           named in the message)                                     Progressing
 *   the first wait          AwaitingTestRing when production is held, else the first
 *                           in plan order (VerifyingPackage, WaitingForRepositoryServer,
 *                           ObservationMissing, DeviceOffline, …), "(and N more waiting)" Waiting
 *   MemberFailed            only failed devices/infrastructure remain                  Failed
 *   Converged               every member runs its desired version, no restart pending  Converged
 */
import { conditionsFor } from '../conditions.ts';
import type { Blocker, ReconcileResult, TargetStatus } from '../contract.ts';
import { foldOutcomes } from '../engine/index.ts';
import type { Ctx, Tally } from './context.ts';
import { ACCOUNT_CATALOGUE } from './reasons.ts';

export function summarise(ctx: Ctx): ReconcileResult {
  const { tally, pass } = ctx;
  let stall: Blocker | undefined;
  let wait: Blocker | undefined;
  let waiting = 0;
  let held = false;
  let heldSteps = 0;
  const waitReasons = new Set<string>();
  for (const s of pass.plan) {
    const b = s.blockedBy;
    if (b === undefined) continue;
    // Withheld for a later wave (wave-hold.ts): a command that would have been sent, not a wait.
    if (ctx.withheld !== undefined && b.reason === 'WaitingForWave') continue;
    if (b.category === 'stalled') {
      if (stall === undefined && b.reason !== 'CommandFailed') stall = b;
    } else if (b.reason !== 'InProgress' && b.reason !== 'WaitingForInstall') {
      waiting++;
      wait ??= b;
      waitReasons.add(b.reason);
      if (b === ctx.hold) {
        held = true;
        heldSteps++;
      }
    }
  }
  // Production held by the test ring is what a person reads first among the waits.
  if (held) wait = ctx.hold;
  if (ctx.promotion?.held !== undefined) {
    ctx.promotion = { ...ctx.promotion, held: { ...ctx.promotion.held, steps: heldSteps } };
  }
  const summary = summaryOf(ctx);
  const failed = failures(tally);
  if (tally.wrsFailed.length > 0) pass.outcome('RepositoryServerFailed', `${tally.wrsFailed.join('; ')}; ${summary}`);
  if (stall) pass.outcome(stall.reason, `${stall.message}; ${summary}`);
  if (tally.ahead > 0) {
    const who = tally.ahead === 1 ? '1 member runs' : `${tally.ahead} members run`;
    pass.outcome(
      'MemberAhead',
      `${who} a newer version than desired, left alone (Git did not roll it back); ${summary}`,
    );
  }
  if (pass.commands.length > 0 || tally.updating > 0) {
    pass.outcome('RollingOut', `${summary}${failed}${held ? `; production waits: ${ctx.hold!.message}` : ''}`);
  }
  if (wait) {
    const more = waiting > 1 ? ` (and ${waiting - 1} more waiting)` : '';
    pass.outcome(wait.reason, `${wait.message}${more}; ${summary}${failed}`);
    // The other waits only bring their requeue delays (the fold keeps the first message).
    for (const r of waitReasons) if (r !== wait.reason) pass.outcome(r, wait.message);
  }
  if (tally.failedCount > 0) pass.outcome('MemberFailed', `${summary}${failed}`);
  return finish(ctx, summary);
}

/** Folds the pass's outcomes into phase and requeue, and builds the result. */
export function finish(ctx: Ctx, summary: string): ReconcileResult {
  const { pass } = ctx;
  const folded = foldOutcomes(pass.outcomes, ACCOUNT_CATALOGUE, { reason: 'Converged', message: summary });
  const status: TargetStatus = {
    target: ctx.target,
    phase: folded.phase,
    conditions: conditionsFor(folded.phase, folded.reason, folded.message, ctx.previous?.conditions, ctx.now),
    observedRevision: ctx.revision,
    summary,
    members: ctx.members,
    ...(ctx.reminders.length > 0 ? { reminders: ctx.reminders } : {}),
    ...(ctx.promotion !== undefined ? { details: { promotion: ctx.promotion } } : {}),
    rolloutStartedAt: rolloutStartedAt(ctx),
  };
  const result: ReconcileResult = { commands: pass.commands, status, plan: pass.plan };
  return folded.requeueAfter === undefined ? result : { ...result, requeueAfter: folded.requeueAfter };
}

function failures(t: Tally): string {
  if (t.failedCount === 0) return '';
  const rest = t.failedCount - t.failed.length;
  return `; ${t.failedCount} failed: ${t.failed.join('; ')}${rest > 0 ? `; and ${rest} more` : ''}`;
}

/** `7/10 devices at 4.3.0, 2/2 WRS`; with a test ring on another version, `8/10 devices updated, 2/2 WRS`. */
function summaryOf(ctx: Ctx): string {
  const t = ctx.tally;
  const { prod, test } = ctx;
  const oneVersion = !(prod?.used && test?.used && prod !== test && prod.key !== test.key);
  const version = (prod?.used || !test?.used ? prod : test)?.version;
  const parts = [
    oneVersion && version !== undefined
      ? `${t.devicesUpdated}/${t.devices} devices at ${version}`
      : `${t.devicesUpdated}/${t.devices} devices updated`,
  ];
  if (t.wrs > 0) parts.push(`${t.wrsUpdated}/${t.wrs} WRS`);
  if (t.infra > 0) parts.push(`${t.infraUpdated}/${t.infra} infrastructure`);
  return parts.join(', ');
}

/** Kept while the set of desired versions is the previous one; a new set starts a new rollout now. */
function rolloutStartedAt(ctx: Ctx): string {
  const { previous } = ctx;
  const current = new Set<string>();
  for (const m of ctx.members) current.add(m.desired);
  if (previous?.rolloutStartedAt !== undefined) {
    const before = new Set<string>();
    for (const m of previous.members) before.add(m.desired);
    if (before.size === current.size && [...current].every((v) => before.has(v))) return previous.rolloutStartedAt;
  }
  return new Date(ctx.now).toISOString();
}
