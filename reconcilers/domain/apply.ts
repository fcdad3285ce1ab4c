/**
 * Step 7: apply — install the propagated package on every slave that needs the release, once
 * propagation finished on every one of them (the halt of step 6): Progressing, `Applying`.
 * A slave whose version is unknown is not applied (`serverVersionKnown`: it might be newer);
 * a slave below 6.1 is never applied (updated by hand).
 */
import type { DomainPass } from './pass.ts';
import { serverVersionKnown, slaveReceivesPropagation } from './preconditions.ts';
import { byHand } from './propagation.ts';
import { applyServer } from './server-steps.ts';
import { needsUpdate } from './servers.ts';

export function reconcileApply(pass: DomainPass): void {
  const applying: string[] = [];
  for (const s of pass.slaves) {
    if (!needsUpdate(s)) continue;
    if (s.belowPropagation) {
      const answer = slaveReceivesPropagation.check({ pass, server: s });
      if (answer.status === 'unsatisfied') byHand(pass, s, answer);
      continue;
    }
    const known = serverVersionKnown.check({ pass, server: s });
    const halted = pass.halt !== undefined;
    const r = applyServer(pass, s, pass.blockerOf(known));
    if (r === 'sent' || r === 'running') applying.push(s.name);
    else if (r === 'held' && !halted && known.status !== 'satisfied') pass.outcome(known.reason, known.message);
  }
  if (applying.length > 0) pass.outcome('Applying', `applying ${pass.version} on ${applying.join(', ')}`);
}
