/**
 * A target's audit timeline for the read API and the history page: `versiond audit` read
 * from Git at the status branch's head (desired changes and the status commits after them),
 * newest first and paged. A walk is cached per (head, target), so paging through a timeline
 * reads history once; a new head (a status commit) starts a new walk.
 */
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { readTargetHistory, type AuditEvent } from '../audit/target-history.ts';
import { resolveRevision } from '../git/resolve-revision.ts';
import type { AllowedSigners } from '../trust/allowed-signers.ts';
import type { HistoryPage } from './view-model.ts';

export class BadCursorError extends Error {}

const MAX_WALKS = 32;

export class HistoryReader {
  private readonly walks = new Map<string, Promise<readonly AuditEvent[]>>();
  private readonly objectCache = {};

  constructor(
    private readonly gitdir: string,
    /** The branch status is committed to: it holds the desired commits too. */
    private readonly branch: string,
    private readonly signers?: AllowedSigners,
  ) {}

  /** Events older than the `cursor` event (a commit id from `next`), at most `limit`. */
  async page(target: TargetId, cursor: string | undefined, limit: number): Promise<HistoryPage> {
    let head: string;
    try {
      head = await resolveRevision(this.gitdir, `refs/heads/${this.branch}`, this.objectCache);
    } catch {
      return { target, head: null, events: [], next: null, total: 0 };
    }
    const events = await this.walk(head, target);
    let start = 0;
    if (cursor !== undefined) {
      const at = events.findIndex((e) => e.commit === cursor);
      if (at < 0) throw new BadCursorError(`cursor ${cursor.slice(0, 12)} is not in the history of ${target}`);
      start = at + 1;
    }
    const slice = events.slice(start, start + limit);
    const more = start + limit < events.length;
    return { target, head, events: slice, next: more ? slice[slice.length - 1]!.commit : null, total: events.length };
  }

  private walk(head: string, target: TargetId): Promise<readonly AuditEvent[]> {
    const key = `${head}\0${target}`;
    let walk = this.walks.get(key);
    if (walk === undefined) {
      walk = readTargetHistory({
        gitdir: this.gitdir, head, target, cache: this.objectCache,
        ...(this.signers !== undefined ? { signers: this.signers } : {}),
      }).then((h) => [...h.events].reverse());
      walk.catch(() => this.walks.delete(key));
      this.walks.set(key, walk);
      if (this.walks.size > MAX_WALKS) this.walks.delete(this.walks.keys().next().value!);
    }
    return walk;
  }
}
