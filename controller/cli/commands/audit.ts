import { KINDS } from '../../../reconcilers/model/desired.ts';
import { renderAuditJson, renderAuditText } from '../../audit/render-audit.ts';
import { readTargetHistory } from '../../audit/target-history.ts';
import { locateRepository, RepositoryNotFoundError } from '../../git/repository.ts';
import { resolveRevision, RevisionError } from '../../git/resolve-revision.ts';
import { readAllowedSigners } from '../approval-flags.ts';
import { EXIT, oneOf, parseFlags, UsageError, type Command, type Io } from '../usage.ts';

const KIND_IDS = KINDS.map((k) => k.toLowerCase());

const HELP = `Usage: versiond audit [--repo DIR] [--branch B] [--target kind/name] [--since DATE] [--format text|json]

The history of targets, read from Git: each change of the desired state (commit, author,
date, which field changed from what to what, and the pull/merge request the message names),
interleaved with the status commits the controller wrote afterwards (which phase each target
reached, when, and failures). One timeline per target, oldest first, times in UTC.

Only the first-parent history of the branch is read: a merged pull request shows once, as
its merge commit, with everything it changed. Commits that change neither desired-state
files nor status are left out.

Flags:
  --repo DIR         Git repository to read (default: .)
  --branch B         branch, tag or commit to read the history of (default: main, the
                     branch the controller watches)
  --target KIND/NAME one target only, kind in lower case: ${KIND_IDS.map((k) => `${k}/…`).join(', ')}
  --since DATE       only commits that landed at or after DATE: 2026-11-20 (midnight UTC)
                     or 2026-11-20T09:00:00Z
  --verify-commits FILE
                     show who signed each desired change, checked against this
                     allowed_signers file (as \`run --verify-commits\` does)
  --format FORMAT    text (default) or json
  -h, --help         this help

Exit codes: 0 history printed (also when empty), 2 usage error.
`;

export const auditCommand: Command = {
  name: 'audit',
  summary: 'show the history of targets from Git: desired changes and the status that followed',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, {
      repo: { type: 'string', default: '.' },
      branch: { type: 'string' },
      target: { type: 'string' },
      since: { type: 'string' },
      format: { type: 'string' },
      'verify-commits': { type: 'string' },
    });
    const signersFile = values['verify-commits'];
    const signers = signersFile === undefined ? undefined : readAllowedSigners('--verify-commits', signersFile);
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const target = values.target === undefined ? undefined : checkTarget(values.target);
    const since = values.since === undefined ? undefined : parseSince(values.since);

    const repo = values.repo ?? '.';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
      throw new UsageError(`audit reads a local repository; clone ${repo} first`);
    }
    let location;
    try {
      location = locateRepository(repo);
    } catch (err) {
      if (err instanceof RepositoryNotFoundError) throw new UsageError(err.message);
      throw err;
    }
    if (location.type === 'folder') throw new UsageError(`${repo} is a plain folder, not a Git repository: audit reads Git history`);

    const cache = {};
    const branch = values.branch ?? 'main';
    let head: string;
    try {
      head = await resolveRevision(location.gitdir, branch, cache);
    } catch (err) {
      if (err instanceof RevisionError) throw new UsageError(err.message);
      throw err;
    }
    const history = await readTargetHistory({
      gitdir: location.gitdir,
      head,
      cache,
      ...(since !== undefined ? { since } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(signers !== undefined ? { signers } : {}),
    });
    const report = { ...history, branch };
    io.stdout.write(format === 'json' ? renderAuditJson(report) : renderAuditText(report));
    return EXIT.ok;
  },
};

function checkTarget(value: string): string {
  const m = /^([^/]+)\/(.+)$/.exec(value);
  if (!m || !KIND_IDS.includes(m[1]!)) {
    throw new UsageError(`--target must be kind/name with a kind in lower case (${KIND_IDS.join(', ')}), not ${JSON.stringify(value)}`);
  }
  return value;
}

function parseSince(value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--since must be a date such as 2026-11-20 or 2026-11-20T09:00:00Z, not ${JSON.stringify(value)}`);
  return ms;
}
