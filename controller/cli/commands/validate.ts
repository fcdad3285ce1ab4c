import { KINDS } from '../../../reconcilers/model/desired.ts';
import { compareDiagnostics, formatDiagnostic } from '../../desired/diagnostics.ts';
import { ApprovalTrustCache } from '../../trust/approval-trust.ts';
import { approvalDiagnostics } from '../approval-findings.ts';
import { APPROVAL_FLAG_HELP, APPROVAL_FLAG_OPTIONS, approvalPolicy } from '../approval-flags.ts';
import type { DesiredState } from '../../desired/load-desired-state.ts';
import { printableLines, quotePath, safeJson } from '../../observability/printable.ts';
import { loadRevisions, REVISION_FLAG_HELP, REVISION_FLAG_OPTIONS } from '../load-revisions.ts';
import { EXIT, oneOf, parseFlags, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond validate [--repo DIR] [--rev REV] [--base REV] [--worktree] [--format text|json]

Checks the desired state of a revision: YAML syntax, the JSON Schema of each kind, and the
cross-file policy (unique names, references that resolve, tags that name one release,
account topology, distribution-server ownership, and — with --base — no HACluster
downgrade across major.minor). Reports every problem at once, one per line:

  path:line:column: kind/name: field: message

Flags:
${REVISION_FLAG_HELP}
${APPROVAL_FLAG_HELP}
                   validate warns of each approval that would not count, and why
  --format FORMAT  text (default) or json
  -h, --help       this help

Exit codes: 0 valid, 1 problems found, 2 usage error.
`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the desired state of a revision (schema and policy), for pull-request checks',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, { ...REVISION_FLAG_OPTIONS, ...APPROVAL_FLAG_OPTIONS, format: { type: 'string' } });
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const repo = values.repo ?? '.';
    const policy = approvalPolicy(values);
    const loaded = await loadRevisions('validate', values);
    const { base } = loaded;
    let state = loaded.state;
    if (policy.mode === 'verify' && state.valid) {
      // Approvals that would not count, as warnings: the revision stays valid, the gate stays shut.
      const gitdir = loaded.location.type === 'git' ? loaded.location.gitdir : undefined;
      const trust = await new ApprovalTrustCache(policy).forRevision(state.objects, gitdir, state.revision);
      const extra = await approvalDiagnostics(state, loaded.location, trust);
      if (extra.length > 0) state = { ...state, diagnostics: [...state.diagnostics, ...extra].sort(compareDiagnostics) };
    }

    if (format === 'json') io.stdout.write(`${safeJson(toJson(state, base), 2)}\n`);
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

/**
 * The text report of a validation, also what `plan` prints for a revision it will not plan.
 * One line per entry whatever the repository holds: paths quoted, controls escaped.
 */
export function toText(state: DesiredState, repo: string, base: DesiredState | undefined): string {
  const lines = state.diagnostics.map(formatDiagnostic);
  const c = counts(state);
  const summary = KINDS.filter((k) => (c[k] ?? 0) > 0).map((k) => `${c[k]} ${k}`).join(', ') || 'no documents';
  const against = base?.revision ? ` against base ${base.revision.slice(0, 7)}` : '';
  const where = `${quotePath(repo)} (${state.source}${against})`;
  if (state.valid) {
    const warnings = state.diagnostics.filter((d) => d.severity === 'warning').length;
    const verdict = warnings === 0 ? 'no problems' : `no errors, ${warnings} warning${warnings === 1 ? '' : 's'}`;
    lines.push(`ok: ${where}: ${state.stats.files} files, ${summary}; ${verdict}`);
  } else {
    const errors = state.diagnostics.filter((d) => d.severity === 'error');
    const files = new Set(errors.map((d) => d.path)).size;
    if (lines.length > 0) lines.push('');
    lines.push(`invalid: ${where}: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; ${summary} parsed`);
    if (state.unusable.size > 0) {
      // Per-target impact, for the reviewer: the controller acts on no target of an invalid revision.
      lines.push('unusable targets (the controller does not act on an invalid revision: it keeps the last valid one):');
      for (const [id, reasons] of state.unusable) lines.push(`  ${id}: ${reasons[0]}${reasons.length > 1 ? ` (+${reasons.length - 1} more)` : ''}`);
    }
    if (state.brokenFiles.length > 0) lines.push(`unreadable files: ${state.brokenFiles.map(quotePath).join(', ')}`);
  }
  return printableLines(lines);
}
