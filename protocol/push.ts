/**
 * The body of a push to `POST {endpoint}/v1/commands` (`schemas/agent-push.schema.json`),
 * for members declared `bidirectional`: the same commands as the mailbox, sooner. It is
 * signed by the controller (`push-signature.ts`); `agent` and `sentAt` stop a push from
 * being replayed to another agent or later.
 */
import type { AgentCommand } from './command.ts';

export interface PushedCommands {
  /** The agent the commands are for. */
  readonly agent: string;
  /** The controller's clock when sent (ISO-8601). */
  readonly sentAt: string;
  readonly commands: readonly AgentCommand[];
}
