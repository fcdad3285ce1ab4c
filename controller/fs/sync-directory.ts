import { open, type FileHandle } from 'node:fs/promises';

/**
 * Flushes a directory, so that a file just renamed or linked into it survives a power cut:
 * the rename is atomic, but it is durable only once the directory entry is on disk. Some
 * platforms (Windows) cannot open or flush a directory; the rename is still atomic there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // see above: best effort
  } finally {
    await handle?.close();
  }
}
