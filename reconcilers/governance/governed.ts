import { conditionsFor } from '../conditions.ts';
import type {
  Blocker,
  Command,
  DesiredInput,
  MemberStatus,
  Phase,
  PlanStep,
  ReconcileResult,
  Reconciler,
  TargetStatus,
} from '../contract.ts';
import { reasonDef } from '../engine/reasons.ts';
import type { Kind, RolloutPolicy } from '../model/desired.ts';
import { GOVERNANCE_CATALOGUE } from './reasons.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';
import type { Observed } from '../observed.ts';
import { newWithheld, waveHold, type WaveHold, type Withheld } from './wave-hold.ts';
import { WAVES_STEP_NAME } from './waves.ts';
import { heldStep, waitingMember } from './held-shapes.ts';

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
export function governed<K extends Kind>(
  kind: K,
  reconcile: Reconciler<K>,
  steps: readonly GovernanceStep[],
  waveHold?: WaveHoldSupport<K>,
): Reconciler<K> {
  const mine = steps.filter((s) => s.kinds.includes(kind));
  if (mine.length === 0) return reconcile;
  return (desired, observed, previous, now) => {
    const policy = (desired.object.spec as { rollout?: RolloutPolicy }).rollout;
    if (waveHold !== undefined && policy?.waves !== undefined) {
      const fast = underWaveHold(waveHold, mine, desired, observed, previous, now, policy);
      waveHold.onResult?.(fast !== undefined);
      if (fast !== undefined) return fast;
    }
    const inner = reconcile(desired, observed, previous, now);
    const ctx: GovernanceContext = { desired, observed, previous, now, inner, policy, inProgress: updating(inner) };
    const verdicts: [string, GovernanceVerdict][] = [];
    for (const step of mine) {
      const v = step.decide(ctx);
      if (v !== undefined) verdicts.push([step.name, v]);
    }
    return verdicts.length === 0 ? inner : merge(inner, verdicts, previous?.conditions, now);
  };
}

/** A kind whose reconciler can be told the open wave (wave-hold.ts): the Account. */
export interface WaveHoldSupport<K extends Kind> {
  /** How many wave members the waves step will find, from desired state alone. */
  members(desired: DesiredInput<K>): number;
  reconcile(
    desired: DesiredInput<K>,
    observed: Observed,
    previous: TargetStatus | undefined,
    now: number,
    hold: { readonly hold: WaveHold; readonly withheld: Withheld },
  ): ReconcileResult;
  /** Told whether the hint held (tests, benchmarks). */
  onResult?(accepted: boolean): void;
}

function updating(inner: ReconcileResult): Set<string> {
  const out = new Set<string>();
  for (const m of inner.status.members) if (m.state === 'Updating') out.add(m.name);
  return out;
}

/**
 * The pass with the open wave told to the reconciler, or undefined when the hint cannot be
 * used or did not hold. Used only while waves are the one control that decides anything (every
 * other step idle: nothing declared, no mandatory version in the way), and kept only when the
 * waves step, on this very result, finds the hinted wave rolling out: then the withheld
 * applies are exactly the commands it would have held, and the result is the one the plain
 * path gives (test/governance/wave-hold.test.ts compares them). The hint is the current wave
 * of the previous status in Git, else the first.
 */
function underWaveHold<K extends Kind>(
  support: WaveHoldSupport<K>,
  steps: readonly GovernanceStep[],
  desired: DesiredInput<K>,
  observed: Observed,
  previous: TargetStatus | undefined,
  now: number,
  policy: RolloutPolicy,
): ReconcileResult | undefined {
  const wavesStep = steps.find((s) => s.name === WAVES_STEP_NAME);
  const others = steps.filter((s) => s !== wavesStep);
  if (wavesStep === undefined || policy.waves === undefined) return undefined;
  // A control declared in spec.rollout (a window, a freeze, a pause) ends it before any work:
  // such an account would otherwise be reconciled twice on every pass.
  if (!others.every((s) => s.idle !== undefined && s.idle.byPolicy?.(policy) !== false)) return undefined;
  const members = support.members(desired);
  const hold = waveHold(policy.waves.steps, members, previousWave(previous));
  if (hold === undefined) return undefined;
  const withheld = newWithheld(members);
  const inner = support.reconcile(desired, observed, previous, now, { hold, withheld });
  const inProgress = updating(inner);
  const ctx: GovernanceContext = { desired, observed, previous, now, inner, policy, inProgress, withheld };
  if (!others.every((s) => s.idle!.byResult?.(ctx) !== false)) return undefined;
  const verdict = wavesStep.decide(ctx);
  if (withheld.count === 0) {
    return verdict === undefined ? inner : merge(inner, [[wavesStep.name, verdict]], previous?.conditions, now);
  }
  const details = verdict?.details as { state?: unknown; current?: unknown } | undefined;
  if (details?.state !== 'rolling-out' || details.current !== hold.current + 1) return undefined;
  return merge(inner, [[wavesStep.name, verdict!]], previous?.conditions, now, withheld);
}

/** The current wave (0-based) the previous status in Git records, else the first. */
function previousWave(previous: TargetStatus | undefined): number {
  const rollout = previous?.details?.['rollout'] as Record<string, unknown> | undefined;
  const current = (rollout?.[WAVES_STEP_NAME] as { current?: unknown } | undefined)?.current;
  return typeof current === 'number' && Number.isInteger(current) && current >= 1 ? current - 1 : 0;
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

function merge(
  inner: ReconcileResult,
  verdicts: readonly [string, GovernanceVerdict][],
  previous: Parameters<typeof conditionsFor>[3],
  now: number,
  withheld?: Withheld,
): ReconcileResult {
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
          return waitingMemberOf(m, b.message);
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
  // Applies withheld under a wave hold count as held commands; they come after any held here
  // (a current wave's, in member order before later waves').
  const withheldCount = withheld?.count ?? 0;
  const wanted = inner.commands.length + withheldCount;
  if (phase === 'Progressing' && wanted > 0 && commands.length === 0 && holds.size + withheldCount > 0) {
    const first = holds.size > 0 ? (holds.values().next().value as Blocker) : withheld!.first!;
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

function blockedStep(step: PlanStep, blockedBy: Blocker): PlanStep {
  return heldStep(step.target, step.member, step.action, blockedBy, step.version, step.performedBy);
}

function waitingMemberOf(m: MemberStatus, message: string): MemberStatus {
  return waitingMember(m.name, m.agent, m.role, m.desired, m.observed, message);
}
