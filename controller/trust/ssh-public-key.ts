/**
 * SSH public keys as `ssh-keygen` writes them (`ssh-ed25519 AAAA… comment`), turned into
 * node:crypto keys so signatures are verified in-process. Ed25519, RSA and ECDSA (P-256,
 * P-384, P-521) — the key types `ssh-keygen` makes and Git's SSH signing accepts.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SshReader, SshWireError } from './ssh-wire.ts';

export interface SshPublicKey {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, … */
  readonly type: string;
  /** The wire blob: what two keys are compared by. */
  readonly blob: Buffer;
  readonly key: KeyObject;
  /** As `ssh-keygen -l` prints it: `SHA256:` and unpadded base64. */
  readonly fingerprint: string;
}

const CURVES: Readonly<Record<string, { crv: string; size: number; hash: string }>> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

export function curveOf(type: string): { crv: string; size: number; hash: string } | undefined {
  return type.startsWith('ecdsa-sha2-') ? CURVES[type.slice('ecdsa-sha2-'.length)] : undefined;
}

const b64url = (b: Buffer): string => b.toString('base64url');

/** Parses a public key blob (the base64 part of a key line, decoded). Throws SshWireError. */
export function parsePublicKeyBlob(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob, 'public key');
  const type = r.text();
  let key: KeyObject;
  if (type === 'ssh-ed25519') {
    const raw = r.string();
    if (raw.length !== 32) throw new SshWireError('Ed25519 public key is not 32 bytes');
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  } else if (type === 'ssh-rsa') {
    const e = r.mpint();
    const n = r.mpint();
    if (n.length * 8 < 2048 - 8) throw new SshWireError(`RSA key of ${n.length * 8} bits is too short (2048 at least)`);
    key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
  } else if (curveOf(type) !== undefined) {
    const curve = curveOf(type)!;
    const name = r.text();
    if (`ecdsa-sha2-${name}` !== type) throw new SshWireError(`ECDSA key names curve ${name} inside a ${type} key`);
    const q = r.string();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new SshWireError('ECDSA point is not uncompressed');
    const x = q.subarray(1, 1 + curve.size);
    const y = q.subarray(1 + curve.size);
    key = createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
  } else {
    throw new SshWireError(`unsupported key type ${JSON.stringify(type)} (ssh-ed25519, ssh-rsa, ecdsa-sha2-* are)`);
  }
  r.end();
  return { type, blob, key, fingerprint: fingerprintOf(blob) };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** `ssh-ed25519 AAAA…` (type, base64; a comment after is ignored). Throws SshWireError. */
export function parsePublicKeyLine(type: string, base64: string): SshPublicKey {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new SshWireError('the key is not base64');
  const parsed = parsePublicKeyBlob(Buffer.from(base64, 'base64'));
  if (parsed.type !== type) throw new SshWireError(`the key says ${type} but holds a ${parsed.type} key`);
  return parsed;
}
