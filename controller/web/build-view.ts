/**
 * Builds the web view's answers from what the loop derived: each target's last status and
 * plan, the declaring file, and the agents' reports. Pure: the caller passes everything,
 * including `now`, so the view of a restarted controller is the view of a long-running one.
 */
import { speakingCondition } from '../../reconcilers/conditions.ts';
import type { PlanStep, TargetStatus } from '../../reconcilers/contract.ts';
import type { AnyDesiredObject, Kind } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { AgentObservation } from '../../reconcilers/observed.ts';
import { TARGET_KINDS } from '../../reconcilers/registry.ts';
import { stepState } from '../plan/plan-report.ts';
import type {
  Blocking, FleetView, MemberRow, StepRow, TargetDetail, TargetRow, WaveApproval, WaveRow, WavesView,
} from './view-model.ts';

/** What a view is built from, for one target. */
export interface TargetSources {
  readonly target: TargetId;
  readonly object: AnyDesiredObject;
  readonly status: TargetStatus | undefined;
  /** Undefined before the target's first reconcile in this process. */
  readonly plan: readonly PlanStep[] | undefined;
}

/** Reasons that wait for a reviewer: the rollout moves only once a person approves. */
const APPROVAL_REASONS = new Set(['AwaitingApproval', 'ApprovalOutdated', 'ApprovalUnverified']);

export function targetRow({ target, object, status, plan }: TargetSources): TargetRow {
  const base = { target, kind: object.kind, name: object.metadata.name, path: object.source.path };
  if (status === undefined) {
    return {
      ...base, phase: 'Pending', reason: null, message: null, summary: 'not reconciled yet',
      progress: { done: 0, total: 0 }, revision: null, since: null, attention: 'controller', blockedBy: null,
    };
  }
  const speaking = speakingCondition(status.conditions);
  const blockedBy = blockingOf(status, plan ?? []);
  return {
    ...base,
    phase: status.phase,
    reason: speaking?.reason ?? null,
    message: speaking?.message ?? null,
    summary: status.summary,
    progress: { done: status.members.filter((m) => m.state === 'Updated').length, total: status.members.length },
    revision: status.observedRevision,
    since: speaking?.lastTransitionTime ?? null,
    attention: needsPerson(status, plan ?? []) ? 'person' : 'controller',
    blockedBy,
  };
}

export function targetDetail(
  sources: TargetSources,
  observations: ReadonlyMap<string, AgentObservation>,
): TargetDetail {
  const row = targetRow(sources);
  const { status } = sources;
  const members: MemberRow[] = (status?.members ?? []).map((m) => {
    const seen = observations.get(m.agent);
    return {
      name: m.name, agent: m.agent, role: m.role, desired: m.desired, observed: m.observed ?? null, state: m.state,
      message: m.message ?? null, online: seen === undefined ? null : seen.online, lastReport: seen?.lastSeen ?? null,
    };
  });
  const { rollout, ...details } = status?.details ?? {};
  return {
    ...row,
    conditions: status?.conditions ?? [],
    members,
    steps: (sources.plan ?? []).map(stepRow),
    waves: wavesView(rollout, sources.target, row.path),
    reminders: status?.reminders ?? [],
    rolloutStartedAt: status?.rolloutStartedAt ?? null,
    details,
  };
}

/** The fleet, persons-must-act first; within each group by kind (the order of the registry), then name. */
export function fleetView(
  rows: readonly TargetRow[],
  meta: { revision: string | null; now: number; online: number; known: number },
): FleetView {
  const kindOrder = (k: Kind) => TARGET_KINDS.indexOf(k);
  const sorted = [...rows].sort((a, b) =>
    (a.attention === b.attention ? 0 : a.attention === 'person' ? -1 : 1)
    || kindOrder(a.kind) - kindOrder(b.kind)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    revision: meta.revision,
    generatedAt: new Date(meta.now).toISOString(),
    agents: { online: meta.online, known: meta.known },
    targets: sorted,
  };
}

