import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { GitAuth, HttpClient } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import { gitFs as fs } from '../git/git-fs.ts';
import { missingObjectId } from '../git/missing-object.ts';
import { redactText, redactUrl, remoteAccess } from './git-credentials.ts';

export { redactUrl } from './git-credentials.ts';

/** The pino subset RemoteSource logs through. */
export interface SourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RemoteSourceOptions {
  /** `https://host/org/repo.git` (http too). Userinfo in it is accepted as credentials but never stored in the clone's config nor logged. */
  readonly url: string;
  readonly branch?: string;
  /** Where the clone lives (its `.git` is `gitdir`); reused across restarts. */
  readonly cacheDir: string;
  /** Poll interval, default 15 s. */
  readonly intervalMs?: number;
  /** Upper bound of the back-off while fetches fail, default 5 min. */
  readonly maxBackoffMs?: number;
  /** Idle timeout of one HTTP exchange, default 60 s. */
  readonly httpTimeoutMs?: number;
  /**
   * From the environment or a file (see `readGitToken`), never from the repository. Sent as
   * Basic auth `token:x-oauth-basic` (GitHub, Gitea), or `username:token` when a username is
   * given (GitLab: `oauth2`), in answer to the server's 401.
   */
  readonly credentials?: { readonly token?: string; readonly username?: string };
  /** Called with the new commit id of `refs/remotes/origin/<branch>` whenever it changes (first time included). */
  readonly onRevision: (oid: string) => void | Promise<void>;
  readonly logger?: SourceLogger;
  /** The clone lost objects and was cloned again (issue 14, item 5): for metrics. */
  readonly onRecloned?: (oid: string) => void;
}

const NOOP_LOGGER: SourceLogger = { info() {}, warn() {} };

/**
 * A remote desired-state repository, mirrored into `cacheDir` with isomorphic-git.
 *
 * `start()` clones (full history, one branch; the audit needs the history) or reuses the clone
 * already there, then fetches every `intervalMs` and at once on `trigger()` (the webhook). A
 * trigger that arrives while a fetch runs queues exactly one more fetch after it; further
 * triggers join that one. After each fetch `refs/remotes/origin/<branch>` is resolved and
 * `onRevision` called only when it moved: callers re-read the state from `gitdir` at that
 * commit, they never act on a webhook payload.
 *
 * A failing fetch is logged (redacted) and the last good revision kept; the next attempt backs
 * off exponentially (2×, 4×, … the interval, up to `maxBackoffMs`). A trigger always fetches
 * at once. The URL is logged with its userinfo masked and the token never appears in a log
 * line or error message.
 *
 * A lost object (issue 14, item 5): after each fetch the tip commit, its root tree and the
 * local branch's commit are read back. When one of them, or anything `repair()` is told of
 * (the status writer, the revision loader), is missing, the clone is dropped and cloned
 * again — into a fresh directory, then swapped in by rename — and the tip reported again.
 * The clone is the controller's own: status commits not pushed yet are lost with it, and
 * are written again from the next reconcile (status is derived state).
 */
export class RemoteSource {
  readonly url: string;
  readonly branch: string;
  readonly cacheDir: string;
  private readonly fetchUrl: string;
  private readonly auth: GitAuth | undefined;
  private readonly secrets: readonly string[];
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly httpTimeoutMs: number;
  private readonly logger: SourceLogger;
  private readonly onRevision: RemoteSourceOptions['onRevision'];
  private readonly onRecloned: RemoteSourceOptions['onRecloned'];
  private readonly http: HttpClient;

  private current: string | null = null;
  private failures = 0;
  private error: string | null = null;
  private cloned = false;
  /** Why the clone must be dropped and cloned again at the next sync. */
  private lost: string | null = null;
  private reclonedAt = 0;
  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private abort = new AbortController();

