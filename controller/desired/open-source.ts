import { GitTreeSource } from './git-tree-source.ts';
import type { TreeListingCache } from './tree-listing-cache.ts';
import { DirectorySource } from './directory-source.ts';
import type { DesiredSource } from './source.ts';
import type { RepositoryLocation } from '../git/repository.ts';
import { resolveRevision } from '../git/resolve-revision.ts';

/**
 * The source for a repository location: a Git revision (default `HEAD`) for a Git
 * repository, its working files with `worktree`, and the files of a plain folder.
 */
export async function openDesiredSource(
  location: RepositoryLocation,
  options: { rev?: string; worktree?: boolean; trees?: TreeListingCache; objectCache?: object } = {},
): Promise<DesiredSource> {
  if (location.type === 'folder' || (options.worktree && !location.bare)) return new DirectorySource(location.dir);
  const cache = options.objectCache ?? {};
  const oid = await resolveRevision(location.gitdir, options.rev ?? 'HEAD', cache);
  return new GitTreeSource(location.gitdir, oid, options.trees, cache);
}
