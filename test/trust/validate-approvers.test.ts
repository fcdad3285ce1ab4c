import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';

// Issue 13, item 2: `validate --approvers` and `plan --approvers` judge approvals as `run` does,
// so a reviewer sees in the pull request that an approval would not count, and why.
const FILE = 'accounts/acme-w360.yaml';
let digest = '';
let keys: string;
let bob: SshKey;
let list: string;
let repo: TempRepo;

beforeAll(() => {
  keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
  bob = makeSshKey(keys, 'bob');
  list = join(keys, 'approvers');
  writeFileSync(list, allowedSigners([['bob@example.com', bob]]));
  repo = TempRepo.create();
  // the plan digest of acme's wave 2, as `versiond plan` prints it for this revision
  digest = waveApproval(versiond('plan', '--repo', repo.dir, '--format', 'json').stdout).digest as string;
  const approval = (by: string) => `      - { wave: 2, digest: "${digest}", by: ${by} }\n`;
  repo.edit(FILE, '      approvalRequired: [2]\n', `      approvalRequired: [2]\n    approvals:\n${approval('bob@example.com')}`);
  signedCommit(repo, bob, 'bob approves wave 2', 'bob@example.com');
  repo.edit(FILE, approval('bob@example.com'), approval('bob@example.com') + approval('carol@example.com'));
  repo.commitAll('carol approves, unsigned');
});
afterAll(() => {
  repo.dispose();
  rmSync(keys, { recursive: true, force: true });
});

const versiond = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), ...args], { encoding: 'utf8', timeout: 60_000 });

it('validate --approvers warns, at its line, of each approval that would not count', () => {
  const r = versiond('validate', '--repo', repo.dir, '--approvers', list);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0); // warnings: the revision is valid, the gate just stays shut
  const warnings = r.stdout.split('\n').filter((l) => l.includes('does not count'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: account/acme-w360: spec\\.rollout\\.approvals\\[1\\]: `
    + 'warning: the approval by carol@example.com does not count: the commit adding it \\([0-9a-f]{7}\\) is not signed$'));
  expect(r.stdout).toMatch(/^ok: .*; no errors, 1 warning$/m);
});

it('without --approvers validate says nothing of provenance; a broken approvers file is a usage error', () => {
  expect(versiond('validate', '--repo', repo.dir).stdout).not.toContain('does not count');
  writeFileSync(join(keys, 'broken'), 'bob@example.com ssh-ed25519 AAAA!!\n');
  const bad = versiond('validate', '--repo', repo.dir, '--approvers', join(keys, 'broken'));
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain(`--approvers: ${join(keys, 'broken')}:1: key: the key is not base64`);
});

it('plan --approvers counts the approval bob signed, and not one signed by a key the file does not list', () => {
  const counted = waveApproval(versiond('plan', '--repo', repo.dir, '--approvers', list, '--format', 'json').stdout);
  expect(counted).toEqual({ required: true, digest, approved: true, by: 'bob@example.com', verified: true });
  const others = join(keys, 'others');
  writeFileSync(others, allowedSigners([['carol@example.com', makeSshKey(keys, 'carol')]]));
  const refused = waveApproval(versiond('plan', '--repo', repo.dir, '--approvers', others, '--format', 'json').stdout);
  expect(refused).toMatchObject({ approved: false, unverified: { by: 'bob@example.com',
    reason: expect.stringMatching(/^the commit adding it \([0-9a-f]{7}\) is signed by a key not listed \(SHA256:/) } });
});

function waveApproval(planJson: string): Record<string, unknown> {
  const plan = JSON.parse(planJson) as { targets: { target: string; rollout?: { waves?: { waves: { approval?: unknown }[] } } }[] };
  return plan.targets.find((t) => t.target === 'account/acme-w360')!.rollout!.waves!.waves[1]!.approval as Record<string, unknown>;
}
