import type { Release } from './desired.ts';
import { versionsEqual } from './version.ts';

export type TagResolution =
  | { readonly ok: true; readonly release: Release }
  | { readonly ok: false; readonly reason: 'unresolved' }
  | { readonly ok: false; readonly reason: 'ambiguous'; readonly candidates: readonly Release[] };

/**
 * Releases by name and by (product, tag). Accounts name versions by vendor tag (seeds 001,
 * 003: a test tag, then the account's official tag); a tag resolves to the one Release of
 * the account's product that lists it in `spec.tags`, or else whose version equals it.
 */
export class ReleaseIndex {
  readonly byName: ReadonlyMap<string, Release>;
  private readonly byProduct = new Map<string, Release[]>();

  constructor(releases: readonly Release[]) {
    const byName = new Map<string, Release>();
    for (const r of releases) {
      if (!byName.has(r.metadata.name)) byName.set(r.metadata.name, r);
      let list = this.byProduct.get(r.spec.product);
      if (!list) this.byProduct.set(r.spec.product, (list = []));
      list.push(r);
    }
    this.byName = byName;
  }

  get(name: string): Release | undefined {
    return this.byName.get(name);
  }

  ofProduct(product: string): readonly Release[] {
    return this.byProduct.get(product) ?? [];
  }

  resolveTag(product: string, tag: string): TagResolution {
    const releases = this.ofProduct(product);
    const tagged = releases.filter((r) => r.spec.tags?.includes(tag));
    const matches = tagged.length > 0 ? tagged : releases.filter((r) => safeEqual(r.spec.version, tag));
    if (matches.length === 1) return { ok: true, release: matches[0]! };
    if (matches.length === 0) return { ok: false, reason: 'unresolved' };
    return { ok: false, reason: 'ambiguous', candidates: matches };
  }
}

function safeEqual(version: string, tag: string): boolean {
  try {
    return versionsEqual(version, tag);
  } catch {
    return false;
  }
}
