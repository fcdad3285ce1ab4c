import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AllowedSignersError, mayActAs, parseAllowedSigners, type AllowedSigners,
} from '../../controller/trust/allowed-signers.ts';
import { describeSignature, verifyCommit } from '../../controller/trust/commit-signature.ts';
import { TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';

// Commits signed by the real git + ssh-keygen, verified in-process: what `ssh-keygen -Y verify`
// (git's own `verify-commit`) accepts, versiond accepts; what it refuses, versiond refuses.
let keys: string;
let repo: TempRepo;
let alice: SshKey;
let bob: SshKey;
let rsa: SshKey;
let ecdsa: SshKey;
let list: AllowedSigners;

beforeAll(() => {
  keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
  alice = makeSshKey(keys, 'alice');
  bob = makeSshKey(keys, 'bob');
  rsa = makeSshKey(keys, 'carol', 'rsa', 3072);
  ecdsa = makeSshKey(keys, 'dave', 'ecdsa', 384);
  list = parseAllowedSigners(allowedSigners([
    ['alice@example.com', alice], ['carol@example.com', rsa], ['dave@example.com', ecdsa],
  ]), 'approvers');
  repo = TempRepo.create({ commit: false });
});
afterAll(() => {
  repo.dispose();
  rmSync(keys, { recursive: true, force: true });
});

const gitdir = () => join(repo.dir, '.git');

describe('a commit signed with SSH', () => {
  it('signed by a listed Ed25519, RSA or ECDSA key names its principal', async () => {
    for (const [key, who] of [[alice, 'alice@example.com'], [rsa, 'carol@example.com'], [ecdsa, 'dave@example.com']]) {
      const oid = signedCommit(repo, key as SshKey, `signed by ${who as string}`);
      const sig = await verifyCommit(gitdir(), oid, list);
      expect(sig).toMatchObject({ state: 'good', principals: [who] });
    }
  });

  it('agrees with git verify-commit on the same allowed_signers file', async () => {
    const file = join(keys, 'allowed');
    writeFileSync(file, allowedSigners([['alice@example.com', alice]]));
    const oid = signedCommit(repo, alice, 'checked by git too');
    const out = repo.git('-c', `gpg.ssh.allowedSignersFile=${file}`, 'verify-commit', '--raw', oid);
    expect(out).toBe('');
    expect((await verifyCommit(gitdir(), oid, parseAllowedSigners('', 'empty'))).state).toBe('unknown-key');
    expect((await verifyCommit(gitdir(), oid, list)).state).toBe('good');
  });

  it('by a key in no line is "unknown-key", and an unsigned commit is "unsigned"', async () => {
    const byBob = signedCommit(repo, bob, 'bob is not listed');
    expect(describeSignature(await verifyCommit(gitdir(), byBob, list))).toMatch(/^signed by a key not listed \(SHA256:/);
    repo.write('note.txt', 'x');
    const plain = repo.commitAll('unsigned');
    expect(await verifyCommit(gitdir(), plain, list)).toEqual({ state: 'unsigned' });
  });

  it('whose content was changed after signing does not verify', async () => {
    const oid = signedCommit(repo, alice, 'the original message');
    const raw = repo.git('cat-file', 'commit', oid).replace('the original message', 'a forged message');
    const forged = join(keys, 'forged');
    writeFileSync(forged, `${raw}\n`);
    const forgedOid = repo.git('hash-object', '-t', 'commit', '-w', forged);
    const sig = await verifyCommit(gitdir(), forgedOid, list);
    expect(sig).toEqual({ state: 'bad', detail: 'the signature does not match the commit' });
  });

  it('signed for another namespace (ssh-keygen -Y sign -n file) does not count for git', async () => {
    const oid = signedCommit(repo, alice, 'to be re-signed');
    const raw = repo.git('cat-file', 'commit', oid);
    const payload = raw.replace(/^gpgsig [\s\S]*?-----END SSH SIGNATURE-----\n/m, '');
    const msg = join(keys, 'payload');
    writeFileSync(msg, `${payload}\n`);
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'file', '-f', alice.privatePath, msg]);
    const sigText = readFileSync(`${msg}.sig`, 'utf8').trim();
    const header = `gpgsig ${sigText.split('\n').join('\n ')}\n`;
    const withSig = payload.replace(/^(committer .*\n)/m, `$1${header}`);
    writeFileSync(msg, `${withSig}\n`);
    const other = repo.git('hash-object', '-t', 'commit', '-w', msg);
    expect(await verifyCommit(gitdir(), other, list)).toMatchObject({ state: 'bad', detail: expect.stringMatching(/namespace "file"/) });
  });

  it('an approver key used outside its valid-before window or namespaces is not honoured', async () => {
    const oid = signedCommit(repo, alice, 'signed now');
    const expired = parseAllowedSigners(`alice@example.com valid-before="20200101Z" ${alice.publicLine}\n`, 'f');
    expect(await verifyCommit(gitdir(), oid, expired)).toMatchObject({ state: 'unknown-key' });
    const onlyFiles = parseAllowedSigners(`alice@example.com namespaces="file" ${alice.publicLine}\n`, 'f');
    expect(await verifyCommit(gitdir(), oid, onlyFiles)).toMatchObject({ state: 'unknown-key' });
    const forGit = parseAllowedSigners(`*@example.com,!bob@example.com namespaces="git" ${alice.publicLine}\n`, 'f');
    const sig = await verifyCommit(gitdir(), oid, forGit);
    expect(sig.state).toBe('good');
    if (sig.state !== 'good') return;
    expect(mayActAs(forGit, 'alice@example.com', sig.key, 'git', Date.now())).toBe(true);
    expect(mayActAs(forGit, 'bob@example.com', sig.key, 'git', Date.now())).toBe(false);
    expect(mayActAs(forGit, 'alice@example.org', sig.key, 'git', Date.now())).toBe(false);
  });
});

describe('an allowed_signers file with mistakes', () => {
  it('names every bad line and field, and refuses the whole file', () => {
    const text = [
      '# approvers of the print fleet',
      `alice@example.com ${alice.publicLine}`,
      'bob@example.com ssh-ed25519 not-base64!',
      `carol@example.com cert-authority ${rsa.publicLine}`,
      'dave@example.com ssh-dss AAAAB3NzaC1kc3M=',
      `erin@example.com valid-after="yesterday" ${alice.publicLine}`,
      `frank@example.com ${alice.publicLine.replace('ssh-ed25519', 'ssh-rsa')}`,
    ].join('\n');
    let error: AllowedSignersError | undefined;
    try {
      parseAllowedSigners(text, '/etc/versiond/approvers');
    } catch (err) {
      error = err as AllowedSignersError;
    }
    expect(error).toBeInstanceOf(AllowedSignersError);
    expect(error!.problems.map((p) => [p.line, p.field])).toEqual([
      [3, 'key'], [4, 'options'], [5, 'keytype'], [6, 'valid-after'], [7, 'key'],
    ]);
    expect(error!.message).toContain('/etc/versiond/approvers:3: key: the key is not base64');
  });
});
