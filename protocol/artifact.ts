/**
 * The package a `stage` or `apply` command is about (`artifact` of
 * `schemas/agent-command.schema.json`): where to download it and what it must be — size,
 * sha256 and the release's Ed25519 signature — so an agent can refuse anything else
 * (`verify-package.ts`).
 */
export interface ArtifactRef {
  readonly release: string;
  readonly product: string;
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
  readonly size: number;
  readonly signature: { readonly algorithm: 'ed25519'; readonly publicKey: string; readonly value: string };
}
