/**
 * The plan engine shared by `versiond plan` and the controller's `GET /v1/plan`: one
 * revision, one observed snapshot, the previous status, one instant → a PlanReport. Pure, so
 * the page a reviewer opens and the command a PR job runs cannot decide differently.
 */
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { ApprovalTrust } from '../../reconcilers/model/approval-trust.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { planTargets } from '../../reconcilers/plan-targets.ts';
import type { DesiredState } from '../desired/load-desired-state.ts';
import { diffDesired } from './desired-diff.ts';
import { targetReport, type PlanReport, type PreviousStatusSource } from './plan-report.ts';

export interface PlanInput {
  readonly state: DesiredState;
  /** The revision a pull request goes to: its changes are listed. */
  readonly base?: DesiredState | undefined;
  readonly observed: Observed;
  /** Where the observations came from (a file, a URL), null for none. */
  readonly observedSource: string | null;
  readonly agents: number;
  readonly previous: ReadonlyMap<TargetId, TargetStatus>;
  readonly previousStatus: PreviousStatusSource;
  readonly now: number;
  readonly consoleId?: string | undefined;
  readonly approvalTrust: ReadonlyMap<TargetId, ApprovalTrust>;
}

export function makePlanReport(input: PlanInput): PlanReport {
  const { state, base } = input;
  const plans = planTargets({
    approvalTrust: input.approvalTrust,
    objects: state.objects,
    releases: new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release')),
    revision: state.revision,
    observed: input.observed,
    previous: input.previous,
    unusable: state.unusable,
    now: input.now,
    ...(input.consoleId !== undefined ? { consoleId: input.consoleId } : {}),
  });
  return {
    revision: state.revision,
    base: base?.revision ?? null,
    source: state.source,
    now: new Date(input.now).toISOString().replace('.000Z', 'Z'),
    observed: { source: input.observedSource, agents: input.agents },
    previousStatus: input.previousStatus,
    changes: base ? diffDesired(base.objects, state.objects) : [],
    targets: plans.map(targetReport),
  };
}
