import type { Reconciler } from './contract.ts';
import type { Kind } from './model/desired.ts';
import { ACCOUNT_WAVE_HOLD, reconcileAccount } from './account/reconcile.ts';
import { reconcileDistributionServer } from './distribution-server/reconcile.ts';
import { reconcileDomain } from './domain/reconcile.ts';
import { reconcileHACluster } from './ha-cluster/reconcile.ts';
import { governed } from './governance/governed.ts';
import { GOVERNANCE_STEPS } from './governance/steps.ts';

/**
 * The reconciler of each kind that has one, with the reviewers' controls (issue 8) applied
 * after it. Releases are not targets. A kind without a
 * reconciler yet is reported as such by `plan` and the loop, never skipped silently.
 */
export const RECONCILERS: { readonly [K in Kind]?: Reconciler<K> } = {
  Domain: governed('Domain', reconcileDomain, GOVERNANCE_STEPS),
  Account: governed('Account', reconcileAccount, GOVERNANCE_STEPS, ACCOUNT_WAVE_HOLD),
  DistributionServer: governed('DistributionServer', reconcileDistributionServer, GOVERNANCE_STEPS),
  HACluster: governed('HACluster', reconcileHACluster, GOVERNANCE_STEPS),
};

export const TARGET_KINDS: readonly Kind[] = ['Domain', 'Account', 'DistributionServer', 'HACluster'];
