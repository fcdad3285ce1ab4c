/**
 * The signature of a push (`X-Versiond-Signature: ed25519=<base64>` over the raw body), the
 * check an agent makes before it trusts anything in a pushed body. Only the controller holds
 * the private key and signs (`controller/agents/controller-key.ts`); the format of the header
 * lives here so that both sides agree on it.
 */
import { verify } from 'node:crypto';
import { ed25519PublicKey } from './verify-package.ts';

/** Header carrying the signature of a pushed body (schemas/agent-push.schema.json), as Node names headers. */
export const PUSH_SIGNATURE_HEADER = 'x-versiond-signature';

/** The header value for a raw 64-byte Ed25519 signature of the body. */
export function pushSignatureHeader(signature: Uint8Array): string {
  return `ed25519=${Buffer.from(signature).toString('base64')}`;
}

/**
 * Whether `header` (`X-Versiond-Signature`) is the controller's signature of exactly `body`,
 * for an agent that accepts pushed commands. Anything that came over the wire and is wrong —
 * no header, another algorithm, a malformed or wrong signature, a changed byte — is `false`.
 * A malformed `publicKeyBase64` throws: it is the agent's own configuration
 * (`--controller-key`), and refusing every push in silence would hide it.
 */
export function verifyPushSignature(publicKeyBase64: string, body: Uint8Array, header: string | undefined): boolean {
  const key = ed25519PublicKey(publicKeyBase64);
  if (header === undefined) return false;
  const m = /^ed25519=([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!m) return false;
  const signature = Buffer.from(m[1]!, 'base64');
  if (signature.length !== 64) return false;
  try {
    return verify(null, body, key, signature);
  } catch {
    return false;
  }
}
