/**
 * Step 3: propagation exists only from Watchdoc 6.1 on. A release below 6.1 cannot be
 * propagated at all: Blocked (`ReleaseNotPropagatable`), halts, while some slave needs it.
 * Per slave (a slave below 6.1 is updated by hand) see the propagation step.
 */
import type { DomainPass } from './pass.ts';
import { releasePropagates } from './preconditions.ts';

export function reconcilePropagationSupport(pass: DomainPass): void {
  const answer = releasePropagates.check(pass);
  if (answer.status === 'satisfied') return;
  pass.outcome(answer.reason, answer.message);
  pass.haltWith(pass.blocker(answer.reason, answer.message));
}
