import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import git from 'isomorphic-git';
import { gitFs as fs } from '../git/git-fs.ts';

export interface LocalSourceOptions {
  readonly gitdir: string;
  readonly branch?: string;
  /** Called with the branch's new head whenever it moves. Callers re-read state from Git; the id is only a hint. */
  readonly onRevision: (commit: string) => void;
  readonly onError?: (err: Error) => void;
  /** Quiet time after a file event before the branch is read again: a commit touches several files. */
  readonly debounceMs?: number;
  /** A slow poll as well, in case file events are lost (network file systems). */
  readonly pollMs?: number;
}

/**
 * Follows a branch of a local repository. chokidar watches the files through which a new
 * commit becomes visible — the branch's loose ref (git writes it by renaming a lock file),
 * `packed-refs` (after `git gc` or `pack-refs`) and the branch's reflog — and after each
 * burst of events the branch head is resolved with isomorphic-git; only a head that moved
 * is reported. A slow poll backs the watcher up.
 */
export class LocalSource {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private checking: Promise<void> = Promise.resolve();
  private readonly branch: string;

  constructor(private readonly options: LocalSourceOptions) {
    this.branch = options.branch ?? 'main';
  }

  /** Starts watching; resolves once the watcher is ready, after reporting the current head. */
  async start(): Promise<void> {
    const { gitdir } = this.options;
    const paths = [
      join(gitdir, 'refs', 'heads'),
      join(gitdir, 'packed-refs'),
      join(gitdir, 'logs', 'refs', 'heads'),
    ];
    this.watcher = watch(paths, { ignoreInitial: true, persistent: true, depth: 8 });
    this.watcher.on('all', () => this.schedule());
    this.watcher.on('error', (err) => this.options.onError?.(err as Error));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
    await this.check();
    this.poll = setInterval(() => this.schedule(), this.options.pollMs ?? 10_000);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    await this.watcher?.close();
    await this.checking;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.options.debounceMs ?? 30);
  }

  /** Checks run one after another, so two bursts never report the same head twice. */
  private check(): Promise<void> {
    this.checking = this.checking.then(async () => {
      try {
        const head = await git.resolveRef({ fs, gitdir: this.options.gitdir, ref: `refs/heads/${this.branch}` });
        if (head !== this.last) {
          this.last = head;
          this.options.onRevision(head);
        }
      } catch (err) {
        this.options.onError?.(err as Error);
      }
    });
    return this.checking;
  }
}
