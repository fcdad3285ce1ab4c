/**
 * The approval trust of every target of a revision, for the reconcilers (`run`) and for
 * `plan`/`validate`: one call, the same answer everywhere. Only targets with approvals cost a
 * history walk; verdicts are remembered per (revision, file, approvals) across passes.
 */
import type { ApprovalTrust } from '../../reconcilers/model/approval-trust.ts';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';
import type { AllowedSigners } from './allowed-signers.ts';
import { verifyApprovals } from './approval-provenance.ts';

/** How approvals are judged: against an approvers file, as written (an explicit opt-out), or not at all. */
export type ApprovalPolicy =
  | { readonly mode: 'verify'; readonly approvers: AllowedSigners }
  | { readonly mode: 'as-written' }
  | { readonly mode: 'none' };

export class ApprovalTrustCache {
  private readonly remembered = new Map<string, ApprovalTrust>();
  private readonly gitCache: object = {};

  constructor(private readonly policy: ApprovalPolicy) {}

  /**
   * Trust per target that has approvals. `gitdir`/`revision` undefined (a folder source): no
   * history, so in verify mode nothing is verified.
   */
  async forRevision(
    objects: readonly AnyDesiredObject[], gitdir: string | undefined, revision: string | null,
  ): Promise<Map<TargetId, ApprovalTrust>> {
    const out = new Map<TargetId, ApprovalTrust>();
    const seen = new Set<string>();
    for (const o of objects) {
      const approvals = (o.spec as { rollout?: { approvals?: readonly unknown[] } }).rollout?.approvals;
      if (approvals === undefined || approvals.length === 0) continue;
      const id = targetId(o.kind, o.metadata.name);
      if (this.policy.mode === 'none') continue;
      if (this.policy.mode === 'as-written') {
        out.set(id, { mode: 'as-written' });
        continue;
      }
      if (gitdir === undefined || revision === null) {
        out.set(id, { mode: 'verify', verdicts: [] });
        continue;
      }
      const key = `${revision}\0${o.source.path}\0${JSON.stringify(approvals)}`;
      seen.add(key);
      let trust = this.remembered.get(key);
      if (trust === undefined) {
        const verdicts = await verifyApprovals({
          gitdir, revision, path: o.source.path, approvals: approvals as never, approvers: this.policy.approvers,
          cache: this.gitCache,
        });
        trust = { mode: 'verify', verdicts };
        this.remembered.set(key, trust);
      }
      out.set(id, trust);
    }
    // Only the current revision's verdicts are kept: memory does not grow with history.
    for (const k of this.remembered.keys()) if (!seen.has(k)) this.remembered.delete(k);
    return out;
  }
}
