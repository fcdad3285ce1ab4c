import { changeFreeze } from './change-freeze.ts';
import { maintenanceWindow } from './maintenance-window.ts';
import { pause } from './pause.ts';
import type { GovernanceStep } from './step.ts';
import { versionPolicy } from './version-policy.ts';
import { wavesStep } from './waves.ts';

/**
 * The reviewers' controls, in the order they are applied after a kind's reconciler (see
 * `governed.ts`): version policy first (a forbidden version is refused whatever the time),
 * then change freezes, maintenance windows, pause, and waves with their approval gates.
 */
export const GOVERNANCE_STEPS: readonly GovernanceStep[] = [versionPolicy, changeFreeze, maintenanceWindow, pause, wavesStep];
