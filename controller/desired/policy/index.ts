import type { Kind } from '../../../reconcilers/model/desired.ts';
import type { Finding } from '../diagnostics.ts';
import { accountTopology } from '../../../reconcilers/account/validate-topology.ts';
import { clusterTopology } from '../../../reconcilers/ha-cluster/validate-topology.ts';
import type { PolicyContext, PolicyRule } from './context.ts';
import { databaseRestores } from '../../../reconcilers/ha-cluster/validate-database-restore.ts';
import { distributionConsoles } from '../../../reconcilers/distribution-server/validate-consoles.ts';
import { haClusterSchemaDowngrades } from '../../../reconcilers/ha-cluster/validate-schema-downgrade.ts';
import { agentOwnership, memberNames } from './members.ts';
import { promotionOverrides } from '../../../reconcilers/account/validate-promotion-override.ts';
import { releaseCatalogue } from './release-catalogue.ts';
import { releaseReferences } from './release-references.ts';
import { rolloutWindows } from './rollout-windows.ts';
import { rolloutWaves } from './rollout-waves.ts';
import { uniqueNames } from './unique-names.ts';

/**
 * Every cross-file rule, in the order their findings are most useful to read. Rules about one
 * kind live in its folder (`reconcilers/<kind>/validate-*.ts`); the ones here span kinds.
 */
export const POLICY_RULES: readonly PolicyRule[] = [
  uniqueNames,
  releaseCatalogue,
  releaseReferences,
  memberNames,
  agentOwnership,
  accountTopology,
  clusterTopology,
  distributionConsoles,
  rolloutWindows,
  databaseRestores,
  rolloutWaves,
  promotionOverrides,
];

/**
 * For the incremental policy (incremental.ts): the rules that judge each document on its own,
 * apart from lookups in the release index, the invalid documents and the lists of kinds they
 * do not report on; with the kinds they report on. A rule listed here that compares documents
 * of those kinds with each other would be judged wrongly: list only rules that do not.
 * Unlisted rules run over the whole revision on every load.
 */
export const POLICY_SUBJECTS: ReadonlyMap<PolicyRule, readonly Kind[]> = new Map<PolicyRule, readonly Kind[]>([
  [releaseCatalogue, ['Release']],
  [releaseReferences, ['Domain', 'HACluster', 'Account']],
  [memberNames, ['Release', 'Domain', 'Account', 'DistributionServer', 'HACluster']],
  [accountTopology, ['Account']],
  [clusterTopology, ['HACluster']],
  [distributionConsoles, ['DistributionServer']],
  [rolloutWindows, ['Domain', 'Account', 'HACluster']],
  [databaseRestores, ['HACluster']],
  [rolloutWaves, ['Domain', 'Account', 'HACluster']],
  [promotionOverrides, ['Account']],
]);

/** Runs every rule over one revision, and the change rules against `base` when given. */
export function checkPolicy(ctx: PolicyContext, base?: { readonly context: PolicyContext; readonly revision: string }): Finding[] {
  const out = POLICY_RULES.flatMap((rule) => rule(ctx));
  if (base) out.push(...haClusterSchemaDowngrades(base.context, base.revision, ctx));
  return out;
}
