import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigners } from '../../controller/trust/allowed-signers.ts';
import { verifyApprovals } from '../../controller/trust/approval-provenance.ts';
import type { Approval } from '../../reconcilers/model/desired.ts';
import { TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';

// Issue 13, item 2: an approval counts only when the commit that added it is signed by the
// person it names, and that person did not author the change they approve (four eyes).
const PATH = 'accounts/acme.yaml';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
let keys: string;
let bob: SshKey;
let carol: SshKey;
let approvers: AllowedSigners;

beforeAll(() => {
  keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
  bob = makeSshKey(keys, 'bob');
  carol = makeSshKey(keys, 'carol');
  approvers = parseAllowedSigners(allowedSigners([['bob@example.com', bob], ['carol@example.com', carol]]), 'approvers');
});
afterAll(() => rmSync(keys, { recursive: true, force: true }));

function account(version: string, approvals: readonly Approval[] = []): string {
  const list = approvals.map((a) => `\n      - { wave: ${a.wave}, digest: "${a.digest}", by: ${a.by} }`).join('');
  return `apiVersion: versiond/v1\nkind: Account\nmetadata: { name: acme }\nspec:\n  release: w360-${version}\n`
    + `  rollout:\n    waves: { steps: [1, 100%], approvalRequired: [2] }\n    approvals:${list || ' []'}\n`;
}

function newRepo(): TempRepo {
  const repo = TempRepo.create({ fromExample: false, commit: false });
  repo.write(PATH, account('12.08.100'));
  repo.commitAll('acme runs 12.08.100');
  return repo;
}

async function verdicts(repo: TempRepo, approvals: readonly Approval[], maxCommits?: number) {
  return verifyApprovals({ gitdir: join(repo.dir, '.git'), revision: repo.head(), path: PATH, approvals, approvers,
    ...(maxCommits ? { maxCommits } : {}) });
}

describe('an approval of a gated wave', () => {
  const byBob: Approval = { wave: 2, digest: D1, by: 'bob@example.com' };

  it('signed by the reviewer it names, on a change someone else wrote, counts', async () => {
    const repo = newRepo();
    repo.write(PATH, account('12.08.110'));
    repo.commitAll('ada: acme to 12.08.110'); // authored by ada@example.com
    repo.write(PATH, account('12.08.110', [byBob]));
    const added = signedCommit(repo, bob, 'bob approves wave 2', 'bob@example.com');
    expect(await verdicts(repo, [byBob])).toEqual([{ verified: true, commit: added }]);
    repo.dispose();
  });

  it('added in an unsigned commit does not count, and says so', async () => {
    const repo = newRepo();
    repo.write(PATH, account('12.08.110', [byBob]));
    const added = repo.commitAll('anyone who can push types bob');
    expect(await verdicts(repo, [byBob])).toEqual([{ verified: false, commit: added,
      reason: `the commit adding it (${added.slice(0, 7)}) is not signed` }]);
    repo.dispose();
  });

  it('signed by another listed reviewer does not count for the one it names', async () => {
    const repo = newRepo();
    repo.write(PATH, account('12.08.110', [byBob]));
    const added = signedCommit(repo, carol, 'carol types bob', 'carol@example.com');
    const [v] = await verdicts(repo, [byBob]);
    expect(v!.verified).toBe(false);
    expect(v!.reason).toMatch(new RegExp(`^the commit adding it \\(${added.slice(0, 7)}\\) is signed by carol@example.com, not by bob@example.com$`));
    repo.dispose();
  });

  it('by the author of the change it approves does not count (four eyes), even across a merge', async () => {
    const repo = newRepo();
    repo.git('checkout', '-q', '-b', 'bump');
    repo.write(PATH, account('12.08.110'));
    const own = signedCommit(repo, bob, 'bob bumps acme', 'bob@example.com');
    repo.git('checkout', '-q', 'main');
    repo.git('merge', '-q', '--no-ff', '-m', 'merge bump', 'bump');
    repo.write(PATH, account('12.08.110', [byBob]));
    signedCommit(repo, bob, 'bob approves his own change', 'bob@example.com');
    const [v] = await verdicts(repo, [byBob]);
    expect(v).toMatchObject({ verified: false, reason: `bob@example.com authored the change (${own.slice(0, 7)})` });
    repo.dispose();
  });

  it('added on a branch and merged by someone else keeps the reviewer\'s signed commit as its origin', async () => {
    const repo = newRepo();
    repo.write(PATH, account('12.08.110'));
    repo.commitAll('ada bumps acme');
    repo.git('checkout', '-q', '-b', 'approve');
    repo.write(PATH, account('12.08.110', [byBob]));
    const added = signedCommit(repo, bob, 'bob approves', 'bob@example.com');
    repo.git('checkout', '-q', 'main');
    repo.git('merge', '-q', '--no-ff', '-m', 'merged by ada, unsigned', 'approve');
    expect(await verdicts(repo, [byBob])).toEqual([{ verified: true, commit: added }]);
    repo.dispose();
  });

  it('four eyes looks back to the previous approval of that wave only', async () => {
    const repo = newRepo();
    repo.write(PATH, account('12.08.105'));
    signedCommit(repo, bob, 'bob bumped an earlier release', 'bob@example.com');
    const first = { wave: 2, digest: D2, by: 'carol@example.com' };
    repo.write(PATH, account('12.08.105', [first]));
    signedCommit(repo, carol, 'carol approved it', 'carol@example.com');
    repo.write(PATH, account('12.08.110', [first]));
    repo.commitAll('ada bumps again');
    repo.write(PATH, account('12.08.110', [first, byBob]));
    const added = signedCommit(repo, bob, 'bob approves ada\'s change', 'bob@example.com');
    expect(await verdicts(repo, [first, byBob])).toMatchObject([{ verified: true }, { verified: true, commit: added }]);
    repo.dispose();
  });

  it('whose history cannot be read in full is not verified', async () => {
    const repo = newRepo();
    for (let i = 0; i < 5; i++) {
      repo.write(PATH, account(`12.08.11${i}`));
      repo.commitAll(`step ${i}`);
    }
    repo.write(PATH, account('12.08.119', [byBob]));
    signedCommit(repo, bob, 'bob approves', 'bob@example.com');
    const [v] = await verdicts(repo, [byBob], 3);
    expect(v).toMatchObject({ verified: false, reason: expect.stringMatching(/^its history cannot be read: more than 3 commits/) });
    repo.dispose();
  });
});
