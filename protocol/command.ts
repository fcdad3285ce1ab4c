/**
 * One step the controller asks an agent to take (`schemas/agent-command.schema.json`), as it
 * travels in a report answer or a push. The reconcilers' `Command` is this plus what stays
 * with the controller: which agent it is for and how it is delivered.
 */
import type { Action } from './action.ts';
import type { ArtifactRef } from './artifact.ts';

export interface AgentCommand {
  /** Deterministic from (target, member, action, version): the same step always has the same id. */
  readonly id: string;
  readonly action: Action;
  /** `domain/print-paris`. */
  readonly target: string;
  readonly member: string;
  readonly product?: string;
  readonly version?: string;
  readonly artifact?: ArtifactRef;
  /** Action-specific parameters (e.g. the file list of a `sync`). */
  readonly params?: Readonly<Record<string, unknown>>;
}
