/**
 * What the controller found out, from Git history and the approvers file, about who really
 * added each approval of a target (issue 13, item 2). Computed by the I/O shell
 * (`controller/trust/approval-provenance.ts`); the governance step only reads it, so `plan`
 * and `run` honour exactly the same approvals.
 */
export interface ApprovalVerdict {
  readonly verified: boolean;
  /** Why not: `the commit adding it (1a2b3c4) is not signed`, `bob@example.com authored the change (…)`. */
  readonly reason?: string;
  /** The commit that introduced the approval, when found. */
  readonly commit?: string;
}

/**
 * `verify`: one verdict per entry of `spec.rollout.approvals`, same order; a missing verdict
 * (history not read, a folder source) is not a yes. `as-written`: approvals count as typed —
 * only when an admin said so (`--insecure-unverified-approvals`), and status says so.
 * No trust at all (undefined): no approval counts.
 */
export type ApprovalTrust =
  | { readonly mode: 'as-written' }
  | { readonly mode: 'verify'; readonly verdicts: readonly (ApprovalVerdict | undefined)[] };

const NOT_READ = 'its history was not read (no Git revision to verify it in)';

export const NO_APPROVERS = 'versiond runs without an approvers file (--approvers) to verify it against';

/** The verdict on approval `index`, as the gate reads it. */
export function verdictOn(trust: ApprovalTrust | undefined, index: number): ApprovalVerdict {
  if (trust === undefined) return { verified: false, reason: NO_APPROVERS };
  if (trust.mode === 'as-written') return { verified: true };
  return trust.verdicts[index] ?? { verified: false, reason: NOT_READ };
}
