/**
 * Step 8: verify — "tous les serveurs du domaine ont la même version". Converged when every
 * server reports the release's version. A slave newer than it (not rolled back by Git) is
 * reported `Ahead` and left alone: Blocked, `MemberAhead` (a person decides: roll Git forward,
 * or commit a rollback).
 */
import type { DomainPass } from './pass.ts';
import { aheadMessage } from './master.ts';

export function reconcileVerification(pass: DomainPass): void {
  const { version } = pass;
  const ahead = pass.slaves.filter((s) => s.ahead);
  if (ahead.length > 0) {
    pass.outcome('MemberAhead', ahead.map((s) => aheadMessage(s.role, s.name, s.observedVersion, version)).join('; '));
  }
  if (pass.servers.every((s) => s.runsDesired)) {
    pass.outcome('Converged', `all ${pass.servers.length} servers run ${version}`);
  }
}
