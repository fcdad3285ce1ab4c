import type { AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import type { Finding } from '../diagnostics.ts';
import { accountTopology } from './account-topology.ts';
import { clusterTopology } from './cluster-topology.ts';
import { policyContext, type PolicyRule } from './context.ts';
import { distributionConsoles } from './distribution-consoles.ts';
import { haClusterSchemaDowngrades } from './hacluster-schema-downgrade.ts';
import { memberIdentity } from './members.ts';
import { releaseCatalogue } from './release-catalogue.ts';
import { releaseReferences } from './release-references.ts';
import { uniqueNames } from './unique-names.ts';

/** Every cross-file rule, in the order their findings are most useful to read. */
export const POLICY_RULES: readonly PolicyRule[] = [
  uniqueNames,
  releaseCatalogue,
  releaseReferences,
  memberIdentity,
  accountTopology,
  clusterTopology,
  distributionConsoles,
];

export function checkPolicy(
  objects: readonly AnyDesiredObject[],
  base?: { readonly objects: readonly AnyDesiredObject[]; readonly revision: string },
  invalid: ReadonlyMap<string, string> = new Map(),
): Finding[] {
  const ctx = policyContext(objects, invalid);
  const out = POLICY_RULES.flatMap((rule) => rule(ctx));
  if (base) out.push(...haClusterSchemaDowngrades(policyContext(base.objects), base.revision, ctx));
  return out;
}
