/**
 * Step 2, `reconcilePackages`: a release is installed only once the controller verified its
 * package (precondition `package-verified`). It gates every command of that release (apply
 * and restart), never the members already at it, and never another release (a package that
 * is not secure on the test tag does not stop the account tag).
 */
import type { Ctx } from './context.ts';
import { checkPackage } from './preconditions.ts';

export function reconcilePackages(ctx: Ctx): void {
  for (const desire of [ctx.infra, ctx.prod, ctx.test]) {
    if (!desire || desire.gate) continue;
    const name = desire.release.metadata.name;
    desire.gate = ctx.pass.blockerOf(checkPackage(name, ctx.observed.artifacts.get(name)));
  }
}
