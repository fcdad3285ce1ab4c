import type { Reconciler } from './contract.ts';
import type { Kind } from './model/desired.ts';
import { reconcileAccount } from './account.ts';
import { reconcileDistributionServer } from './distribution-server.ts';
import { reconcileDomain } from './domain.ts';
import { reconcileHACluster } from './ha-cluster.ts';

/**
 * The reconciler of each kind that has one. Releases are not targets. A kind without a
 * reconciler yet is reported as such by `plan` and the loop, never skipped silently.
 */
export const RECONCILERS: { readonly [K in Kind]?: Reconciler<K> } = {
  Domain: reconcileDomain,
  Account: reconcileAccount,
  DistributionServer: reconcileDistributionServer,
  HACluster: reconcileHACluster,
};

export const TARGET_KINDS: readonly Kind[] = ['Domain', 'Account', 'DistributionServer', 'HACluster'];
