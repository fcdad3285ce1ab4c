/**
 * `versiond plan` in the browser (issue 15): pick a branch, tag or commit and see what the
 * controller would do there — what the revision changes in the desired state, then per target
 * its phase and the steps in the vendor's order, drawn like the target page's. The same
 * report as the CLI's JSON (controller/plan/plan-report.ts). Not live: a plan is a snapshot.
 */
import type { PlanStep } from '../../../reconcilers/contract.ts';
import {
  formatValue, previousStatusText, stepState, type PlanReport, type TargetReport,
} from '../../plan/plan-report.ts';
import { rolloutFacts } from '../../plan/render-rollout.ts';
import type { PageContext, StepRow, StepState } from '../view-model.ts';
import { html, paragraphs, type SafeHtml } from './html.ts';
import { columns, commitLink, page, phaseBadge, plural, scroller, when } from './layout.ts';
import { stepList } from './target-page.ts';

export function renderPlanPage(input: { rev: string; report?: PlanReport; error?: string }, ctx: PageContext): string {
  const body = html`<h1>Plan</h1>
<p>What the controller would do at another revision: a branch, a tag or a commit of the desired repository.</p>
<form class="inline" method="get" action="/plan">
<label for="rev">Branch, tag or commit</label>
<input id="rev" name="rev" type="text" value="${input.rev}" autocomplete="off" spellcheck="false">
<button type="submit">Plan</button>
</form>
${input.error !== undefined && html`<div class="alert" role="alert">${paragraphs(input.error)}</div>`}
${input.report !== undefined && report(input.report, ctx)}`;
  const revision = input.report?.revision;
  return page(revision ? `Plan for ${revision.slice(0, 7)}` : 'Plan', ctx, body, { nav: 'plan' });
}

function report(r: PlanReport, ctx: PageContext): SafeHtml {
  const planned = r.targets.filter((t) => t.outcome === 'planned');
  const working = planned.filter((t) => t.steps.length > 0);
  return html`<h2>Planned revision</h2>
<dl class="facts">
<dt>Revision</dt><dd>${r.revision === null ? r.source : commitLink(r.revision, ctx)}</dd>
${r.base !== null && html`<dt>Compared with</dt><dd>${commitLink(r.base, ctx)}</dd>`}
<dt>Planned for</dt><dd>${when(r.now)}</dd>
<dt>Observed</dt><dd>${r.observed.source === null
  ? 'nothing: every step is planned from scratch'
  : html`${plural(r.observed.agents, 'agent')} from <code>${r.observed.source}</code>`}</dd>
<dt>Previous status</dt><dd>${previousStatusText(r.previousStatus)}</dd>
</dl>
${(r.base !== null || r.changes.length > 0) && changes(r)}
<h2>Targets</h2>
<p>${working.length} of ${plural(planned.length, 'planned target')} have steps to run.</p>
${r.targets.map((t, i) => target(t, i))}`;
}

function changes(r: PlanReport): SafeHtml {
  if (r.changes.length === 0) return html`<h2>Desired changes</h2>
<p>None: no target changed.</p>`;
  const rows = r.changes.flatMap((c) => {
    const head = html`<th scope="row"><code>${c.target}</code></th><td>${c.change}</td>`;
    if (c.fields.length === 0) return [html`<tr>${head}<td>—</td><td>—</td><td>—</td></tr>\n`];
    return c.fields.map((f) => html`<tr>${head}<td><code>${f.field}</code></td><td>${formatValue(f.from)}</td>\
<td>${formatValue(f.to)}</td></tr>\n`);
  });
  const table = html`<table><caption>What this revision changes in the desired state</caption>
${columns(['Target', 'Change', 'Field', 'From', 'To'])}
<tbody>
${rows}</tbody></table>`;
  return html`<h2>Desired changes</h2>
${scroller('Desired changes', table)}`;
}

/** A plan step as the target page draws one. */
export function stepRow(s: PlanStep): StepRow {
  return {
    member: s.member,
    action: s.action,
    version: s.version ?? null,
    state: stepState(s) as StepState,
    reason: s.blockedBy?.reason ?? null,
    message: s.blockedBy?.message ?? null,
  };
}

function target(t: TargetReport, i: number): SafeHtml {
  const id = `t-${i}`;
  const badge = t.phase !== undefined && html` ${phaseBadge(t.phase)}`;
  const head = html`<h3 id="${id}"><code>${t.target}</code>${badge}</h3>`;
  let content: SafeHtml;
  if (t.outcome === 'unusable') {
    content = html`<p>Not planned: the file <code>${t.path}</code> is invalid.</p>
<ul>${(t.reasons ?? []).map((r) => html`<li>${r}</li>`)}</ul>`;
  } else if (t.outcome === 'no-reconciler') {
    content = html`<p>Not planned: no reconciler for ${t.kind} yet.</p>`;
  } else {
    const message = t.message !== undefined && !(t.summary ?? '').startsWith(t.message);
    const facts = rolloutFacts({ rollout: t.rollout, promotion: t.promotion });
    const reason = t.reason !== undefined && html`<code>${t.reason}</code>: `;
    content = html`<p>${t.summary}${message && html` — ${reason}${t.message}`}</p>
${facts.lines.length > 0 && html`<ul>${facts.lines.map((l) => html`<li>${l}</li>`)}</ul>`}
${facts.waves !== undefined && scroller(`Waves of ${t.target}`, html`<table><caption>Waves of ${t.target}</caption>
${columns(['Wave', 'Members', 'Version', 'State', 'Progress', 'Approval gate'])}
<tbody>
${facts.waves.map((w) => html`<tr><th scope="row">${w.number}</th><td>${w.size}: ${w.members}</td>\
<td>${w.versions}</td><td>${w.state}</td><td>${w.progress}</td><td>${w.gate}</td></tr>
`)}</tbody></table>`)}
${t.steps.length === 0 ? html`<p>Nothing to do.</p>` : stepList(t.steps.map(stepRow))}
${(t.reminders ?? []).length > 0 && html`<ul>${(t.reminders ?? []).map((r) => html`<li>Reminder: ${r}</li>`)}</ul>`}`;
  }
  return html`<section>
${head}
${content}
</section>
`;
}
