import { speakingCondition } from '../../reconcilers/conditions.ts';
import type { Command, Phase, PlanStep } from '../../reconcilers/contract.ts';
import type { Kind } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { TargetPlan } from '../../reconcilers/plan-targets.ts';
import type { TargetChange } from './desired-diff.ts';

/** What `versiond plan` reports: the JSON output (`schemas/plan.schema.json`), and what text and Markdown render. */
export interface PlanReport {
  readonly revision: string | null;
  readonly base: string | null;
  readonly source: string;
  /** ISO-8601: the instant the plan was computed for (`--now`). */
  readonly now: string;
  /** Where observations came from; `source: null` when nothing was observed (everything is planned from scratch). */
  readonly observed: { readonly source: string | null; readonly agents: number };
  /** Where the previous status came from: `run` gives each reconciler the one committed in Git. */
  readonly previousStatus: PreviousStatusSource;
  readonly changes: readonly TargetChange[];
  readonly targets: readonly TargetReport[];
}

export interface PreviousStatusSource {
  /** `base`/`rev`: that revision's status/ (the default); `status-from`: --status-from; `none`: --no-status. */
  readonly from: 'base' | 'rev' | 'status-from' | 'folder' | 'none';
  /** The commit whose status/ was read; null for a folder or none. */
  readonly revision: string | null;
  /** Targets with a readable previous status (the source status not counted). */
  readonly targets: number;
  /** Status files that could not be read (mangled by hand): their targets are planned as if new. */
  readonly skipped: readonly string[];
}

const STATUS_FROM: Readonly<Record<PreviousStatusSource['from'], string>> = {
  base: ' (the --base revision)',
  rev: ' (the planned revision)',
  'status-from': ' (--status-from)',
  folder: '',
  none: '',
};

/** One line for people: where the previous status came from. */
export function previousStatusText(p: PreviousStatusSource, code: (s: string) => string = (s) => s): string {
  if (p.from === 'none') return 'none (--no-status): every target is planned as if new';
  const dir = code('status/');
  const where = p.revision === null ? `${dir} in the folder` : `${dir} at ${code(p.revision.slice(0, 7))}`;
  const count = p.targets === 0
    ? 'none there: every target is planned as if new'
    : `${p.targets} target${p.targets === 1 ? '' : 's'}`;
  const skipped = p.skipped.length === 0 ? '' : `; unreadable, planned as new: ${p.skipped.map(code).join(', ')}`;
  return `from ${where}${STATUS_FROM[p.from]}, ${count}${skipped}`;
}

export interface TargetReport {
  readonly target: TargetId;
  readonly kind: Kind;
  readonly path: string;
  readonly outcome: TargetPlan['outcome'];
  readonly phase?: Phase;
  readonly reason?: string;
  readonly message?: string;
  readonly summary?: string;
  readonly reminders?: readonly string[];
  readonly requeueAfterMs?: number;
  readonly steps: readonly PlanStep[];
  readonly commands: readonly Command[];
  /** Why the target cannot be planned (outcome `unusable`). */
  readonly reasons?: readonly string[];
  /** The reviewers' controls (issue 8): `status.details.rollout` of the governance steps. */
  readonly rollout?: Readonly<Record<string, unknown>>;
  /** Promotion through the test ring (Account): `status.details.promotion`. */
  readonly promotion?: Readonly<Record<string, unknown>>;
}

export function targetReport(plan: TargetPlan): TargetReport {
  const base = { target: plan.target, kind: plan.kind, path: plan.path, outcome: plan.outcome, steps: [], commands: [] };
  if (plan.outcome === 'unusable') return { ...base, reasons: plan.reasons };
  if (plan.outcome === 'no-reconciler') return base;
  const { status, plan: steps, commands, requeueAfter } = plan.result;
  const speaking = speakingCondition(status.conditions);
  return {
    ...base,
    phase: status.phase,
    ...(speaking ? { reason: speaking.reason, message: speaking.message } : {}),
    summary: status.summary,
    ...(status.reminders && status.reminders.length > 0 ? { reminders: status.reminders } : {}),
    ...(requeueAfter !== undefined ? { requeueAfterMs: requeueAfter } : {}),
    steps,
    commands,
    ...(isRecord(status.details?.['rollout']) ? { rollout: status.details['rollout'] } : {}),
    ...(isRecord(status.details?.['promotion']) ? { promotion: status.details['promotion'] } : {}),
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** How a step reads in a list: `now`, `by hand`, `by device`, `waiting`, `blocked`. */
export function stepState(step: PlanStep): string {
  if (step.runnable) return 'now';
  if (step.performedBy === 'operator') return 'by hand';
  if (step.performedBy === 'device') return 'by device';
  return step.blockedBy?.category === 'stalled' ? 'blocked' : 'waiting';
}

export function formatValue(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
