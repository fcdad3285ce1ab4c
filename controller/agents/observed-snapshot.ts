/**
 * What the controller observes right now, as an observed snapshot
 * (`schemas/observed-snapshot.schema.json`): the agents' last reports, the package checks and
 * the credential checks. `GET /v1/observed` serves it, so `versiond plan --observed URL` plans
 * against exactly what the running controller's reconcilers read.
 */
import type { AgentObservation, ArtifactCheck, CredentialCheck, Observed } from '../../reconcilers/observed.ts';

export interface ObservedSnapshot {
  readonly agents: readonly AgentObservation[];
  readonly artifacts: readonly ArtifactCheck[];
  readonly credentials: readonly CredentialCheck[];
}

/** Sorted by key, so two snapshots of the same state are the same bytes. */
export function observedSnapshot(observed: Observed): ObservedSnapshot {
  const byKey = <T>(map: ReadonlyMap<string, T>): T[] =>
    [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return {
    agents: byKey(observed.agents),
    artifacts: byKey(observed.artifacts),
    credentials: byKey(observed.credentials ?? new Map()),
  };
}
