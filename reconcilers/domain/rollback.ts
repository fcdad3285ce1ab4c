/**
 * Seed 000 never downgrades a server on its own: a server newer than desired is left alone
 * (`MemberAhead`) unless Git moved the version down. The reconciler keeps no memory, so the
 * decision is read from the previous status as committed in Git (`plan` reads the same):
 *
 *  - Git moved the version down: the server's `desired` in the previous status is newer than
 *    the current one. Only a server that ran no more than that earlier desired version is
 *    rolled back: a version Git never asked for (installed out of band, above it) stays Ahead.
 *  - A rollback decided on an earlier pass: the previous status carries
 *    `details.rollback: { from, to }` with `to` the current version (written by this module while
 *    a rollback is under way), the server was listed with the same desired version and was not
 *    reported `Ahead`, and it runs no more than `from`.
 *
 * Without a previous status (a controller that lost it, `plan` without one) nothing is rolled
 * back: newer servers are Ahead (Blocked) until a person decides. A server not listed in the
 * previous status (added since) is never rolled back: its version was never Git's.
 */
import type { MemberStatus, TargetStatus } from '../contract.ts';
import { isNewer, reportsNewerVersion, reportsVersion } from '../../protocol/version.ts';

/** What `details.rollback` holds while a rollback is under way. */
export interface RollbackRecord {
  readonly from: string;
  readonly to: string;
}

/** The previous status as the rollback rule reads it, for one desired version. */
export class RollbackContext {
  private readonly before: ReadonlyMap<string, MemberStatus>;
  /** `details.rollback.from` of the previous status when it is a rollback to this very version. */
  private readonly carriedFrom: string | undefined;
  /** The highest version a server is being moved down from this pass (for `details.rollback`). */
  private recordFrom: string | undefined;

  constructor(
    previous: TargetStatus | undefined,
    private readonly version: string,
  ) {
    this.before = new Map((previous?.members ?? []).map((m) => [m.name, m]));
    const raw: unknown = previous?.details?.['rollback'];
    const rb = typeof raw === 'object' && raw !== null ? (raw as Partial<RollbackRecord>) : undefined;
    const carried = rb !== undefined && reportsVersion(rb.to, version) && reportsNewerVersion(rb.from, version);
    this.carriedFrom = carried ? rb.from : undefined;
  }

  /** Whether a server reporting `observed` (newer than desired) is being rolled back by Git. */
  rolledBack(name: string, observed: string | undefined): boolean {
    if (!reportsNewerVersion(observed, this.version)) return false;
    const before = this.before.get(name);
    if (before === undefined) return false;
    let from: string | undefined;
    if (reportsNewerVersion(before.desired, this.version)) from = before.desired;
    else if (reportsVersion(before.desired, this.version) && before.state !== 'Ahead') from = this.carriedFrom;
    if (from === undefined || reportsNewerVersion(observed, from)) return false;
    if (this.recordFrom === undefined || isNewer(from, this.recordFrom)) this.recordFrom = from;
    return true;
  }

  /** The record to write in status while some server is being rolled back, else undefined. */
  record(): RollbackRecord | undefined {
    return this.recordFrom === undefined ? undefined : { from: this.recordFrom, to: this.version };
  }
}
