/**
 * The Account's preconditions (seeds 001, 003). Each answers satisfied, unsatisfied or
 * unknown; unknown holds the step like unsatisfied and its message names what is missing and
 * from whom. `reads` lists the observations each reads; what it does when one is absent is in
 * its doc comment (and in README.md). The promotion gate (production after the test ring) is
 * `productionAdmitted` in promotion.ts.
 *
 * The hot path (a million devices) calls the `check` functions directly with what it already
 * holds; answers that do not name a device are shared, never rebuilt per device.
 */
import type { MemberStatus } from '../contract.ts';
import { SATISFIED, unknown, unsatisfied, type Answer, type Precondition } from '../engine/index.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, ArtifactCheck } from '../observed.ts';
import type { Desire } from './context.ts';

/**
 * `package-verified`: nothing of a release runs (apply or restart) before the controller
 * verified its package (sha256 and signature).
 * Reads `observed.artifacts[release].status`. Absent (never checked) → unknown
 * (`VerifyingPackage`, requeue 10 s); `pending` → unsatisfied, waiting; `failed` → unsatisfied,
 * stalled (`PackageNotSecure`).
 */
export const packageVerified: Precondition<{ readonly desire: Desire; readonly check: ArtifactCheck | undefined }> = {
  name: 'package-verified',
  reads: ['observed.artifacts[release].status'],
  check: ({ desire, check }) => checkPackage(desire.release.metadata.name, check),
};

export function checkPackage(release: string, check: ArtifactCheck | undefined): Answer {
  if (check?.status === 'verified') return SATISFIED;
  if (check?.status === 'failed')
    return unsatisfied(
      'PackageNotSecure',
      `package ${release} is not secure: ${check.reason ?? 'verification failed'}`,
    );
  const message = `waiting for package ${release} to be verified (sha256 and signature)`;
  if (check === undefined)
    return {
      status: 'unknown',
      reason: 'VerifyingPackage',
      message,
      missing: [{ member: 'controller', observation: `verification of ${release}` }],
    };
  return unsatisfied('VerifyingPackage', message);
}

/**
 * `member-online`: a member gets a command only while its agent reports (seeds: "il faut
 * que votre poste de travail soit allumé").
 * Reads the agent's `online` and `lastSeen`. Never reported (no observation) → unknown, held
 * ("device ws-001 has never reported"); `online: false` → unsatisfied, it waits and is picked
 * up when it reports again. The reason names the role: DeviceOffline, RepositoryServerOffline,
 * InfrastructureOffline.
 */
export const memberOnline: Precondition<{
  readonly who: string;
  readonly reason: OfflineReason;
  readonly obs: AgentObservation | undefined;
}> = {
  name: 'member-online',
  reads: ['agent.online', 'agent.lastSeen'],
  check: ({ who, reason, obs }) => checkOnline(who, reason, obs),
};

export type OfflineReason = 'DeviceOffline' | 'RepositoryServerOffline' | 'InfrastructureOffline';

export function checkOnline(who: string, reason: OfflineReason, obs: AgentObservation | undefined): Answer {
  if (obs === undefined)
    return {
      status: 'unknown',
      reason,
      message: `${who} has never reported`,
      missing: [{ member: who, observation: 'report' }],
    };
  if (obs.online === true) return SATISFIED;
  return unsatisfied(
    reason,
    obs.lastSeen !== undefined ? `${who} offline since ${obs.lastSeen}` : `${who} does not report`,
  );
}

/**
 * `wrs-serves-version` (rule "WRS first": updated AND restarted before its devices): a device
 * behind a WRS gets `apply` of V only when its WRS is online, runs V (component `version`),
 * has no restart pending (`pendingRestart` absent or false, and no restart of ours still due
 * after our apply), is not reported stopped/installing/failed (`state`, when reported), and
 * lists V in `serves`. Remote (`cloud`) devices do not ask it.
 * Reads, of the WRS's agent: `online`, component `version`, `state`, `pendingRestart`,
 * `serves`, and its command results (our apply / restart of V).
 * Absent: the WRS never reported → unknown ("WRS wrs-paris has never reported"); no
 * component or no `version` → unknown ("no w360-core version reported by wrs-paris"); no
 * `serves` list → unknown ("no served versions reported by wrs-paris"). `pendingRestart`
 * absent means none pending (protocol). Unknown holds the devices (`ObservationMissing`).
 */
export const wrsServesVersion: Precondition<{
  readonly wrs: string;
  readonly obs: AgentObservation | undefined;
  readonly comp: ComponentReport | undefined;
  readonly restartDue: boolean;
  readonly desire: Desire;
  readonly product: string;
}> = {
  name: 'wrs-serves-version',
  reads: [
    'WRS agent.online',
    'WRS component.version',
    'WRS component.state',
    'WRS component.pendingRestart',
    'WRS component.serves',
    'WRS command results',
  ],
  check: ({ wrs, obs, comp, restartDue, desire, product }) =>
    checkWrsServes(wrs, obs, comp, restartDue, desire, product),
};

