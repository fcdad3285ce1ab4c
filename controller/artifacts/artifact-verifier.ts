import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodeFetch from 'node-fetch';
import { artifactRef } from '../../reconcilers/artifact-ref.ts';
import type { ArtifactRef } from '../../protocol/artifact.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { ArtifactCheck } from '../../reconcilers/observed.ts';
import { redactText, splitUrlCredentials } from '../source/git-credentials.ts';
import { mirroredUrl } from '../../protocol/mirror-url.ts';
import { verifyPackage } from '../../protocol/verify-package.ts';

/** The part of an HTTP response a download reads: node-fetch's and the global `fetch`'s both fit. */
export interface DownloadResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: AsyncIterable<Uint8Array | string> | null;
}

export type DownloadFetch = (
  url: string,
  init: { readonly signal: AbortSignal; readonly headers: Record<string, string>; readonly redirect: 'follow' },
) => Promise<DownloadResponse>;

/** The pino subset the verifier logs through. */
export interface ArtifactLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ArtifactVerifierOptions {
  /** Verified packages live here as `<sha256>`, reused across restarts; downloads land in `<sha256>.partial` first. */
  readonly cacheDir: string;
  /** Fetch every http(s) package from this base instead (see `mirroredUrl`); content is verified all the same. */
  readonly mirror?: string;
  /** Packages checked at the same time, default 4. */
  readonly concurrency?: number;
  /** A download that receives nothing for this long is abandoned and retried, default 60 s. */
  readonly timeoutMs?: number;
  /** Largest package this controller accepts; a release declaring more fails without a download. */
  readonly maxBytes?: number;
  /** First retry delay after a network error, doubled per attempt up to `retryMaxMs` (defaults 1 s, 5 min). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Injectable for tests; default node-fetch. */
  readonly fetch?: DownloadFetch;
  /** A release's check changed status (pending, verified, failed): requeue the targets using it. */
  readonly onChange: (release: string) => void;
  readonly logger?: ArtifactLogger;
}

/** What one attempt concluded: `retry` clears by itself, `failed` only when the release changes. */
type Attempt =
  | { readonly kind: 'verified'; readonly fromCache: boolean }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string };