  constructor(options: RemoteSourceOptions) {
    const access = remoteAccess(options.url, options.credentials);
    this.fetchUrl = access.url;
    this.url = access.displayUrl;
    this.auth = access.auth;
    this.secrets = access.secrets;
    this.branch = options.branch ?? 'main';
    this.cacheDir = options.cacheDir;
    this.intervalMs = Math.max(1, options.intervalMs ?? 15_000);
    this.maxBackoffMs = Math.max(this.intervalMs, options.maxBackoffMs ?? 5 * 60_000);
    this.httpTimeoutMs = options.httpTimeoutMs ?? 60_000;
    this.logger = options.logger ?? NOOP_LOGGER;
    this.onRevision = options.onRevision;
    this.onRecloned = options.onRecloned;

    const base = nodeHttp;
    const timeout = this.httpTimeoutMs;
    this.http = {
      request: (req) =>
        base.request({
          ...req,
          signal: req.signal ?? this.abort.signal,
          fetchOptions: { timeout, ...(req.fetchOptions ?? {}) },
        }),
    };
  }

  /** The clone's `.git`, for the desired-state loader. */
  get gitdir(): string {
    return join(this.cacheDir, '.git');
  }

  /** The last commit reported to `onRevision`, `null` before the first successful fetch. */
  get revision(): string | null {
    return this.current;
  }

  /** The (redacted) message of the last failed fetch, `null` once a fetch succeeds. */
  get lastError(): string | null {
    return this.error;
  }

  /** Clones or fetches once (a failure is logged, not thrown), then polls. Resolves after that first attempt. */
  async start(): Promise<void> {
    if (this.started) throw new Error('RemoteSource already started');
    this.started = true;
    this.logger.info({ url: this.url, branch: this.branch, intervalMs: this.intervalMs }, 'watching remote repository');
    await this.trigger();
  }

  /**
   * Fetch now (the webhook calls this). If a fetch is running, exactly one more runs after it;
   * the promise resolves when a fetch that began after this call has finished. Never rejects.
   */
  trigger(): Promise<void> {
    if (this.stopped || !this.started) return Promise.resolve();
    if (!this.running) return this.runNow();
    if (!this.queued) {
      this.queued = this.running.then(() => {
        this.queued = null;
        return this.runNow();
      });
    }
    return this.queued;
  }

  /**
   * Objects are missing from the clone (`oid` names one): clone again now. A report that comes
   * within 5 s of a new clone is about the old one (a write that was under way): the next sync
   * reads the new clone back instead, and clones again only if that fails. Never rejects.
   */
  repair(oid: string): Promise<void> {
    if (Date.now() - this.reclonedAt > 5_000) this.lost ??= oid;
    return this.trigger();
  }

