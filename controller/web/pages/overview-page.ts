/**
 * The fleet overview (issue 15): first the targets a person must act on, then every target by
 * kind, one table row each. The issue bounds it at 1,000 targets (100,000 members): at most
 * 200 KB and 100 ms. So a row carries no member, no repeated attribute and no optional end tag
 * (`</td>`, `</tr>` are implied in HTML); what a row shows is on the target page.
 */
import type { FleetView, PageContext, TargetRow } from '../view-model.ts';
import { html, raw, type SafeHtml } from './html.ts';
import {
  columns, commitLink, KIND_TITLES, kindTitle, page, phaseBadge, phaseClass, plural, scroller, targetHref, when,
} from './layout.ts';

/** The phases counted in the header line, the ones that need looking at first. */
const PHASE_ORDER = ['Failed', 'Blocked', 'Paused', 'Waiting', 'Progressing', 'Pending', 'Converged'];

export function renderOverview(view: FleetView, ctx: PageContext): string {
  const act = view.targets.filter((t) => t.attention === 'person');
  const byKind = new Map<string, TargetRow[]>(Object.keys(KIND_TITLES).map((k) => [k, []]));
  for (const t of view.targets) {
    const rows = byKind.get(t.kind);
    if (rows) rows.push(t);
    else byKind.set(t.kind, [t]);
  }
  const phases = new Map<string, number>(PHASE_ORDER.map((p) => [p, 0]));
  for (const t of view.targets) phases.set(t.phase, (phases.get(t.phase) ?? 0) + 1);
  const counts = [...phases].filter(([, n]) => n > 0).map(([phase, n]) => `${n} ${phase}`).join(', ');

  const body = html`<h1>Fleet overview</h1>
<p class="meta">Revision ${view.revision === null ? 'none yet' : commitLink(view.revision, ctx)}
· ${view.agents.online} of ${plural(view.agents.known, 'agent')} online
· ${plural(view.targets.length, 'target')}${counts && html` (${counts})`}
· generated ${when(view.generatedAt)}</p>
<section>
<h2 id="act">A person must act</h2>
${act.length === 0
  ? html`<p>Nobody needs to act: every target moves on by itself, with the controller or with time.</p>`
  : html`<ul class="act">
${act.slice(0, ACT_SHOWN).map(actItem)}</ul>
${act.length > ACT_SHOWN && html`<p>… and ${act.length - ACT_SHOWN} more: they come first in the tables below.</p>`}`}
</section>
${[...byKind].map(([kind, rows]) => rows.length > 0 && kindSection(kind, rows))}`;
  return page('Fleet overview', ctx, body, { live: true, nav: 'overview' });
}

function actItem(t: TargetRow): SafeHtml {
  const why = t.blockedBy ?? (t.reason !== null ? { reason: t.reason, message: t.message ?? '' } : null);
  return html`<li><a href="${targetHref(t.kind, t.name)}">${kindTitle(t.kind)} ${t.name}</a> ${phaseBadge(t.phase)}
${why && html`<b>${why.reason}</b>${why.message && html`: ${clip(why.message)}`}`}
`;
}

/** Targets listed as needing a person: the list stays a list to read, and the page within its budget. */
const ACT_SHOWN = 100;

/** Longest message in the list of targets to act on: the whole one is on the target page. */
const MESSAGE_SHOWN = 160;

function clip(s: string): string {
  return s.length > MESSAGE_SHOWN ? `${s.slice(0, MESSAGE_SHOWN - 1)}…` : s;
}

function kindSection(kind: string, rows: readonly TargetRow[]): SafeHtml {
  const title = KIND_TITLES[kind]?.many ?? kind;
  const id = `k-${kind}`;
  const table = html`<table class="fleet"><caption>${title}: ${plural(rows.length, 'target')}</caption>
${columns(['Target', 'Phase', 'Updated', 'Summary', 'Reason'])}
<tbody>
${rows.map(row)}</tbody></table>`;
  return html`<section>
<h2 id="${id}">${title}</h2>
${scroller(title, table)}
</section>
`;
}

/**
 * One target, kept to the bytes that matter: optional end tags left out, numbers and phase
 * words unquoted, the phase cell coloured itself (no badge element), the progress named by its
 * `aria-label`, and the reason left out when it only repeats the phase (`Converged`).
 */
function row(t: TargetRow): SafeHtml {
  const { done, total } = t.progress;
  const progress =
    total > 0
      ? html`<progress value=${Math.min(done, total)} max=${total} aria-label=${done}/${total}></progress>`
      : html`no members`;
  return html`<tr><td><a href=${raw(targetHref(t.kind, t.name))}>${t.name}</a>\
<td class=${phaseClass(t.phase)}>${t.phase}<td>${progress}<td>${t.summary}\
${t.reason !== null && t.reason !== t.phase && html`<td>${t.reason}`}
`;
}
