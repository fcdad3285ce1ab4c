/**
 * Step 5: the master first ("il est nécessaire d'avoir d'abord mis à jour le serveur master").
 * Halts the slaves until `masterRunsRelease` holds (the master reports the release, running).
 *
 *  - newer than desired, not rolled back by Git: Blocked, `MemberAhead`, not downgraded.
 *  - `update: Manual` (default): never sent a command; one plan step `performedBy: 'operator'`;
 *    Waiting, `WaitingForMaster` ("waiting for master M to be updated by hand to V"), requeue
 *    60 s, the same status on every pass for as long as it takes.
 *  - `update: Controller`: `stage`, then `apply` (push), then wait for it to report V
 *    (Progressing, `UpdatingMaster`). The controller's agent updates the master as a person
 *    would by hand, so a master below 6.1 is updated too (propagation is from the master on).
 *  - its version not reported (or not a version): held, `ObservationMissing`.
 *  - reports V but is installing, stopped, failed, or reports no state: the slaves wait.
 * Not asked when the master runs V and no slave needs it.
 */
import { needsUpdate } from './servers.ts';
import type { DomainPass } from './pass.ts';
import { masterRunsRelease, serverVersionKnown } from './preconditions.ts';
import { applyServer, failureOf, stageServer, type StepResult } from './server-steps.ts';

export function aheadMessage(role: string, name: string, observed: string | undefined, version: string): string {
  const runs = `${role} ${name} runs ${observed ?? '?'}, newer than ${version}`;
  return `${runs}; not downgraded (commit a rollback in Git to downgrade it)`;
}

export function reconcileMaster(pass: DomainPass): void {
  const m = pass.master;
  const { version } = pass;
  if (m.runsDesired && !pass.slaves.some(needsUpdate)) return;
  const reach = `waiting for master ${m.name} to reach ${version}`;

  if (m.ahead) {
    const message = aheadMessage('master', m.name, m.observedVersion, version);
    const blockedBy = pass.halt ?? pass.blocker('MemberAhead', message);
    pass.step(m.name, 'apply', { version, blockedBy, ...(m.manual ? { performedBy: 'operator' as const } : {}) });
    pass.outcome('MemberAhead', message);
    pass.haltWith(pass.blocker('MemberAhead', reach));
    return;
  }

  const answer = masterRunsRelease.check(pass);
  if (answer.status === 'satisfied') return;

  if (m.runsDesired) {
    // Installed; the slaves wait until it runs (or says that it does).
    if (m.state === 'installing') pass.note(m.name, 'Updating', answer.message);
    else pass.note(m.name, 'Waiting', answer.message);
    const reason = m.state === 'installing' && !m.manual ? 'UpdatingMaster' : answer.reason;
    if (!pass.halt) pass.outcome(reason, answer.message);
    pass.haltWith(pass.blocker(answer.reason, answer.message));
    return;
  }

  if (m.manual) {
    const own = m.versionKnown
      ? { reason: 'WaitingForMaster', message: `waiting for master ${m.name} to be updated by hand to ${version}` }
      : { reason: answer.reason, message: answer.message };
    const blockedBy = pass.halt ?? pass.blocker(own.reason, own.message);
    pass.step(m.name, 'apply', { version, blockedBy, performedBy: 'operator' });
    pass.note(m.name, 'Waiting', own.message);
    if (!pass.halt) pass.outcome(own.reason, own.message);
    pass.haltWith(pass.blocker(answer.reason, answer.message));
    return;
  }

  const known = serverVersionKnown.check({ pass, server: m });
  const gate = pass.blockerOf(known);
  const results: StepResult[] = [];
  if (!m.propagated) results.push(stageServer(pass, m, gate));
  const ownStage = m.propagated
    ? undefined
    : pass.blocker('WaitingForPropagation', `waiting for propagation to finish on ${m.name}`);
  results.push(applyServer(pass, m, gate ?? ownStage));
  if (results.includes('failed')) {
    pass.haltWith(pass.blocker(failureOf(m) ?? 'WaitingForMaster', reach));
    return;
  }
  if (known.status !== 'satisfied' && !pass.halt) pass.outcome(known.reason, known.message);
  else if (results.includes('sent') || results.includes('running')) {
    pass.outcome('UpdatingMaster', `updating master ${m.name} to ${version}`);
  }
  pass.haltWith(pass.blocker('WaitingForMaster', reach));
}
