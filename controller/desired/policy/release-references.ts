import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/**
 * Every release a target names exists, and every tag an account uses resolves to one release
 * of the account's product. A target pointing at nothing cannot be rolled out.
 */
export const releaseReferences: PolicyRule = ({ domains, clusters, accounts, releaseIndex, invalid }) => {
  const out: Finding[] = [];
  // A release that exists but is itself invalid is reported there; here only a warning
  // says why this target waits, so the error list stays one line per root cause.
  const missing = (name: string): Pick<Finding, 'code' | 'data' | 'severity'> => {
    const path = invalid.get(`Release/${name}`);
    return path !== undefined
      ? { code: 'REFERENCE_TO_INVALID', data: { refKind: 'Release', name, path }, severity: 'warning' }
      : { code: 'DANGLING_REFERENCE', data: { refKind: 'Release', name } };
  };
  for (const d of domains) {
    if (!releaseIndex.get(d.spec.release)) out.push({ ...missing(d.spec.release), ...at(d, ['spec', 'release']) } as Finding);
  }
  for (const c of clusters) {
    if (!releaseIndex.get(c.spec.release)) out.push({ ...missing(c.spec.release), ...at(c, ['spec', 'release']) } as Finding);
  }
  for (const a of accounts) {
    const product = a.spec.product;
    const tagFields: [string, readonly (string)[]][] = [[a.spec.defaultTag, ['spec', 'defaultTag']]];
    if (a.spec.testRing) tagFields.push([a.spec.testRing.tag, ['spec', 'testRing', 'tag']]);
    for (const [tag, field] of tagFields) {
      const r = releaseIndex.resolveTag(product, tag);
      if (r.ok) continue;
      if (r.reason === 'unresolved') out.push({ code: 'UNRESOLVED_TAG', data: { tag, product }, ...at(a, field) });
      else out.push({ code: 'AMBIGUOUS_TAG', data: { tag, product, releases: r.candidates.map((c) => c.metadata.name) }, ...at(a, field) });
    }
    const infra = a.spec.infrastructure;
    if (infra) {
      const rel = releaseIndex.get(infra.release);
      if (!rel) out.push({ ...missing(infra.release), ...at(a, ['spec', 'infrastructure', 'release']) } as Finding);
      else if (rel.spec.product === product) {
        out.push({
          code: 'PRODUCT_MISMATCH',
          data: { release: infra.release, expected: `the cloud infrastructure, not ${product}`, actual: product },
          ...at(a, ['spec', 'infrastructure', 'release']),
        });
      }
    }
  }
  return out;
};
