import { conditionsFor } from '../conditions.ts';
import type { Blocker, Command, MemberStatus, Phase, PlanStep, ReconcileResult, Reconciler } from '../contract.ts';
import { reasonDef } from '../engine/reasons.ts';
import type { Kind, RolloutPolicy } from '../model/desired.ts';
import { GOVERNANCE_CATALOGUE } from './reasons.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';

/**
 * Most severe first, as in the engine's fold (reconcilers/engine/fold.ts): a failure or a halt
 * a person must clear outranks a pause, a pause outranks a wait, a wait outranks work moving
 * (governance holds it: what is left is the wait), and anything outranks Converged. Ties keep
 * the reconciler's phase, then the first step's in step order.
 */
const SEVERITY: readonly Phase[] = ['Failed', 'Blocked', 'Paused', 'Waiting', 'Progressing', 'Converged'];

/** The phase a governance reason gives, from the catalogue: a reason not catalogued is a bug. */
function phaseOf(reason: string): Phase {
  return reasonDef(GOVERNANCE_CATALOGUE, reason).phase;
}

/**
 * A kind's reconciler with the reviewers' controls applied after it (issue 8): the steps run
 * in order on what the reconciler wants, and their verdicts are merged —
 *
 *   commands   the reconciler's, minus every command some step holds;
 *   plan       held steps become not runnable, blocked by the step's reason;
 *   members    a held member that has not finished says why it waits;
 *   phase      the most severe (SEVERITY) of the reconciler's and of each verdict's, a
 *              verdict's phase being its reason's in the catalogue (reasons.ts), with
 *              conditions to match;
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
    const inProgress = new Set<string>();
    for (const m of inner.status.members) if (m.state === 'Updating') inProgress.add(m.name);
    const ctx: GovernanceContext = { desired, observed, previous, now, inner, policy, inProgress };
    const verdicts: [string, GovernanceVerdict][] = [];
    for (const step of mine) {
      const v = step.decide(ctx);
      if (v !== undefined) verdicts.push([step.name, v]);
    }
    return verdicts.length === 0 ? inner : merge(inner, verdicts, previous?.conditions, now);
  };
}

/** Maps of several verdicts merged (first wins), or the one verdict's map itself: an account of a million devices must not copy them. */
function union<K, V>(maps: readonly (ReadonlyMap<K, V> | undefined)[]): ReadonlyMap<K, V> {
  const present = maps.filter((m): m is ReadonlyMap<K, V> => m !== undefined && m.size > 0);
  if (present.length === 0) return new Map();
  if (present.length === 1) return present[0]!;
  const out = new Map<K, V>();
  for (const m of present) for (const [k, v] of m) if (!out.has(k)) out.set(k, v);
  return out;
}

function merge(inner: ReconcileResult, verdicts: readonly [string, GovernanceVerdict][], previous: Parameters<typeof conditionsFor>[3], now: number): ReconcileResult {
  const holds = union(verdicts.map(([, v]) => v.holds));
  const heldMembers = union(verdicts.map(([, v]) => v.heldMembers));
  const commands = holds.size === 0 ? inner.commands : inner.commands.filter((c) => !holds.has(c.id));
  // Members whose command was held in this very pass: the reconciler marked them `Updating`
  // as it sent it, but nothing was sent. Keyed by member (no string building per command);
  // the rare member with two held commands keeps them per action.
  const heldNow = new Map<string, Command>();
  const heldMulti = new Map<string, Map<string, Blocker>>();
  if (holds.size > 0) {
    for (const c of inner.commands) {
      const b = holds.get(c.id);
      if (b === undefined) continue;
      const first = heldNow.get(c.member);
      if (first === undefined) heldNow.set(c.member, c);
      else {
        let multi = heldMulti.get(c.member);
        if (!multi) heldMulti.set(c.member, (multi = new Map([[first.action, holds.get(first.id)!]])));
        multi.set(c.action, b);
      }
    }
  }
  const heldStep = (member: string, action: string): Blocker | undefined => {
    const multi = heldMulti.get(member);
    if (multi) return multi.get(action);
    const c = heldNow.get(member);
    return c !== undefined && c.action === action ? holds.get(c.id) : undefined;
  };
  const whyWaits = (member: string): Blocker | undefined => {
    const b = heldMembers.get(member);
    if (b !== undefined) return b;
    const c = heldNow.get(member);
    return c === undefined ? undefined : holds.get(c.id);
  };
  const plan: PlanStep[] =
    heldNow.size === 0 && heldMembers.size === 0
      ? (inner.plan as PlanStep[])
      : inner.plan.map((step) => {
          const b = heldStep(step.member, step.action) ?? (step.runnable ? undefined : whyWaits(step.member));
          if (b === undefined || (!step.runnable && step.blockedBy?.category === 'stalled')) return step;
          return blockedStep(step, b);
        });
  const members: MemberStatus[] =
    heldNow.size === 0 && heldMembers.size === 0
      ? (inner.status.members as MemberStatus[])
      : inner.status.members.map((m) => {
          if (m.state === 'Updated' || m.state === 'Ahead' || m.state === 'Failed') return m;
          const b = whyWaits(m.name);
          if (b === undefined) return m;
          if (m.state === 'Updating' && !heldNow.has(m.name)) return m; // under way: it finishes
          return waitingMember(m, b.message);
        });

  let phase = inner.status.phase;
  let reason: string | undefined;
  let message: string | undefined;
  for (const [, v] of verdicts) {
    if (v.reason === undefined) continue;
    const p = phaseOf(v.reason);
    if (SEVERITY.indexOf(p) < SEVERITY.indexOf(phase)) {
      phase = p;
      reason = v.reason;
      message = v.message;
    }
  }
  // Holding every command of a progressing target leaves it waiting (or whatever its first hold's reason says).
  if (phase === 'Progressing' && inner.commands.length > 0 && commands.length === 0 && holds.size > 0) {
    const first = holds.values().next().value as Blocker;
    phase = phaseOf(first.reason);
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

// Built field by field rather than by spread: an account of 100,000 devices makes 300,000 of
// these per pass, and a literal of known shape is an order of magnitude cheaper to build.

function blockedStep(step: PlanStep, blockedBy: Blocker): PlanStep {
  const out: { -readonly [K in keyof PlanStep]: PlanStep[K] } = { target: step.target, member: step.member, action: step.action, runnable: false, blockedBy };
  if (step.version !== undefined) out.version = step.version;
  if (step.performedBy !== undefined) out.performedBy = step.performedBy;
  return out;
}

function waitingMember(m: MemberStatus, message: string): MemberStatus {
  const out: { -readonly [K in keyof MemberStatus]: MemberStatus[K] } = { name: m.name, agent: m.agent, role: m.role, desired: m.desired, state: 'Waiting', message };
  if (m.observed !== undefined) out.observed = m.observed;
  return out;
}
