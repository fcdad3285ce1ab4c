import { DesiredStateLoader, type DesiredState } from '../desired/load-desired-state.ts';
import { openDesiredSource } from '../desired/open-source.ts';
import { TreeListingCache } from '../desired/tree-listing-cache.ts';
import { locateRepository, RepositoryNotFoundError, type RepositoryLocation } from '../git/repository.ts';
import { RevisionError } from '../git/resolve-revision.ts';
import { UsageError } from './usage.ts';

/** The flags every command that reads desired state shares: `--repo`, `--rev`, `--base`, `--worktree`. */
export interface RevisionFlags {
  readonly repo?: string | undefined;
  readonly rev?: string | undefined;
  readonly base?: string | undefined;
  readonly worktree?: boolean | undefined;
}

export const REVISION_FLAG_OPTIONS = {
  repo: { type: 'string', default: '.' },
  rev: { type: 'string' },
  base: { type: 'string' },
  worktree: { type: 'boolean', default: false },
} as const;

export const REVISION_FLAG_HELP = `  --repo DIR       repository to read (default: .). A Git repository is read from Git at
                   --rev, never from its working files; a plain folder is read as files.
  --rev REV        revision: branch, tag, commit id, with ~N/^N (default: HEAD)
  --base REV       compare with this revision (the pull request's target branch)
  --worktree       read the working files of a Git repository instead of a revision`;

/**
 * Loads the revision (and the base, when asked) the way every command does, turning bad
 * flags, missing directories and unknown revisions into usage errors (exit 2).
 */
export async function loadRevisions(
  command: string,
  flags: RevisionFlags,
): Promise<{ location: RepositoryLocation; state: DesiredState; base?: DesiredState }> {
  const repo = flags.repo ?? '.';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
    throw new UsageError(`${command} reads a local repository; clone ${repo} first (remote sources are followed by \`versiond run\`)`);
  }
  let location: RepositoryLocation;
  try {
    location = locateRepository(repo);
  } catch (err) {
    if (err instanceof RepositoryNotFoundError) throw new UsageError(err.message);
    throw err;
  }
  if (location.type === 'folder' && (flags.rev !== undefined || flags.base !== undefined)) {
    throw new UsageError(`${repo} is a plain folder, not a Git repository: --rev and --base need Git history`);
  }
  if (flags.worktree && flags.rev !== undefined) throw new UsageError('--worktree and --rev are exclusive');

  const loader = new DesiredStateLoader();
  const trees = new TreeListingCache();
  const objectCache = {};
  try {
    const base = flags.base !== undefined ? await loader.load(await openDesiredSource(location, { rev: flags.base, trees, objectCache })) : undefined;
    const source = await openDesiredSource(location, {
      ...(flags.rev !== undefined ? { rev: flags.rev } : {}),
      worktree: flags.worktree ?? false,
      trees,
      objectCache,
    });
    const state = await loader.load(source, base ? { base } : {});
    return { location, state, ...(base ? { base } : {}) };
  } catch (err) {
    if (err instanceof RevisionError) throw new UsageError(err.message);
    throw err;
  }
}
