import type { Finding } from '../diagnostics.ts';
import { accountTopology } from './account-topology.ts';
import { clusterTopology } from './cluster-topology.ts';
import type { PolicyContext, PolicyRule } from './context.ts';
import { databaseRestores } from './database-restore.ts';
import { distributionConsoles } from './distribution-consoles.ts';
import { haClusterSchemaDowngrades } from './hacluster-schema-downgrade.ts';
import { agentOwnership, memberNames } from './members.ts';
import { promotionOverrides } from './promotion-override.ts';
import { releaseCatalogue } from './release-catalogue.ts';
import { releaseReferences } from './release-references.ts';
import { rolloutWindows } from './rollout-windows.ts';
import { rolloutWaves } from './rollout-waves.ts';
import { uniqueNames } from './unique-names.ts';

/** Every cross-file rule, in the order their findings are most useful to read. */
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
