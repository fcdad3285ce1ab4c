import type { Release } from '../../../reconcilers/model/desired.ts';
import type { ReleaseIndex } from '../../../reconcilers/model/release-index.ts';
import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/**
 * A product version is one release, and a vendor tag names exactly one release of a product
 * (seeds 001, 003): otherwise "the account tag" would not say which package to install.
 *
 * Each release is checked on its own against the release index (the releases holding a tag
 * or a version, in path order), so the incremental policy (incremental.ts) can re-check just
 * the releases a change touches; the findings are those of a walk over the releases in order.
 */
export const releaseCatalogue: PolicyRule = ({ releases, releaseIndex }) => {
  const out: Finding[] = [];
  for (const r of releases) for (const f of checkRelease(r, releaseIndex)) out.push(f);
  return out;
};

function checkRelease(r: Release, releaseIndex: ReleaseIndex): Finding[] {
  const out: Finding[] = [];
  const { product, version } = r.spec;
  const first = releaseIndex.withVersion(product, version)[0];
  if (first && first !== r) {
    const data = { product, version, other: first.metadata.name };
    out.push({ code: 'DUPLICATE_RELEASE_VERSION', data, ...at(r, ['spec', 'version']) });
  }
  const seen = new Map<string, number>();
  (r.spec.tags ?? []).forEach((tag, i) => {
    // The releases listing this tag, once per listing, in path order; this listing is the
    // (k+1)-th of `r` there (a release may list a tag twice). Those before it hold it already.
    const k = seen.get(tag) ?? 0;
    seen.set(tag, k + 1);
    const holders = tagHolders(releaseIndex, product, tag);
    let place = -1;
    for (let j = 0, n = 0; j < holders.length; j++) {
      if (holders[j] === r && n++ === k) {
        place = j;
        break;
      }
    }
    if (place > 0) {
      const releases = [...holders.slice(0, place).map((h) => h.metadata.name), r.metadata.name];
      out.push({ code: 'AMBIGUOUS_TAG', data: { tag, product, releases }, ...at(r, ['spec', 'tags', i]) });
    }
  });
  return out;
}

/**
 * The releases of `product` that list `tag`: when one does, the index resolves the tag by its
 * listings alone (the version fallback applies only when none does).
 */
function tagHolders(releaseIndex: ReleaseIndex, product: string, tag: string): readonly Release[] {
  const r = releaseIndex.resolveTag(product, tag);
  return r.ok ? [r.release] : r.reason === 'ambiguous' ? r.candidates : [];
}
