/**
 * Step 1 of every kind that names one release (Domain, HACluster): the release is declared and
 * carries a valid version. Else there is no version to compare with, and the reconciler stops:
 * Blocked, `ReleaseNotFound` / `ReleaseInvalid` (common reasons).
 */
import type { DesiredInput } from '../contract.ts';
import type { Release } from '../model/desired.ts';
import { isValidVersion } from '../../protocol/version.ts';
import type { Outcome } from './pass.ts';

export function reconcileRelease(desired: DesiredInput<'Domain' | 'HACluster'>): { release: Release } | Outcome {
  const name = desired.object.spec.release;
  const release = desired.releases.get(name);
  const quoted = JSON.stringify(name);
  if (release === undefined) return { reason: 'ReleaseNotFound', message: `release ${quoted} is not declared` };
  if (!isValidVersion(release.spec.version)) {
    const message = `release ${quoted} has an invalid version ${JSON.stringify(release.spec.version)}`;
    return { reason: 'ReleaseInvalid', message };
  }
  return { release };
}
