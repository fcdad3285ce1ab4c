import type { AgentProcess, CommandEvent } from './agent-process.ts';

/**
 * One command as the agent that received it tells it in its logs, across all the runs of that
 * agent process: when it started (once per attempt: a command cut short by a crash starts
 * again), and how and when it ended. This is the evidence the invariants are checked on —
 * never the test's own idea of what it asked for.
 */
export interface Execution {
  readonly agent: string;
  readonly id: string;
  readonly action: string;
  readonly target: string;
  readonly member: string;
  readonly version: string | undefined;
  /** Epoch ms of each `command started` line. */
  readonly starts: readonly number[];
  /** Epoch ms of each end: succeeded, failed, or found already done at a restart. */
  readonly ends: ReadonlyArray<{ readonly time: number; readonly outcome: 'succeeded' | 'failed' }>;
  /** Attempts cut short by a crash (`resuming a command journaled…` at the next start). */
  readonly resumed: number;
  readonly events: readonly CommandEvent[];
}

export function executions(agents: Iterable<AgentProcess>): Execution[] {
  const out: Execution[] = [];
  for (const agent of agents) {
    const byId = new Map<string, CommandEvent[]>();
    for (const e of agent.commandEvents()) {
      const list = byId.get(e.command.id) ?? [];
      list.push(e);
      byId.set(e.command.id, list);
    }
    for (const [id, events] of byId) {
      const c = events[0]!.command;
      out.push({
        agent: agent.id,
        id,
        action: c.action,
        target: c.target,
        member: c.member,
        version: c.version,
        starts: events.filter((e) => e.kind === 'started').map((e) => e.time),
        ends: events
          .filter((e) => e.kind === 'succeeded' || e.kind === 'failed' || e.kind === 'already-done')
          .map((e) => ({ time: e.time, outcome: e.kind === 'failed' ? ('failed' as const) : ('succeeded' as const) })),
        resumed: events.filter((e) => e.kind === 'resumed').length,
        events,
      });
    }
  }
  return out.sort((a, b) => (a.starts[0] ?? Infinity) - (b.starts[0] ?? Infinity));
}

/** `member action` of each execution, in the order they started: the rollout as the fleet lived it. */
export function storyOf(list: readonly Execution[]): string[] {
  return list.map((e) => `${e.member} ${e.action}`);
}

/** The single execution of `action` on `member`; throws when there is none or more than one. */
export function only(list: readonly Execution[], member: string, action: string): Execution {
  const found = list.filter((e) => e.member === member && e.action === action);
  if (found.length !== 1) throw new Error(`expected exactly one ${action} on ${member}, found ${found.length}: ${storyOf(list).join(', ')}`);
  return found[0]!;
}

/** When an execution first started / last ended (it must have). */
export const startOf = (e: Execution): number => {
  if (e.starts.length === 0) throw new Error(`${e.action} on ${e.member} never started`);
  return e.starts[0]!;
};
export const endOf = (e: Execution): number => {
  const end = e.ends.at(-1);
  if (end === undefined) throw new Error(`${e.action} on ${e.member} never ended`);
  return end.time;
};

/** Pairs of executions whose [first start, last end] windows overlap. */
export function overlapping(list: readonly Execution[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const a = list[i]!;
      const b = list[j]!;
      if (startOf(a) < endOf(b) && startOf(b) < endOf(a)) pairs.push([`${a.member} ${a.action}`, `${b.member} ${b.action}`]);
    }
  }
  return pairs;
}
