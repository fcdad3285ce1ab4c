/** The context validate rules see; pure, so it lives in the model, where the kinds' rules find it. */
export { at, perDocument, policyContext } from '../../../reconcilers/model/policy-context.ts';
export type { PolicyContext, PolicyRule } from '../../../reconcilers/model/policy-context.ts';