  /** Stops polling, aborts an in-flight fetch and waits for it to wind down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await (this.queued ?? this.running ?? Promise.resolve());
  }

  private runNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const run = this.sync().finally(() => {
      this.running = null;
      this.schedule();
    });
    this.running = run;
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay =
      this.failures === 0 ? this.intervalMs : Math.min(this.maxBackoffMs, this.intervalMs * 2 ** Math.min(this.failures, 30));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.trigger();
    }, delay);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    const started = Date.now();
    try {
      let oid: string;
      try {
        oid = await this.syncClone();
      } catch (err) {
        const missing = missingObjectId(err);
        if (missing === undefined || this.stopped) throw err;
        this.lost = missing;
        oid = await this.syncClone();
      }
      if (this.stopped) return;
      if (this.failures > 0) {
        this.logger.info({ url: this.url, branch: this.branch, failures: this.failures }, 'remote repository reachable again');
      }
      this.failures = 0;
      this.error = null;
      if (oid !== this.current) {
        const previous = this.current;
        this.current = oid;
        this.logger.info({ url: this.url, branch: this.branch, revision: oid, previous, ms: Date.now() - started }, 'new desired revision');
        this.notify(oid);
      }
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      this.error = this.redact(err);
      const retryInMs = Math.min(this.maxBackoffMs, this.intervalMs * 2 ** Math.min(this.failures, 30));
      this.logger.warn(
        { url: this.url, branch: this.branch, err: this.error, failures: this.failures, retryInMs, revision: this.current },
        'fetching the remote repository failed; keeping the last revision',
      );
    }
  }

  /** Fetches (or clones again, when objects were lost) and reads the tip back; its id. */
  private async syncClone(): Promise<string> {
    if (this.lost !== null) await this.reclone(this.lost);
    else if (!this.cloned) await this.cloneOrReuse();
    else await this.fetch();
    const oid = await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/remotes/origin/${this.branch}` });
    if (!this.stopped) await this.verify(oid);
    return oid;
  }

  /**
   * Reads back what everything else starts from — the tip's and the local branch's commit, root
   * tree and top folders' trees — and throws NotFoundError when one is lost. A fetch brings back
   * only what the server thinks is missing, so a lost object below a tip the clone still has
   * would otherwise stay lost.
   */
  private async verify(tip: string): Promise<void> {
    const local = await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.branch}` }).catch(() => tip);
    for (const oid of new Set([tip, local])) {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid });
      const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid: commit.tree });
      for (const e of tree) if (e.type === 'tree') await git.readTree({ fs, gitdir: this.gitdir, oid: e.oid });
    }
  }

  /** Clones into a fresh directory, swaps it in for the damaged clone, and reports the tip again. */
  private async reclone(oid: string): Promise<void> {
    this.logger.warn(
      { url: this.url, branch: this.branch, gitdir: this.gitdir, missing: oid },
      'objects are missing from the clone of the remote repository; cloning again',
    );
    const fresh = `${this.gitdir}.reclone`;
    await rm(fresh, { recursive: true, force: true });
    await mkdir(this.cacheDir, { recursive: true });
    try {
      await git.clone({
        fs, http: this.http, dir: this.cacheDir, gitdir: fresh, url: this.fetchUrl,
        ref: this.branch, singleBranch: true, noCheckout: true, onAuth: this.onAuth,
      });
    } catch (err) {
      await rm(fresh, { recursive: true, force: true });
      throw err;
    }
    const broken = `${this.gitdir}.broken`;
    await rm(broken, { recursive: true, force: true });
    await rename(this.gitdir, broken).catch(() => undefined);
    await rename(fresh, this.gitdir);
    await rm(broken, { recursive: true, force: true });
    this.lost = null;
    this.reclonedAt = Date.now();
    this.cloned = true;
    this.current = null; // report the tip again: the revision is re-read from the new clone
    this.logger.info({ url: this.url, branch: this.branch, gitdir: this.gitdir }, 'cloned the remote repository again');
    this.onRecloned?.(oid);
  }

  private notify(oid: string): void {
    try {
      const r = this.onRevision(oid);
      if (r && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).catch((err: unknown) =>
          this.logger.warn({ revision: oid, err: this.redact(err) }, 'revision handler failed'),
        );
      }
    } catch (err) {
      this.logger.warn({ revision: oid, err: this.redact(err) }, 'revision handler failed');
    }
  }

  private async cloneOrReuse(): Promise<void> {
    if (existsSync(join(this.gitdir, 'config'))) {
      const origin = (await git.getConfig({ fs, gitdir: this.gitdir, path: 'remote.origin.url' })) as string | undefined;
      if (origin !== this.fetchUrl) {
        throw new Error(
          `${this.cacheDir} holds a clone of ${redactUrl(String(origin ?? 'nothing'))}, not of ${this.url}; remove it or use another cache directory`,
        );
      }
      this.cloned = true;
      this.logger.info({ url: this.url, branch: this.branch, gitdir: this.gitdir }, 'reusing the existing clone');
      await this.fetch();
      return;
    }
    await mkdir(this.cacheDir, { recursive: true });
    this.logger.info({ url: this.url, branch: this.branch, gitdir: this.gitdir }, 'cloning remote repository');
    try {
      await git.clone({
        fs,
        http: this.http,
        dir: this.cacheDir,
        gitdir: this.gitdir,
        url: this.fetchUrl,
        ref: this.branch,
        singleBranch: true,
        noCheckout: true,
        onAuth: this.onAuth,
      });
    } catch (err) {
      // A half-made clone would be mistaken for a good one next time: start over instead.
      await rm(this.gitdir, { recursive: true, force: true });
      throw err;
    }
    this.cloned = true;
  }

  private async fetch(): Promise<void> {
    await git.fetch({
      fs,
      http: this.http,
      gitdir: this.gitdir,
      remote: 'origin',
      url: this.fetchUrl,
      ref: this.branch,
      remoteRef: this.branch,
      singleBranch: true,
      tags: false,
      onAuth: this.onAuth,
    });
  }

  private readonly onAuth = (): GitAuth | void => (this.auth ? { ...this.auth } : undefined);

  private redact(err: unknown): string {
    const msg = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
    return redactText(msg, this.secrets);
  }
}
