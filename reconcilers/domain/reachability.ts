/**
 * Step 4: every server of the domain must be reachable ("ils doivent être accessibles")
 * before anything is propagated or applied — on every pass, not only before the start: a
 * master updated by hand, or a rollout half done, does not open this gate. See
 * `everyServerReachable`. While a server is unreachable: Waiting, `ServerUnreachable`, naming
 * each; halts (no stage, no apply, no command to the master). Not asked when no server needs
 * the release.
 *
 * Apply is held too: the operator checks reachability before the operation, and the operation
 * is propagate-then-apply on the whole domain; an offline server's last report (its package,
 * its version) may be stale; and a server that comes back is picked up by the same pass.
 */
import type { DomainPass } from './pass.ts';
import { everyServerReachable } from './preconditions.ts';

export function reconcileReachability(pass: DomainPass): void {
  if (!pass.somethingToDo()) return;
  const answer = everyServerReachable.check(pass);
  if (answer.status === 'satisfied') return;
  for (const s of pass.servers) if (s.offlineMessage !== undefined) pass.note(s.name, 'Waiting', s.offlineMessage);
  pass.outcome(answer.reason, answer.message);
  pass.haltWith(pass.blocker(answer.reason, answer.message));
}
