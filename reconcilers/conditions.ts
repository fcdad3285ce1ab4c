import type { Condition, ConditionType, Phase } from './contract.ts';

/**
 * Sets a condition the way Kubernetes' meta.SetStatusCondition does: the transition time
 * moves only when the status changes, so a status file does not change (and no status
 * commit is made) while nothing really changes.
 */
export function setCondition(
  previous: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: number,
): Condition {
  const before = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = before && before.status === next.status ? before.lastTransitionTime : new Date(now).toISOString();
  return { ...next, lastTransitionTime };
}

/**
 * The three conditions every target carries, derived from its phase (Flux's convention):
 * Ready (converged), Reconciling (work under way or waiting), Stalled (a person must act).
 */
export function conditionsFor(
  phase: Phase,
  reason: string,
  message: string,
  previous: readonly Condition[] | undefined,
  now: number,
): Condition[] {
  const ready = phase === 'Converged';
  const stalled = phase === 'Blocked' || phase === 'Failed';
  const reconciling = phase === 'Progressing' || phase === 'Waiting';
  const types: [ConditionType, boolean][] = [
    ['Ready', ready],
    ['Reconciling', reconciling],
    ['Stalled', stalled],
  ];
  return types.map(([type, on]) =>
    setCondition(previous, { type, status: on ? 'True' : 'False', reason: on || type === 'Ready' ? reason : 'None', message: on || type === 'Ready' ? message : '' }, now),
  );
}

/** The condition that speaks for the phase: Stalled, else Reconciling, else Ready (`plan`, the web view). */
export function speakingCondition(conditions: readonly Condition[]): Condition | undefined {
  return conditions.find((c) => c.type === 'Stalled' && c.status === 'True')
    ?? conditions.find((c) => c.type === 'Reconciling' && c.status === 'True')
    ?? conditions.find((c) => c.type === 'Ready');
}
