/**
 * How a plan step and a member read once governance holds them: one shape, built field by
 * field (a literal of known shape is far cheaper than a spread for a million devices), used by
 * the merge (governed.ts) and by the Account reconciler when it withholds a later wave's steps
 * itself (wave-hold.ts) — so both paths give byte-identical plans and statuses.
 */
import type { Action } from '../../protocol/action.ts';
import type { Blocker, MemberStatus, PlanStep } from '../contract.ts';
import type { TargetId } from '../model/identity.ts';

export function heldStep(
  target: TargetId,
  member: string,
  action: Action,
  blockedBy: Blocker,
  version: string | undefined,
  performedBy: PlanStep['performedBy'],
): PlanStep {
  const out: { -readonly [K in keyof PlanStep]: PlanStep[K] } = { target, member, action, runnable: false, blockedBy };
  if (version !== undefined) out.version = version;
  if (performedBy !== undefined) out.performedBy = performedBy;
  return out;
}

export function waitingMember(
  name: string,
  agent: string,
  role: string,
  desired: string,
  observed: string | undefined,
  message: string,
): MemberStatus {
  const out: { -readonly [K in keyof MemberStatus]: MemberStatus[K] } = {
    name,
    agent,
    role,
    desired,
    state: 'Waiting',
    message,
  };
  if (observed !== undefined) out.observed = observed;
  return out;
}
