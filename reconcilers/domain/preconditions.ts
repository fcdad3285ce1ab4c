/**
 * The preconditions of seed 000, each answering satisfied, not satisfied or unknown. Unknown
 * holds the step like a no, and its message names what is missing and from whom ("no version
 * reported by wd-lille"). Each lists, in `reads` and in its doc comment, the observations it
 * reads and what it does when one is absent.
 */
import { SATISFIED, unknown, unsatisfied, type Answer, type Missing, type Precondition } from '../engine/index.ts';
import type { DomainPass } from './pass.ts';
import { belowPropagation, needsUpdate, PROPAGATION_SINCE, type Server } from './servers.ts';

/** A server, seen from one pass. */
export interface ServerContext {
  readonly pass: DomainPass;
  readonly server: Server;
}

const q = (s: string): string => JSON.stringify(s);
const stagedVerification = (pass: DomainPass): string => `verification of the staged ${pass.version}`;

/** No version, or one that is not a version: unknown (it might even be newer than desired). */
function versionUnknown(s: Server): Answer {
  const v = s.observedVersion;
  const context = v === undefined ? undefined : `${s.role} ${s.name} reports ${q(v)}, which is not a version`;
  return unknown('ObservationMissing', [{ member: s.name, observation: 'version' }], context);
}

/**
 * The controller checked the package (download, sha256, Ed25519 signature) before anything is
 * propagated: "une fois le package validé (coche verte)".
 * Reads `observed.artifacts[release]`: `status`, `reason`.
 *   verified                 satisfied
 *   failed                   not satisfied, `PackageNotSecure` ("package not secure: <reason>")
 *   pending                  not satisfied, `VerifyingPackage` (the check is under way)
 *   absent (not checked yet) unknown, `VerifyingPackage`; any other status too
 */
export const packageVerified: Precondition<DomainPass> = {
  name: 'package-verified',
  reads: ['observed.artifacts[release].status', 'observed.artifacts[release].reason'],
  check(pass) {
    const check = pass.artifactCheck;
    const name = pass.release.metadata.name;
    if (check?.status === 'verified') return SATISFIED;
    if (check?.status === 'failed') {
      const why = check.reason ?? `the package of ${name} failed verification`;
      return unsatisfied('PackageNotSecure', `package not secure: ${why}`);
    }
    const message = `verifying the package of ${name} (sha256 and signature) before anything is propagated`;
    if (check?.status === 'pending') return unsatisfied('VerifyingPackage', message);
    const missing = [{ member: 'controller', observation: `package check of ${name}` }];
    return { status: 'unknown', reason: 'VerifyingPackage', message, missing };
  },
};

/**
 * "A partir de la version 6.1 … WSC permet de propager": a release below 6.1 cannot be
 * propagated at all. Reads the Release's `spec.version` (Git; always present and valid here,
 * `reconcileRelease` stops before otherwise). Below 6.1, while a slave still needs it: not
 * satisfied, `ReleaseNotPropagatable` (a domain already at such a release is simply converged).
 */
export const releasePropagates: Precondition<DomainPass> = {
  name: 'release-propagates',
  reads: ['Release spec.version'],
  check(pass) {
    const { version } = pass;
    if (!belowPropagation(version) || !pass.slaves.some(needsUpdate)) return SATISFIED;
    return unsatisfied(
      'ReleaseNotPropagatable',
      `release ${pass.release.metadata.name} is Watchdoc ${version}: ` +
        `propagation exists only from ${PROPAGATION_SINCE} on; ` +
        `name a release ${PROPAGATION_SINCE} or later, or update every server by hand`,
    );
  },
};

/**
 * "Vérifiez l'état des serveurs du domaine (maîtres et esclaves) : ils doivent être
 * accessibles": every server, master and slaves, reachable — before anything is propagated or
 * applied, at every pass, not only before the start.
 * Reads `agents[agent].online` and `.lastSeen` of every server. An agent that never reported
 * (absent), or whose `online` is absent, is not reachable: not satisfied, `ServerUnreachable`,
 * naming every such server.
 */
export const everyServerReachable: Precondition<DomainPass> = {
  name: 'every-server-reachable',
  reads: ['agents[*].online', 'agents[*].lastSeen'],
  check(pass) {
    const unreachable = pass.servers.filter((s) => !s.online);
    if (unreachable.length === 0) return SATISFIED;
    return unsatisfied(
      'ServerUnreachable',
      'every server of the domain must be reachable before anything is propagated or applied: ' +
        unreachable.map((s) => s.offlineMessage).join('; '),
    );
  },
};

/**
 * The master runs the release, so the slaves may follow ("il est nécessaire d'avoir d'abord
 * mis à jour le serveur master").
 * Reads the master's component: `version`, `state`.
 *   version absent or not a version    unknown, `ObservationMissing` ("no version reported by M")
 *   version other than desired         not satisfied, `WaitingForMaster`
 *   desired, state absent              unknown, `ObservationMissing` ("no state reported by M")
 *   desired, installing/stopped/failed not satisfied, `WaitingForMaster` (WSC propagates from a running master)
 *   desired, running                   satisfied
 */
