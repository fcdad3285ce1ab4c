/**
 * The results the agent reports, and how long it keeps them. Protocol rule
 * (`results` in `schemas/agent-report.schema.json`): for each (target, member, action) only
 * the result of the LATEST command is kept. A newer command replaces the older result, so a
 * version that comes back (4.2.1 → 4.3.0 → 4.2.1) is installed again instead of being taken
 * as done by a stale result, and the list stays bounded. A command whose id holds a result
 * (`running` included) is never started again: that is how a command received twice — in an
 * answer and by push, or after a controller restart — runs once.
 */
import type { Action, AgentCommand, CommandResult } from './protocol.ts';

/** A result with the key it is kept under; this is what the state file holds. */
export interface StoredResult extends CommandResult {
  readonly target: string;
  readonly member: string;
  readonly action: Action;
}

/** The protocol's `maxItems` of `results`. */
export const MAX_RESULTS = 1024;

const keyOf = (r: { target: string; member: string; action: string }): string => `${r.target}\0${r.member}\0${r.action}`;

export class ResultBook {
  /** By (target, member, action), in the order they were last recorded (oldest first). */
  private readonly byKey = new Map<string, StoredResult>();
  private readonly keyById = new Map<string, string>();

  constructor(
    stored: readonly StoredResult[] = [],
    private readonly limit = MAX_RESULTS,
  ) {
    for (const r of stored) this.put(r);
  }

  has(id: string): boolean {
    return this.keyById.has(id);
  }

  get(id: string): StoredResult | undefined {
    const key = this.keyById.get(id);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Records the outcome (so far) of `command`, replacing any result of the same (target, member, action). */
  record(command: AgentCommand, status: CommandResult['status'], message: string | undefined, at: string): StoredResult {
    const r: StoredResult = {
      id: command.id,
      status,
      ...(message !== undefined && message !== '' ? { message: message.slice(0, 4096) } : {}),
      at,
      target: command.target,
      member: command.member,
      action: command.action,
    };
    this.put(r);
    return r;
  }

  /** What the state file keeps. */
  entries(): StoredResult[] {
    return [...this.byKey.values()];
  }

  /** What a report carries (`results`), oldest first. */
  forReport(): CommandResult[] {
    return this.entries().map(({ id, status, message, at }) => (message === undefined ? { id, status, at } : { id, status, message, at }));
  }

  private put(r: StoredResult): void {
    const key = keyOf(r);
    const old = this.byKey.get(key);
    if (old !== undefined) {
      this.keyById.delete(old.id);
      this.byKey.delete(key); // re-inserted last: the map's order is "last recorded"
    }
    // One id is one (target, member, action); a stale entry of it under another key cannot exist, but never let two keys claim it.
    const elsewhere = this.keyById.get(r.id);
    if (elsewhere !== undefined) this.byKey.delete(elsewhere);
    this.byKey.set(key, r);
    this.keyById.set(r.id, key);
    while (this.byKey.size > this.limit) {
      const [oldestKey, oldest] = this.byKey.entries().next().value as [string, StoredResult];
      this.byKey.delete(oldestKey);
      this.keyById.delete(oldest.id);
    }
  }
}
