/**
 * One reconcile pass of a DistributionServer: the engine's Pass (plan, commands, outcomes,
 * halt) plus what this kind tracks per sync and the file status report. Local to the pass.
 */
import type { DistributionServerSpec, ScheduledSync } from '../model/desired.ts';
import type { TargetStatus } from '../contract.ts';
import { Pass } from '../engine/pass.ts';
import type { Answer } from '../engine/precondition.ts';
import { targetId } from '../model/identity.ts';
import type { Observed } from '../observed.ts';
import type { InventorySet } from './content.ts';
import type { CheckDetail, ContentReport, Memory, RunRef, SyncState } from './memory.ts';
import type { ServerContext } from './preconditions.ts';
import { DISTRIBUTION_SERVER_CATALOGUE } from './reasons.ts';

/** What one pass knows and decides about one sync. */
export interface Sync {
  readonly sync: ScheduledSync;
  readonly owned: boolean;
  readonly describe: string;
  /** This console's memory of a sync it owns: it decides from it. */
  readonly memory: Memory | undefined;
  /** Memory it does not decide from (another console's, or of a sync it does not own): carried. */
  readonly carried: Memory | undefined;
  problem: string | undefined;
  nextRun: number | undefined;
  /** The scheduled run that makes it due (newer than handledThrough). */
  dueScheduled: number | undefined;
  /** The runNow value that makes it due. */
  dueRunNow: string | undefined;
  handledThrough: number | undefined;
  lastRun: string | undefined;
  lastRunNow: string | undefined;
  failed: { key: string; message: string } | undefined;
  state: SyncState;
  message: string | undefined;
  run: RunRef | undefined;
}

export class ServerPass extends Pass {
  syncs: Sync[] = [];
  readonly content: Partial<Record<InventorySet, ContentReport>> = {};
  /** Target-wide precondition answers, in the order checked, for status. */
  readonly checks: CheckDetail[] = [];
  readonly ctx: ServerContext;

  constructor(
    name: string,
    readonly spec: DistributionServerSpec,
    readonly consoleId: string | undefined,
    readonly observed: Observed,
    readonly previous: TargetStatus | undefined,
    readonly now: number,
    readonly memory: Map<string, Memory>,
  ) {
    super(targetId('DistributionServer', name), DISTRIBUTION_SERVER_CATALOGUE);
    this.ctx = { name, serverAgent: spec.agent ?? name, spec, consoleId, observed };
  }

  get name(): string {
    return this.ctx.name;
  }

  get serverAgent(): string {
    return this.ctx.serverAgent;
  }

  /** Records a target-wide answer for status (first answer per name wins) and returns it. */
  record(name: string, answer: Answer): Answer {
    if (!this.checks.some((c) => c.name === name)) {
      const { status } = answer;
      this.checks.push(status === 'satisfied' ? { name, status } : { name, status, message: answer.message });
    }
    return answer;
  }
}

export const iso = (t: number): string => new Date(t).toISOString();
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export const isDue = (s: Sync): boolean => s.dueScheduled !== undefined || s.dueRunNow !== undefined;

/** What made a run due, read back from its key (`runKey`): a run recorded in status is settled by its parts. */
export function keyParts(key: string): { scheduled?: number; runNow?: string } {
  const out: { scheduled?: number; runNow?: string } = {};
  let rest = key;
  if (rest.startsWith('scheduled ')) {
    const end = rest.indexOf(' + ');
    const at = Date.parse(end < 0 ? rest.slice(10) : rest.slice(10, end));
    if (!Number.isNaN(at)) out.scheduled = at;
    rest = end < 0 ? '' : rest.slice(end + 3);
  }
  if (rest.startsWith('runNow ')) out.runNow = rest.slice(7);
  return out;
}

/** What made a run due: `scheduled <ISO>`, `runNow <value>`, or both (one run covers both). */
export function runKey(s: Sync): string {
  const parts: string[] = [];
  if (s.dueScheduled !== undefined) parts.push(`scheduled ${iso(s.dueScheduled)}`);
  if (s.dueRunNow !== undefined) parts.push(`runNow ${s.dueRunNow}`);
  return parts.join(' + ');
}
