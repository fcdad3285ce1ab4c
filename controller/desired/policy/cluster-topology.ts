import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/** `updateOrder` names servers of the cluster (seed 004: any server may go first, but it must be one of them). */
export const clusterTopology: PolicyRule = ({ clusters }) => {
  const out: Finding[] = [];
  for (const c of clusters) {
    const servers = new Set(c.spec.servers.map((s) => s.name));
    (c.spec.updateOrder ?? []).forEach((name, i) => {
      if (!servers.has(name)) {
        out.push({ code: 'DANGLING_REFERENCE', data: { refKind: 'server', name, scope: `among the servers of cluster ${c.metadata.name}` }, ...at(c, ['spec', 'updateOrder', i]) });
      }
    });
  }
  return out;
};
