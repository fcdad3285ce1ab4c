import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { BlobTooLargeError, readBlobBytes } from '../git/read-blob.ts';
import { readAndCheck, type FileResult } from './read-document.ts';
import type { SourceEntry, SourceLocation } from './source.ts';

/**
 * A parse worker: reads, parses and schema-checks a batch of files and answers with their
 * results. It holds no state but isomorphic-git's object cache for the repository it reads.
 */
export interface ParseJob {
  readonly id: number;
  readonly location: SourceLocation;
  readonly maxFileBytes: number;
  readonly entries: readonly SourceEntry[];
}

export type ParseReply = { readonly id: number; readonly results: readonly FileResult[] } | { readonly id: number; readonly error: string };

const objectCaches = new Map<string, object>();

async function bytesOf(location: SourceLocation, entry: SourceEntry, maxBytes: number): Promise<Uint8Array> {
  if (location.kind === 'folder') {
    // Refused by size before it is read, as a Git blob is.
    const file = join(location.dir, entry.path);
    const { size } = await stat(file);
    if (size > maxBytes) throw new BlobTooLargeError(entry.oid, size, maxBytes);
    return readFile(file);
  }
  let cache = objectCaches.get(location.gitdir);
  if (!cache) objectCaches.set(location.gitdir, (cache = {}));
  return readBlobBytes(location.gitdir, entry.oid, cache, maxBytes);
}

parentPort!.on('message', async (job: ParseJob) => {
  try {
    // Read the whole batch concurrently: file reads overlap on the I/O threads instead of
    // the worker waiting on each in turn; each file is parsed when its bytes arrive.
    const read = (e: SourceEntry, max: number) => bytesOf(job.location, e, max);
    const results = await Promise.all(job.entries.map((e) => readAndCheck(e, read, job.maxFileBytes)));
    parentPort!.postMessage({ id: job.id, results } satisfies ParseReply);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).stack ?? String(err) } satisfies ParseReply);
  }
});
