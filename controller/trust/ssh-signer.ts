/**
 * Signs the controller's own status commits with its Ed25519 key as an SSH signature
 * (PROTOCOL.sshsig, namespace `git`), so a mirror that verifies the whole branch with
 * `git verify-commit` or `versiond run --verify-commits` can trust them too (issue 13, item 3).
 * Only when verification is on; the key is the one that signs pushes (`controller-key.pem`).
 */
import { createHash } from 'node:crypto';
import git from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';
import { sshString } from './ssh-wire.ts';

export interface SshSigningKey {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicRaw: Buffer;
  readonly signRaw: (data: Uint8Array) => Buffer;
}

const publicBlob = (key: SshSigningKey): Buffer => Buffer.concat([sshString('ssh-ed25519'), sshString(key.publicRaw)]);

/** `ssh-ed25519 AAAA… comment`: the line to put in a mirror's allowed_signers. */
export function sshPublicKeyLine(key: SshSigningKey, comment = 'versiond-controller'): string {
  return `ssh-ed25519 ${publicBlob(key).toString('base64')} ${comment}`;
}

/** An armored SSH signature of `message`, as `ssh-keygen -Y sign -n <namespace>` writes it. */
export function sshSign(key: SshSigningKey, message: Buffer, namespace = 'git'): string {
  const hash = 'sha512';
  const digest = createHash(hash).update(message).digest();
  const magic = Buffer.from('SSHSIG');
  const signed = Buffer.concat([magic, sshString(namespace), sshString(''), sshString(hash), sshString(digest)]);
  const signature = Buffer.concat([sshString('ssh-ed25519'), sshString(key.signRaw(signed))]);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1, 0);
  const blob = Buffer.concat([
    magic, version, sshString(publicBlob(key)), sshString(namespace), sshString(''), sshString(hash),
    sshString(signature),
  ]).toString('base64');
  const lines = blob.match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----`;
}

/**
 * The signed twin of commit `oid`: its exact bytes are the payload, and the signature goes in
 * a `gpgsig` header after `committer`, as Git writes it. Returns the new commit's id.
 */
export async function signCommit(gitdir: string, oid: string, key: SshSigningKey, cache: object = {}): Promise<string> {
  const { object } = await git.readObject({ fs, gitdir, oid, format: 'content', cache });
  const raw = Buffer.from(object as Uint8Array);
  const text = raw.toString('latin1');
  const end = text.indexOf('\n\n');
  const headers = end < 0 ? text : text.slice(0, end);
  const rest = end < 0 ? '' : text.slice(end);
  const armored = sshSign(key, raw).split('\n').join('\n ');
  const signed = Buffer.from(`${headers}\ngpgsig ${armored}${rest}`, 'latin1');
  return git.writeObject({ fs, gitdir, type: 'commit', object: signed, format: 'content' });
}
