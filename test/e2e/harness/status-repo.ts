import { execFileSync, spawnSync } from 'node:child_process';
import { parse } from 'yaml';

/** A status file (`status/<kind>/<name>.yaml`) as the controller wrote it. */
export interface StatusFile {
  readonly target: string;
  readonly observedRevision: string | null;
  readonly phase: string;
  readonly summary: string;
  readonly conditions: ReadonlyArray<{ type: string; status: string; reason: string; message: string }>;
  readonly members: ReadonlyArray<{ name: string; agent: string; role: string; desired: string; observed?: string; state: string; message?: string }>;
  readonly reminders?: readonly string[];
  readonly details?: Readonly<Record<string, unknown>>;
  readonly history?: ReadonlyArray<{ time: string; phase: string; summary: string }>;
}

/** One commit that changed a target's status file, as `git log` shows it. */
export interface StatusCommit {
  readonly commit: string;
  readonly subject: string;
  /** The `Versiond-Phase: <target>=<phase>` trailer of that target. */
  readonly phase: string | undefined;
  readonly revision: string | undefined;
  /** The status file's summary as that commit left it. */
  readonly summary: string;
}

/**
 * The repository the controller commits status to, read with the real `git` CLI — what an
 * operator would run — rather than with the product's own Git code, so a test checks what
 * actually landed in Git.
 */
export class StatusRepo {
  constructor(
    readonly gitdir: string,
    readonly branch = 'main',
  ) {}

  git(...args: string[]): string {
    return execFileSync('git', ['--git-dir', this.gitdir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' }, maxBuffer: 64 * 1024 * 1024 }).trim();
  }

  head(): string {
    return this.git('rev-parse', this.branch);
  }

  /** The target's status file at the branch head (or at `commit`); undefined while there is none. */
  status(target: string, commit = this.branch): StatusFile | undefined {
    const r = spawnSync('git', ['--git-dir', this.gitdir, 'show', `${commit}:status/${target}.yaml`], { encoding: 'utf8' });
    if (r.status !== 0) return undefined;
    return parse(r.stdout) as StatusFile;
  }

  /** The commits that changed the target's status, oldest first. */
  history(target: string): StatusCommit[] {
    const out = this.git('log', '--reverse', '--format=%H%x1f%s%x1f%B%x1e', this.branch, '--', `status/${target}.yaml`);
    return out
      .split('\x1e')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const [commit, subject, body] = entry.split('\x1f') as [string, string, string];
        const phase = new RegExp(`^Versiond-Phase: ${escape(target)}=(\\S+)$`, 'm').exec(body)?.[1];
        const revision = /^Versiond-Revision: (\S+)$/m.exec(body)?.[1];
        return { commit, subject, phase, revision, summary: this.status(target, commit)?.summary ?? '' };
      });
  }

  /** Every commit subject on the branch, oldest first: the audit trail as `git log` tells it. */
  subjects(): string[] {
    return this.git('log', '--reverse', '--format=%s', this.branch).split('\n');
  }

  /** Whether `commit` is on the branch (an ancestor of its head, or the head itself). */
  isOnBranch(commit: string): boolean {
    return spawnSync('git', ['--git-dir', this.gitdir, 'merge-base', '--is-ancestor', commit, this.branch]).status === 0;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
