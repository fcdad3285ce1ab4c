import { crossesSchemaDowngrade } from '../../protocol/version.ts';
import type { Finding } from '../model/finding.ts';
import { at, type PolicyContext } from '../model/policy-context.ts';

/**
 * Seed 004 (IGEL UMS HA): the database schema is the major.minor of the version, and UMS
 * cannot install an older schema in place (6.10.140 -> 6.10.120 is allowed,
 * 6.10.140 -> 6.09.120 is not). Compared with a base revision (the target branch of a pull
 * request), a cluster whose release moves to a lower major.minor is refused.
 */
export function haClusterSchemaDowngrades(base: PolicyContext, baseRevision: string, current: PolicyContext): Finding[] {
  const out: Finding[] = [];
  const before = new Map(base.clusters.map((c) => [c.metadata.name, c]));
  for (const c of current.clusters) {
    const old = before.get(c.metadata.name);
    if (!old) continue;
    const from = base.releaseIndex.get(old.spec.release)?.spec.version;
    const to = current.releaseIndex.get(c.spec.release)?.spec.version;
    if (from === undefined || to === undefined) continue;
    if (crossesSchemaDowngrade(from, to)) {
      out.push({ code: 'SCHEMA_DOWNGRADE', data: { from, to, base: baseRevision }, ...at(c, ['spec', 'release']) });
    }
  }
  return out;
}
