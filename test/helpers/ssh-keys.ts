import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TempRepo } from './git-repo.ts';

/** An SSH key pair made by the real `ssh-keygen`, for signing commits the way admins do. */
export interface SshKey {
  readonly privatePath: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicLine: string;
}

export function makeSshKey(dir: string, name: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519',
  bits?: number): SshKey {
  const privatePath = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', name,
    '-f', privatePath]);
  return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}

/** `principal key` lines, as `--approvers` / `--verify-commits` read them. */
export function allowedSigners(entries: readonly (readonly [string, SshKey])[]): string {
  return entries.map(([who, key]) => `${who} ${key.publicLine}`).join('\n') + '\n';
}

/** Commits everything, signed with `key` by Git's own SSH signing; the author is `email`. */
export function signedCommit(repo: TempRepo, key: SshKey, message: string, email = 'ada@example.com'): string {
  repo.git('add', '-A');
  repo.git('-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.privatePath}`,
    '-c', `user.email=${email}`, '-c', `user.name=${email.split('@')[0]}`,
    'commit', '-q', '--allow-empty', '-S', '-m', message, `--author=${email.split('@')[0]} <${email}>`);
  return repo.head();
}
