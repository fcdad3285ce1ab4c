/**
 * `<demo>/observed.json`: what the demo's agents report right now, as an observed snapshot
 * (`schemas/observed-snapshot.schema.json`), rewritten every few seconds — so that
 * `versiond plan --observed <demo>/observed.json` plans a change against the live fleet, as a
 * pull-request check would against a production controller's dump.
 *
 * Besides the controller's inventory it holds what the controller checks outside Git: each
 * release's package (the demo mirror serves `demoArtifactBytes`, verified here exactly as the
 * controller verifies what it downloads) and each credential of the store.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { ObservedInventory } from '../../controller/agents/inventory.ts';
import { observedSnapshot } from '../../controller/agents/observed-snapshot.ts';
import { verifyPackage } from '../../protocol/verify-package.ts';
import type { CredentialStore } from '../../controller/credentials/credential-store.ts';
import type { AnyDesiredObject, Release } from '../../reconcilers/model/desired.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';
import { demoArtifactBytes } from '../demo-artifacts.ts';

export async function writeObservedSnapshot(
  file: string,
  inventory: ObservedInventory,
  objects: readonly AnyDesiredObject[],
  credentials: CredentialStore,
  now = Date.now(),
): Promise<void> {
  await credentials.refreshIfChanged();
  const artifacts = new Map<string, ArtifactCheck>();
  for (const r of objects.filter((o): o is Release => o.kind === 'Release')) {
    const verdict = verifyPackage(demoArtifactBytes(r.spec.product, r.spec.version), r.spec.artifact);
    artifacts.set(r.metadata.name, verdict.ok
      ? { release: r.metadata.name, status: 'verified' }
      : { release: r.metadata.name, status: 'failed', reason: verdict.reason });
  }
  const snapshot = observedSnapshot({ agents: inventory.observations, artifacts, credentials: credentials.checks(now) });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(snapshot, null, 1)}\n`);
  await rename(tmp, file);
}
