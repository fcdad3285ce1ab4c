/**
 * The status report of a DistributionServer (`status.details`) and the reconciler's memory in
 * it. Memory is read from the previous status, which the controller (`run` and `plan` alike)
 * reads from the status file committed in Git, never from the process: a controller that
 * just started decides as a long-running one does.
 *
 * What each memory field decides, and what happens when it is absent (no earlier status, a
 * status written by another console, or one whose schedule differs, i.e. from another revision):
 *  - `handledThrough`: scheduled runs up to this instant are done. Absent: the sync starts at
 *    its last scheduled run, which is NOT run (missed history is not replayed). Fails closed:
 *    a lost memory runs less, never twice.
 *  - `lastRunNow`: the `runNow` value last run (succeeded, found nothing to copy, or failed).
 *    Absent: a `runNow` in Git is run once more. Harmless: it has the same command id as before
 *    (an agent that still holds that id's result does not run it again, and a result the
 *    console reports for it is taken, `failed` included), and a sync copies only missing files.
 *  - `failed`: the run that failed and the agent's message, so the failure stays reported (and
 *    the run is not sent again) once the console stops reporting that result — it keeps only
 *    the latest result per server and action. Absent: the console's result for the run's id is
 *    still read (`failed` → not re-sent).
 *  - `run`: the run sent last; a newer run waits while the console reports it `running`, and
 *    one that is only due (held) does not replace it until it is sent: a run whose result is not
 *    known yet stays in Git, so its failure is settled by id, never re-sent under its key.
 * A console decides only from its own memory. The memory of a sync it does not own in this
 * revision (another console's, or its own of a sync moved away) is carried (`memoryOf`), and a
 * run it holds is settled by its id when its console reports a result, so moving a sync back
 * does not forget a failure or re-run a runNow value; a controller with no `--console-id`
 * carries it all. `handledThrough` is not carried (a sync coming back starts afresh).
 */
import type { ScheduledSync } from '../model/desired.ts';
import type { TargetStatus } from '../contract.ts';
import type { FileGap, InventorySet } from './content.ts';

/** Per-sync state in the report. */
export type SyncState = 'Scheduled' | 'Syncing' | 'Waiting' | 'Failed' | 'NotOwned' | 'InvalidSchedule';

/** A run: what made it due (its key), its command id, the files it copies. */
export interface RunRef {
  readonly key: string;
  readonly command: string;
  readonly files?: number;
}

/** One sync's line in `details.syncs`: the report for people, and (owned syncs) the reconciler's memory. */
export interface SyncDetail {
  readonly name: string;
  readonly content: ScheduledSync['content'];
  readonly owner: string;
  /** Owned by this controller's console: run here. */
  readonly owned: boolean;
  readonly schedule: string;
  readonly state: SyncState;
  readonly message?: string;
  /** ISO: the next scheduled run. */
  readonly nextRun?: string;
  /** ISO: when the last run finished (agent's result time, or the pass that found nothing to copy). */
  readonly lastRun?: string;
  /** Memory: scheduled runs up to this ISO instant are done or predate tracking. */
  readonly handledThrough?: string;
  /** Memory: the `runNow` value last run. */
  readonly lastRunNow?: string;
  /** The run under way or waiting. */
  readonly run?: RunRef;
  /** Memory: a run that failed (never re-sent), with the agent's message. */
  readonly failed?: { readonly key: string; readonly message: string };
  /**
   * The console the memory on this line belongs to, when it is not the line's owner running
   * it here: memory is carried, unused, through passes of other consoles or revisions that
   * move the sync elsewhere, so moving it back neither forgets a failure nor re-runs a runNow.
   */
  readonly memoryOf?: string;
}

/** Per content set: the seed's file status report ("Rapport d'état du fichier"). */
export type ContentReport =
  | {
      readonly console: string;
      readonly missing: number;
      readonly outdated: number;
      readonly files: readonly FileGap[];
    }
  | { readonly console: string; readonly unknown: string };

/** A precondition's answer as status shows it. */
export interface CheckDetail {
  readonly name: string;
  readonly status: 'satisfied' | 'unsatisfied' | 'unknown';
  readonly message?: string;
}

export interface DistributionServerDetails {
  /** The console this report was made by (`--console-id`), null without one. */
  readonly console: string | null;
  readonly content: Readonly<Partial<Record<InventorySet, ContentReport>>>;
  readonly syncs: readonly SyncDetail[];
  /** The target-wide preconditions and their answers (preconditions.ts). */
  readonly preconditions?: readonly CheckDetail[];
}

export interface Memory {
  /** The console whose memory this is. */
  readonly console: string;
  readonly schedule: string | undefined;
  readonly handledThrough: number | undefined;
  readonly lastRun: string | undefined;
  readonly lastRunNow: string | undefined;
  readonly failed: { readonly key: string; readonly message: string } | undefined;
  /** The run the previous pass sent or waited for. */
  readonly run: RunRef | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;

/**
 * The memory in previous details, per sync, with the console it belongs to (the owner that
 * ran it, or `memoryOf`), read defensively (a status file is plain YAML). A console decides
 * only from its own memory; the others' is carried, never used.
 */
export function memoryOf(previous: TargetStatus | undefined): Map<string, Memory> {
  const out = new Map<string, Memory>();
  const syncs = previous?.details?.['syncs'];
  if (!Array.isArray(syncs)) return out;
  for (const e of syncs as unknown[]) {
    const r = record(e);
    const name = str(r?.['name']);
    const console = str(r?.['memoryOf']) ?? (r?.['owned'] === true ? str(r['owner']) : undefined);
    if (r === undefined || name === undefined || console === undefined) continue;
    const handled = str(r['handledThrough']);
    const handledMs = handled === undefined ? NaN : Date.parse(handled);
    const fr = record(r['failed']);
    const fKey = str(fr?.['key']);
    const rr = record(r['run']);
    const rKey = str(rr?.['key']);
    const rCommand = str(rr?.['command']);
    const rFiles = rr?.['files'];
    const files = typeof rFiles === 'number' ? { files: rFiles } : {};
    out.set(name, {
      console,
      schedule: str(r['schedule']),
      handledThrough: Number.isNaN(handledMs) ? undefined : handledMs,
      lastRun: str(r['lastRun']),
      lastRunNow: str(r['lastRunNow']),
      failed: fKey === undefined ? undefined : { key: fKey, message: str(fr?.['message']) ?? '' },
      run: rKey === undefined || rCommand === undefined ? undefined : { key: rKey, command: rCommand, ...files },
    });
  }
  return out;
}
