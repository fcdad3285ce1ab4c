/**
 * Step 4, `reconcileInfrastructure`: the `infrastructure` member (seed 003: console and APIs
 * as one unit) gets one `apply` of `spec.infrastructure.release` when it does not report that
 * version. Independent: it never waits for WRS or devices and they never wait for it. Rolling
 * back = pointing at the previous release: the same apply (a newer version reported is
 * downgraded only when Git rolled it back, `rolled-back-by-git`).
 * Preconditions: `package-verified`, `member-online` (InfrastructureOffline),
 * `observed-version-readable`, `rolled-back-by-git`.
 */
import type { AccountSpec } from '../model/desired.ts';
import { blocker, INFRASTRUCTURE, listStep, type Ctx } from './context.ts';
import {
  findComponent,
  memberStatus,
  progress,
  runStep,
  settle,
  stageOf,
  unreadableBlocker,
} from './member-progress.ts';
import { checkOnline } from './preconditions.ts';

export function reconcileInfrastructure(ctx: Ctx): void {
  const infra = ctx.spec.infrastructure;
  if (!infra) return;
  const { pass } = ctx;
  const agent = infrastructureAgent(ctx);
  const obs = ctx.observed.agents.get(agent);
  const desire = ctx.infra;
  ctx.tally.infra++;
  if (!desire) {
    const b = blocker('ReleaseNotFound', `release ${infra.release} of the infrastructure is not declared`);
    listStep(pass, INFRASTRUCTURE, 'apply', undefined, b);
    ctx.members.push(
      memberStatus(INFRASTRUCTURE, agent, 'infrastructure', infra.release, undefined, 'Waiting', b.message),
    );
    return;
  }
  desire.used = true;
  const comp = findComponent(obs, desire.product);
  const stage = stageOf(ctx, INFRASTRUCTURE, obs, comp, desire, false, false);
  if (stage === 'updated' || stage === 'ahead') {
    settle(ctx, INFRASTRUCTURE, agent, 'infrastructure', desire, comp, stage);
    return;
  }
  const online = checkOnline(`infrastructure agent ${agent}`, 'InfrastructureOffline', obs);
  const offline = pass.blockerOf(online);
  const unreadable = stage === 'unreadable' ? unreadableBlocker(INFRASTRUCTURE, comp) : undefined;
  const b = runStep(ctx, pass, INFRASTRUCTURE, agent, 'mailbox', obs, 'apply', desire, undefined, unreadable, offline);
  progress(ctx, INFRASTRUCTURE, agent, 'infrastructure', desire, comp, b);
}

export function infrastructureAgent(ctx: Ctx): string {
  return infrastructureAgentOf(ctx.name, ctx.spec);
}

/**
 * The agent of an account's cloud infrastructure (seed 003): `infrastructure.agent`,
 * else `<account>-infrastructure`.
 */
export function infrastructureAgentOf(account: string, spec: Pick<AccountSpec, 'infrastructure'>): string {
  return spec.infrastructure?.agent ?? `${account}-infrastructure`;
}
