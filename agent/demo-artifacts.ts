import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

/**
 * Packages of the embedded example. The releases in `example-repo/` carry real sha256
 * digests and Ed25519 signatures of these bytes, so the demo's agents verify packages
 * exactly as production agents do — and a tampered one is refused for real.
 *
 * The signing key is derived from a published seed: it is a DEMO key that signs only
 * these made-up packages. Never trust it for anything else.
 */
export const DEMO_SIGNING_SEED = createHash('sha256').update('versiond demo signing key — not for production').digest();

// PKCS#8 DER prefix for a raw 32-byte Ed25519 private key (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function demoSigningKey(): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, DEMO_SIGNING_SEED]), format: 'der', type: 'pkcs8' });
}

/** The raw 32-byte public key, base64, as a Release's `artifact.signature.publicKey`. */
export function demoPublicKeyBase64(): string {
  const der = createPublicKey(demoSigningKey()).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32)).toString('base64');
}

/** Deterministic bytes standing in for the installer of `product` `version` (a few KiB). */
export function demoArtifactBytes(product: string, version: string): Buffer {
  const header = Buffer.from(`versiond demo package\nproduct: ${product}\nversion: ${version}\n`);
  const blocks: Buffer[] = [header];
  let block = createHash('sha256').update(header).digest();
  for (let i = 0; i < 64; i++) {
    blocks.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(blocks);
}

export interface DemoArtifact {
  readonly sha256: string;
  readonly size: number;
  readonly signature: { readonly algorithm: 'ed25519'; readonly publicKey: string; readonly value: string };
}

export function demoArtifact(product: string, version: string): DemoArtifact {
  const bytes = demoArtifactBytes(product, version);
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    signature: {
      algorithm: 'ed25519',
      publicKey: demoPublicKeyBase64(),
      value: sign(null, bytes, demoSigningKey()).toString('base64'),
    },
  };
}
