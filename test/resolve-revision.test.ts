import { afterAll, describe, expect, it } from 'vitest';
import { resolveRevision, RevisionError } from '../controller/git/resolve-revision.ts';
import { TempRepo } from './helpers/git-repo.ts';

/** Revisions as people type them in --rev and --base, resolved with isomorphic-git and checked against git's own rev-parse. */
const r = TempRepo.create();
r.edit('domains/print-paris.yaml', 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3').commitAll('second');
r.git('tag', 'lightweight');
r.git('tag', '-a', 'annotated', '-m', 'release train');
r.git('checkout', '-q', '-b', 'feature', 'HEAD~1');
r.edit('domains/print-paris.yaml', 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3').commitAll('on feature');
r.git('checkout', '-q', 'main');
r.git('merge', '-q', '--no-ff', '-m', 'merge feature', 'feature', '-X', 'ours');
afterAll(() => r.dispose());
const gitdir = r.path('.git');

describe('resolveRevision', () => {
  it.each(['HEAD', 'main', 'HEAD~1', 'main~2', 'HEAD^', 'HEAD^2', 'HEAD^2~1', 'feature', 'lightweight', 'annotated', 'annotated~1'])(
    '%s resolves to the commit git rev-parse names',
    async (rev) => {
      expect(await resolveRevision(gitdir, rev)).toBe(r.git('rev-parse', `${rev}^{commit}`));
    },
  );

  it('accepts an abbreviated commit id', async () => {
    const full = r.git('rev-parse', 'HEAD~1');
    expect(await resolveRevision(gitdir, full.slice(0, 8))).toBe(full);
  });

  it.each([
    ['nope', 'cannot resolve revision "nope": no branch, tag or commit by that name'],
    ['HEAD~9', 'has no parent number 1'],
    ['HEAD^3', 'has no parent number 3'],
  ])('%s is refused with a clear reason', async (rev, reason) => {
    await expect(resolveRevision(gitdir, rev)).rejects.toThrow(RevisionError);
    await expect(resolveRevision(gitdir, rev)).rejects.toThrow(reason);
  });
});
