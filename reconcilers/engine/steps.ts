/**
 * Ordered, named steps (Flux's reconcileSource, reconcileArtifact, …). A step is a named
 * function of the pass; the order is the vendor's order, and the names are what the
 * reconciler's doc comment and the README list.
 */
export type Step<P> = (pass: P) => void;

export function runSteps<P>(pass: P, steps: readonly Step<P>[]): void {
  for (const step of steps) step(pass);
}

/** The names of the steps, taken from the functions themselves so they cannot drift. */
export function stepNames(steps: readonly { readonly name: string }[]): string[] {
  return steps.map((s) => s.name);
}
