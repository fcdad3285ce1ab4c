/**
 * The 200 answer to a report (`schemas/agent-report-answer.schema.json`): the mailbox. It
 * carries every command pending for the agent, every time, so it is the same after a
 * controller restart; an agent runs a command id once however often it receives it.
 */
import type { AgentCommand } from './command.ts';

export interface ReportAnswer {
  /** The sequence of the report this answers. */
  readonly sequence: number;
  /** Every command pending for this agent, in the order to run them. */
  readonly commands: readonly AgentCommand[];
  /** When to report again at the latest (the heartbeat). */
  readonly reportAfterSeconds: number;
}
