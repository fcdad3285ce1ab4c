/**
 * The result of a command an agent ran, reported back by the command's id (`#/$defs/result`
 * of `schemas/agent-report.schema.json`). An agent keeps the latest result per (target,
 * member, action), which is how a reconciler knows a step is done, failed or still running.
 */
export interface CommandResult {
  readonly id: string;
  readonly status: 'succeeded' | 'failed' | 'running';
  readonly message?: string;
  /** ISO-8601. */
  readonly at: string;
}
