import type { Command } from '../../reconcilers/contract.ts';

/** A command as the agent receives it (`schemas/agent-command.schema.json`): who it is for and how it travels stay with the controller. */
export type AgentCommand = Omit<Command, 'agent' | 'delivery'>;

export function toAgentCommand(c: Command): AgentCommand {
  const { agent: _agent, delivery: _delivery, ...wire } = c;
  return wire;
}
