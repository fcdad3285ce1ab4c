/**
 * Step 1, `reconcileTags`: resolve `defaultTag` (everyone) and `testRing.tag` (the WRS and
 * devices of the test ring) among the Releases of `spec.product`, and the infrastructure
 * release by name. An unresolvable or ambiguous TAG STOPS THE PASS: phase Blocked, reason
 * `TagNotResolved`, no commands, no plan; members are listed with what they run (a missing
 * infrastructure release only blocks the infrastructure, in step 4).
 */
import type { MemberState, ReconcileResult } from '../contract.ts';
import type { Release } from '../model/desired.ts';
import { messageOf } from '../model/errors.ts';
import { newDesire, INFRASTRUCTURE, type Ctx, type Desire, type Role } from './context.ts';
import { infrastructureAgent } from './infrastructure.ts';
import { reconcileInstallMedia } from './install-media.ts';
import { aheadMessage, findComponent, memberStatus, stageOf } from './member-progress.ts';
import { readPromotion } from './promotion.ts';
import { finish } from './summary.ts';

export function reconcileTags(ctx: Ctx): void {
  const { spec, releases } = ctx;
  const problems = ctx.tagProblems;
  const resolve = (tag: string): Release | undefined => {
    const r = releases.resolveTag(spec.product, tag);
    if (r.ok) return r.release;
    problems.push(
      r.reason === 'ambiguous'
        ? messageOf('AMBIGUOUS_TAG', { tag, product: spec.product, releases: r.candidates.map((c) => c.metadata.name) })
        : messageOf('UNRESOLVED_TAG', { tag, product: spec.product }),
    );
    return undefined;
  };
  const prod = resolve(spec.defaultTag);
  if (prod) ctx.prod = newDesire(prod);
  if (spec.testRing) {
    const test = resolve(spec.testRing.tag);
    if (test) ctx.test = prod && test.metadata.name === prod.metadata.name ? ctx.prod : newDesire(test);
  }
  if (spec.infrastructure) {
    const infra = releases.get(spec.infrastructure.release);
    if (infra) ctx.infra = newDesire(infra);
  }
  if (problems.length > 0) ctx.pass.haltWith(ctx.pass.blocker('TagNotResolved', problems.join('; ')));
}

/** Step 1 failed: Blocked, no commands and no plan; members are listed with what they run. */
export function blockedOnTags(ctx: Ctx): ReconcileResult {
  const { spec } = ctx;
  const message = ctx.tagProblems.join('; ');
  const list = (name: string, agent: string, role: Role, desire: Desire | undefined, unresolved: string): void => {
    const obs = ctx.observed.agents.get(agent);
    const comp = findComponent(obs, desire?.product ?? spec.product);
    if (!desire) {
      ctx.members.push(
        memberStatus(
          name,
          agent,
          role,
          unresolved,
          role === 'infrastructure' ? undefined : comp?.version,
          'Waiting',
          message,
        ),
      );
      return;
    }
    desire.used = true;
    const stage = stageOf(ctx, name, obs, comp, desire, false, role !== 'infrastructure');
    const state: MemberState = stage === 'updated' ? 'Updated' : stage === 'ahead' ? 'Ahead' : 'Waiting';
    ctx.members.push(
      memberStatus(
        name,
        agent,
        role,
        desire.version,
        comp?.version,
        state,
        state === 'Waiting' ? message : state === 'Ahead' ? aheadMessage(comp, desire) : undefined,
      ),
    );
  };
  if (spec.infrastructure)
    list(INFRASTRUCTURE, infrastructureAgent(ctx), 'infrastructure', ctx.infra, spec.infrastructure.release);
  const ringWrs = new Set(spec.testRing?.repositoryServers);
  const ringDevices = new Set(spec.testRing?.devices);
  const testTag = `unresolved tag ${spec.testRing?.tag ?? ''}`;
  const defaultTag = `unresolved tag ${spec.defaultTag}`;
  for (const w of spec.repositoryServers) {
    const inRing = ringWrs.has(w.name);
    list(w.name, w.agent ?? w.name, 'wrs', inRing ? ctx.test : ctx.prod, inRing ? testTag : defaultTag);
  }
  for (const d of spec.devices) {
    const inRing = ringDevices.has(d.name);
    list(d.name, d.agent ?? d.name, 'device', inRing ? ctx.test : ctx.prod, inRing ? testTag : defaultTag);
  }
  if (ctx.prod) reconcileInstallMedia(ctx);
  // Nothing is decided on this pass: keep what the previous status remembers of promotion.
  ctx.promotion = readPromotion(ctx.previous)?.details;
  ctx.pass.outcome('TagNotResolved', message);
  return finish(ctx, message);
}
