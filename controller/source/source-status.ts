import type { TargetStatus } from '../../reconcilers/contract.ts';
import { conditionsFor } from '../../reconcilers/conditions.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { VersiondError } from '../../reconcilers/model/errors.ts';
import { formatDiagnostic } from '../desired/diagnostics.ts';
import type { RevisionTracker } from './revision-tracker.ts';

/** At most this many errors are written into the source status; the count says how many there were. */
const MAX_ERRORS = 50;

/**
 * The status of the watched branch itself, like Flux's GitRepository status: which
 * revision the controller acts on (`lastAppliedRevision`), and the last revision it could
 * not act on with every error in it (`lastAttemptedRevision`), so a person who pushed an
 * invalid change reads why nothing happened in `status/source/<branch>.yaml`, next to the
 * targets. It is an ordinary TargetStatus, so the status writer commits it like any other.
 * `missing`: the revision `attempted` (the branch head) needs a Git object that is lost
 * (issue 14, item 5); the status names it, and the revision still acted on.
 */
export function sourceStatus(
  branch: string,
  tracker: RevisionTracker,
  previous: TargetStatus | undefined,
  now: number,
  missing?: { readonly error: VersiondError<'GIT_OBJECT_MISSING'>; readonly attempted: string },
): TargetStatus {
  const applied = tracker.lastApplied?.revision ?? null;
  const attempted = tracker.lastAttempted;
  const target = `source/${branch}` as TargetId;
  const still = `still acting on ${applied ? applied.slice(0, 7) : 'no revision'}`;
  // A revision the controller does not act on: why, and that the last valid one stays in force.
  const blocked = (reason: string, message: string, attemptedRevision: string, details: Record<string, unknown>) => ({
    target,
    phase: 'Blocked' as const,
    conditions: conditionsFor('Blocked', reason, message, previous?.conditions, now),
    observedRevision: applied,
    summary: message,
    members: [],
    details: { lastAppliedRevision: applied, lastAttemptedRevision: attemptedRevision, ...details },
  });
  if (missing) {
    const message = `revision ${missing.attempted.slice(0, 7)} cannot be read: ${missing.error.message}; ${still}`;
    return blocked('GitObjectMissing', message, missing.attempted, {
      errors: [`${missing.error.code}: ${missing.error.message}`],
      missingObject: { ...missing.error.data },
    });
  }
  const refusal = attempted?.diagnostics.find((d) => d.code === 'REVISION_UNVERIFIED');
  if (attempted && refusal) {
    const message = `${refusal.message}; ${still}`;
    const errors = [`${refusal.code}: ${refusal.message}`];
    return blocked('RevisionUnverified', message, attempted.revision, { errors });
  }
  if (attempted) {
    const errors = attempted.diagnostics.filter((d) => d.severity === 'error');
    const count = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
    const message = `revision ${attempted.revision.slice(0, 7)} is invalid (${count}); ${still}`;
    return blocked('InvalidRevision', message, attempted.revision, {
      errors: errors.slice(0, MAX_ERRORS).map(formatDiagnostic),
      ...(errors.length > MAX_ERRORS ? { moreErrors: errors.length - MAX_ERRORS } : {}),
    });
  }
  const message = applied ? `acting on ${applied.slice(0, 7)}` : 'no revision loaded yet';
  return {
    target,
    phase: applied ? 'Converged' : 'Waiting',
    conditions: conditionsFor(applied ? 'Converged' : 'Waiting', applied ? 'RevisionApplied' : 'NoRevision', message, previous?.conditions, now),
    observedRevision: applied,
    summary: message,
    members: [],
    details: { lastAppliedRevision: applied },
  };
}
