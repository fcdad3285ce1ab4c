import type { Account, AnyDesiredObject, DistributionServer, Domain, HACluster, Kind, Release } from '../../../reconcilers/model/desired.ts';
import { targetId } from '../../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../../reconcilers/model/release-index.ts';
import type { FieldPath, Finding } from '../diagnostics.ts';

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

/** A cross-file rule: pure, from the documents to findings. */
export type PolicyRule = (ctx: PolicyContext) => Finding[];

export function policyContext(objects: readonly AnyDesiredObject[], invalid: ReadonlyMap<string, string> = new Map()): PolicyContext {
  const of = <K extends Kind>(kind: K) => objects.filter((o) => o.kind === kind) as Extract<AnyDesiredObject, { kind: K }>[];
  const releases = of('Release');
  return {
    objects,
    releases,
    domains: of('Domain'),
    accounts: of('Account'),
    distributionServers: of('DistributionServer'),
    clusters: of('HACluster'),
    releaseIndex: new ReleaseIndex(releases),
    invalid,
  };
}

/** Shorthand for a finding located in `obj`'s file. */
export function at(obj: AnyDesiredObject, field: FieldPath, atKey = false): { path: string; target: string; field: FieldPath; atKey: boolean } {
  return { path: obj.source.path, target: targetId(obj.kind, obj.metadata.name), field, atKey };
}
