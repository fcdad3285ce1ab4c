export { foldOutcomes, type Folded } from './fold.ts';
export { Pass, type MemberNote, type Outcome, type StepOptions } from './pass.ts';
export { allOf, describeMissing, evaluate, isSatisfied, SATISFIED, unknown, unsatisfied } from './precondition.ts';
export type { Answer, Missing, Precondition } from './precondition.ts';
export { COMMON_REASONS, defineReasons, mergeCatalogues, reasonDef, REQUEUE } from './reasons.ts';
export { progressReason, stalledReason, waitingReason } from './reasons.ts';
export type { ReasonCatalogue, ReasonCategory, ReasonDef } from './reasons.ts';
export { runSteps, stepNames, type Step } from './steps.ts';
