import { afterAll, describe, expect, it } from 'vitest';
import { TempRepo } from './helpers/git-repo.ts';
import { lines, loadRevision } from './helpers/load.ts';

/**
 * `validate` checks a promotion override (issue 8, items 3 and 7): it must name a version a
 * release of the account's product has, on an account that has a test ring to override.
 */
const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));

async function validate(path: string, edit: (text: string) => string) {
  const repo = TempRepo.create();
  repos.push(repo);
  repo.write(path, edit(repo.read(path)));
  repo.commitAll('promotion override');
  return lines(await loadRevision(repo.dir));
}

const override = (version: string) => (text: string) =>
  `${text.trimEnd()}\n  promotion:\n    override:\n      version: "${version}"\n      reason: "hotfix for the print spooler crash, tested by hand"\n`;

describe('a promotion override names a real version of an account with a test ring', () => {
  it('accepts an override of a released version', async () => {
    expect(await validate('accounts/acme-w360.yaml', override('4.3.0'))).toEqual([]);
  });

  it('refuses a version no release of the product has, at the field', async () => {
    const out = await validate('accounts/acme-w360.yaml', override('4.30.0'));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^accounts\/acme-w360\.yaml:\d+:\d+: .*spec\.promotion\.override\.version: no release of w360-core has version 4\.30\.0/);
  });

  it('refuses an override on an account without a test ring', async () => {
    const out = await validate('accounts/acme-w360.yaml', (t) => override('4.3.0')(t.replace(/^  testRing:\n(?: {4}.*\n)*/m, '')));
    expect(out.some((l) => /spec\.promotion\.override: this account has no testRing/.test(l))).toBe(true);
  });
});
