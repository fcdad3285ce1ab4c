import { compareVersions } from '../../../reconcilers/model/version.ts';
import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/**
 * A product version is one release, and a vendor tag names exactly one release of a product
 * (seeds 001, 003): otherwise "the account tag" would not say which package to install.
 */
export const releaseCatalogue: PolicyRule = ({ releases }) => {
  const out: Finding[] = [];
  const versions = new Map<string, { name: string; version: string }[]>();
  const tags = new Map<string, string[]>();
  for (const r of releases) {
    const { product, version } = r.spec;
    const same = versions.get(product) ?? [];
    const dup = same.find((o) => compareVersions(o.version, version) === 0);
    if (dup) out.push({ code: 'DUPLICATE_RELEASE_VERSION', data: { product, version, other: dup.name }, ...at(r, ['spec', 'version']) });
    same.push({ name: r.metadata.name, version });
    versions.set(product, same);
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
