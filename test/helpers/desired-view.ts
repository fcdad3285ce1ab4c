import type { DesiredState } from '../../controller/desired/load-desired-state.ts';

/**
 * What the controller acts on in a desired state, in an order-sensitive form (Map order
 * included): two loads that must agree are compared through it.
 */
export function desiredView(s: DesiredState) {
  return {
    objects: s.objects,
    byId: [...s.byId],
    diagnostics: s.diagnostics,
    unusable: [...s.unusable],
    brokenFiles: s.brokenFiles,
    valid: s.valid,
  };
}
