import { hash } from 'node:crypto';
import type { Action } from '../protocol/action.ts';
import type { TargetId } from './model/identity.ts';
import type { CommandResult } from '../protocol/command-result.ts';
import type { AgentObservation } from './observed.ts';

/**
 * A command's id is derived from what it does — (target, member, action, version) — so the
 * same step always has the same id: re-sending it after a controller restart is harmless,
 * and an agent recognises a command it already ran. 16 hex digits of SHA-256.
 *
 * One-shot `crypto.hash` (Node >= 20.12) rather than createHash: an account of a million
 * devices computes a million ids per pass, and this is a third faster.
 */
export function commandId(target: TargetId, member: string, action: Action, version: string | undefined): string {
  return hash('sha256', `${target}\0${member}\0${action}\0${version ?? ''}`, 'hex').slice(0, 16);
}

/**
 * The id of a step retried by `spec.rollout.retryFailed`: the base id's inputs with the
 * version suffixed by the retry time as written in the file. A new value (a bump) gives a
 * new id, which an agent has never run, so it runs the step again.
 */
export function retryId(target: TargetId, member: string, action: Action, version: string | undefined, retryFailed: string): string {
  return commandId(target, member, action, `${version ?? ''}@retry:${retryFailed}`);
}

/** The attempt of a step the reconciler is on: its id and the result the agent reported for it, if any. */
export interface Attempt {
  readonly id: string;
  readonly result: CommandResult | undefined;
  /** Set when this attempt is a retry: the failed result of the base id it replaces. */
  readonly retryOf?: CommandResult;
}

/**
 * Which attempt of a step is current (issue 8, retry of failed members by a commit).
 *
 * Agents run an id once and report its result for ever after, so a failed step stays failed
 * under its base id. When `retryFailed` (`spec.rollout.retryFailed`) is set and the base id's
 * result is `failed` at a time BEFORE it, the step is tried again under `retryId(…,
 * retryFailed)` and judged by that id's result from then on. Anything else keeps the base id:
 * a step that never failed, is running or succeeded (nothing in flight changes id), and a
 * failure reported at or after the bump (the person asked to retry what had failed by then).
 * Bumping `retryFailed` again retries again: the base result is still the old failure, and the
 * new value gives another id. A failure whose time cannot be read is not retried.
 *
 * Pure: the decision depends only on the agent's report and the file.
 */
export function attempt(
  obs: AgentObservation | undefined,
  target: TargetId,
  member: string,
  action: Action,
  version: string | undefined,
  retryFailed: string | undefined,
): Attempt {
  const id = commandId(target, member, action, version);
  const result = findResult(obs, id);
  if (retryFailed === undefined || result?.status !== 'failed' || !failedBefore(result, retryFailed)) return { id, result };
  const again = retryId(target, member, action, version, retryFailed);
  return { id: again, result: findResult(obs, again), retryOf: result };
}

/** `attempt(…).id`: the id to send and to look results up under. */
export function attemptId(
  obs: AgentObservation | undefined,
  target: TargetId,
  member: string,
  action: Action,
  version: string | undefined,
  retryFailed: string | undefined,
): string {
  return attempt(obs, target, member, action, version, retryFailed).id;
}

function failedBefore(result: CommandResult, retryFailed: string): boolean {
  const failedAt = Date.parse(result.at);
  const bump = Date.parse(retryFailed);
  return !Number.isNaN(failedAt) && !Number.isNaN(bump) && failedAt < bump;
}

function findResult(obs: AgentObservation | undefined, id: string): CommandResult | undefined {
  if (obs === undefined) return undefined;
  for (const r of obs.results) if (r.id === id) return r;
  return undefined;
}
