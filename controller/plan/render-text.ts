import { printableLines, quotePath } from '../observability/printable.ts';
import { formatValue, previousStatusText, stepState, type PlanReport } from './plan-report.ts';
import { rolloutFacts, rolloutText } from './render-rollout.ts';

/** Steps shown per target before the rest is summarised: a plan of 100,000 devices stays readable. */
export const MAX_STEPS_SHOWN = 25;

/**
 * The plan for a terminal: one line per entry whatever the repository or agents hold
 * (paths quoted, controls escaped).
 */
export function renderText(report: PlanReport): string {
  const out: string[] = [];
  const rev = report.revision ? `commit ${report.revision.slice(0, 7)}` : report.source;
  const base = report.base ? ` against base ${report.base.slice(0, 7)}` : '';
  out.push(`versiond plan: ${rev}${base}, at ${report.now}`);
  out.push(
    report.observed.source === null
      ? 'observed: nothing (no --observed snapshot): every step is planned from scratch and no agent is known to be online'
      : `observed: ${report.observed.agents} agents from ${quotePath(report.observed.source)}`,
  );
  out.push(`status: ${previousStatusText(report.previousStatus, quotePath)}`);
  if (report.base) {
    out.push('', report.changes.length === 0 ? 'changes: none' : 'changes:');
    for (const c of report.changes) {
      const sign = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~';
      out.push(`  ${sign} ${c.target} (${quotePath(c.path)})`);
      for (const f of c.fields.slice(0, 10)) out.push(`      ${f.field}: ${formatValue(f.from)} -> ${formatValue(f.to)}`);
      if (c.fields.length > 10) out.push(`      ... and ${c.fields.length - 10} more fields`);
    }
  }
  for (const t of report.targets) {
    out.push('');
    if (t.outcome === 'unusable') {
      out.push(`${t.target}: not planned, the file is invalid`);
      for (const r of t.reasons ?? []) out.push(`  ${r}`);
      continue;
    }
    if (t.outcome === 'no-reconciler') {
      out.push(`${t.target}: not planned, no reconciler for ${t.kind} yet`);
      continue;
    }
    out.push(`${t.target}: ${t.phase} — ${t.summary}${t.message && !(t.summary ?? '').startsWith(t.message) ? ` — ${t.message}` : ''}`);
    out.push(...rolloutText(rolloutFacts({ rollout: t.rollout, promotion: t.promotion })));
    const width = Math.max(0, ...t.steps.slice(0, MAX_STEPS_SHOWN).map((s) => s.member.length));
    t.steps.slice(0, MAX_STEPS_SHOWN).forEach((s, i) => {
      // A blocker that holds the whole target is said once, on the target's line.
      const message = s.blockedBy?.message;
      const why = s.runnable || !message || message === t.message ? '' : `  ${message}`;
      out.push(`  ${String(i + 1).padStart(3)}. ${stepState(s).padEnd(9)} ${s.member.padEnd(width)}  ${s.action}${s.version ? ` ${s.version}` : ''}${why}`);
    });
    if (t.steps.length > MAX_STEPS_SHOWN) {
      const rest = t.steps.slice(MAX_STEPS_SHOWN);
      out.push(`       ... and ${rest.length} more steps (${rest.filter((s) => s.runnable).length} runnable now)`);
    }
    if (t.steps.length === 0) out.push('  nothing to do');
    for (const r of t.reminders ?? []) out.push(`  reminder: ${r}`);
  }
  return printableLines(out);
}
