/**
 * The one reason catalogue of versiond: the reasons every kind and every governance step
 * set, merged. Merging refuses a reason defined twice with different meanings, so a reason
 * reads the same in every kind (a Domain's MemberAhead is an Account's MemberAhead).
 */
import { ACCOUNT_REASONS } from './account/reasons.ts';
import { DISTRIBUTION_SERVER_REASONS } from './distribution-server/reasons.ts';
import { DOMAIN_REASONS } from './domain/reasons.ts';
import { COMMON_REASONS, mergeCatalogues, type ReasonCatalogue } from './engine/reasons.ts';
import { GOVERNANCE_REASONS } from './governance/reasons.ts';
import { HA_CLUSTER_OWN_REASONS } from './ha-cluster/reasons.ts';

export const REASONS: ReasonCatalogue = mergeCatalogues(
  COMMON_REASONS,
  DOMAIN_REASONS,
  ACCOUNT_REASONS,
  DISTRIBUTION_SERVER_REASONS,
  HA_CLUSTER_OWN_REASONS,
  GOVERNANCE_REASONS,
);

/** Where each reason is defined: `common`, a kind, or `governance`. */
export const REASON_OWNERS: ReadonlyMap<string, string> = new Map(
  (
    [
      ['common', COMMON_REASONS],
      ['Domain', DOMAIN_REASONS],
      ['Account', ACCOUNT_REASONS],
      ['DistributionServer', DISTRIBUTION_SERVER_REASONS],
      ['HACluster', HA_CLUSTER_OWN_REASONS],
      ['governance', GOVERNANCE_REASONS],
    ] as const
  ).flatMap(([owner, c]) => Object.keys(c).map((reason) => [reason, owner] as const)),
);
