/**
 * A reconciler's command as the agent receives it (`protocol/command.ts`): who it is for and
 * how it travels stay with the controller.
 */
import type { AgentCommand } from '../../protocol/command.ts';
import type { Command } from '../../reconcilers/contract.ts';

export function toAgentCommand(c: Command): AgentCommand {
  const { agent: _agent, delivery: _delivery, ...wire } = c;
  return wire;
}
