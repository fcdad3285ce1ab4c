/**
 * Step 3, `reconcilePromotion` — test phase before production (seed 001): with a test ring,
 * production (every WRS and device outside it, on `defaultTag`) takes its version only once
 * `production-admitted` holds (rules in promotion.ts). Otherwise production is HELD: its
 * members get no command, state Waiting, their steps blocked by `AwaitingTestRing`, saying
 * what is missing ("4.3.0 has not converged on the test ring yet (1/3 test members; not yet
 * at 4.3.0, restarted: ws-001, laptop-902)"). Test-ring members and the infrastructure are
 * never held.
 */
import type { Ctx, Desire } from './context.ts';
import { findComponent, stageOf } from './member-progress.ts';
import { decidePromotion, readPromotion, type TestRingProgress } from './promotion.ts';
import { sameVersion } from './preconditions.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';

/** How many not-yet-converged test members the held message names. */
const NAMED = 3;

export function reconcilePromotion(ctx: Ctx): void {
  const { spec } = ctx;
  const prod = ctx.prod!;
  const pending: string[] = [];
  const ring =
    spec.testRing !== undefined && ctx.test !== undefined ? testRingProgress(ctx, ctx.test, pending) : undefined;
  const decision = decidePromotion({
    version: prod.version,
    ring,
    ringPending: pending,
    override: spec.promotion?.override,
    remembered: readPromotion(ctx.previous),
    productionDesiredBefore: () => productionDesiredBefore(ctx),
    now: ctx.now,
  });
  ctx.promotion = decision.details;
  ctx.hold = decision.hold;
  for (const r of decision.reminders) ctx.reminders.push(r);
}

/**
 * How many declared test-ring members report the test version installed and restarted (no
 * restart pending; a WRS also with no restart of ours due) — observations only. A member
 * that never reported, or reports no version, has not converged.
 */
function testRingProgress(ctx: Ctx, test: Desire, pending: string[]): TestRingProgress {
  const ring = ctx.spec.testRing!;
  const agents = ctx.observed.agents;
  let of = 0;
  let converged = 0;
  const count = (name: string, agent: string, wrs: boolean): void => {
    of++;
    const obs = agents.get(agent);
    const comp = findComponent(obs, test.product);
    const done =
      comp?.version !== undefined &&
      sameVersion(comp.version, test.version) &&
      stageOf(ctx, name, obs, comp, test, wrs, true) === 'updated';
    if (done) converged++;
    else if (pending.length < NAMED) pending.push(name);
  };
  if (ring.repositoryServers !== undefined && ring.repositoryServers.length > 0) {
    const names = new Set(ring.repositoryServers);
    for (const w of ctx.spec.repositoryServers) if (names.has(w.name)) count(w.name, w.agent ?? w.name, true);
  }
  if (ring.devices !== undefined && ring.devices.length > 0) {
    const names = new Set(ring.devices);
    for (const d of ctx.spec.devices) if (names.has(d.name)) count(d.name, d.agent ?? d.name, false);
  }
  return { version: test.version, converged, of };
}

/**
 * Promotion rule 4 (Git): the newest version production members desired in the previous
 * status — asked only when that status declared no test ring, so every member was production.
 */
function productionDesiredBefore(ctx: Ctx): string | undefined {
  const { previous } = ctx;
  if (previous === undefined) return undefined;
  const ringWrs = new Set(ctx.spec.testRing?.repositoryServers);
  const ringDevices = new Set(ctx.spec.testRing?.devices);
  let newest: string | undefined;
  for (const m of previous.members) {
    const production = (m.role === 'wrs' && !ringWrs.has(m.name)) || (m.role === 'device' && !ringDevices.has(m.name));
    if (!production || !isValidVersion(m.desired)) continue;
    if (newest === undefined || compareVersions(m.desired, newest) > 0) newest = m.desired;
  }
  return newest;
}
