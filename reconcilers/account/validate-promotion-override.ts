import { tryParseVersion, versionsEqual } from '../../protocol/version.ts';
import type { Finding } from '../model/finding.ts';
import { at, type PolicyContext } from '../model/policy-context.ts';

/**
 * `spec.promotion.override` of an Account (issue 8, promotion): it lets one version reach
 * production without the test ring, so it must name a version some release of the account's
 * product has. An override for a version that does not exist (a typo: `4.30` for `4.3.0`)
 * would let nothing through and make reviewers believe it does; and an override on an account
 * without a test ring has nothing to override.
 */
export function promotionOverrides(ctx: PolicyContext): Finding[] {
  const out: Finding[] = [];
  for (const a of ctx.accounts) {
    const override = a.spec.promotion?.override;
    if (override === undefined) continue;
    const field = ['spec', 'promotion', 'override', 'version'];
    const parsed = tryParseVersion(override.version);
    if (!parsed.ok) {
      out.push({ code: 'INVALID_VERSION', data: { value: override.version, reason: parsed.reason }, ...at(a, field) });
      continue;
    }
    const known = ctx.releases.some((r) => r.spec.product === a.spec.product && tryParseVersion(r.spec.version).ok && versionsEqual(r.spec.version, override.version));
    if (!known) out.push({ code: 'PROMOTION_OVERRIDE_UNKNOWN', data: { version: override.version, product: a.spec.product }, ...at(a, field) });
    else if (a.spec.testRing === undefined) out.push({ code: 'PROMOTION_OVERRIDE_WITHOUT_RING', data: {}, ...at(a, ['spec', 'promotion', 'override']) });
  }
  return out;
}