export const masterRunsRelease: Precondition<DomainPass> = {
  name: 'master-runs-release',
  reads: ['master component.version', 'master component.state'],
  check(pass) {
    const m = pass.master;
    const { version } = pass;
    if (!m.versionKnown) return versionUnknown(m);
    if (!m.runsDesired) return unsatisfied('WaitingForMaster', `waiting for master ${m.name} to reach ${version}`);
    if (m.state === undefined) {
      const missing = [{ member: m.name, observation: 'state' }];
      return unknown('ObservationMissing', missing, `master ${m.name} reports ${version}`);
    }
    if (m.state === 'installing') {
      return unsatisfied('WaitingForMaster', `waiting for master ${m.name} to finish installing ${version}`);
    }
    if (m.state !== 'running') {
      const message = `master ${m.name} reports ${version} but is ${m.state}: propagation starts once it is running`;
      return unsatisfied('WaitingForMaster', message);
    }
    return SATISFIED;
  },
};

/**
 * A slave can receive a propagation: it reports a version, and it is 6.1 or later.
 * Reads the slave's component `version`.
 *   absent or not a version   unknown, `ObservationMissing` ("no version reported by wd-lille"): held,
 *                             never taken as 6.1 or later
 *   below 6.1                 not satisfied, `PropagationUnsupported`: updated by hand; the domain waits for it
 */
export const slaveReceivesPropagation: Precondition<ServerContext> = {
  name: 'slave-receives-propagation',
  reads: ['slave component.version'],
  check({ pass, server: s }) {
    if (!s.versionKnown) return versionUnknown(s);
    if (!s.belowPropagation) return SATISFIED;
    return unsatisfied(
      'PropagationUnsupported',
      `slave ${s.name} runs ${s.observedVersion ?? '?'}: ` +
        `propagation reaches only Watchdoc ${PROPAGATION_SINCE} or later; ` +
        `update it by hand to ${pass.version} (or to ${PROPAGATION_SINCE} or later, and it is propagated to)`,
    );
  },
};

/**
 * A staged package of the release says whether it verified.
 * Reads the server's `staged.version`, `staged.verified`. `verified` absent: unknown,
 * `ObservationMissing` — neither propagated (apply waits) nor failed.
 */
export const stagedVerificationKnown: Precondition<ServerContext> = {
  name: 'staged-verification-known',
  reads: ['component.staged.version', 'component.staged.verified'],
  check({ pass, server: s }) {
    if (!s.stagedUnverified) return SATISFIED;
    return unknown('ObservationMissing', [{ member: s.name, observation: stagedVerification(pass) }]);
  },
};

/**
 * A server's version is known before it is applied to: an unknown version might be newer, and
 * an apply would then downgrade it. Reads the server's `version`; absent or not a version:
 * unknown, `ObservationMissing`.
 */
export const serverVersionKnown: Precondition<ServerContext> = {
  name: 'server-version-known',
  reads: ['component.version'],
  check({ server: s }) {
    return s.versionKnown ? SATISFIED : versionUnknown(s);
  },
};

/**
 * Seed 000 propagates, then applies: no apply on any slave before every slave that needs the
 * release holds the verified package (`propagated`), offline ones and ones an operator updates
 * by hand included.
 * Reads, per slave: `version`, `staged` (version, verified), the results of its stage and apply.
 *   a pending slave's stage failed or its package did not verify  not satisfied, with that reason
 *   a pending slave's version, or its package's verification, is not reported  unknown, `ObservationMissing`
 *   otherwise pending                                             not satisfied, `WaitingForPropagation`
 */
export const propagationComplete: Precondition<DomainPass> = {
  name: 'propagation-complete',
  reads: ['slaves component.version', 'slaves component.staged', 'slaves stage/apply results'],
  check(pass) {
    const pending = pass.slaves.filter((s) => needsUpdate(s) && !s.propagated);
    if (pending.length === 0) return SATISFIED;
    const viaWsc = pending.filter((s) => !s.belowPropagation);
    const byHand = pending.filter((s) => s.belowPropagation);
    const parts: string[] = [];
    if (viaWsc.length > 0) parts.push(`waiting for propagation to finish on ${viaWsc.map((s) => s.name).join(', ')}`);
    if (byHand.length > 0) {
      const who = byHand.map((s) => s.name).join(', ');
      parts.push(`waiting for ${who} to be updated by hand (below ${PROPAGATION_SINCE})`);
    }
    const message = parts.join('; ');
    const failed = pending.find(
      (s) => s.stageResult?.status === 'failed' || (s.stagedBad !== undefined && !s.stageRetrying),
    );
    if (failed !== undefined) {
      return unsatisfied(failed.stageResult?.status === 'failed' ? 'StageFailed' : 'PackageNotVerified', message);
    }
    // A slave that reports no version, or a package without saying whether it verified, is
    // unknown; the answer is unknown only when nothing definite holds the apply back.
    const missing: Missing[] = [];
    for (const s of pending) {
      if (!s.versionKnown) missing.push({ member: s.name, observation: 'version' });
      else if (s.stagedUnverified) missing.push({ member: s.name, observation: stagedVerification(pass) });
    }
    if (missing.length === pending.length) return unknown('ObservationMissing', missing, message);
    return unsatisfied('WaitingForPropagation', message);
  },
};
