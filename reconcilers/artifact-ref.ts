import type { ArtifactRef } from '../protocol/artifact.ts';
import type { Release } from './model/desired.ts';

/** What an agent needs of a release to download and verify its package. */
export function artifactRef(release: Release): ArtifactRef {
  const { product, version, artifact } = release.spec;
  return { release: release.metadata.name, product, version, url: artifact.url, sha256: artifact.sha256, size: artifact.size, signature: artifact.signature };
}
