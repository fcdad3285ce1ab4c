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

/** Runs every rule over one revision, and the change rules against `base` when given. */
export function checkPolicy(ctx: PolicyContext, base?: { readonly context: PolicyContext; readonly revision: string }): Finding[] {
  const out = POLICY_RULES.flatMap((rule) => rule(ctx));
  if (base) out.push(...haClusterSchemaDowngrades(base.context, base.revision, ctx));
  return out;
}
