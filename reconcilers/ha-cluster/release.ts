/**
 * Steps 2–3 of seed 004 (step 1, the release, is the engine's `reconcileRelease`): the version
 * policy (no downgrade across major.minor: the database schema is major.minor), and the
 * controller's own package check.
 */
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import { settledServer, updatedComponent, type UmsMember } from './members.ts';
import { noSchemaDowngrade } from './preconditions.ts';
import type { HAPass } from './pass.ts';

/**
 * 2. no-schema-downgrade (see preconditions.ts): a server on a higher major.minor → Blocked
 * `SchemaDowngrade`; a server newer within it that Git did not roll back → Blocked `MemberAhead`;
 * a server reporting no version → Waiting `ObservationMissing`. Any of them halts: nothing is sent.
 */
export function reconcileVersionPolicy(pass: HAPass): void {
  const { version } = pass;
  const added = pass.input.added.filter((m) => m.role === 'server');
  const rollbackFrom = pass.input.rollbackFrom;
  const answer = noSchemaDowngrade.check({ servers: pass.servers, added, version, rollbackFrom });
  if (answer.status === 'satisfied') return;
  const named = new Set(answer.status === 'unknown' ? answer.missing.map((m) => m.member) : []);
  for (const s of [...pass.servers, ...added]) {
    const v = s.observedVersion;
    const higher = v !== undefined && isValidVersion(v) && compareVersions(v, version) > 0;
    if (answer.reason === 'MemberAhead' && higher) pass.noteOf(s, 'Ahead', `runs ${v}: ${answer.message}`);
    else if (answer.reason === 'SchemaDowngrade' && higher) pass.noteOf(s, 'Waiting', `runs ${v}: ${answer.message}`);
    else if (named.has(s.name)) pass.noteOf(s, 'Waiting', answer.message);
  }
  pass.outcome(answer.reason, answer.message);
  pass.haltWith(pass.blocker(answer.reason, answer.message));
}

/**
 * 3. The controller's check of the package (sha256 + signature): nothing at all is sent until it
 * verified — not `stage`, not `backup`, not even `migrate`. Absent/`pending` → Waiting
 * `VerifyingPackage`; `failed` → Blocked `PackageNotSecure`. A cluster already done does not flap
 * to Waiting while a restarted controller checks the package again: there is nothing to send.
 */
export function reconcilePackage(pass: HAPass): void {
  const name = pass.input.release.metadata.name;
  const check = pass.input.observed.artifacts.get(name);
  if (check?.status === 'verified') return;
  if (done(pass)) return;
  if (check?.status === 'failed') {
    const message = `package not secure: ${check.reason ?? `the package of ${name} failed verification`}`;
    pass.outcome('PackageNotSecure', message);
    pass.haltWith(pass.blocker('PackageNotSecure', message));
    return;
  }
  const message = `verifying the package of ${name} (sha256 and signature) before anything is distributed`;
  pass.outcome('VerifyingPackage', message);
  pass.haltWith(pass.blocker('VerifyingPackage', message));
}

function done(pass: HAPass): boolean {
  return (
    pass.servers.length > 0 &&
    pass.servers.every(settledServer) &&
    pass.loadBalancers.every(updatedComponent) &&
    pass.consoles.every((c: UmsMember) => c.runsDesired)
  );
}
