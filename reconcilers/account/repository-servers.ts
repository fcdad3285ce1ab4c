/**
 * Step 5, `reconcileRepositoryServers` — WRS first (seeds 001, 003: "Mettre à jour le WRS",
 * then "Redémarrer le WRS pour appliquer les modifications"): `apply`, then once the WRS
 * reports the version installed, always a `restart`. Restarts are listed after every apply.
 * A WRS of the test ring follows the ring (it serves its production devices too); a
 * production WRS waits with production (`AwaitingTestRing`): it would hand the version to its
 * devices, which with auto-update take it themselves.
 * Preconditions: `production-admitted` (production WRS), `package-verified`, `member-online`
 * (RepositoryServerOffline), `observed-version-readable`, `rolled-back-by-git`,
 * `install-reported` (restart). Records each WRS for `wrs-serves-version` (step 6).
 */
import type { Blocker, Delivery } from '../contract.ts';
import { appendLater, laterPass, listStep, type Ctx, type Desire, type WrsEntry } from './context.ts';
import { findComponent, progress, runStep, settle, stageOf, unreadableBlocker } from './member-progress.ts';
import { checkOnline, checkWrsServes } from './preconditions.ts';

export function reconcileRepositoryServers(ctx: Ctx): void {
  const { spec, pass } = ctx;
  const ring = new Set(spec.testRing?.repositoryServers);
  const later = laterPass(ctx);
  for (const w of spec.repositoryServers) {
    const inRing = ring.has(w.name);
    const desire = (inRing ? ctx.test : ctx.prod)!;
    const hold = inRing ? undefined : ctx.hold;
    desire.used = true;
    ctx.tally.wrs++;
    const agent = w.agent ?? w.name;
    const delivery: Delivery = w.endpoint ? 'push' : 'mailbox';
    const obs = ctx.observed.agents.get(agent);
    const comp = findComponent(obs, spec.product);
    const stage = stageOf(ctx, w.name, obs, comp, desire, true, true);
    ctx.wrs.set(w.name, { name: w.name, agent, obs, comp, gates: new Map(), restartDue: stage === 'restart' });
    if (stage === 'updated' || stage === 'ahead') {
      settle(ctx, w.name, agent, 'wrs', desire, comp, stage);
      continue;
    }
    const offline =
      obs?.online === true ? undefined : pass.blockerOf(checkOnline(`WRS ${w.name}`, 'RepositoryServerOffline', obs));
    let b: Blocker | undefined;
    if (stage === 'restart') {
      b = runStep(ctx, later, w.name, agent, delivery, obs, 'restart', desire, hold, undefined, offline);
    } else {
      const unreadable = stage === 'unreadable' ? unreadableBlocker(w.name, comp) : undefined;
      b = runStep(ctx, pass, w.name, agent, delivery, obs, 'apply', desire, hold, unreadable, offline);
      listStep(later, w.name, 'restart', desire.version, desire.awaitInstall);
    }
    progress(ctx, w.name, agent, 'wrs', desire, comp, b);
  }
  appendLater(ctx, later);
}

/**
 * `wrs-serves-version` for the devices behind `w`, memoised per desire: null when its devices
 * may get `desire` (online, runs it, restarted, serves it), else what holds them.
 */
export function wrsGate(ctx: Ctx, w: WrsEntry, desire: Desire): Blocker | null {
  let gate = w.gates.get(desire);
  if (gate !== undefined) return gate;
  gate = ctx.pass.blockerOf(checkWrsServes(w.name, w.obs, w.comp, w.restartDue, desire, ctx.spec.product)) ?? null;
  w.gates.set(desire, gate);
  return gate;
}
