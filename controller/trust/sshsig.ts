/**
 * SSH signatures (`ssh-keygen -Y sign`, Git's `gpg.format=ssh`), verified in-process with
 * node:crypto, following OpenSSH's PROTOCOL.sshsig: an armored blob holding the signer's
 * public key, a namespace (`git` for commits), a hash algorithm and the signature over
 * `"SSHSIG" ‖ namespace ‖ reserved ‖ hash_algorithm ‖ H(message)`.
 */
import { createHash, verify } from 'node:crypto';
import { curveOf, parsePublicKeyBlob, type SshPublicKey } from './ssh-public-key.ts';
import { SshReader, SshWireError, sshString } from './ssh-wire.ts';

const MAGIC = Buffer.from('SSHSIG');
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

export interface SshSignature {
  readonly publicKey: SshPublicKey;
  readonly namespace: string;
  readonly hashAlgorithm: 'sha256' | 'sha512';
  /** The signature blob: format name and signature bytes. */
  readonly format: string;
  readonly signature: Buffer;
}

export function isSshSignature(armored: string): boolean {
  return armored.trimStart().startsWith(BEGIN);
}

/** Parses an armored SSH signature. Throws SshWireError saying what is wrong. */
export function parseSshSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new SshWireError('not an armored SSH signature');
  const body = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new SshWireError('the signature is not base64');
  const r = new SshReader(Buffer.from(body, 'base64'), 'SSH signature');
  if (!r.bytes(6).equals(MAGIC)) throw new SshWireError('the signature does not start with SSHSIG');
  const version = r.uint32();
  if (version !== 1) throw new SshWireError(`SSH signature version ${version} is not supported (1 is)`);
  const publicKey = parsePublicKeyBlob(r.string());
  const namespace = r.text();
  r.string(); // reserved
  const hashAlgorithm = r.text();
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') {
    throw new SshWireError(`hash algorithm ${JSON.stringify(hashAlgorithm)} is not allowed (sha256, sha512 are)`);
  }
  const sig = new SshReader(r.string(), 'signature blob');
  r.end();
  const format = sig.text();
  const signature = sig.string();
  sig.end();
  return { publicKey, namespace, hashAlgorithm, format, signature };
}

/**
 * Whether `sig` is a valid signature of `message` in `namespace` by the key it carries.
 * Which keys are trusted is the caller's question (allowed_signers).
 */
export function verifySshSignature(sig: SshSignature, message: Buffer | string, namespace: string): boolean {
  if (sig.namespace !== namespace) return false;
  const digest = createHash(sig.hashAlgorithm).update(message).digest();
  const signed = Buffer.concat([
    MAGIC, sshString(namespace), sshString(''), sshString(sig.hashAlgorithm), sshString(digest),
  ]);
  const { type, key } = sig.publicKey;
  try {
    if (type === 'ssh-ed25519') {
      return sig.format === 'ssh-ed25519' && verify(null, signed, key, sig.signature);
    }
    if (type === 'ssh-rsa') {
      // SHA-1 (`ssh-rsa` signatures) is refused, as OpenSSH does for SSHSIG.
      const hash = sig.format === 'rsa-sha2-512' ? 'sha512' : sig.format === 'rsa-sha2-256' ? 'sha256' : undefined;
      return hash !== undefined && verify(hash, signed, key, sig.signature);
    }
    const curve = curveOf(type);
    if (curve !== undefined && sig.format === type) {
      const rs = new SshReader(sig.signature, 'ECDSA signature');
      const r = rs.mpint();
      const s = rs.mpint();
      rs.end();
      if (r.length > curve.size || s.length > curve.size) return false;
      const p1363 = Buffer.concat([pad(r, curve.size), pad(s, curve.size)]);
      return verify(curve.hash, signed, { key, dsaEncoding: 'ieee-p1363' }, p1363);
    }
    return false;
  } catch {
    return false;
  }
}

function pad(b: Buffer, size: number): Buffer {
  return b.length === size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]);
}
