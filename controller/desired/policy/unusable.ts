import type { AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import type { ReleaseIndex } from '../../../reconcilers/model/release-index.ts';
import { targetId, type TargetId } from '../../../reconcilers/model/identity.ts';
import type { Diagnostic } from '../diagnostics.ts';
import type { PolicyContext } from './context.ts';

/**
 * Which targets the controller cannot act on, and why: a target with an error in its own
 * document, or one that depends on a release that is itself invalid or missing. Everything
 * else stays usable — one broken file never holds back the rest.
 */
export function unusableTargets(ctx: PolicyContext, diagnostics: readonly Diagnostic[]): Map<TargetId, string[]> {
  const out = unusableByDiagnostics(diagnostics);
  const bad = (name: string) => releaseBad(ctx.releaseIndex, out, name);
  for (const list of [ctx.domains, ctx.clusters, ctx.accounts]) {
    for (const obj of list) dependOn(out, obj, releasesDependedOn(obj, ctx.releaseIndex), bad);
  }
  return out;
}

/** Targets with an error of their own, with the reasons, in the order of the diagnostics. */
export function unusableByDiagnostics(diagnostics: readonly Diagnostic[]): Map<TargetId, string[]> {
  const out = new Map<TargetId, string[]>();
  for (const d of diagnostics) {
    if (d.severity === 'error' && d.target !== undefined && /^[a-z]+\//.test(d.target)) {
      addReason(out, d.target as TargetId, `${d.field ?? d.path}: ${d.message}`);
    }
  }
  return out;
}

/** A release that is missing, or that has an error of its own. */
export function releaseBad(index: ReleaseIndex, out: ReadonlyMap<TargetId, unknown>, name: string): boolean {
  return !index.get(name) || out.has(targetId('Release', name));
}

/**
 * The releases a domain, cluster or account depends on, in the order the reasons are given:
 * its release, or the releases its tags resolve to and its infrastructure release.
 */
export function releasesDependedOn(obj: AnyDesiredObject, index: ReleaseIndex): string[] {
  switch (obj.kind) {
    case 'Domain':
    case 'HACluster':
      return [obj.spec.release];
    case 'Account': {
      const out: string[] = [];
      for (const tag of [obj.spec.defaultTag, obj.spec.testRing?.tag]) {
        if (tag === undefined) continue;
        const r = index.resolveTag(obj.spec.product, tag);
        if (r.ok) out.push(r.release.metadata.name);
      }
      if (obj.spec.infrastructure) out.push(obj.spec.infrastructure.release);
      return out;
    }
    default:
      return [];
  }
}

/** Records why `obj` is unusable for each bad release it depends on. */
export function dependOn(
  out: Map<TargetId, string[]>,
  obj: AnyDesiredObject,
  releases: readonly string[],
  bad: (name: string) => boolean,
): void {
  for (const release of releases) {
    if (!bad(release)) continue;
    addReason(out, targetId(obj.kind, obj.metadata.name), `depends on release/${release}, which is invalid or missing`);
  }
}

function addReason(out: Map<TargetId, string[]>, id: TargetId, reason: string): void {
  const list = out.get(id) ?? [];
  if (!list.includes(reason)) list.push(reason);
  out.set(id, list);
}