function stepRow(step: PlanStep): StepRow {
  return {
    member: step.member,
    action: step.action,
    version: step.version ?? null,
    state: stepState(step) as StepRow['state'],
    reason: step.blockedBy?.reason ?? null,
    message: step.blockedBy?.message ?? null,
  };
}

function blockingOf(status: TargetStatus, plan: readonly PlanStep[]): Blocking | null {
  const held = plan.find((s) => !s.runnable && s.blockedBy !== undefined)?.blockedBy;
  if (held !== undefined) return { category: held.category, reason: held.reason, message: held.message };
  const stalled = status.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled !== undefined) return { category: 'stalled', reason: stalled.reason, message: stalled.message };
  if (status.phase !== 'Waiting' && status.phase !== 'Blocked' && status.phase !== 'Paused') return null;
  const speaking = speakingCondition(status.conditions);
  if (speaking === undefined) return null;
  return {
    category: status.phase === 'Blocked' ? 'stalled' : 'waiting',
    reason: speaking.reason,
    message: speaking.message,
  };
}

/** A person must act: something stalled or failed, an approval is awaited, or a step is done by hand. */
function needsPerson(status: TargetStatus, plan: readonly PlanStep[]): boolean {
  if (status.phase === 'Failed' || status.phase === 'Blocked') return true;
  if (status.conditions.some((c) => c.type === 'Stalled' && c.status === 'True')) return true;
  if (status.conditions.some((c) => c.status === 'True' && APPROVAL_REASONS.has(c.reason))) return true;
  return plan.some((s) => s.blockedBy?.category === 'stalled' || APPROVAL_REASONS.has(s.blockedBy?.reason ?? '')
    || (s.runnable && s.performedBy === 'operator'));
}

/** `status.details.rollout.waves` as the page draws it, with the approval to paste for each gate still shut. */
function wavesView(rollout: unknown, target: TargetId, path: string): WavesView | null {
  const waves = record(record(rollout)?.['waves']);
  if (waves === undefined || !Array.isArray(waves['waves'])) return null;
  const rows: WaveRow[] = waves['waves'].flatMap((raw): WaveRow[] => {
    const w = record(raw);
    if (w === undefined || typeof w['number'] !== 'number') return [];
    return [{
      number: w['number'],
      size: num(w['size']),
      state: str(w['state']) ?? 'unknown',
      members: strings(w['members']),
      versions: strings(w['versions']),
      updated: num(w['updated']),
      updating: num(w['updating']),
      // The waves step records a failed member with the agent's reason: `{ member, message }`.
      failed: Array.isArray(w['failed'])
        ? w['failed'].flatMap((x) => str(record(x)?.['member']) ?? str(x) ?? []) : [],
      approval: approvalOf(record(w['approval']), w['number'], target, path),
    }];
  });
  return {
    role: str(waves['role']) ?? 'member',
    current: typeof waves['current'] === 'number' ? waves['current'] : null,
    state: str(waves['state']) ?? 'unknown',
    waves: rows,
    stragglers: strings(waves['stragglers']),
  };
}

function approvalOf(a: Record<string, unknown> | undefined, wave: number, target: TargetId, path: string):
  WaveApproval | null {
  const digest = str(a?.['digest']);
  if (a === undefined || digest === undefined) return null;
  return {
    required: a['required'] === true,
    digest,
    approved: a['approved'] === true,
    snippet: approvalSnippet(wave, digest, target, path),
  };
}

/**
 * The approval a reviewer pastes into the target's file, in the shape `validate` and the
 * governance step read (`spec.rollout.approvals`). `by` is the address the reviewer's
 * signing key is listed under in the approvers file: the controller cannot know it.
 */
export function approvalSnippet(wave: number, digest: string, target: TargetId, path: string): string {
  return [
    `# ${path} (${target}): add under spec.rollout.approvals`,
    `- { wave: ${wave}, digest: "${digest}", by: your.name@example.com }`,
  ].join('\n');
}

function record(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}
function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}
function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}
function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
}
