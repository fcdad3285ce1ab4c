import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { readBlobBytes } from '../git/read-blob.ts';
import { needsBytes, readDocument, type FileResult } from './read-document.ts';
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

async function bytesOf(location: SourceLocation, entry: SourceEntry): Promise<Uint8Array> {
  if (location.kind === 'folder') return readFile(join(location.dir, entry.path));
  let cache = objectCaches.get(location.gitdir);
  if (!cache) objectCaches.set(location.gitdir, (cache = {}));
  return readBlobBytes(location.gitdir, entry.oid, cache);
}

parentPort!.on('message', async (job: ParseJob) => {
  try {
    // Read the whole batch concurrently first: file reads then overlap on the I/O threads
    // instead of the worker waiting on each in turn.
    const bytes = await Promise.all(job.entries.map((e) => (needsBytes(e) ? bytesOf(job.location, e) : undefined)));
    const results = job.entries.map((entry, i) => readDocument(entry, bytes[i], job.maxFileBytes));
    parentPort!.postMessage({ id: job.id, results } satisfies ParseReply);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).stack ?? String(err) } satisfies ParseReply);
  }
});
