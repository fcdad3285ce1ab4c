/**
 * `GET /v1/plan?rev=REV`: what a branch, tag or pull-request ref would do against what the
 * agents report now — `versiond plan` run inside the controller, with the same engine
 * (make-plan.ts), the previous status committed on the status branch (never the process's
 * memory) and the approvals judged as `run` judges them. One plan at a time: a plan is a
 * full pass over every target, and a page reload must not queue up unbounded work.
 */
import type { Observed } from '../../reconcilers/observed.ts';
import type { Diagnostic } from '../desired/diagnostics.ts';
import { DesiredStateLoader, type DesiredState } from '../desired/load-desired-state.ts';
import { GitTreeSource } from '../desired/git-tree-source.ts';
import { TreeListingCache } from '../desired/tree-listing-cache.ts';
import { RevisionError, resolveRevision } from '../git/resolve-revision.ts';
import { makePlanReport } from '../plan/make-plan.ts';
import type { PlanReport } from '../plan/plan-report.ts';
import { readStatusesAt } from '../status/read-statuses.ts';
import type { ApprovalTrustCache } from '../trust/approval-trust.ts';

export type RefPlan =
  | { readonly ok: true; readonly report: PlanReport }
  | {
    readonly ok: false;
    readonly status: 400 | 404 | 422 | 503;
    readonly error: string;
    readonly message: string;
    readonly diagnostics?: readonly Diagnostic[];
  };

export interface RefPlannerOptions {
  readonly gitdir: string;
  /** Where status is committed: the previous status of every target is read at its head. */
  readonly statusBranch: string;
  readonly approvals: ApprovalTrustCache;
  readonly consoleId?: string;
}

/** Plans waiting behind the one running, at most: more are refused with 503 rather than queued. */
const MAX_WAITING = 4;

export class RefPlanner {
  private readonly loader = new DesiredStateLoader();
  private readonly trees = new TreeListingCache();
  private readonly objectCache = {};
  private chain: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly options: RefPlannerOptions) {}

  plan(rev: string, live: { observed: Observed; agents: number; base: DesiredState | undefined; now: number }):
    Promise<RefPlan> {
    if (rev === '' || rev.length > 256 || /[\0-\x1f\x7f]/.test(rev)) {
      return Promise.resolve({
        ok: false, status: 400, error: 'BAD_REVISION',
        message: 'rev must be a branch, tag or commit id (1–256 printable characters)',
      });
    }
    if (this.waiting >= MAX_WAITING) {
      return Promise.resolve({
        ok: false, status: 503, error: 'BUSY', message: `${MAX_WAITING} plans are already waiting`,
      });
    }
    this.waiting++;
    const run = this.chain.then(() => this.planNow(rev, live)).finally(() => this.waiting--);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async planNow(
    rev: string,
    live: { observed: Observed; agents: number; base: DesiredState | undefined; now: number },
  ): Promise<RefPlan> {
    const { gitdir } = this.options;
    let oid: string;
    try {
      oid = await resolveRevision(gitdir, rev, this.objectCache);
    } catch (err) {
      if (err instanceof RevisionError) {
        return { ok: false, status: 404, error: 'REVISION_NOT_FOUND', message: err.message };
      }
      throw err;
    }
    const state = await this.loader.load(new GitTreeSource(gitdir, oid, this.trees, this.objectCache));
    if (!state.valid) {
      const errors = state.diagnostics.filter((d) => d.severity === 'error');
      return {
        ok: false, status: 422, error: 'REVISION_INVALID', diagnostics: errors,
        message: `${rev} (${oid.slice(0, 7)}) has ${errors.length} error(s): the controller would not act on it`,
      };
    }
    let statusHead: string | null = null;
    try {
      statusHead = await resolveRevision(gitdir, `refs/heads/${this.options.statusBranch}`, this.objectCache);
    } catch (err) {
      if (!(err instanceof RevisionError)) throw err;
    }
    const read = statusHead === null
      ? { statuses: new Map(), skipped: [] }
      : await readStatusesAt(gitdir, statusHead, this.objectCache);
    const report = makePlanReport({
      state,
      base: live.base,
      observed: live.observed,
      observedSource: 'the controller (live)',
      agents: live.agents,
      previous: read.statuses,
      previousStatus: {
        from: 'status-from',
        revision: statusHead,
        targets: [...read.statuses.keys()].filter((t) => !t.startsWith('source/')).length,
        skipped: read.skipped,
      },
      now: live.now,
      consoleId: this.options.consoleId,
      approvalTrust: await this.options.approvals.forRevision(state.objects, gitdir, state.revision),
    });
    return { ok: true, report };
  }
}