export function checkWrsServes(
  wrs: string,
  obs: AgentObservation | undefined,
  comp: ComponentReport | undefined,
  restartDue: boolean,
  desire: Desire,
  product: string,
): Answer {
  const version = desire.version;
  const notYet = `WRS ${wrs} does not serve ${version} yet`;
  if (obs === undefined)
    return {
      status: 'unknown',
      reason: 'WaitingForRepositoryServer',
      message: `WRS ${wrs} has never reported`,
      missing: [{ member: wrs, observation: 'report' }],
    };
  if (obs.online !== true) {
    return unsatisfied(
      'WaitingForRepositoryServer',
      obs.lastSeen !== undefined ? `WRS ${wrs} offline since ${obs.lastSeen}` : `WRS ${wrs} does not report`,
    );
  }
  const v = comp?.version;
  if (v === undefined) return unknown('ObservationMissing', [{ member: wrs, observation: `${product} version` }]);
  if (!sameVersion(v, version)) return unsatisfied('WaitingForRepositoryServer', `${notYet}: it runs ${v}`);
  if (comp!.state !== undefined && comp!.state !== 'running')
    return unsatisfied('WaitingForRepositoryServer', `${notYet}: it is ${comp!.state}`);
  if (comp!.pendingRestart === true || restartDue)
    return unsatisfied('WaitingForRepositoryServer', `${notYet}: it runs ${version} once restarted (restart pending)`);
  const serves = comp!.serves;
  if (serves === undefined) return unknown('ObservationMissing', [{ member: wrs, observation: 'served versions' }]);
  for (const s of serves) if (sameVersion(s, version)) return SATISFIED;
  return unsatisfied(
    'WaitingForRepositoryServer',
    `${notYet}: it serves ${serves.length > 0 ? serves.join(', ') : 'nothing'}`,
  );
}

/**
 * `observed-version-readable`: a member whose reported version does not read as a version
 * could be newer or older than desired: installing over it could be a downgrade, so it is
 * held. Reads component `version`. Absent `version` = not installed (protocol): installing is
 * no downgrade, so that is not this precondition's concern.
 */
export const observedVersionReadable: Precondition<{ readonly member: string; readonly version: string }> = {
  name: 'observed-version-readable',
  reads: ['component.version'],
  check: ({ member, version }) => checkVersionReadable(member, version),
};

export function checkVersionReadable(member: string, version: string): Answer {
  return isValidVersion(version)
    ? SATISFIED
    : unknown('ObservationMissing', [{ member, observation: `readable version (it reports "${version}")` }]);
}

/**
 * `rolled-back-by-git`: a member running a version NEWER than desired is downgraded only when
 * Git asks for it — the previous status (committed in Git, read at the base revision by `plan`
 * and by a restarted controller alike) desired a newer version for it, or was already taking
 * it down (same desired, it reported newer, and it was not left alone as Ahead).
 * Reads `previous.members[name].desired`, `.observed`, `.state`. No previous status, or no
 * entry for the member → unknown: never downgraded (`MemberAhead`, a person decides).
 */
export const rolledBackByGit: Precondition<{ readonly previous: MemberStatus | undefined; readonly desired: string }> =
  {
    name: 'rolled-back-by-git',
    reads: ['previous status (Git): members[].desired, observed, state'],
    check: ({ previous, desired }) =>
      isRollback(previous, desired)
        ? SATISFIED
        : unsatisfied('MemberAhead', `newer than desired ${desired}; not downgraded`),
  };

export function isRollback(prev: MemberStatus | undefined, desired: string): boolean {
  if (prev === undefined || !isValidVersion(prev.desired) || !isValidVersion(desired)) return false;
  const c = compareVersions(prev.desired, desired);
  if (c !== 0) return c > 0;
  return (
    prev.state !== 'Ahead' &&
    prev.observed !== undefined &&
    isValidVersion(prev.observed) &&
    compareVersions(prev.observed, prev.desired) > 0
  );
}

/**
 * `install-reported` (restart finalises an install): a restart of V is sent only once the
 * member reports V installed with a restart pending — for a WRS also after our apply of V
 * succeeded and our restart did not (a WRS is always restarted).
 * Reads component `version`, `pendingRestart`, and (WRS) our command results. Absent
 * `version` → not installed: the step is an apply, no restart; absent `pendingRestart` → none
 * pending (protocol).
 */
export const installReported: Precondition<{
  readonly comp: ComponentReport | undefined;
  readonly desire: Desire;
  readonly restartDue: boolean;
}> = {
  name: 'install-reported',
  reads: ['component.version', 'component.pendingRestart', 'WRS command results'],
  check: ({ comp, desire, restartDue }) =>
    comp?.version !== undefined &&
    sameVersion(comp.version, desire.version) &&
    (comp.pendingRestart === true || restartDue)
      ? SATISFIED
      : unsatisfied('WaitingForInstall', desire.awaitInstall.message),
};

/** Every precondition of the kind, for README and tests. */
export const ACCOUNT_PRECONDITIONS = [
  packageVerified,
  memberOnline,
  wrsServesVersion,
  observedVersionReadable,
  rolledBackByGit,
  installReported,
] as const;

export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  return isValidVersion(a) && isValidVersion(b) && compareVersions(a, b) === 0;
}
