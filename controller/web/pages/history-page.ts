/**
 * A target's audit timeline (issue 15), newest first and paged: every desired change (who,
 * when, the pull request, the signature when checked, each field from what to what) and every
 * status commit after it (the phase reached). The same events as `versiond audit`
 * (controller/audit/target-history.ts). Not live: history does not change under the reader.
 */
import { formatValue } from '../../plan/plan-report.ts';
import type { DesiredEvent, DesiredTargetChange, StatusEvent } from '../../audit/target-history.ts';
import type { HistoryPage, PageContext, TargetRow } from '../view-model.ts';
import { html, segment, type SafeHtml } from './html.ts';
import { commitLink, kindTitle, page, phaseBadge, plural, targetHref, when } from './layout.ts';

export function renderHistoryPage(row: TargetRow, history: HistoryPage, ctx: PageContext): string {
  const title = `History of ${kindTitle(row.kind)} ${row.name}`;
  const body = html`<h1>${title}</h1>
<p class="meta"><a href="${targetHref(row.kind, row.name)}">${kindTitle(row.kind)} ${row.name} now</a>
· ${plural(history.total, 'event')} in the history read\
${history.head !== null && html` from ${commitLink(history.head, ctx)}`}</p>
${history.events.length === 0
  ? html`<p>No event of this target on this page of the history.</p>`
  : html`<ol class="timeline">
${history.events.map((e) => (e.type === 'desired' ? desired(e, ctx) : status(e, ctx)))}</ol>`}
${history.next !== null && html`<nav class="pager" aria-label="History pages">\
<a rel="next" href="?cursor=${segment(history.next)}">Older</a></nav>`}`;
  return page(title, ctx, body);
}

function desired(e: DesiredEvent, ctx: PageContext): SafeHtml {
  const written = e.authorDate !== e.date && html` · written ${when(e.authorDate)}`;
  const committer =
    (e.committer.name !== e.author.name || e.committer.email !== e.author.email) &&
    html` · committed by ${e.committer.name} &lt;${e.committer.email}&gt;`;
  return html`<li class="desired">
<h2>Desired change, ${when(e.date)}</h2>
<p>${e.subject}</p>
<p class="meta">${e.merge ? 'Merge commit' : 'Commit'} ${commitLink(e.commit, ctx)} by ${e.author.name} \
&lt;${e.author.email}&gt;${written}${committer}\
${e.references.length > 0 && html` · ${e.references.join(', ')}`}\
${e.signature !== undefined && html` · ${e.signature}`}</p>
<ul>${e.changes.map(change)}</ul>
</li>
`;
}

function change(c: DesiredTargetChange): SafeHtml {
  const moved = c.previousPath !== undefined && html` (was <code>${c.previousPath}</code>)`;
  return html`<li>${c.target === null ? 'a document' : html`<code>${c.target}</code>`} ${c.change} in \
<code>${c.path}</code>${moved}${c.problem !== undefined && html`: ${c.problem}`}\
${c.fields.length > 0 && html`<ul>${c.fields.map((f) => html`<li><code>${f.field}</code>: ${
    f.from === undefined
      ? html`added, <code>${formatValue(f.to)}</code>`
      : f.to === undefined
        ? html`removed, was <code>${formatValue(f.from)}</code>`
        : html`<code>${formatValue(f.from)}</code> → <code>${formatValue(f.to)}</code>`
  }</li>`)}</ul>`}</li>`;
}

function status(e: StatusEvent, ctx: PageContext): SafeHtml {
  return html`<li class="status">
<h2>Status, ${when(e.date)}</h2>
${e.targets.map((t) => html`<p>${t.phase !== null && html`${phaseBadge(t.phase)} `}${t.summary}</p>`)}
<p class="meta">Status commit ${commitLink(e.commit, ctx)} by ${e.author.name}\
${e.revision !== null && html`, reconciling ${commitLink(e.revision, ctx)}`}</p>
</li>
`;
}
