import { existsSync } from 'node:fs';
import type { TargetStatus } from '../../../reconcilers/contract.ts';
import type { TargetId } from '../../../reconcilers/model/identity.ts';
import { NOTHING_OBSERVED, type Observed } from '../../../reconcilers/observed.ts';
import { formatDiagnostic } from '../../desired/diagnostics.ts';
import { makePlanReport } from '../../plan/make-plan.ts';
import { printable, safeJson } from '../../observability/printable.ts';
import { readObservedSnapshot, type SnapshotOutcome } from '../../plan/observed-file.ts';
import {
  checkObservedUrl,
  fetchObservedSnapshot,
  isObservedUrl,
  ObservedUrlError,
  readObservedUrlCredentials,
  TOKEN_ENV,
  type ObservedUrlOptions,
} from '../../plan/observed-url.ts';
import type { PreviousStatusSource } from '../../plan/plan-report.ts';
import { renderMarkdown } from '../../plan/render-markdown.ts';
import { renderText } from '../../plan/render-text.ts';
import type { DesiredState } from '../../desired/load-desired-state.ts';
import type { RepositoryLocation } from '../../git/repository.ts';
import { RevisionError, resolveRevision } from '../../git/resolve-revision.ts';
import { readStatusesAt, readStatusFolder, type StatusesRead } from '../../status/read-statuses.ts';
import { APPROVAL_FLAG_HELP, APPROVAL_FLAG_OPTIONS, approvalPolicy } from '../approval-flags.ts';
import { ApprovalTrustCache } from '../../trust/approval-trust.ts';
import { loadRevisions, REVISION_FLAG_HELP, REVISION_FLAG_OPTIONS } from '../load-revisions.ts';
import { EXIT, oneOf, parseFlags, UsageError, type Command, type Io } from '../usage.ts';
import { toText as validationText } from './validate.ts';

