/**
 * The safe point of a rollout (issue 8: pause "at the next safe point, never in the middle of
 * an HA server update"; freezes and windows let "a member already being updated finish"),
 * shared by the maintenance window, the change freeze and pause: what each may hold is
 * decided by ONE table, disruptive.ts. A step `finishing` an update the servers report being
 * in the middle of (a UMS cluster in update mode) goes on; everything else waits.
 *
 * A command already delivered and running is never re-sent by a reconciler (its result is
 * `running`), so holding a command never interrupts anything under way.
 */
import type { Command } from '../contract.ts';
import { disruptionOf, type Disruption } from './disruptive.ts';
import type { GovernanceContext } from './step.ts';

/**
 * Members finishing their update in this pass, in status order: those sent a `finishing`
 * command, and those being updated (`Updating`) with no new command whose agent reports a
 * command still running — the ones a pause or a freeze lets finish.
 */
export function finishingMembers(ctx: GovernanceContext, d: Disruption): string[] {
  const starting = new Set<string>();
  const finishing = new Set<string>();
  for (const c of ctx.inner.commands) (d.treat(c) === 'finishing' ? finishing : starting).add(c.member);
  return ctx.inner.status.members
    .filter(
      (m) =>
        finishing.has(m.name) ||
        (ctx.inProgress.has(m.name) &&
          !starting.has(m.name) &&
          ctx.observed.agents.get(m.agent)?.results.some((r) => r.status === 'running') === true),
    )
    .map((m) => m.name);
}

/** `ums-1`, `ums-1 and ums-2`, `a, b, c and 7 more`: bounded, for messages about a million devices. */
export function listNames(names: readonly string[], max = 3): string {
  if (names.length <= 1) return names[0] ?? '';
  if (names.length <= max) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** A target with nothing left to do is not governed: its status stays as the reconciler made it. */
export function nothingToDo(ctx: GovernanceContext): boolean {
  return ctx.inner.plan.length === 0 && ctx.inner.commands.length === 0;
}

/**
 * Whether the plan still has a step the control would hold (not one done by a person or a
 * device, not one finishing an update): `disruptive` ones, and downloads too unless
 * `exceptDownloads` (a window lets downloads go on).
 */
export function holdableLeft(ctx: GovernanceContext, d: Disruption, exceptDownloads: boolean): boolean {
  return ctx.inner.plan.some((s) => {
    if (s.performedBy !== undefined) return false;
    const t = d.treat(s);
    return t === 'disruptive' || (t === 'download' && !exceptDownloads);
  });
}

/**
 * Calls `hold` for each command a control holds: every one but `finishing` ones, and, when
 * `exceptDownloads`, but downloads.
 */
export function forEachHeld(
  ctx: GovernanceContext,
  d: Disruption,
  exceptDownloads: boolean,
  hold: (c: Command) => void,
): void {
  for (const c of ctx.inner.commands) {
    const t = d.treat(c);
    if (t === 'finishing' || (t === 'download' && exceptDownloads)) continue;
    hold(c);
  }
}

/**
 * Whether a command that would finish a mid-update cluster is held because the servers did not
 * report enough to tell (the message then says what is missing). False at once for kinds with
 * nothing that finishes: an account of a million devices is not scanned twice.
 */
export function heldForUnknown(ctx: GovernanceContext, d: Disruption): boolean {
  if (!d.mayFinish) return false;
  return ctx.inner.commands.some(
    (c) => d.couldFinish(c) && d.treat(c) !== 'finishing' && d.midUpdate()?.status === 'unknown',
  );
}

/** `; cannot tell whether the cluster is mid-update: no mode reported by ums-2` when that decided a hold. */
export function unknownSuffix(ctx: GovernanceContext, d: Disruption): string {
  if (!heldForUnknown(ctx, d)) return '';
  const a = d.midUpdate();
  return a?.status === 'unknown' ? `; ${a.message}` : '';
}

export { disruptionOf };
