/**
 * The body of `POST /v1/agents/{id}/report` (`schemas/agent-report.schema.json`): what the
 * agent runs, the results of its commands and the facts some rules need. Optional fields are
 * optional on the wire; the reference agent always sends `sentAt`, `agentVersion` and `results`.
 */
import type { CommandResult } from './command-result.ts';
import type { ComponentReport } from './component.ts';
import type { Facts } from './facts.ts';

export interface AgentReport {
  /** Strictly increasing across the agent's restarts: a report not after the last accepted one is refused (409). */
  readonly sequence: number;
  /** The agent's clock when it sent the report (ISO-8601). */
  readonly sentAt?: string;
  /** Where the agent accepts pushed commands (`POST {endpoint}/v1/commands`). */
  readonly endpoint?: string;
  readonly agentVersion?: string;
  readonly components: readonly ComponentReport[];
  /** Absent is the same as empty (the schema's default). */
  readonly results?: readonly CommandResult[];
  readonly facts?: Facts;
}
