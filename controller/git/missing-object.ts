/**
 * A lost object (issue 14, item 5): `git gc --prune=now` racing a writer, a disk fault, a
 * deleted pack. isomorphic-git says `NotFoundError: Could not find <oid>.`; versiond's blob
 * reader throws the same. Told apart from a missing ref (`Could not find refs/heads/x`) by the
 * object id it names, and turned into the catalogue's `GIT_OBJECT_MISSING` with the object,
 * the repository and the side that needs it, so callers can report and repair it.
 */
import { VersiondError } from '../../reconcilers/model/errors.ts';

export type GitSide = 'desired' | 'status' | 'clone';

/** The id of the object `err` says is missing, or undefined when `err` is something else. */
export function missingObjectId(err: unknown): string | undefined {
  if (err instanceof VersiondError && err.code === 'GIT_OBJECT_MISSING') {
    return (err as VersiondError<'GIT_OBJECT_MISSING'>).data.oid;
  }
  const e = err as { code?: string; data?: { what?: unknown }; message?: unknown } | null;
  if (e?.code !== 'NotFoundError') return undefined;
  // `Could not find <oid>.` only: not a ref, nor `file or directory found at "<oid>:<path>"`.
  const what = typeof e.data?.what === 'string' ? e.data.what : /^Could not find (\S+)\.$/.exec(String(e.message))?.[1];
  return what !== undefined && /^[0-9a-f]{40}$/.test(what) ? what : undefined;
}

/** `err` as `GIT_OBJECT_MISSING` when it is a missing object, else undefined. */
export function asMissingObject(
  err: unknown,
  repository: string,
  side: GitSide,
): VersiondError<'GIT_OBJECT_MISSING'> | undefined {
  if (err instanceof VersiondError && err.code === 'GIT_OBJECT_MISSING') {
    return err as VersiondError<'GIT_OBJECT_MISSING'>;
  }
  const oid = missingObjectId(err);
  return oid === undefined ? undefined : new VersiondError('GIT_OBJECT_MISSING', { oid, repository, side });
}
