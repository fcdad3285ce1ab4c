/**
 * The desired state a fleet simulates, kept up to date with the repository's branch, as the
 * controller keeps its own: `LocalSource` notices each new head, `RevisionTracker` loads it and
 * keeps only valid revisions. The fleet needs it to know which agents exist (a member added
 * by a commit joins) and what its people and self-updating devices aim at.
 */
import { locateRepository } from '../../controller/git/repository.ts';
import { LocalSource } from '../../controller/source/local-source.ts';
import { RevisionTracker } from '../../controller/source/revision-tracker.ts';
import type { DesiredState } from '../../controller/desired/load-desired-state.ts';

export interface DesiredFollowerOptions {
  /** A local Git repository, work tree or bare. */
  readonly repo: string;
  readonly branch?: string;
  /** Each new valid desired state, in order (not called for status commits or invalid revisions). */
  readonly onState: (state: DesiredState) => void | Promise<void>;
  readonly onInvalid?: (revision: string, errors: number) => void;
  readonly onError?: (err: Error) => void;
}

export class DesiredFollower {
  private readonly tracker: RevisionTracker;
  private readonly source: LocalSource;
  private chain: Promise<void> = Promise.resolve();
  private firstResolve!: (state: DesiredState) => void;
  private firstReject!: (err: Error) => void;
  /** The first valid desired state: what the fleet starts from. */
  readonly first: Promise<DesiredState>;

  constructor(private readonly options: DesiredFollowerOptions) {
    const location = locateRepository(options.repo);
    if (location.type !== 'git') throw new Error(`${options.repo}: not a Git repository; the fleet follows the branch the controller watches`);
    this.tracker = new RevisionTracker(location.gitdir);
    this.first = new Promise((resolve, reject) => {
      this.firstResolve = resolve;
      this.firstReject = reject;
    });
    this.first.catch(() => undefined); // a fleet stopped before starting need not look at it
    this.source = new LocalSource({
      gitdir: location.gitdir,
      ...(options.branch !== undefined ? { branch: options.branch } : {}),
      onRevision: (commit) => this.consider(commit),
      onError: (err) => options.onError?.(err),
    });
  }

  /** Starts following; resolves after the current head was looked at (see `first`). */
  async start(): Promise<void> {
    await this.source.start();
    await this.chain;
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.chain;
    this.firstReject(new Error('stopped before any valid revision'));
  }

  private consider(commit: string): void {
    this.chain = this.chain.then(async () => {
      try {
        const outcome = await this.tracker.consider(commit);
        if (outcome.kind === 'invalid') {
          const errors = outcome.diagnostics.filter((d) => d.severity === 'error').length;
          this.options.onInvalid?.(commit, errors);
          if (this.tracker.lastApplied === undefined) this.firstReject(new Error(`the head of the branch (${commit.slice(0, 7)}) is invalid (${errors} errors): run versiond validate`));
          return;
        }
        if (outcome.kind !== 'applied') return;
        this.firstResolve(outcome.state);
        await this.options.onState(outcome.state);
      } catch (err) {
        this.options.onError?.(err as Error);
        if (this.tracker.lastApplied === undefined) this.firstReject(err as Error);
      }
    });
  }
}
