/**
 * What the controller knows about lost Git objects (issue 14, item 5), per side: the desired
 * revision, the status branch, the clone of a remote. One place so that /readyz, the source
 * status, the metrics and the logs say the same thing, and say it once per change — a
 * repository that stays broken is retried with backoff, not logged every pass.
 */
import type { VersiondError } from '../../reconcilers/model/errors.ts';
import type { GitSide } from '../git/missing-object.ts';
import type { Logger } from '../observability/logger.ts';

export type MissingObject = VersiondError<'GIT_OBJECT_MISSING'>;

export class GitHealth {
  private readonly problems = new Map<GitSide, MissingObject>();

  constructor(private readonly log: Logger) {}

  /** Records a lost object; logs only when it differs from what this side already had. */
  set(err: MissingObject, what: string): void {
    const side = err.data.side;
    if (this.problems.get(side)?.data.oid === err.data.oid) return;
    this.problems.set(side, err);
    this.log.warn({ code: err.code, ...err.data }, `objects are missing from the Git repository: ${what}`);
  }

  /** The side is readable again. */
  clear(side: GitSide, what: string): void {
    const had = this.problems.get(side);
    if (!had) return;
    this.problems.delete(side);
    this.log.info({ code: had.code, ...had.data }, `Git repository readable again: ${what}`);
  }

  get(side: GitSide): MissingObject | undefined {
    return this.problems.get(side);
  }

  /** For /readyz: undefined when nothing is missing. */
  notReady(): string | undefined {
    const all = [...this.problems.values()];
    return all.length === 0 ? undefined : all.map((e) => `${e.code}: ${e.message}`).join('; ');
  }

  /** 1 per side with a lost object, for `versiond_git_objects_missing{side}`. */
  counts(): Record<GitSide, number> {
    const has = (side: GitSide) => (this.problems.has(side) ? 1 : 0);
    return { desired: has('desired'), status: has('status'), clone: has('clone') };
  }
}
