import type { Release } from './desired.ts';
import { isValidVersion, versionKey } from '../../protocol/version.ts';

export type TagResolution =
  | { readonly ok: true; readonly release: Release }
  | { readonly ok: false; readonly reason: 'unresolved' }
  | { readonly ok: false; readonly reason: 'ambiguous'; readonly candidates: readonly Release[] };

/**
 * Releases by name, and by (product, tag) and (product, version) for O(1) lookups. Accounts
 * name versions by vendor tag (seeds 001, 003: a test tag, then the account's official
 * tag); a tag resolves to the one Release of the account's product that lists it in
 * `spec.tags`, or else whose version equals it.
 */
export class ReleaseIndex {
  readonly byName: ReadonlyMap<string, Release>;
  private readonly byProduct = new Map<string, Release[]>();
  private readonly byTag = new Map<string, Release[]>();
  private readonly byVersion = new Map<string, Release[]>();

  constructor(releases: readonly Release[]) {
    const byName = new Map<string, Release>();
    for (const r of releases) {
      if (!byName.has(r.metadata.name)) byName.set(r.metadata.name, r);
      push(this.byProduct, r.spec.product, r);
      for (const tag of r.spec.tags ?? []) push(this.byTag, `${r.spec.product}\0${tag}`, r);
      push(this.byVersion, `${r.spec.product}\0${versionKey(r.spec.version)}`, r);
    }
    this.byName = byName;
  }

  get(name: string): Release | undefined {
    return this.byName.get(name);
  }

  ofProduct(product: string): readonly Release[] {
    return this.byProduct.get(product) ?? [];
  }

  /** Releases of `product` whose version equals `version` (normally one; more is a catalogue error). */
  withVersion(product: string, version: string): readonly Release[] {
    return this.byVersion.get(`${product}\0${versionKey(version)}`) ?? [];
  }

  resolveTag(product: string, tag: string): TagResolution {
    const tagged = this.byTag.get(`${product}\0${tag}`);
    const matches = tagged ?? (isValidVersion(tag) ? this.withVersion(product, tag) : []);
    if (matches.length === 1) return { ok: true, release: matches[0]! };
    if (matches.length === 0) return { ok: false, reason: 'unresolved' };
    return { ok: false, reason: 'ambiguous', candidates: matches };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
