import { markdownCode, markdownText } from '../observability/printable.ts';
import { formatValue, previousStatusText, stepState, type PlanReport, type TargetReport } from './plan-report.ts';
import { rolloutFacts, rolloutMarkdown } from './render-rollout.ts';
import { MAX_STEPS_SHOWN } from './render-text.ts';

/**
 * The plan as a pull-request comment: what the change does to the desired state, then per
 * target the ordered steps, what runs at once and what waits, and why.
 *
 * Every string from the repository or from agents goes through `markdownText` (controls
 * escaped; `|`, backticks, `<`, `&`… backslash-escaped) or `markdownCode` (a code span no
 * backtick can close early): a value can neither break a table row nor inject HTML.
 */
export function renderMarkdown(report: PlanReport): string {
  const out: string[] = [];
  const rev = report.revision ? `\`${report.revision.slice(0, 7)}\`` : markdownText(report.source);
  out.push(`### versiond plan for ${rev}${report.base ? ` (base \`${report.base.slice(0, 7)}\`)` : ''}`, '');
  out.push(
    report.observed.source === null
      ? `> Planned against **nothing observed** (no \`--observed\` snapshot), at ${report.now}: every step is planned from scratch.`
      : `> Planned against ${report.observed.agents} agents observed in ${markdownCode(report.observed.source)}, ` +
        `at ${report.now}.`,
    '>',
    `> Previous status: ${previousStatusText(report.previousStatus, (s) => markdownCode(s))}.`,
  );
  if (report.base) {
    out.push('', '#### What this change does to the desired state', '');
    if (report.changes.length === 0) out.push('Nothing: no target changed.');
    else {
      out.push('| target | change | field | from | to |', '|---|---|---|---|---|');
      for (const c of report.changes) {
        const target = code(c.target);
        if (c.fields.length === 0) out.push(`| ${target} | ${c.change} | | | |`);
        for (const f of c.fields) {
          const [from, to] = [cell(formatValue(f.from)), cell(formatValue(f.to))];
          out.push(`| ${target} | ${c.change} | ${code(f.field)} | ${from} | ${to} |`);
        }
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
  const name = `**${markdownCode(t.target)}**`;
  if (t.outcome === 'unusable') {
    return [`${name} — not planned, the file is invalid:`, '', ...(t.reasons ?? []).map((r) => `- ${cell(r)}`)];
  }
  if (t.outcome === 'no-reconciler') return [`${name} — not planned: no reconciler for ${cell(t.kind)} yet.`];
  const message = t.message && !(t.summary ?? '').startsWith(t.message) ? `. ${cell(t.message)}` : '';
  const head = `${name} — ${cell(t.phase ?? '')}: ${cell(t.summary ?? '')}${message}`;
  const lines = [head, ...rolloutMarkdown(rolloutFacts({ rollout: t.rollout, promotion: t.promotion }))];
  if (t.steps.length > 0) {
    const rows = ['| # | member | action | version | when | why |', '|---:|---|---|---|---|---|'];
    t.steps.slice(0, MAX_STEPS_SHOWN).forEach((s, i) => {
      const why = s.blockedBy?.message === t.message ? '(above)' : (s.blockedBy?.message ?? '');
      const what = `${cell(s.action)} | ${cell(s.version ?? '')}`;
      rows.push(`| ${i + 1} | ${code(s.member)} | ${what} | ${stepState(s)} | ${cell(why)} |`);
    });
    if (t.steps.length > MAX_STEPS_SHOWN) {
      const rest = t.steps.slice(MAX_STEPS_SHOWN);
      rows.push(`| | … | | | | ${rest.length} more steps, ${rest.filter((s) => s.runnable).length} runnable now |`);
    }
    lines.push('', ...(t.steps.length > 10 ? ['<details><summary>' + `${t.steps.length} steps` + '</summary>', '', ...rows, '', '</details>'] : rows));
  }
  for (const r of t.reminders ?? []) lines.push('', `> Reminder: ${cell(r)}`);
  return lines;
}

/** Text in a table cell or a line: one line, nothing Markdown or HTML acts on. */
function cell(s: string): string {
  return markdownText(s);
}

/** A code span in a table cell. */
function code(s: string): string {
  return markdownCode(s, { table: true });
}
