/**
 * The safe point of a rollout (issue 8: pause "at the next safe point, never in the middle of
 * an HA server update"; freezes and windows let "a member already being updated finish"):
 * governance may hold every command that BEGINS a change, never one that FINISHES a change a
 * member is already in the middle of.
 *
 *   begins    stage, apply, sync, backup — and a restart this controller did not install for
 *   finishes  migrate, end-update-mode   (seed 004: sent only once the cluster's servers run the
 *                                         release in update mode, where changes are lost until the
 *                                         schema is migrated and every server is back in normal mode)
 *             restart after our own apply of that version succeeded (seeds 001, 003: the install
 *                                         is done, the restart finalises it)
 *
 * Why by action and not by `ctx.inProgress` alone: a reconciler marks a member `Updating` in the
 * very pass it first sends it `apply`, so "Updating" cannot tell a server mid-update from one
 * about to start. An `apply` already delivered and running is never re-sent (its result is
 * `running`), so holding `apply` never interrupts anything.
 */
import { attempt } from '../command-id.ts';
import type { Command } from '../contract.ts';
import type { GovernanceContext } from './step.ts';

export function finishesAnUpdate(c: Command, ctx: GovernanceContext): boolean {
  if (c.action === 'migrate' || c.action === 'end-update-mode') return true;
  if (c.action !== 'restart') return false;
  // The apply this controller sent, retried or not (`spec.rollout.retryFailed`).
  const applied = attempt(ctx.observed.agents.get(c.agent), c.target, c.member, 'apply', c.version, ctx.policy?.retryFailed);
  return applied.result?.status === 'succeeded';
}

/**
 * Members finishing their update in this pass, in status order: those sent a command that
 * finishes an update, and those being updated (`Updating`, not just being started) whose agent
 * reports a command still running — the ones a pause or a freeze lets finish. (A UMS server
 * that installed the release and waits in update mode for the migration is not listed: it has
 * nothing running.)
 */
export function finishingMembers(ctx: GovernanceContext): string[] {
  const starting = new Set<string>();
  const finishing = new Set<string>();
  for (const c of ctx.inner.commands) (finishesAnUpdate(c, ctx) ? finishing : starting).add(c.member);
  return ctx.inner.status.members
    .filter(
      (m) =>
        finishing.has(m.name) ||
        (ctx.inProgress.has(m.name) && !starting.has(m.name) && ctx.observed.agents.get(m.agent)?.results.some((r) => r.status === 'running') === true),
    )
    .map((m) => m.name);
}

/** `ums-1`, `ums-1 and ums-2`, `a, b, c and 7 more`: bounded, for messages about a million devices. */
export function listNames(names: readonly string[], max = 3): string {
  if (names.length <= max) return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** A target with nothing left to do is not governed: its status stays as the reconciler made it. */
export function nothingToDo(ctx: GovernanceContext): boolean {
  return ctx.inner.plan.length === 0 && ctx.inner.commands.length === 0;
}

/**
 * Whether the plan still has a step that begins a change governance controls (not one done by a
 * person or a device, not one finishing an update); `stage` counts unless `exceptStaging`.
 */
export function beginsLeft(ctx: GovernanceContext, exceptStaging: boolean): boolean {
  const finishing = new Set<string>();
  for (const c of ctx.inner.commands) if (finishesAnUpdate(c, ctx)) finishing.add(`${c.member}\0${c.action}`);
  return ctx.inner.plan.some(
    (s) =>
      s.performedBy === undefined &&
      s.action !== 'migrate' &&
      s.action !== 'end-update-mode' &&
      !(exceptStaging && s.action === 'stage') &&
      !finishing.has(`${s.member}\0${s.action}`),
  );
}