interface Job {
  readonly release: string;
  /** What the check is about: an edit of any of these is a different package to check. */
  readonly key: string;
  readonly artifact: ArtifactRef;
  check: ArtifactCheck;
  /** Attempts that ended in a network error, for the back-off. */
  failures: number;
  retired: boolean;
  abort: AbortController | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

const NOOP_LOGGER: ArtifactLogger = { info() {}, warn() {} };
const SHA256_HEX = /^[0-9a-f]{64}$/i;
// verifyPackage speaks to agents and people ("package not secure: …"); the reconcilers put that
// prefix in front of a failed check's reason themselves, so the check carries only the why.
const NOT_SECURE_PREFIX = /^package not secure: /;
// A query string often carries a signed-URL token (`?X-Amz-Signature=…`, `?token=…`).
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*)\?[^\s#"'<>]*/gi;

const defaultFetch: DownloadFetch = (url, init) => nodeFetch(url, init);

/**
 * The controller's verification of release packages (seed 000: an unsigned or altered package
 * is "not secure" and nothing may use it). Each wanted release's package is downloaded once
 * — from the mirror when one is set — and its size, sha256 and Ed25519 signature checked with
 * `verifyPackage`, the very function agents use, before any step of any target may use it.
 *
 * `checks` is what goes into `Observed.artifacts`:
 * - `pending` while queued, downloading, or after a network error (HTTP error status, refused
 *   connection, no data for `timeoutMs`), retried with exponential back-off;
 * - `verified`;
 * - `failed` when the bytes are not the release's (size, digest, signature) or the release
 *   cannot be fetched at all (bad URL, unsupported protocol): a stalled condition that only an
 *   edit of the release clears, so it is not retried.
 *
 * A verified package is kept as `<cacheDir>/<sha256>` and, after a restart, verified again from
 * disk without any download. Bytes are streamed to `<sha256>.partial` and renamed only once
 * verified, so the cache holds nothing unverified. No more than the declared size plus one
 * byte is ever read from a source, so a hostile server cannot fill the disk. Background work
 * never throws: every error becomes a check's reason, with credentials and query strings of
 * URLs masked, and those reasons are all the logs show.
 */
export class ArtifactVerifier {
  private readonly cacheDir: string;
  private readonly mirror: string | undefined;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number | undefined;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly fetch: DownloadFetch;
  private readonly onChange: (release: string) => void;
  private readonly logger: ArtifactLogger;

  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** One job at a time per digest: two releases of the same package share one cache file. */
  private readonly digestLocks = new Map<string, Promise<void>>();
  private active = 0;
  private stopped = false;
  private snapshot: ReadonlyMap<string, ArtifactCheck> | null = null;

  constructor(options: ArtifactVerifierOptions) {
    this.cacheDir = options.cacheDir;
    this.mirror = options.mirror;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 60_000);
    this.maxBytes = options.maxBytes;
    this.retryBaseMs = Math.max(1, options.retryBaseMs ?? 1000);
    this.retryMaxMs = Math.max(this.retryBaseMs, options.retryMaxMs ?? 300_000);
    this.fetch = options.fetch ?? defaultFetch;
    this.onChange = options.onChange;
    this.logger = options.logger ?? NOOP_LOGGER;
  }

  /**
   * The releases the current desired state references. New ones (or edited ones: another
   * url, sha256, size or signature under the same name) are checked; releases no longer
   * listed are forgotten, their downloads aborted. Calling it again with the same releases
   * changes nothing. It does not call `onChange` itself: the caller reads `checks` next.
   */
  want(releases: readonly Release[]): void {
    if (this.stopped) return;
    const wanted = new Map(releases.map((r) => [r.metadata.name, r]));
    for (const [name, job] of this.jobs) {
      const release = wanted.get(name);
      if (release === undefined || keyOf(release) !== job.key) this.retire(job);
    }
    for (const [name, release] of wanted) {
      if (this.jobs.has(name)) continue;
      const job: Job = {
        release: name,
        key: keyOf(release),
        artifact: artifactRef(release),
        check: { release: name, status: 'pending', reason: 'waiting for a download slot' },
        failures: 0,
        retired: false,
        abort: undefined,
        retryTimer: undefined,
      };
      this.jobs.set(name, job);
      this.queue.push(job);
      this.snapshot = null;
    }
    this.pump();
  }

  /** By release name, for `Observed.artifacts`. A new map whenever something changed; never mutated after it is returned. */
  get checks(): ReadonlyMap<string, ArtifactCheck> {
    this.snapshot ??= new Map([...this.jobs].map(([name, job]) => [name, job.check]));
    return this.snapshot;
  }

  /** Aborts downloads and retry timers; resolves when no work is left running. Checks keep their last value. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const job of this.jobs.values()) {
      job.abort?.abort();
      clearTimeout(job.retryTimer);
    }
    await Promise.allSettled([...this.inFlight]);
  }

  // ---------------------------------------------------------------- scheduling

  private retire(job: Job): void {
    job.retired = true;
    job.abort?.abort();
    clearTimeout(job.retryTimer);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.jobs.delete(job.release);
    this.snapshot = null;
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      const run: Promise<void> = this.run(job).finally(() => {
        this.active--;
        this.inFlight.delete(run);
        this.pump();
      });
      this.inFlight.add(run);
    }
  }

  private async run(job: Job): Promise<void> {
    const abort = new AbortController();
    job.abort = abort;
    let outcome: Attempt;
    try {
      outcome = await this.withDigestLock(job.artifact.sha256.toLowerCase(), () => this.attempt(job, abort));
    } catch (err) {
      // A file-system error (cache not writable, disk full) or a bug: say so, and try again later.
      outcome = { kind: 'retry', reason: this.redact(messageOf(err), job) };
    }
    job.abort = undefined;
    if (job.retired || this.stopped) return;
    const display = this.displayUrl(job);
    switch (outcome.kind) {
      case 'verified':
        job.failures = 0;
        this.logger.info({ release: job.release, url: display, bytes: job.artifact.size, fromCache: outcome.fromCache }, 'package verified');
        this.settle(job, { release: job.release, status: 'verified' });
        return;
      case 'failed':
        this.logger.warn({ release: job.release, url: display, reason: outcome.reason }, 'package failed verification');
        this.settle(job, { release: job.release, status: 'failed', reason: outcome.reason });
        return;
      case 'retry': {
        job.failures++;
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(job.failures - 1, 30));
        this.logger.warn({ release: job.release, url: display, reason: outcome.reason, attempt: job.failures, retryInMs: delay }, 'package download failed, will retry');
        this.settle(job, { release: job.release, status: 'pending', reason: `${outcome.reason}; retrying in ${duration(delay)}` });
        job.retryTimer = setTimeout(() => {
          job.retryTimer = undefined;
          if (job.retired || this.stopped) return;
          this.queue.push(job);
          this.pump();
        }, delay);
        job.retryTimer.unref();
        return;
      }
    }
  }

  /** Records a job's new check; `onChange` only when its status moved. */
  private settle(job: Job, check: ArtifactCheck): void {
    const before = job.check.status;
    job.check = check;
    this.snapshot = null;
    if (before === check.status) return;
    try {
      this.onChange(job.release);
    } catch (err) {
      this.logger.warn({ release: job.release, err: messageOf(err) }, 'artifact onChange handler failed');
    }
  }

  private async withDigestLock<T>(digest: string, work: () => Promise<T>): Promise<T> {
    const previous = this.digestLocks.get(digest) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    const tail = previous.then(() => mine);
    this.digestLocks.set(digest, tail);
    await previous;
    try {
      return await work();
    } finally {
      unlock();
      if (this.digestLocks.get(digest) === tail) this.digestLocks.delete(digest);
    }
  }

  // ---------------------------------------------------------------- one attempt

  private async attempt(job: Job, abort: AbortController): Promise<Attempt> {
    if (job.retired || this.stopped) return { kind: 'retry', reason: 'no longer wanted' };
    const artifact = job.artifact;
    const problem = this.declarationProblem(artifact);
    if (problem !== undefined) return { kind: 'failed', reason: problem };

    const digest = artifact.sha256.toLowerCase();
    const cached = join(this.cacheDir, digest);
    const fromCache = await this.verifyCached(job, cached);
    if (fromCache !== undefined) return fromCache;

    this.setReason(job, job.failures === 0 ? `downloading from ${this.displayUrl(job)}` : `downloading from ${this.displayUrl(job)} (attempt ${job.failures + 1})`);
    await mkdir(this.cacheDir, { recursive: true });
    const partial = `${cached}.partial`;
    try {
      const refused = await this.download(job, partial, abort);
      if (refused !== undefined) return refused;
      const verdict = verifyPackage(await readFile(partial), artifact);
      if (!verdict.ok) return { kind: 'failed', reason: verdict.reason.replace(NOT_SECURE_PREFIX, '') };
      await rename(partial, cached);
      return { kind: 'verified', fromCache: false };
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** What makes a release impossible to check, before any I/O (the sha256 also names a file: no path tricks). */
  private declarationProblem(artifact: ArtifactRef): string | undefined {
    if (!SHA256_HEX.test(artifact.sha256)) return `the release's sha256 is not 64 hexadecimal digits`;
    if (!Number.isSafeInteger(artifact.size) || artifact.size < 0) return `the release's size ${String(artifact.size)} is not a byte count`;
    if (this.maxBytes !== undefined && artifact.size > this.maxBytes) {
      return `the release declares ${artifact.size} bytes, more than the ${this.maxBytes} this controller accepts`;
    }
    return undefined;
  }

  /**
   * A package already in the cache (a restart, or another release of the same bytes), verified
   * again from disk. `undefined` when it must be downloaded: absent, or not the bytes its name
   * says (a crash mid-write, disk corruption), in which case it is removed.
   */
  private async verifyCached(job: Job, path: string): Promise<Attempt | undefined> {
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error(`${path} is in the package cache but is not a file`);
      size = info.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    this.setReason(job, 'verifying the cached package');
    const bytes = size === job.artifact.size ? await readFile(path) : undefined;
    if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== job.artifact.sha256.toLowerCase()) {
      this.logger.warn({ release: job.release, path }, 'cached package does not match its digest, downloading it again');
      await rm(path, { force: true });
      return undefined;
    }
    // The bytes are the ones the digest names: a download would bring the same, so a signature
    // that does not verify is the release's problem, not the cache's.
    const verdict = verifyPackage(bytes, job.artifact);
    return verdict.ok ? { kind: 'verified', fromCache: true } : { kind: 'failed', reason: verdict.reason.replace(NOT_SECURE_PREFIX, '') };
  }

  /**
   * Streams the package into `partial`, at most `size` bytes. `undefined` when it arrived whole
   * (to be verified); otherwise why not, as a retry (network) or a failure (the source serves
   * something else than the release declares, or cannot be fetched at all).
   */
  private async download(job: Job, partial: string, abort: AbortController): Promise<Attempt | undefined> {
    const declared = job.artifact.size;
    const source = mirroredUrl(job.artifact.url, this.mirror);
    const display = this.displayUrl(job);
    let protocol: string;
    try {
      protocol = new URL(source).protocol;
    } catch {
      return { kind: 'failed', reason: `the package URL ${display} is not a valid URL` };
    }

    let timedOut = false;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, this.timeoutMs);
    };

    const file = await open(partial, 'w');
    try {
      arm();
      let body: AsyncIterable<Uint8Array | string>;
      if (protocol === 'file:') {
        body = createReadStream(fileURLToPath(source), { signal: abort.signal, end: declared });
      } else if (protocol === 'http:' || protocol === 'https:') {
        const response = await this.request(source, abort.signal);
        if (!response.ok) {
          abort.abort(); // the error page is not wanted: free the connection
          return { kind: 'retry', reason: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} from ${display}` };
        }
        const announced = response.headers.get('content-encoding') ? undefined : response.headers.get('content-length');
        if (announced != null && Number(announced) > declared) {
          abort.abort();
          return { kind: 'failed', reason: `${display} announces ${announced} bytes, the release declares ${declared}` };
        }
        body = response.body ?? noBytes();
      } else {
        return { kind: 'failed', reason: `cannot download ${display}: only http:, https: and file: URLs are supported` };
      }

      let received = 0;
      for await (const chunk of body) {
        arm();
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        received += bytes.length;
        if (received > declared) {
          abort.abort(); // stop the transfer itself, not only our reading of it
          return { kind: 'failed', reason: `${display} sent more than the ${declared} bytes the release declares (download stopped)` };
        }
        for (let offset = 0; offset < bytes.length; ) offset += (await file.write(bytes, offset)).bytesWritten;
      }
      return undefined;
    } catch (err) {
      if (timedOut) return { kind: 'retry', reason: `no data from ${display} for ${duration(this.timeoutMs)}` };
      if (abort.signal.aborted) return { kind: 'retry', reason: 'download aborted' };
      return { kind: 'retry', reason: `cannot download ${display}: ${this.redact(messageOf(err), job)}` };
    } finally {
      clearTimeout(idle);
      await file.close();
    }
  }

  /** One GET. Userinfo in the URL becomes Basic auth: fetch refuses URLs with credentials, and they must not be logged. */
  private request(source: string, signal: AbortSignal): Promise<DownloadResponse> {
    const { url, username, password } = splitUrlCredentials(source);
    // identity: the sha256 is of the package as published, not of whatever encoding a server picks.
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'versiond' };
    if (username !== undefined || password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}`;
    }
    return this.fetch(url, { signal, headers, redirect: 'follow' });
  }

  private setReason(job: Job, reason: string): void {
    if (job.retired || job.check.status !== 'pending' || job.check.reason === reason) return;
    job.check = { release: job.release, status: 'pending', reason };
    this.snapshot = null;
  }

  private displayUrl(job: Job): string {
    return this.redact(mirroredUrl(job.artifact.url, this.mirror), job);
  }

  /** Text fit for a check's reason or a log: URL userinfo and query strings masked, and the secrets they held wherever they appear. */
  private redact(text: string, job: Job): string {
    const secrets: string[] = [];
    for (const raw of [job.artifact.url, mirroredUrl(job.artifact.url, this.mirror), this.mirror ?? '']) {
      const { url, username, password } = splitUrlCredentials(raw);
      if (password) secrets.push(password);
      else if (username) secrets.push(username);
      const query = url.indexOf('?');
      if (query >= 0) {
        for (const [, value] of new URLSearchParams(url.slice(query + 1).split('#')[0])) if (value.length >= 4) secrets.push(value);
      }
    }
    return redactText(text, secrets).replace(URL_QUERY, '$1?***');
  }
}

/** Everything about a release that decides whether its package verifies. */
function keyOf(release: Release): string {
  const { url, sha256, size, signature } = release.spec.artifact;
  return JSON.stringify([release.metadata.name, url, sha256.toLowerCase(), size, signature.algorithm, signature.publicKey, signature.value]);
}

async function* noBytes(): AsyncIterable<Uint8Array> {}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
