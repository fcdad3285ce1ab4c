/**
 * Step 2: the package must be valid and signed before anything is propagated ("une fois le
 * package validé (coche verte)"; "Ce package de mise à jour n'est pas sécurisé"). See
 * `packageVerified` for what is read. Not asked when no server needs the release (a converged
 * domain must not flap to Waiting while a restarted controller re-checks the package).
 * Not verified, for whatever reason (failed, pending, not checked): halts — nothing at all is sent.
 */
import type { DomainPass } from './pass.ts';
import { packageVerified } from './preconditions.ts';

export function reconcilePackage(pass: DomainPass): void {
  if (!pass.somethingToDo()) return;
  const answer = packageVerified.check(pass);
  if (answer.status === 'satisfied') return;
  pass.outcome(answer.reason, answer.message);
  pass.haltWith(pass.blocker(answer.reason, answer.message));
}
