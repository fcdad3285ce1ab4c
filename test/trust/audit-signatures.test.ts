import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit } from '../helpers/ssh-keys.ts';

// Issue 13, item 3: `versiond audit --verify-commits FILE` shows who signed each desired change.
let keys: string;
let repo: TempRepo;
let list: string;

beforeAll(() => {
  keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
  const alice = makeSshKey(keys, 'alice');
  const mallory = makeSshKey(keys, 'mallory');
  list = join(keys, 'allowed_signers');
  writeFileSync(list, allowedSigners([['alice@example.com', alice]]));
  repo = TempRepo.create({ commit: false });
  signedCommit(repo, alice, 'acme: initial desired state', 'alice@example.com');
  repo.edit('accounts/acme-w360.yaml', 'defaultTag: stable', 'defaultTag: stable # reviewed');
  repo.commitAll('acme: unsigned note');
  repo.edit('accounts/acme-w360.yaml', 'defaultTag: stable # reviewed', 'defaultTag: stable # again');
  signedCommit(repo, mallory, 'acme: signed by someone unlisted', 'mallory@example.com');
});
afterAll(() => {
  repo.dispose();
  rmSync(keys, { recursive: true, force: true });
});

it('audit --verify-commits shows who signed each desired change, and what is not signed', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), 'audit', '--repo', repo.dir,
    '--target', 'account/acme-w360', '--verify-commits', list], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.split('\n');
  expect(lines.find((l) => l.includes('acme: initial desired state'))).toMatch(/\[signed by alice@example\.com \(SHA256:/);
  expect(lines.find((l) => l.includes('acme: unsigned note'))).toMatch(/\[not signed\]$/);
  expect(lines.find((l) => l.includes('signed by someone unlisted'))).toMatch(/\[signed by a key not listed \(SHA256:/);
  const plain = spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), 'audit', '--repo', repo.dir,
    '--target', 'account/acme-w360'], { encoding: 'utf8' });
  expect(plain.stdout).not.toMatch(/\[(not )?signed/);
});
