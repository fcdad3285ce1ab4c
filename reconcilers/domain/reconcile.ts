/**
 * Domain reconciler — seed 000, Watchdoc WSC: "propager la mise à jour du serveur master vers
 * les serveurs slaves". A pure function of (desired, observed, previous status from Git, now),
 * on the engine (`reconcilers/engine`): ordered named steps, preconditions that answer
 * satisfied / not / unknown (unknown holds), one reason catalogue (`reasons.ts`), one fold.
 *
 * Steps, in order (`DOMAIN_STEPS`). A step that finds a domain-wide obstacle raises a *halt*:
 * later steps still list the plan steps they would run, blocked by it, and send nothing.
 *
 *  1. reconcileRelease             declared Release with a valid version, else Blocked
 *                                  (`ReleaseNotFound`, `ReleaseInvalid`). STOPS: no plan, no commands.
 *  2. reconcilePackage             package verified by the controller, else nothing at all:
 *                                  `VerifyingPackage` (Waiting) / `PackageNotSecure` (Blocked). Halts.
 *  3. reconcilePropagationSupport  a release below 6.1 cannot be propagated: Blocked, `ReleaseNotPropagatable`. Halts.
 *  4. reconcileReachability        every server reachable, on every pass: else Waiting, `ServerUnreachable`. Halts.
 *  5. reconcileMaster              the master first: by hand (`WaitingForMaster`, operator step) or by the
 *                                  controller (`UpdatingMaster`); newer: `MemberAhead` (Blocked). Halts the slaves.
 *  6. reconcilePropagation         `stage` to every slave that needs it (`Propagating`); a slave below 6.1 is
 *                                  updated by hand (`PropagationUnsupported`). Halts apply until every slave holds it.
 *  7. reconcileApply               `apply` on every slave that needs it (`Applying`).
 *  8. reconcileVerification        every server reports V: `Converged`; newer slaves: `MemberAhead` (Blocked).
 *
 * Per server (steps 5–7): a stage or apply the agent reported `failed`, or a staged package it
 * reported not verified, fails the member and the phase (`StageFailed`, `ApplyFailed`,
 * `PackageNotVerified`; Failed, Stalled) and is never re-sent until `spec.rollout.retryFailed`
 * retries it under a new id; `running` is not re-sent (`CommandRunning`); an apply reported
 * `succeeded` by a server that, not installing, reports another version contradicts itself
 * (`ReportContradictsResult`, Failed). A missing observation holds the step (`ObservationMissing`).
 *
 * Rollback: a server newer than desired is downgraded only when Git moved the version down
 * (see `rollback.ts`); while one is, `details.rollback: { from, to }` records it in status.
 * Delivery: the master and `bidirectional` slaves get `push`; `mailbox` slaves get `mailbox`.
 * Members, plan and commands follow declaration order: master, then slaves (stages, then applies).
 * Phase, reason and requeue: `foldOutcomes` over the outcomes of the steps, in step order.
 */
import { artifactRef } from '../artifact-ref.ts';
import { conditionsFor } from '../conditions.ts';
import type { DesiredInput, MemberStatus, ReconcileResult, Reconciler, TargetStatus } from '../contract.ts';
import { foldOutcomes, runSteps, stepNames, type Outcome, type Step } from '../engine/index.ts';
import { reconcileRelease } from '../engine/release.ts';
import { agentIdOf, type Domain } from '../model/desired.ts';
import { targetId, type TargetId } from '../model/identity.ts';
import { reconcileApply } from './apply.ts';
import { aheadMessage, reconcileMaster } from './master.ts';
import { reconcilePackage } from './package.ts';
import { DomainPass } from './pass.ts';
import { reconcilePropagationSupport } from './propagation-support.ts';
import { reconcilePropagation } from './propagation.ts';
import { reconcileReachability } from './reachability.ts';
import { DOMAIN_CATALOGUE } from './reasons.ts';
import { reportsVersion } from '../../protocol/version.ts';
import { serversOf } from './servers.ts';
import { reconcileVerification } from './verification.ts';

export { DOMAIN_CATALOGUE, DOMAIN_REASONS, DOMAIN_REQUEUE, type DomainReason } from './reasons.ts';

