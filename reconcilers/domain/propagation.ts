/**
 * Step 6: propagate — `stage` (download and verify, install nothing) the package on every
 * slave that needs the release and does not hold it yet: Progressing, `Propagating`.
 *
 * Per slave, `slaveReceivesPropagation`: a slave below 6.1 cannot be propagated to — it is
 * updated by hand like a manual master (a plan step `performedBy: 'operator'`, Waiting,
 * `PropagationUnsupported` naming it and its version); it is never staged nor applied. A slave
 * that reports no version (or not a version), or a staged package without saying whether it
 * verified (`stagedVerificationKnown`), is held (`ObservationMissing`).
 *
 * Then `propagationComplete`: until every slave that needs the release holds the verified
 * package — offline ones and ones updated by hand included — it halts: no apply anywhere.
 */
import type { Answer } from '../engine/index.ts';
import type { DomainPass } from './pass.ts';
import { propagationComplete, slaveReceivesPropagation, stagedVerificationKnown } from './preconditions.ts';
import { stageServer } from './server-steps.ts';
import { needsUpdate, type Server } from './servers.ts';

/** The operator's step for a slave below 6.1 (listed once, by the first step that meets it). */
export function byHand(pass: DomainPass, s: Server, answer: Answer & { status: 'unsatisfied' }): void {
  if (pass.byHand.has(s.name)) return;
  pass.byHand.add(s.name);
  const blockedBy = pass.halt ?? pass.blocker(answer.reason, answer.message);
  pass.step(s.name, 'apply', { version: pass.version, blockedBy, performedBy: 'operator' });
  pass.note(s.name, 'Waiting', answer.message);
  if (!pass.halt) pass.outcome(answer.reason, answer.message);
}

export function reconcilePropagation(pass: DomainPass): void {
  const staging: string[] = [];
  for (const s of pass.slaves) {
    if (!needsUpdate(s) || s.propagated) continue;
    const support = slaveReceivesPropagation.check({ pass, server: s });
    if (support.status === 'unsatisfied') {
      byHand(pass, s, support);
      continue;
    }
    const gate = support.status === 'satisfied' ? stagedVerificationKnown.check({ pass, server: s }) : support;
    const halted = pass.halt !== undefined;
    const r = stageServer(pass, s, pass.blockerOf(gate));
    if (r === 'sent' || r === 'running') staging.push(s.name);
    else if (r === 'held' && !halted && gate.status !== 'satisfied') pass.outcome(gate.reason, gate.message);
  }
  if (staging.length > 0) pass.outcome('Propagating', `propagating ${pass.version} to ${staging.join(', ')}`);
  const complete = propagationComplete.check(pass);
  if (complete.status !== 'satisfied') pass.haltWith(pass.blocker(complete.reason, complete.message));
}
