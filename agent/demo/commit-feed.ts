/**
 * The commits landing on the demo repository's branch, as `git log --oneline` shows them, new
 * ones only: the controller's status commits, and the pushes of the person trying the demo.
 * The branch is looked at a few times a second (isomorphic-git: no git CLI needed), and the
 * first-parent history walked back to the last commit already shown, oldest first.
 */
import git from 'isomorphic-git';
import { gitFs as fs } from '../../controller/git/git-fs.ts';

export interface LandedCommit {
  readonly oid: string;
  /** First line of the message. */
  readonly subject: string;
  /** `status(<target>): …` and `status: N targets` commits are the controller's. */
  readonly byController: boolean;
}

/** How far back one look walks: more than this at once is summarised by the caller. */
const MAX_WALK = 200;

export class CommitFeed {
  private last: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> = Promise.resolve();
  /** Commits shown so far (the first one, already there at the start, excepted). */
  count = 0;

  constructor(
    private readonly gitdir: string,
    private readonly branch: string,
    private readonly onCommits: (commits: readonly LandedCommit[]) => void,
  ) {}

  /** Remembers the current head (not shown), then looks every `intervalMs`. */
  async start(intervalMs = 300): Promise<void> {
    this.last = await this.head();
    this.timer = setInterval(() => void this.look(), intervalMs);
  }

  /** One last look, then stop. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.looking;
    await this.look();
  }

  look(): Promise<void> {
    this.looking = this.looking.then(async () => {
      const head = await this.head();
      if (head === undefined || head === this.last) return;
      const fresh: LandedCommit[] = [];
      let oid: string | undefined = head;
      while (oid !== undefined && oid !== this.last && fresh.length < MAX_WALK) {
        const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid });
        const subject = commit.message.split('\n', 1)[0] ?? '';
        fresh.push({ oid, subject, byController: /^status[(:]/.test(subject) });
        oid = commit.parent[0];
      }
      this.last = head;
      this.count += fresh.length;
      this.onCommits(fresh.reverse());
    }).catch(() => undefined); // a ref being moved under us: the next look sees it
    return this.looking;
  }

  private async head(): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.branch}` });
    } catch {
      return undefined;
    }
  }
}
