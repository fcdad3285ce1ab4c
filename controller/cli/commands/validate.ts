import { TreeListingCache } from '../../desired/tree-listing-cache.ts';
import { KINDS } from '../../../reconcilers/model/desired.ts';
import { formatDiagnostic } from '../../desired/diagnostics.ts';
import { DesiredStateLoader, type DesiredState } from '../../desired/load-desired-state.ts';
import { openDesiredSource } from '../../desired/open-source.ts';
import { locateRepository, RepositoryNotFoundError, type RepositoryLocation } from '../../git/repository.ts';
import { RevisionError } from '../../git/resolve-revision.ts';
import { EXIT, oneOf, parseFlags, UsageError, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond validate [--repo DIR] [--rev REV] [--base REV] [--worktree] [--format text|json]

Checks the desired state of a revision: YAML syntax, the JSON Schema of each kind, and the
cross-file policy (unique names, references that resolve, tags that name one release,
account topology, distribution-server ownership, and — with --base — no HACluster
downgrade across major.minor). Reports every problem at once, one per line:

  path:line:column: kind/name: field: message

Flags:
  --repo DIR       repository to read (default: .). A Git repository is read from Git at
                   --rev, never from its working files; a plain folder is read as files.
  --rev REV        revision to check: branch, tag, commit id, with ~N/^N (default: HEAD)
  --base REV       compare with this revision (the pull request's target branch) for
                   rules about changes, such as schema downgrades
  --worktree       read the working files of a Git repository instead of a revision
  --format FORMAT  text (default) or json
  -h, --help       this help

Exit codes: 0 valid, 1 problems found, 2 usage error.
`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the desired state of a revision (schema and policy), for pull-request checks',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, {
      repo: { type: 'string', default: '.' },
      rev: { type: 'string' },
      base: { type: 'string' },
      worktree: { type: 'boolean', default: false },
      format: { type: 'string' },
    });
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const repo = values.repo ?? '.';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
      throw new UsageError(`validate reads a local repository; clone ${repo} first (remote sources are followed by \`versiond run\`)`);
    }
    let location: RepositoryLocation;
    try {
      location = locateRepository(repo);
    } catch (err) {
      if (err instanceof RepositoryNotFoundError) throw new UsageError(err.message);
      throw err;
    }
    if (location.type === 'folder' && (values.rev !== undefined || values.base !== undefined)) {
      throw new UsageError(`${repo} is a plain folder, not a Git repository: --rev and --base need Git history`);
    }
    if (values.worktree && values.rev !== undefined) throw new UsageError('--worktree and --rev are exclusive');

    const loader = new DesiredStateLoader();
    const trees = new TreeListingCache();
    const objectCache = {};
    let state: DesiredState;
    let base: DesiredState | undefined;
    try {
      if (values.base !== undefined) {
        base = await loader.load(await openDesiredSource(location, { rev: values.base, trees, objectCache }));
      }
      const source = await openDesiredSource(location, {
        ...(values.rev !== undefined ? { rev: values.rev } : {}),
        worktree: values.worktree ?? false,
        trees,
        objectCache,
      });
      state = await loader.load(source, base ? { base } : {});
    } catch (err) {
      if (err instanceof RevisionError) throw new UsageError(err.message);
      throw err;
    }

    if (format === 'json') io.stdout.write(`${JSON.stringify(toJson(state, base), null, 2)}\n`);
    else io.stdout.write(toText(state, repo, base));
    return state.valid ? EXIT.ok : EXIT.findings;
  },
};

function counts(state: DesiredState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of KINDS) out[k] = 0;
  for (const o of state.objects) out[o.kind] = (out[o.kind] ?? 0) + 1;
  return out;
}

function toJson(state: DesiredState, base: DesiredState | undefined) {
  return {
    valid: state.valid,
    source: state.source,
    revision: state.revision,
    base: base?.revision ?? null,
    files: state.stats.files,
    documents: counts(state),
    diagnostics: state.diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      path: d.path,
      line: d.line,
      column: d.column,
      target: d.target ?? null,
      field: d.field ?? null,
      message: d.message,
      data: d.data,
    })),
    unusable: [...state.unusable].map(([target, reasons]) => ({ target, reasons })),
    brokenFiles: state.brokenFiles,
  };
}

function toText(state: DesiredState, repo: string, base: DesiredState | undefined): string {
  const lines = state.diagnostics.map(formatDiagnostic);
  const c = counts(state);
  const summary = KINDS.filter((k) => (c[k] ?? 0) > 0).map((k) => `${c[k]} ${k}`).join(', ') || 'no documents';
  const against = base?.revision ? ` against base ${base.revision.slice(0, 7)}` : '';
  const where = `${repo} (${state.source}${against})`;
  if (state.valid) {
    lines.push(`ok: ${where}: ${state.stats.files} files, ${summary}; no problems`);
  } else {
    const errors = state.diagnostics.filter((d) => d.severity === 'error');
    const files = new Set(errors.map((d) => d.path)).size;
    if (lines.length > 0) lines.push('');
    lines.push(`invalid: ${where}: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; ${summary} parsed`);
    if (state.unusable.size > 0) {
      lines.push('unusable targets (the controller will not act on them):');
      for (const [id, reasons] of state.unusable) lines.push(`  ${id}: ${reasons[0]}${reasons.length > 1 ? ` (+${reasons.length - 1} more)` : ''}`);
    }
    if (state.brokenFiles.length > 0) lines.push(`unreadable files: ${state.brokenFiles.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
