import type { Account, AnyDesiredObject, DistributionServer, Domain, HACluster, Release } from './desired.ts';
import { targetId } from './identity.ts';
import { ReleaseIndex } from './release-index.ts';
import type { FieldPath, Finding } from './finding.ts';

/** What every policy rule sees: the documents that passed their schema, grouped by kind. */
export interface PolicyContext {
  readonly objects: readonly AnyDesiredObject[];
  readonly releases: readonly Release[];
  readonly domains: readonly Domain[];
  readonly accounts: readonly Account[];
  readonly distributionServers: readonly DistributionServer[];
  readonly clusters: readonly HACluster[];
  readonly releaseIndex: ReleaseIndex;
  /** Documents that declare a kind and name but failed their own checks: `Kind/name` -> path. */
  readonly invalid: ReadonlyMap<string, string>;
}

/** A rule: pure, from the documents to findings. */
export type PolicyRule = (ctx: PolicyContext) => Finding[];

/**
 * A rule that looks at one document alone. Documents are frozen and reused across reloads
 * while their blob is unchanged, so its findings are remembered per document: a reload pays
 * only for the documents that changed, however large the repository.
 */
export function perDocument<T extends AnyDesiredObject>(
  select: (ctx: PolicyContext) => readonly T[],
  check: (obj: T) => Finding[],
): PolicyRule {
  const cache = new WeakMap<T, Finding[]>();
  const rule: PolicyRule = (ctx) => {
    const out: Finding[] = [];
    for (const obj of select(ctx)) {
      let findings = cache.get(obj);
      if (!findings) cache.set(obj, (findings = check(obj)));
      for (const f of findings) out.push(f);
    }
    return out;
  };
  Object.defineProperty(rule, 'name', { value: check.name });
  return rule;
}

export function policyContext(objects: readonly AnyDesiredObject[], invalid: ReadonlyMap<string, string> = new Map()): PolicyContext {
  const releases: Release[] = [];
  const domains: Domain[] = [];
  const accounts: Account[] = [];
  const distributionServers: DistributionServer[] = [];
  const clusters: HACluster[] = [];
  for (const o of objects) {
    switch (o.kind) {
      case 'Release': releases.push(o); break;
      case 'Domain': domains.push(o); break;
      case 'Account': accounts.push(o); break;
      case 'DistributionServer': distributionServers.push(o); break;
      case 'HACluster': clusters.push(o); break;
    }
  }
  return { objects, releases, domains, accounts, distributionServers, clusters, releaseIndex: new ReleaseIndex(releases), invalid };
}

/** Shorthand for a finding located in `obj`'s file. */
export function at(obj: AnyDesiredObject, field: FieldPath, atKey = false): { path: string; target: string; field: FieldPath; atKey: boolean } {
  return { path: obj.source.path, target: targetId(obj.kind, obj.metadata.name), field, atKey };
}
