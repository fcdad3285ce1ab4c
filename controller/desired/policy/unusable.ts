import type { AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../../reconcilers/model/identity.ts';
import type { Diagnostic } from '../diagnostics.ts';
import type { PolicyContext } from './context.ts';

/**
 * Which targets the controller cannot act on, and why: a target with an error in its own
 * document, or one that depends on a release that is itself invalid or missing. Everything
 * else stays usable — one broken file never holds back the rest.
 */
export function unusableTargets(ctx: PolicyContext, diagnostics: readonly Diagnostic[]): Map<TargetId, string[]> {
  const out = new Map<TargetId, string[]>();
  const add = (id: TargetId, reason: string) => {
    const list = out.get(id) ?? [];
    if (!list.includes(reason)) list.push(reason);
    out.set(id, list);
  };
  for (const d of diagnostics) {
    if (d.severity === 'error' && d.target !== undefined && /^[a-z]+\//.test(d.target)) {
      add(d.target as TargetId, `${d.field ?? d.path}: ${d.message}`);
    }
  }
  const releaseBad = (name: string) => {
    const r = ctx.releaseIndex.get(name);
    return !r || out.has(targetId('Release', name));
  };
  const dependOn = (obj: AnyDesiredObject, release: string) => {
    if (releaseBad(release)) add(targetId(obj.kind, obj.metadata.name), `depends on release/${release}, which is invalid or missing`);
  };
  for (const d of ctx.domains) dependOn(d, d.spec.release);
  for (const c of ctx.clusters) dependOn(c, c.spec.release);
  for (const a of ctx.accounts) {
    for (const tag of [a.spec.defaultTag, a.spec.testRing?.tag]) {
      if (tag === undefined) continue;
      const r = ctx.releaseIndex.resolveTag(a.spec.product, tag);
      if (r.ok) dependOn(a, r.release.metadata.name);
    }
    if (a.spec.infrastructure) dependOn(a, a.spec.infrastructure.release);
  }
  return out;
}
