/**
 * Who signed a commit: the signature in the commit's `gpgsig` header, checked against an
 * allowed_signers list. The signed payload is rebuilt from the raw object bytes exactly as
 * Git does (the commit without its `gpgsig` header lines), not from isomorphic-git's
 * `payload`, which only knows PGP armour and normalises line endings.
 */
import git from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';
import { isListed, principalsOf, type AllowedSigners } from './allowed-signers.ts';
import type { SshPublicKey } from './ssh-public-key.ts';
import { isSshSignature, parseSshSignature, verifySshSignature } from './sshsig.ts';
import { SshWireError } from './ssh-wire.ts';

export type CommitSignature =
  | { readonly state: 'unsigned' }
  /** Signed in a form versiond does not verify (OpenPGP, X.509): counts as not verified. */
  | { readonly state: 'unsupported'; readonly detail: string }
  /** Malformed, or the signature does not match the commit (tampered, or another namespace). */
  | { readonly state: 'bad'; readonly detail: string }
  /** A valid signature by a key no line of the list names (for this namespace and time). */
  | { readonly state: 'unknown-key'; readonly fingerprint: string; readonly detail: string }
  | { readonly state: 'good'; readonly fingerprint: string; readonly key: SshPublicKey;
      readonly principals: readonly string[] };

export interface SplitCommit {
  readonly payload: Buffer;
  readonly signature?: string;
  /** Committer time, ms: when validity windows are checked, as Git does. */
  readonly committedAt: number;
}

/** The commit's bytes without the signature, and the signature. */
export function splitSignedCommit(raw: Buffer): SplitCommit {
  const text = raw.toString('latin1'); // byte-preserving
  const end = text.indexOf('\n\n');
  const headerEnd = end < 0 ? text.length : end + 1;
  const lines = text.slice(0, headerEnd).split('\n');
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of lines) {
    if (line.startsWith('gpgsig ') || line.startsWith('gpgsig-sha256 ')) {
      inSig = true;
      if (line.startsWith('gpgsig ')) sig.push(line.slice('gpgsig '.length));
      continue;
    }
    if (inSig && line.startsWith(' ')) {
      sig.push(line.slice(1));
      continue;
    }
    inSig = false;
    kept.push(line);
  }
  const committer = /^committer .* (\d+) [+-]\d{4}$/m.exec(text.slice(0, headerEnd));
  return {
    payload: Buffer.from(kept.join('\n') + text.slice(headerEnd), 'latin1'),
    ...(sig.length > 0 ? { signature: Buffer.from(`${sig.join('\n')}\n`, 'latin1').toString('utf8') } : {}),
    committedAt: committer ? Number(committer[1]) * 1000 : 0,
  };
}

export function checkSignature(commit: SplitCommit, signers: AllowedSigners): CommitSignature {
  if (commit.signature === undefined) return { state: 'unsigned' };
  if (!isSshSignature(commit.signature)) {
    const kind = commit.signature.includes('PGP SIGNATURE') ? 'an OpenPGP' : 'a non-SSH';
    return { state: 'unsupported', detail: `${kind} signature (only SSH signatures are verified)` };
  }
  let parsed;
  try {
    parsed = parseSshSignature(commit.signature);
  } catch (err) {
    if (err instanceof SshWireError) return { state: 'bad', detail: err.message };
    throw err;
  }
  if (!verifySshSignature(parsed, commit.payload, 'git')) {
    const detail = parsed.namespace !== 'git'
      ? `the signature is for namespace ${JSON.stringify(parsed.namespace)}, not "git"`
      : 'the signature does not match the commit';
    return { state: 'bad', detail };
  }
  const fingerprint = parsed.publicKey.fingerprint;
  const principals = principalsOf(signers, parsed.publicKey, 'git', commit.committedAt);
  if (principals.length === 0) {
    const detail = isListed(signers, parsed.publicKey)
      ? 'listed, but not for "git" commits at this time'
      : 'not listed';
    return { state: 'unknown-key', fingerprint, detail };
  }
  return { state: 'good', fingerprint, key: parsed.publicKey, principals };
}

/** Reads commit `oid` from the repository and checks its signature. */
export async function verifyCommit(
  gitdir: string, oid: string, signers: AllowedSigners, cache: object = {},
): Promise<CommitSignature> {
  const { object, type } = await git.readObject({ fs, gitdir, oid, format: 'content', cache });
  if (type !== 'commit') throw new Error(`${oid} is a ${type}, not a commit`);
  return checkSignature(splitSignedCommit(Buffer.from(object as Uint8Array)), signers);
}

/** One line for status and logs: `signed by alice@example.com (SHA256:…)`, `not signed`, … */
export function describeSignature(sig: CommitSignature): string {
  switch (sig.state) {
    case 'unsigned': return 'not signed';
    case 'unsupported': return `signed with ${sig.detail}`;
    case 'bad': return `badly signed: ${sig.detail}`;
    case 'unknown-key': return `signed by a key ${sig.detail} (${sig.fingerprint})`;
    case 'good': return `signed by ${sig.principals.join(', ')} (${sig.fingerprint})`;
  }
}
