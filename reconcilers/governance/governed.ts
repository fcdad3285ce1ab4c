import { conditionsFor } from '../conditions.ts';
import type { Blocker, MemberStatus, Phase, PlanStep, ReconcileResult, Reconciler } from '../contract.ts';
import type { Kind, RolloutPolicy } from '../model/desired.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';

/** Most severe first: a halt a person must clear outranks a pause, which outranks a wait. */
const SEVERITY: readonly Phase[] = ['Failed', 'Blocked', 'Paused', 'Waiting', 'Progressing', 'Converged'];

/**
 * A kind's reconciler with the reviewers' controls applied after it (issue 8): the steps run
 * in order on what the reconciler wants, and their verdicts are merged —
 *
 *   commands   the reconciler's, minus every command some step holds;
 *   plan       held steps become not runnable, blocked by the step's reason;
 *   members    a held member that has not finished says why it waits;
 *   phase      the most severe of the reconciler's and the steps' (Failed > Blocked >
 *              Paused > Waiting > Progressing), with conditions to match;
 *   summary    the reconciler's, with the steps' notes (`… (paused)`);
 *   details    the reconciler's, plus `rollout: { <step>: … }`;
 *   requeue    the soonest of all.
 *
 * A target with no `spec.rollout` and no step that applies comes out unchanged, byte for byte.
 */
export function governed<K extends Kind>(kind: K, reconcile: Reconciler<K>, steps: readonly GovernanceStep[]): Reconciler<K> {
  const mine = steps.filter((s) => s.kinds.includes(kind));
  if (mine.length === 0) return reconcile;
  return (desired, observed, previous, now) => {
    const inner = reconcile(desired, observed, previous, now);
    const policy = (desired.object.spec as { rollout?: RolloutPolicy }).rollout;
    const inProgress = new Set(inner.status.members.filter((m) => m.state === 'Updating').map((m) => m.name));
    const ctx: GovernanceContext = { desired, observed, previous, now, inner, policy, inProgress };
    const verdicts: [string, GovernanceVerdict][] = [];
    for (const step of mine) {
      const v = step.decide(ctx);
      if (v !== undefined) verdicts.push([step.name, v]);
    }
    return verdicts.length === 0 ? inner : merge(inner, verdicts, previous?.conditions, now);
  };
}

function merge(inner: ReconcileResult, verdicts: readonly [string, GovernanceVerdict][], previous: Parameters<typeof conditionsFor>[3], now: number): ReconcileResult {
  const holds = new Map<string, Blocker>();
  const heldMembers = new Map<string, Blocker>();
  for (const [, v] of verdicts) {
    for (const [id, b] of v.holds ?? []) if (!holds.has(id)) holds.set(id, b);
    for (const [m, b] of v.heldMembers ?? []) if (!heldMembers.has(m)) heldMembers.set(m, b);
  }
  const commands = inner.commands.filter((c) => !holds.has(c.id));
  // A held command holds its member's plan step and status too.
  const byStep = new Map<string, Blocker>();
  // Members whose command was held in this very pass: the reconciler marked them `Updating`
  // as it sent it, but nothing was sent.
  const heldNow = new Set<string>();
  for (const c of inner.commands) {
    const b = holds.get(c.id);
    if (b === undefined) continue;
    byStep.set(`${c.member}\0${c.action}`, b);
    heldNow.add(c.member);
    if (!heldMembers.has(c.member)) heldMembers.set(c.member, b);
  }
  const plan: PlanStep[] = inner.plan.map((step) => {
    const b = byStep.get(`${step.member}\0${step.action}`) ?? (step.runnable ? undefined : heldMembers.get(step.member));
    if (b === undefined || (!step.runnable && step.blockedBy?.category === 'stalled')) return step;
    return { ...step, runnable: false, blockedBy: b };
  });
  const members: MemberStatus[] = inner.status.members.map((m) => {
    const b = heldMembers.get(m.name);
    if (b === undefined || m.state === 'Updated' || m.state === 'Ahead' || m.state === 'Failed') return m;
    if (m.state === 'Updating' && !heldNow.has(m.name)) return m; // under way: it finishes
    return { ...m, state: 'Waiting', message: b.message };
  });

  let phase = inner.status.phase;
  let reason: string | undefined;
  let message: string | undefined;
  for (const [, v] of verdicts) {
    if (v.phase === undefined) continue;
    if (SEVERITY.indexOf(v.phase) < SEVERITY.indexOf(phase)) {
      phase = v.phase;
      reason = v.reason;
      message = v.message;
    }
  }
  // Holding every command of a progressing target leaves it waiting.
  if (phase === 'Progressing' && inner.commands.length > 0 && commands.length === 0 && holds.size > 0) {
    const first = [...holds.values()][0]!;
    phase = 'Waiting';
    reason = first.reason;
    message = first.message;
  }
  const notes = verdicts.map(([, v]) => v.note).filter((n): n is string => n !== undefined && n !== '');
  const summary = notes.length === 0 ? inner.status.summary : `${inner.status.summary} (${notes.join('; ')})`;
  const conditions =
    reason !== undefined && message !== undefined && phase !== inner.status.phase ? conditionsFor(phase, reason, message, previous, now) : inner.status.conditions;
  const rollout = Object.fromEntries(verdicts.filter(([, v]) => v.details !== undefined).map(([name, v]) => [name, v.details]));
  const details = Object.keys(rollout).length === 0 ? inner.status.details : { ...inner.status.details, rollout };

  let requeueAfter = inner.requeueAfter;
  for (const [, v] of verdicts) {
    if (v.requeueAfter !== undefined && (requeueAfter === undefined || v.requeueAfter < requeueAfter)) requeueAfter = v.requeueAfter;
  }
  return {
    commands,
    plan,
    status: { ...inner.status, phase, conditions, summary, members, ...(details !== undefined ? { details } : {}) },
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
  };
}
