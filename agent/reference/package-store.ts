/**
 * The agent's packages: downloaded from the release's URL (or its mirror), verified against
 * the release (size, sha256, Ed25519 signature: `verifyPackage`, shared with the controller)
 * and kept in `<state-dir>/packages/<sha256>`. Seed 000: a package that does not verify is
 * "not secure"; it is deleted and never handed to a driver. A kept package is verified again
 * before each use, so one altered on disk after staging is refused too.
 *
 * Packages are verified in memory: Ed25519 signs the whole message, so the bytes are read
 * once, checked, and only then written under their digest.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import type { Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';
import { mirroredUrl } from '../../protocol/mirror-url.ts';
import { verifyPackage } from '../../protocol/verify-package.ts';
import { discard, httpRequest } from './http-request.ts';
import type { ArtifactRef } from './protocol.ts';

/** Waits before the second and third download attempts. */
const DOWNLOAD_RETRIES_MS = [500, 2000];
export type PackageOutcome =
  | { readonly ok: true; readonly path: string }
  /** `insecure`: it was obtained and did not verify (the reason starts with "package not secure"); otherwise it could not be obtained. */
  | { readonly ok: false; readonly insecure: boolean; readonly reason: string };

export interface PackageStoreOptions {
  /** Base of a mirror of the vendors' download sites (`protocol/mirror-url.ts`). */
  readonly mirror?: string;
  /** Keep-alive agents for downloads. */
  readonly httpAgent?: (url: URL) => HttpAgent | undefined;
  /** Whole download, default 10 min. */
  readonly downloadTimeoutMs?: number;
  /** fsync each downloaded package (default true). A fleet simulator running thousands of agents on one disk may turn it off. */
  readonly durable?: boolean;
}

export class PackageStore {
  readonly dir: string;
  /** The folder exists: created by the first download, not asked again for each. */
  private made = false;

  constructor(
    stateDir: string,
    private readonly options: PackageStoreOptions = {},
  ) {
    this.dir = join(stateDir, 'packages');
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`artifact.sha256: ${JSON.stringify(sha256)} is not 64 lowercase hex digits`);
    return join(this.dir, sha256);
  }

  /**
   * The verified package of `artifact`: the kept one if it still verifies, else downloaded
   * and verified now. A kept file that no longer verifies is deleted and refused (it was
   * altered on disk) rather than silently replaced.
   */
  async obtain(artifact: ArtifactRef, signal?: AbortSignal): Promise<PackageOutcome> {
    const kept = await this.verifyKept(artifact);
    if (kept !== 'missing') return kept;
    // A download that did not get the bytes (a keep-alive socket the mirror had closed, a
    // 503) is tried twice more before the command fails: a failed stage stays failed until a
    // person bumps retryFailed, which a passing network error must not cost. Bytes that do
    // not verify are never retried.
    let outcome = await this.download(artifact, signal);
    for (const waitMs of DOWNLOAD_RETRIES_MS) {
      if (outcome.ok || outcome.insecure || signal?.aborted) break;
      await new Promise((r) => setTimeout(r, waitMs));
      outcome = await this.download(artifact, signal);
    }
    return outcome;
  }

  /** The kept package of `artifact`, verified again now; `missing` when none is kept. */
  async verifyKept(artifact: ArtifactRef): Promise<PackageOutcome | 'missing'> {
    const path = this.pathOf(artifact.sha256);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
    const verdict = verifyPackage(bytes, artifact);
    if (verdict.ok) return { ok: true, path };
    await rm(path, { force: true });
    return { ok: false, insecure: true, reason: `${verdict.reason} (the staged file ${path} was deleted)` };
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  private async download(artifact: ArtifactRef, signal?: AbortSignal): Promise<PackageOutcome> {
    const url = mirroredUrl(artifact.url, this.options.mirror);
    const timeout = AbortSignal.timeout(this.options.downloadTimeoutMs ?? 10 * 60_000);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let bytes: Buffer;
    try {
      const agent = this.options.httpAgent;
      const res = await httpRequest(url, { signal: abort, ...(agent ? { agent } : {}) });
      if (res.status !== 200) {
        discard(res.body);
        return { ok: false, insecure: false, reason: `could not download ${url}: HTTP ${res.status}` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        // More than the release declares cannot verify: stop reading rather than fill the disk or memory.
        if (size > artifact.size) {
          res.body.destroy();
          return { ok: false, insecure: true, reason: `package not secure: more than the ${artifact.size} bytes the release declares` };
        }
        chunks.push(chunk);
      }
      bytes = Buffer.concat(chunks, size);
    } catch (err) {
      if (signal?.aborted) throw err;
      return { ok: false, insecure: false, reason: `could not download ${url}: ${(err as Error).message}` };
    }
    const verdict = verifyPackage(bytes, artifact);
    if (!verdict.ok) return { ok: false, insecure: true, reason: verdict.reason };
    const path = this.pathOf(artifact.sha256);
    const tmp = `${path}.download`;
    const fh = await this.create(tmp);
    try {
      await fh.writeFile(bytes);
      if (this.options.durable !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return { ok: true, path };
  }

  /** A new file in the folder, made first if needed (again if someone removed it since). */
  private async create(file: string) {
    if (this.made) {
      try {
        return await open(file, 'w', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.made = true;
    return open(file, 'w', 0o600);
  }
}
