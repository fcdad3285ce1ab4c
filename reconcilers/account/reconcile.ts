/**
 * The Account reconciler (seeds 001 W360 Core workstations, 003 ceBox; see README.md in this
 * folder): one customer account — its cloud infrastructure, its repository servers (WRS) and
 * its devices — moved to the versions its tags name, in the vendor's order, on the engine
 * (reconcilers/engine: Pass, preconditions, reason catalogue, one fold).
 *
 * Ordered steps (each appends its plan steps and commands in plan order, so `commands` is
 * exactly the runnable steps of `plan`, in the same order):
 *
 *   1. reconcileTags               resolve the account tag, the test tag, the infrastructure
 *                                  release; a tag that does not resolve STOPS the pass
 *                                  (Blocked, TagNotResolved, no plan)           tags.ts
 *   2. reconcilePackages           package-verified gates each release          packages.ts
 *   3. reconcilePromotion          production-admitted: production after the
 *                                  test ring converged, else AwaitingTestRing   test-ring.ts, promotion.ts
 *   4. reconcileInfrastructure     the cloud console/APIs, independent          infrastructure.ts
 *   5. reconcileRepositoryServers  WRS: apply, then restart                     repository-servers.ts
 *   6. reconcileDevices            devices once their WRS runs and serves the
 *                                  version, restarted (wrs-serves-version);
 *                                  remote devices directly                      devices.ts
 *   7. reconcileInstallMedia       reminder to regenerate USB keys              install-media.ts
 *   8. summarise                   outcomes → phase, reason, requeue (fold)     summary.ts
 *
 * Preconditions (preconditions.ts, promotion.ts) fail closed: an observation that is absent
 * holds the step and the member's message says what is missing and from whom. Reasons and
 * their phases: reasons.ts and the engine's COMMON_REASONS. Safety facts (test ring
 * converged, rollback) come from observations or from the previous status committed in Git,
 * never from memory: `plan` and a restarted controller decide what a long-running one does.
 *
 * Performance: every input is indexed once; per device the work is O(1) and allocates only
 * what the output holds (blockers and messages that do not name the device are shared). Under
 * waves, governance tells it the open wave (`reconcileAccountUnderWaveHold`,
 * governance/wave-hold.ts): later waves' applies are listed held, and no command is built.
 */
import type { Reconciler } from '../contract.ts';
import type { WaveHold, Withheld } from '../governance/wave-hold.ts';
import type { WaveHoldSupport } from '../governance/governed.ts';
import { runSteps, stepNames, type Step } from '../engine/index.ts';
import { newContext, type Ctx } from './context.ts';
import { reconcileDevices } from './devices.ts';
import { reconcileInfrastructure } from './infrastructure.ts';
import { reconcileInstallMedia } from './install-media.ts';
import { reconcilePackages } from './packages.ts';
import { reconcileRepositoryServers } from './repository-servers.ts';
import { summarise } from './summary.ts';
import { blockedOnTags, reconcileTags } from './tags.ts';
import { reconcilePromotion } from './test-ring.ts';

export { INFRASTRUCTURE } from './context.ts';
export { infrastructureAgentOf } from './infrastructure.ts';
export { ACCOUNT_CATALOGUE, ACCOUNT_REASONS } from './reasons.ts';
export { ACCOUNT_PRECONDITIONS } from './preconditions.ts';

/** The steps after tags, in the vendor's order. */
export const ACCOUNT_STEPS: readonly Step<Ctx>[] = [
  reconcilePackages,
  reconcilePromotion,
  reconcileInfrastructure,
  reconcileRepositoryServers,
  reconcileDevices,
  reconcileInstallMedia,
];

/** Every step's name, in order, for README and tests. */
export const ACCOUNT_STEP_NAMES = ['reconcileTags', ...stepNames(ACCOUNT_STEPS), 'summarise'];

export const reconcileAccount: Reconciler<'Account'> = (desired, observed, previous, now) =>
  reconcileAccountUnderWaveHold(desired, observed, previous, now, undefined);

/**
 * The same pass, told the open wave by governance (issue 16): applies of later waves are
 * withheld (listed held, no command), and `withheld` records which. Only governed.ts calls it
 * with a hold, and checks the hint against the waves step's decision.
 */
export function reconcileAccountUnderWaveHold(
  desired: Parameters<Reconciler<'Account'>>[0],
  observed: Parameters<Reconciler<'Account'>>[1],
  previous: Parameters<Reconciler<'Account'>>[2],
  now: number,
  waveHold: { readonly hold: WaveHold; readonly withheld: Withheld } | undefined,
): ReturnType<Reconciler<'Account'>> {
  const ctx = newContext(
    desired.object.metadata.name,
    desired.object.spec,
    desired.releases,
    desired.revision,
    observed,
    previous,
    now,
    waveHold,
  );
  reconcileTags(ctx);
  if (ctx.tagProblems.length > 0) return blockedOnTags(ctx);
  runSteps(ctx, ACCOUNT_STEPS);
  return summarise(ctx);
}

/** How governance tells this reconciler the open wave (governed.ts): wave members are devices outside the test ring. */
export const ACCOUNT_WAVE_HOLD: WaveHoldSupport<'Account'> = {
  members(desired) {
    const { devices, testRing } = desired.object.spec;
    if (!testRing?.devices?.length) return devices.length;
    const ring = new Set(testRing.devices);
    let n = 0;
    for (const d of devices) if (!ring.has(d.name)) n++;
    return n;
  },
  reconcile: reconcileAccountUnderWaveHold,
};
