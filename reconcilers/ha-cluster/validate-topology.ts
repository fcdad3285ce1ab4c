import type { HACluster } from '../model/desired.ts';
import type { Finding } from '../model/finding.ts';
import { at, perDocument } from '../model/policy-context.ts';

/** `updateOrder` names servers of the cluster (seed 004: any server may go first, but it must be one of them). */
export const clusterTopology = perDocument((ctx) => ctx.clusters, function clusterTopology(c: HACluster): Finding[] {
  const servers = new Set(c.spec.servers.map((s) => s.name));
  const out: Finding[] = [];
  (c.spec.updateOrder ?? []).forEach((name, i) => {
    if (!servers.has(name)) {
      out.push({ code: 'DANGLING_REFERENCE', data: { refKind: 'server', name, scope: `among the servers of cluster ${c.metadata.name}` }, ...at(c, ['spec', 'updateOrder', i]) });
    }
  });
  return out;
});
