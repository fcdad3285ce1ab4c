/**
 * Package verification, the same code on both sides: the controller checks each release's
 * package before any step may use it (`controller/artifacts/artifact-verifier.ts`), and an
 * agent checks it again when it stages and right before it applies. Size, sha256 and the
 * release's Ed25519 signature, with Node's crypto only.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { ArtifactRef } from './artifact.ts';

export type PackageVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

// SPKI DER prefix of a raw 32-byte Ed25519 public key (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map<string, KeyObject>();

/** The KeyObject of a raw 32-byte Ed25519 public key given in base64 (as in a Release). */
export function ed25519PublicKey(base64: string): KeyObject {
  let key = keys.get(base64);
  if (!key) {
    const raw = Buffer.from(base64, 'base64');
    if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, this one is ${raw.length}`);
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    if (keys.size < 1000) keys.set(base64, key);
  }
  return key;
}

/**
 * Whether `bytes` are the package a Release declares: its size, its sha256, and an Ed25519
 * signature of the bytes by the Release's key. Seed 000: an unsigned or altered package is
 * "not secure" and must never be installed. The reason names what did not match.
 */
export function verifyPackage(
  bytes: Uint8Array,
  artifact: Pick<ArtifactRef, 'sha256' | 'size' | 'signature'>,
): PackageVerdict {
  const insecure = (why: string): PackageVerdict => ({ ok: false, reason: `package not secure: ${why}` });
  if (bytes.length !== artifact.size) return insecure(`${bytes.length} bytes, the release declares ${artifact.size}`);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== artifact.sha256.toLowerCase()) {
    return insecure(`sha256 ${digest} does not match the release's ${artifact.sha256}`);
  }
  if (artifact.signature.algorithm !== 'ed25519') {
    return insecure(`unsupported signature algorithm ${String(artifact.signature.algorithm)}`);
  }
  let key: KeyObject;
  try {
    key = ed25519PublicKey(artifact.signature.publicKey);
  } catch (err) {
    return insecure(`bad public key (${(err as Error).message})`);
  }
  const signature = Buffer.from(artifact.signature.value, 'base64');
  if (signature.length !== 64 || !verify(null, bytes, key, signature)) {
    return insecure('the Ed25519 signature does not verify');
  }
  return { ok: true };
}