const HELP = `Usage: versiond plan [--repo DIR] [--rev REV] [--base REV] [--observed FILE|URL] [--now ISO]
                     [--token-file FILE] [--ca FILE] [--status-from REV | --no-status]
                     [--console-id ID] [--format text|markdown|json]

What the controller would do with a revision, against an observed snapshot: every step
each target's rollout still needs, in order, which run at once, and why the others wait
(the vendor procedures' ordering rules). With --base, also what the revision changes in
the desired state: post --format markdown as a pull-request comment.

Each target's reconciler is given its previous status as \`versiond run\` gives it: the
status/<kind>/<name>.yaml files committed in Git, read at the --base revision when given
(the branch a pull request goes to), else at the planned revision (--rev, default HEAD;
HEAD with --worktree), or in a plain folder's status/. So a pull request that moves a
version back plans a rollback, as the controller would run it.

Flags:
${REVISION_FLAG_HELP}
${APPROVAL_FLAG_HELP}
  --observed FILE|URL
                   snapshot of agent reports (schemas/observed-snapshot.schema.json): a
                   file, or the http(s):// URL of a running controller's /v1/observed, e.g.
                   https://versiond.example:8080/v1/observed. Without it, the plan is made
                   against nothing observed and says so
  --token-file FILE
                   with an --observed URL: a file whose first line is the token to send (a
                   viewer token: \`versiond viewers add\`); default $${TOKEN_ENV}
  --ca FILE        with an https:// --observed URL: a CA certificate (PEM) to trust besides
                   the system's, the one that issued the controller's certificate
  --now ISO        the instant to plan for (default: now), e.g. 2026-11-22T10:00:00Z
  --status-from REV
                   read the previous status at this revision instead. When the controller
                   commits status to a branch of its own (run --status-branch), name it:
                   --status-from versiond-status (origin/versiond-status in a clone)
  --no-status      plan against no previous status: every target as if new
  --console-id ID  plan as this console (controller instance): it runs only the
                   distribution-server schedules it owns (seed 002)
  --format FORMAT  text (default), markdown or json (schemas/plan.schema.json)
  -h, --help       this help

Exit codes: 0 planned, 1 the revision or the snapshot is invalid (or the --observed URL
could not be fetched), 2 usage error.
`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'show what a revision would do against an observed snapshot (text, Markdown for a PR, JSON)',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, {
      ...REVISION_FLAG_OPTIONS,
      observed: { type: 'string' },
      'token-file': { type: 'string' },
      ca: { type: 'string' },
      now: { type: 'string' },
      'console-id': { type: 'string' },
      'status-from': { type: 'string' },
      'no-status': { type: 'boolean', default: false },
      format: { type: 'string' },
      ...APPROVAL_FLAG_OPTIONS,
    });
    const approvalTrust = new ApprovalTrustCache(approvalPolicy(values));
    if (values['no-status'] && values['status-from'] !== undefined) {
      throw new UsageError('--status-from and --no-status are exclusive');
    }
    const format = oneOf('format', values.format, ['text', 'markdown', 'json'] as const, 'text');
    const now = values.now === undefined ? Date.now() : Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now must be an ISO-8601 time such as 2026-11-22T10:00:00Z, not ${JSON.stringify(values.now)}`);
    const observedUrl = values.observed !== undefined && isObservedUrl(values.observed) ? values.observed : undefined;
    if (values.observed !== undefined && observedUrl === undefined && !existsSync(values.observed)) {
      throw new UsageError(`--observed ${printable(values.observed)}: no such file`);
    }
    const fetchOptions = await observedUrlOptions(observedUrl, values['token-file'], values.ca);

    const { location, state, base } = await loadRevisions('plan', values);
    if (location.type === 'folder' && values['status-from'] !== undefined) {
      const repo = values.repo ?? '.';
      throw new UsageError(`${repo} is a plain folder, not a Git repository: --status-from needs Git history`);
    }
    if (!state.valid) {
      // As `run`: an invalid revision is not acted on at all (not even its valid targets).
      io.stderr.write(
        `${validationText(state, values.repo ?? '.', base)}the controller does not act on an invalid revision: ` +
          'nothing planned (it keeps acting on the last valid revision)\n',
      );
      return EXIT.findings;
    }
    let observed: Observed = NOTHING_OBSERVED;
    let agents = 0;
    if (values.observed !== undefined) {
      let snapshot: SnapshotOutcome;
      try {
        snapshot = observedUrl !== undefined
          ? await fetchObservedSnapshot(observedUrl, fetchOptions)
          : await readObservedSnapshot(values.observed);
      } catch (err) {
        if (!(err instanceof ObservedUrlError)) throw err;
        io.stderr.write(`versiond plan: ${printable(err.message)}\nno observed snapshot: nothing planned\n`);
        return EXIT.findings;
      }
      if (!snapshot.ok) {
        io.stderr.write(`${snapshot.diagnostics.map(formatDiagnostic).join('\n')}\ninvalid observed snapshot: nothing planned\n`);
        return EXIT.findings;
      }
      observed = snapshot.observed;
      agents = snapshot.agents;
    }

    const { previous, source: previousStatus } = await previousStatuses(location, state, base, {
      statusFrom: values['status-from'],
      none: values['no-status'] ?? false,
    });

    const gitdir = location.type === 'git' ? location.gitdir : undefined;
    const report = makePlanReport({
      state,
      base,
      observed,
      observedSource: values.observed ?? null,
      agents,
      previous,
      previousStatus,
      now,
      consoleId: values['console-id'],
      approvalTrust: await approvalTrust.forRevision(state.objects, gitdir, state.revision),
    });
    if (format === 'json') io.stdout.write(`${safeJson(report, 2)}\n`);
    else if (format === 'markdown') io.stdout.write(renderMarkdown(report));
    else io.stdout.write(renderText(report));
    return EXIT.ok;
  },
};

/**
 * How to fetch an --observed URL: the token (--token-file, else $VERSIOND_TOKEN) and the CA,
 * read before anything else so a wrong flag costs nothing. --token-file and --ca without a URL
 * are usage errors: silently ignored, they would hide a typo in the URL.
 */
async function observedUrlOptions(
  url: string | undefined,
  tokenFile: string | undefined,
  caFile: string | undefined,
): Promise<ObservedUrlOptions> {
  if (url === undefined) {
    if (tokenFile !== undefined) throw new UsageError('--token-file is for an http(s):// --observed URL');
    if (caFile !== undefined) throw new UsageError('--ca is for an https:// --observed URL');
    return {};
  }
  if (caFile !== undefined && !url.toLowerCase().startsWith('https:')) {
    throw new UsageError(`--ca is for an https:// --observed URL, not ${printable(url)}`);
  }
  try {
    checkObservedUrl(url);
    return await readObservedUrlCredentials({
      ...(tokenFile !== undefined ? { tokenFile } : {}),
      ...(caFile !== undefined ? { caFile } : {}),
    });
  } catch (err) {
    if (err instanceof ObservedUrlError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * The previous status of every target, read where `run` would have read it (its status
 * branch's head): `--status-from`, else the base, else the planned revision (HEAD for the
 * working files), else a plain folder's status/. `--no-status`: none at all.
 */
async function previousStatuses(
  location: RepositoryLocation,
  state: DesiredState,
  base: DesiredState | undefined,
  flags: { readonly statusFrom: string | undefined; readonly none: boolean },
): Promise<{ previous: ReadonlyMap<TargetId, TargetStatus>; source: PreviousStatusSource }> {
  if (flags.none) return { previous: new Map(), source: { from: 'none', revision: null, targets: 0, skipped: [] } };
  let read: StatusesRead;
  let from: PreviousStatusSource['from'];
  let revision: string | null = null;
  if (location.type === 'folder') {
    from = 'folder';
    read = await readStatusFolder(location.dir);
  } else {
    const cache = {};
    try {
      if (flags.statusFrom !== undefined) {
        from = 'status-from';
        revision = await resolveRevision(location.gitdir, flags.statusFrom, cache);
      } else {
        from = base ? 'base' : 'rev';
        revision = (base ? base.revision : state.revision) ?? (await headOf(location.gitdir, cache));
      }
    } catch (err) {
      if (err instanceof RevisionError) throw new UsageError(err.message);
      throw err;
    }
    // The working files of a repository with no commit yet: only they can hold a status/.
    if (revision === null) from = 'folder';
    read = revision === null
      ? await readStatusFolder(location.dir)
      : await readStatusesAt(location.gitdir, revision, cache);
  }
  const targets = [...read.statuses.keys()].filter((t) => !t.startsWith('source/')).length;
  return { previous: read.statuses, source: { from, revision, targets, skipped: read.skipped } };
}

/** HEAD's commit, for --worktree (whose working files have no commit id); null before the first commit. */
async function headOf(gitdir: string, cache: object): Promise<string | null> {
  try {
    return await resolveRevision(gitdir, 'HEAD', cache);
  } catch (err) {
    if (err instanceof RevisionError) return null;
    throw err;
  }
}
