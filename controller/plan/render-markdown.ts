import { formatValue, previousStatusText, stepState, type PlanReport, type TargetReport } from './plan-report.ts';
import { rolloutFacts, rolloutMarkdown } from './render-rollout.ts';
import { MAX_STEPS_SHOWN } from './render-text.ts';

/**
 * The plan as a pull-request comment: what the change does to the desired state, then per
 * target the ordered steps, what runs at once and what waits, and why.
 */
export function renderMarkdown(report: PlanReport): string {
  const out: string[] = [];
  const rev = report.revision ? `\`${report.revision.slice(0, 7)}\`` : report.source;
  out.push(`### versiond plan for ${rev}${report.base ? ` (base \`${report.base.slice(0, 7)}\`)` : ''}`, '');
  out.push(
    report.observed.source === null
      ? `> Planned against **nothing observed** (no \`--observed\` snapshot), at ${report.now}: every step is planned from scratch.`
      : `> Planned against ${report.observed.agents} agents observed in \`${report.observed.source}\`, at ${report.now}.`,
    '>',
    `> Previous status: ${previousStatusText(report.previousStatus, (s) => `\`${s}\``)}.`,
  );
  if (report.base) {
    out.push('', '#### What this change does to the desired state', '');
    if (report.changes.length === 0) out.push('Nothing: no target changed.');
    else {
      out.push('| target | change | field | from | to |', '|---|---|---|---|---|');
      for (const c of report.changes) {
        if (c.fields.length === 0) out.push(`| \`${c.target}\` | ${c.change} | | | |`);
        for (const f of c.fields) out.push(`| \`${c.target}\` | ${c.change} | \`${f.field}\` | ${cell(formatValue(f.from))} | ${cell(formatValue(f.to))} |`);
      }
    }
  }
  const planned = report.targets.filter((t) => t.outcome === 'planned');
  const working = planned.filter((t) => t.steps.length > 0);
  out.push('', `#### Rollout: ${working.length} of ${planned.length} targets have steps to run`);
  for (const t of report.targets) out.push('', ...target(t));
  return `${out.join('\n')}\n`;
}

function target(t: TargetReport): string[] {
  if (t.outcome === 'unusable') return [`**\`${t.target}\`** — not planned, the file is invalid:`, '', ...(t.reasons ?? []).map((r) => `- ${cell(r)}`)];
  if (t.outcome === 'no-reconciler') return [`**\`${t.target}\`** — not planned: no reconciler for ${t.kind} yet.`];
  const head = `**\`${t.target}\`** — ${t.phase}: ${t.summary}${t.message && !(t.summary ?? '').startsWith(t.message) ? `. ${t.message}` : ''}`;
  const lines = [head, ...rolloutMarkdown(rolloutFacts({ rollout: t.rollout, promotion: t.promotion }))];
  if (t.steps.length > 0) {
    const rows = ['| # | member | action | version | when | why |', '|---:|---|---|---|---|---|'];
    t.steps.slice(0, MAX_STEPS_SHOWN).forEach((s, i) =>
      rows.push(`| ${i + 1} | \`${s.member}\` | ${s.action} | ${s.version ?? ''} | ${stepState(s)} | ${cell(s.blockedBy?.message === t.message ? '(above)' : (s.blockedBy?.message ?? ''))} |`),
    );
    if (t.steps.length > MAX_STEPS_SHOWN) {
      const rest = t.steps.slice(MAX_STEPS_SHOWN);
      rows.push(`| | … | | | | ${rest.length} more steps, ${rest.filter((s) => s.runnable).length} runnable now |`);
    }
    lines.push('', ...(t.steps.length > 10 ? ['<details><summary>' + `${t.steps.length} steps` + '</summary>', '', ...rows, '', '</details>'] : rows));
  }
  for (const r of t.reminders ?? []) lines.push('', `> Reminder: ${r}`);
  return lines;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
