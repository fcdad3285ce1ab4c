import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStatusFile } from '../../controller/status/render-status.ts';
import { loadOrCreateControllerKey } from '../../controller/agents/controller-key.ts';
import { parseAllowedSigners } from '../../controller/trust/allowed-signers.ts';
import { verifyCommit } from '../../controller/trust/commit-signature.ts';
import { sshPublicKeyLine } from '../../controller/trust/ssh-signer.ts';
import { eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';

// Issue 13, item 3: with --verify-commits the controller acts only on desired revisions whose
// commit is signed by a listed key; anything else is refused like an invalid revision, and the
// last verified revision stays in force. Its own status commits at the tip change nothing.
describe('a controller that verifies commits', () => {
  let keys: string;
  let alice: SshKey;
  let mallory: SshKey;
  let f: Fixture;
  let verified: string;

  beforeAll(async () => {
    keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
    alice = makeSshKey(keys, 'alice');
    mallory = makeSshKey(keys, 'mallory');
    const list = parseAllowedSigners(allowedSigners([['alice@example.com', alice]]), join(keys, 'allowed_signers'));
    const repo = TempRepo.create({ commit: false });
    verified = signedCommit(repo, alice, 'desired state, signed by alice', 'alice@example.com');
    f = await startFixture({ repo, agents: [], controller: { verifyCommits: list } });
  });
  afterAll(async () => {
    await f?.close();
    rmSync(keys, { recursive: true, force: true });
  });

  const source = () => {
    try {
      return parseStatusFile(f.repo.git('show', 'main:status/source/main.yaml')).status;
    } catch {
      return undefined;
    }
  };

  it('acts on a revision signed by a listed key', () => {
    expect(f.controller.loop.revision).toBe(verified);
  });

  it.each([
    { name: 'an unsigned commit', sign: undefined, says: 'is not signed' },
    { name: 'a commit signed by an unlisted key', sign: 'mallory', says: 'is signed by a key not listed' },
  ])('refuses $name and keeps acting on the last verified revision', async ({ sign, says }) => {
    f.repo.write('accounts/acme-w360.yaml', `${f.repo.read('accounts/acme-w360.yaml')}# a valid change by ${sign ?? 'anyone'}\n`);
    const commit = sign ? signedCommit(f.repo, mallory, 'signed by mallory', 'mallory@example.com')
      : f.repo.commitAll('unsigned change');
    const status = await eventually(() => {
      const s = source();
      return s?.details?.['lastAttemptedRevision'] === commit ? s : undefined;
    }, 15_000, 'the refusal in status/source/main.yaml');
    expect(status.phase).toBe('Blocked');
    expect(String(status.details?.['errors'])).toContain(`REVISION_UNVERIFIED`);
    expect(String(status.details?.['errors'])).toContain(`commit ${commit.slice(0, 7)} ${says}`);
    expect(status.details?.['lastAppliedRevision']).toBe(verified);
    expect(f.controller.loop.revision).toBe(verified);
  });

  it('acts again once alice signs a revision; status commits above it change nothing', async () => {
    f.repo.write('accounts/acme-w360.yaml', `${f.repo.read('accounts/acme-w360.yaml')}# reviewed by alice\n`);
    const next = signedCommit(f.repo, alice, 'alice signs the fix', 'alice@example.com');
    await eventually(() => f.controller.loop.revision === next, 15_000, 'the signed revision applied');
    await eventually(() => source()?.details?.['lastAppliedRevision'] === next,
      15_000, 'the source status to name it');
    expect(f.repo.git('log', '-1', '--format=%s')).not.toBe('alice signs the fix'); // a status commit is on top
    expect(f.controller.loop.revision).toBe(next);
  });

  it('signs its own status commits with the controller key, so stock git verifies the whole branch', async () => {
    const key = await loadOrCreateControllerKey(f.stateDir);
    const line = sshPublicKeyLine({ publicRaw: Buffer.from(key.publicKeyBase64, 'base64'), signRaw: (d) => key.signRaw(d) });
    const file = join(keys, 'mirror_signers');
    writeFileSync(file, `${allowedSigners([['alice@example.com', alice]])}versiond@localhost ${line}\n`);
    const tip = f.repo.git('rev-parse', 'HEAD');
    expect(f.repo.git('log', '-1', '--format=%an', tip)).toBe('versiond');
    // git verify-commit runs ssh-keygen -Y verify: exit 0 means a good signature by a listed key
    f.repo.git('-c', `gpg.ssh.allowedSignersFile=${file}`, 'verify-commit', tip);
    const mirror = parseAllowedSigners(readFileSync(file, 'utf8'), file);
    expect(await verifyCommit(join(f.repo.dir, '.git'), tip, mirror)).toMatchObject({ state: 'good', principals: ['versiond@localhost'] });
  });
});
