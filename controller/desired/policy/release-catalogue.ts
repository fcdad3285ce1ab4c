import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/**
 * A product version is one release, and a vendor tag names exactly one release of a product
 * (seeds 001, 003): otherwise "the account tag" would not say which package to install.
 */
export const releaseCatalogue: PolicyRule = ({ releases, releaseIndex }) => {
  const out: Finding[] = [];
  const tags = new Map<string, string[]>();
  for (const r of releases) {
    const { product, version } = r.spec;
    const same = releaseIndex.withVersion(product, version);
    const first = same[0];
    if (first && first !== r) {
      out.push({ code: 'DUPLICATE_RELEASE_VERSION', data: { product, version, other: first.metadata.name }, ...at(r, ['spec', 'version']) });
    }
    (r.spec.tags ?? []).forEach((tag, i) => {
      const key = `${product}\0${tag}`;
      const holders = tags.get(key) ?? [];
      if (holders.length > 0) {
        out.push({ code: 'AMBIGUOUS_TAG', data: { tag, product, releases: [...holders, r.metadata.name] }, ...at(r, ['spec', 'tags', i]) });
      }
      holders.push(r.metadata.name);
      tags.set(key, holders);
    });
  }
  return out;
};