const STEPS: readonly Step<DomainPass>[] = [
  reconcilePackage,
  reconcilePropagationSupport,
  reconcileReachability,
  reconcileMaster,
  reconcilePropagation,
  reconcileApply,
  reconcileVerification,
];

/** The step names, in the order they run (taken from the functions themselves, so they cannot drift). */
export const DOMAIN_STEPS: readonly string[] = [reconcileRelease.name, ...stepNames(STEPS)];

export const reconcileDomain: Reconciler<'Domain'> = (desired, observed, previous, now): ReconcileResult => {
  const domain = desired.object;
  const target = targetId('Domain', domain.metadata.name);

  const resolved = reconcileRelease(desired);
  if (!('release' in resolved)) return unresolved(desired, domain, target, resolved, previous, now);

  const { release } = resolved;
  const version = release.spec.version;
  const retryFailed = domain.spec.rollout?.retryFailed;
  const { master, slaves, rollback } = serversOf(domain, {
    target,
    product: release.spec.product,
    version,
    agents: observed.agents,
    previous,
    ...(retryFailed !== undefined ? { retryFailed } : {}),
  });
  const check = observed.artifacts.get(release.metadata.name);
  const pass = new DomainPass(target, release, artifactRef(release), check, master, slaves);
  // A newer server is left alone whatever else holds it: say so first (first note wins).
  for (const s of pass.servers) {
    if (s.ahead) pass.note(s.name, 'Ahead', aheadMessage(s.role, s.name, s.observedVersion, version));
  }
  runSteps(pass, STEPS);

  const verifying = { reason: 'Verifying', message: `waiting for every server to report ${version}` };
  const folded = foldOutcomes(pass.outcomes, DOMAIN_CATALOGUE, verifying);
  const members: MemberStatus[] = pass.servers.map((s) => {
    const n = pass.notes.get(s.name) ?? (s.runsDesired ? { state: 'Updated' as const } : { state: 'Pending' as const });
    return {
      name: s.name,
      agent: s.agent,
      role: s.role,
      desired: version,
      ...(s.observedVersion !== undefined ? { observed: s.observedVersion } : {}),
      state: n.state,
      ...(n.message !== undefined ? { message: n.message } : {}),
    };
  });

  const previousMaster = previous?.members.find((m) => m.role === 'master');
  const sameRollout = previousMaster !== undefined && reportsVersion(previousMaster.desired, version);
  const record = rollback.record();
  const status: TargetStatus = {
    target,
    phase: folded.phase,
    conditions: conditionsFor(folded.phase, folded.reason, folded.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary: `${pass.servers.filter((s) => s.runsDesired).length}/${pass.servers.length} servers at ${version}`,
    members,
    rolloutStartedAt:
      sameRollout && previous?.rolloutStartedAt !== undefined ? previous.rolloutStartedAt : new Date(now).toISOString(),
    ...(record !== undefined ? { details: { rollback: record } } : {}),
  };
  return {
    commands: pass.commands,
    status,
    plan: pass.plan,
    ...(folded.requeueAfter !== undefined ? { requeueAfter: folded.requeueAfter } : {}),
  };
};

/** The release cannot be resolved: no version to compare with, so no plan and no commands. */
function unresolved(
  desired: DesiredInput<'Domain'>,
  domain: Domain,
  target: TargetId,
  outcome: Outcome,
  previous: TargetStatus | undefined,
  now: number,
): ReconcileResult {
  const { master, slaves } = domain.spec;
  const folded = foldOutcomes([outcome], DOMAIN_CATALOGUE, outcome);
  const member = (m: { name: string; agent?: string }, role: 'master' | 'slave'): MemberStatus => ({
    name: m.name,
    agent: agentIdOf(m),
    role,
    desired: '',
    state: 'Pending',
    message: outcome.message,
  });
  const status: TargetStatus = {
    target,
    phase: folded.phase,
    conditions: conditionsFor(folded.phase, folded.reason, folded.message, previous?.conditions, now),
    observedRevision: desired.revision,
    summary:
      `release ${domain.spec.release} ${outcome.reason === 'ReleaseNotFound' ? 'not found' : 'invalid'}; ` +
      `${1 + slaves.length} servers wait`,
    members: [member(master, 'master'), ...slaves.map((s) => member(s, 'slave'))],
  };
  return { commands: [], status, plan: [] };
}
