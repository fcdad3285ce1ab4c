import type { GovernanceStep } from './step.ts';

/**
 * The reviewers' controls, in the order they are applied after a kind's reconciler (see
 * `governed.ts`): version policy first (a forbidden version is refused whatever the time),
 * then change freezes, maintenance windows, pause, and waves with their approval gates.
 */
export const GOVERNANCE_STEPS: readonly GovernanceStep[] = [];
