import type { ReconcileResult, Reconciler, TargetStatus } from './contract.ts';
import type { ApprovalTrust } from './model/approval-trust.ts';
import type { AnyDesiredObject, Kind } from './model/desired.ts';
import { targetId, type TargetId } from './model/identity.ts';
import type { ReleaseIndex } from './model/release-index.ts';
import type { Observed } from './observed.ts';
import { RECONCILERS, TARGET_KINDS } from './registry.ts';

export type TargetPlan =
  | { readonly target: TargetId; readonly kind: Kind; readonly path: string; readonly outcome: 'planned'; readonly result: ReconcileResult }
  | { readonly target: TargetId; readonly kind: Kind; readonly path: string; readonly outcome: 'unusable'; readonly reasons: readonly string[] }
  | { readonly target: TargetId; readonly kind: Kind; readonly path: string; readonly outcome: 'no-reconciler' };

/**
 * Runs every target's reconciler on one revision and one observed snapshot: what the
 * controller would do now. Pure, like the reconcilers it calls.
 */
export function planTargets(input: {
  readonly objects: readonly AnyDesiredObject[];
  readonly releases: ReleaseIndex;
  readonly revision: string | null;
  readonly observed: Observed;
  readonly previous: ReadonlyMap<TargetId, TargetStatus>;
  readonly unusable: ReadonlyMap<TargetId, readonly string[]>;
  readonly now: number;
  /** The console this controller runs as (seed 002 schedules). */
  readonly consoleId?: string;
  /** Who really added each target's approvals (issue 13); a target absent here has none that count. */
  readonly approvalTrust?: ReadonlyMap<TargetId, ApprovalTrust>;
}): TargetPlan[] {
  const out: TargetPlan[] = [];
  for (const object of input.objects) {
    if (!TARGET_KINDS.includes(object.kind)) continue;
    const target = targetId(object.kind, object.metadata.name);
    const base = { target, kind: object.kind, path: object.source.path };
    const reasons = input.unusable.get(target);
    if (reasons) {
      out.push({ ...base, outcome: 'unusable', reasons });
      continue;
    }
    const reconcile = RECONCILERS[object.kind] as Reconciler<Kind> | undefined;
    if (!reconcile) {
      out.push({ ...base, outcome: 'no-reconciler' });
      continue;
    }
    const trust = input.approvalTrust?.get(target);
    const desired = {
      object, releases: input.releases, revision: input.revision,
      ...(input.consoleId !== undefined ? { consoleId: input.consoleId } : {}),
      ...(trust !== undefined ? { approvalTrust: trust } : {}),
    };
    const result = reconcile(desired, input.observed, input.previous.get(target), input.now);
    out.push({ ...base, outcome: 'planned', result });
  }
  return out;
}
