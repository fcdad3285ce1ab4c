/**
 * One target in full (issue 15): what it is, why it waits, the steps left in the vendor's
 * order, its waves and the approvals a reviewer can paste, every member (filtered on the
 * server when the browser runs no script), the kind's own details and the conditions.
 *
 * The members filter is the same rule here and in live.js: a case-insensitive substring of
 * the name, agent, role, state or message. Non-matching rows are sent `hidden`, so the script
 * can widen the filter again without a round trip.
 */
import { printable } from '../../observability/printable.ts';
import type { MemberRow, PageContext, StepRow, TargetDetail, WaveRow, WavesView } from '../view-model.ts';
import { html, multiline, type Html, type SafeHtml } from './html.ts';
import { columns, commitLink, kindTitle, page, phaseBadge, plural, scroller, targetHref, when } from './layout.ts';

export function renderTargetPage(detail: TargetDetail, ctx: PageContext, filter: string): string {
  const d = detail;
  const href = targetHref(d.kind, d.name);
  const title = `${kindTitle(d.kind)} ${d.name}`;
  const body = html`<h1>${title} ${phaseBadge(d.phase)}</h1>
<p>${d.summary}</p>
${d.message !== null && html`<p>${d.reason !== null && html`<b>${d.reason}</b>: `}${d.message}</p>`}
<dl class="facts">
<dt>Declared in</dt><dd><code>${d.path}</code></dd>
<dt>Revision</dt><dd>${d.revision === null ? 'not reconciled from a commit yet' : commitLink(d.revision, ctx)}</dd>
<dt>Since</dt><dd>${when(d.since)}</dd>
${d.rolloutStartedAt !== null && html`<dt>Rollout started</dt><dd>${when(d.rolloutStartedAt)}</dd>`}
<dt>Members updated</dt><dd>${d.progress.done} of ${d.progress.total}</dd>
<dt>Next move</dt><dd>${d.attention === 'person' ? 'a person must act' : 'the controller, or time'}</dd>
</dl>
<p><a href="${href}/history">History of ${d.name}</a></p>
${section('why', 'Why it waits', whyItWaits(d))}
${section('order', 'Vendor order', d.steps.length === 0
  ? html`<p>The rollout needs no step: nothing is left to do.</p>`
  : stepList(d.steps))}
${d.waves !== null && section('waves', 'Waves', waves(d.waves, d.path))}
${section('members', 'Members', members(d.members, filter, href))}
${section('details', 'Details', details(d.kind, d.details))}
${section('conditions', 'Conditions', conditions(d))}`;
  return page(title, ctx, body, { live: true, target: d.target });
}

function section(id: string, title: string, content: Html): SafeHtml {
  return html`<section id="${id}">
<h2 id="${id}-h">${title}</h2>
${content}
</section>
`;
}

function whyItWaits(d: TargetDetail): SafeHtml {
  const held = d.blockedBy;
  const how = held?.category === 'stalled' ? 'Stalled, a person must act' : 'Waiting, clears by itself';
  return html`${held === null
    ? html`<p>Nothing holds it.</p>`
    : html`<p><b>${how}</b> — <code>${held.reason}</code>: ${held.message}</p>`}
${d.reminders.length > 0 && html`<h3>Reminders</h3>
<ul>${d.reminders.map((r) => html`<li>${r}</li>`)}</ul>`}`;
}

/** Steps shown before the rest is folded away: a rollout over thousands of devices stays readable. */
const STEPS_SHOWN = 50;

/**
 * The steps in the vendor's order. Steps sent now are highlighted with a visible marker, and
 * the first of them is `aria-current="step"`; a held step says why. Shared with the plan page.
 */
export function stepList(steps: readonly StepRow[]): SafeHtml {
  const first = steps.findIndex((s) => s.state === 'now');
  const item = (s: StepRow, i: number) => {
    const now = s.state === 'now';
    const why = s.reason !== null || s.message !== null;
    return html`<li${now && html` class="now"`}${i === first && html` aria-current="step"`}>\
${now && html`<span class="mark" aria-hidden="true">▶ </span>`}<code>${s.member}</code> ${s.action}\
${s.version !== null && html` ${s.version}`} — <span class="state">${s.state}</span>\
${why && html`<span class="why">${s.reason !== null && html`<code>${s.reason}</code>`}\
${s.reason !== null && s.message !== null && ': '}${s.message}</span>`}</li>
`;
  };
  const shown = steps.slice(0, STEPS_SHOWN).map(item);
  if (steps.length <= STEPS_SHOWN) return html`<ol class="steps">
${shown}</ol>`;
  const rest = steps.slice(STEPS_SHOWN);
  const runnable = rest.filter((s) => s.state === 'now').length;
  return html`<ol class="steps">
${shown}</ol>
<details><summary>${plural(rest.length, 'more step')}, ${runnable} sent now</summary>
<ol class="steps" start="${STEPS_SHOWN + 1}">
${rest.map((s, i) => item(s, i + STEPS_SHOWN))}</ol>
</details>`;
}

function waves(w: WavesView, path: string): SafeHtml {
  const pending = w.waves.filter((x) => x.approval !== null && x.approval.required && !x.approval.approved);
  const approval = (a: WaveRow['approval']) =>
    a === null || !a.required ? 'not needed' : a.approved ? 'approved' : 'needed (below)';
  const now = (x: WaveRow) => x.number === w.current;
  const table = html`<table><caption>Waves over the ${w.role} members</caption>
${columns(['Wave', 'State', 'Size', 'Updated', 'Updating', 'Failed', 'Versions', 'Approval'])}
<tbody>
${w.waves.map((x) => html`<tr${now(x) && html` class="now"`}><th scope="row">${x.number}${now(x) && ' (now)'}</th>\
<td>${x.state}</td><td>${x.size}</td><td>${x.updated}</td><td>${x.updating}</td>\
<td>${x.failed.length === 0 ? '—' : x.failed.join(', ')}</td><td>${x.versions.join(', ')}</td>\
<td>${approval(x.approval)}</td></tr>
`)}</tbody></table>`;
  const running = w.current === null ? 'no wave runs now' : `wave ${w.current} runs now`;
  return html`<p>Rollout in waves: ${w.state}; ${running}.</p>
${scroller('Waves', table)}
${w.stragglers.length > 0 && html`<p>Stragglers (left behind, updated last): ${w.stragglers.join(', ')}</p>`}
${pending.map((x) => html`<h3 id="approve-${x.number}">Approve wave ${x.number}</h3>
<p>The plan digest a reviewer approves is <code>${x.approval!.digest}</code>.
To approve, add this under <code>spec.rollout.approvals</code> in <code>${path}</code>:</p>
<pre data-copy="the approval of wave ${x.number}">${multiline(x.approval!.snippet)}</pre>
`)}`;
}

/**
 * The members filter: a case-insensitive substring of the name, agent, role, state or message,
 * matched against the text as the page shows it (`printable`), which is what live.js reads.
 */
export function memberMatches(m: MemberRow, filter: string): boolean {
  const q = filter.trim().toLowerCase();
  if (q === '') return true;
  return [m.name, m.agent, m.role, m.state, m.message ?? ''].some((s) => printable(s).toLowerCase().includes(q));
}

/** The columns live.js's filter reads: the same as `memberMatches`. */
const FILTERED = ['Name', 'Agent', 'Role', 'State', 'Message'];

function members(rows: readonly MemberRow[], filter: string, href: string): SafeHtml {
  if (rows.length === 0) return html`<p>No members.</p>`;
  let shown = 0;
  const body = rows.map((m) => {
    const match = memberMatches(m, filter);
    if (match) shown++;
    const online = m.online === null ? 'never reported' : m.online ? 'yes' : 'no';
    return html`<tr${!match && html` hidden`}><th scope="row">${m.name}</th><td>${m.agent}</td><td>${m.role}</td>\
<td>${m.desired}</td><td>${m.observed ?? '—'}</td><td>${m.state}</td><td>${online}</td><td>${when(m.lastReport)}</td>\
<td>${m.message}</td></tr>
`;
  });
  const table = html`<table id="member-table" class="members"><caption>Members</caption>
${columns(['Name', 'Agent', 'Role', 'Desired', 'Observed', 'State', 'Online', 'Last report', 'Message'], FILTERED)}
<tbody>
${body}</tbody></table>`;
  return html`<form class="inline" method="get" action="${href}#members">
<label for="member">Filter members (name, agent, role, state or message)</label>
<input id="member" name="member" type="search" value="${filter}">
<button type="submit">Filter</button>
</form>
<p id="members-count">${shown} of ${rows.length} members</p>
${scroller('Members', table)}`;
}

// ------------------------------------------------------------------ kind details

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
const num = (x: unknown): number | null => (typeof x === 'number' ? x : null);

/** Details read defensively (status is plain YAML from Git): a part of an unexpected shape is shown as JSON. */
function details(kind: string, d: Readonly<Json>): SafeHtml {
  const rest: Json = { ...d };
  const parts: SafeHtml[] = [];
  const take = (key: string, draw: (v: unknown) => SafeHtml | null) => {
    if (!(key in rest)) return;
    const drawn = draw(rest[key]);
    if (drawn === null) return;
    parts.push(drawn);
    delete rest[key];
  };
  if (kind === 'HACluster') {
    take('preflight', preflight);
    take('preflightPassedAt', (v) => (str(v) === null ? null : html`<p>The preflight passed at ${when(str(v))}.</p>`));
  }
  if (kind === 'DistributionServer') {
    take('console', (v) => (v === null || str(v) !== null
      ? html`<p>Reported by console ${v === null ? 'none (no --console-id)' : html`<code>${str(v)}</code>`}.</p>`
      : null));
    take('syncs', syncs);
    take('content', content);
    take('preconditions', (v) => checks(v, 'Preconditions'));
  }
  const keys = Object.keys(rest);
  if (keys.length > 0) {
    parts.push(html`<dl class="facts">
${keys.map((k) => html`<dt><code>${k}</code></dt><dd><code>${compactJson(rest[k])}</code></dd>
`)}</dl>`);
  }
  return parts.length === 0 ? html`<p>No details reported.</p>` : html`${parts}`;
}

/** Longest JSON value drawn: the whole value is in the read API. */
const JSON_SHOWN = 2000;

function compactJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > JSON_SHOWN ? `${s.slice(0, JSON_SHOWN - 1)}…` : s;
}

/** A check's outcome as a word: `unknown` is never a pass. */
function outcome(status: string | null, passed: boolean | null): SafeHtml {
  if (passed === true || status === 'satisfied') return html`<span class="ok">pass</span>`;
  if (status === 'unknown') return html`<span class="unknown">unknown</span>`;
  return html`<span class="bad">fail</span>`;
}

/** `details.preflight` of an HA cluster: the four named checks before the first server apply. */
function preflight(v: unknown): SafeHtml | null {
  if (!Array.isArray(v) || !v.every((c) => isObj(c) && str(c['name']) !== null)) return null;
  const list = v as Json[];
  const passed = list.filter((c) => c['passed'] === true).length;
  return html`<h3>Preflight checks</h3>
<p>${passed} of ${plural(list.length, 'check')} pass.</p>
<ul>${list.map((c) => html`<li>${outcome(str(c['status']), c['passed'] === true)} <code>${str(c['name'])}</code>\
${str(c['message']) !== null && html`: ${str(c['message'])}`}</li>`)}</ul>`;
}

/** A list of named checks with a `status` (a distribution server's preconditions). */
function checks(v: unknown, title: string): SafeHtml | null {
  if (!Array.isArray(v) || !v.every((c) => isObj(c) && str(c['name']) !== null)) return null;
  return html`<h3>${title}</h3>
<ul>${(v as Json[]).map((c) => html`<li>${outcome(str(c['status']), null)} <code>${str(c['name'])}</code>\
${str(c['message']) !== null && html`: ${str(c['message'])}`}</li>`)}</ul>`;
}

/** `details.syncs` of a distribution server: each sync with its schedule, state, last and next runs. */
function syncs(v: unknown): SafeHtml | null {
  if (!Array.isArray(v) || !v.every((s) => isObj(s) && str(s['name']) !== null)) return null;
  const list = v as Json[];
  if (list.length === 0) return html`<h3>Syncs</h3><p>No sync is declared.</p>`;
  const failed = (s: Json) => (isObj(s['failed']) ? str(s['failed']['message']) : null);
  const table = html`<table><caption>Syncs</caption>
${columns(['Sync', 'Content', 'Console', 'Schedule', 'State', 'Last run', 'Next run', 'Message'])}
<tbody>
${list.map((s) => html`<tr><th scope="row">${str(s['name'])}</th>\
<td>${str(s['content']) ?? compactJson(s['content'])}</td>\
<td>${str(s['owner'])}${s['owned'] === true ? ' (this console)' : ''}</td><td>${str(s['schedule'])}</td>\
<td>${str(s['state'])}</td><td>${when(str(s['lastRun']))}</td><td>${when(str(s['nextRun']))}</td>\
<td>${failed(s) !== null && html`failed: ${failed(s)} `}${str(s['message'])}</td></tr>
`)}</tbody></table>`;
  return html`<h3>Syncs</h3>
${scroller('Syncs', table)}`;
}

/** Missing or outdated files listed per content set; more are counted, not drawn. */
const FILES_SHOWN = 200;

/** `details.content` of a distribution server: per content set, the files missing or outdated. */
function content(v: unknown): SafeHtml | null {
  if (!isObj(v) || !Object.values(v).every(isObj)) return null;
  const sets = Object.entries(v as Record<string, Json>);
  if (sets.length === 0) return html`<h3>Content</h3><p>No content set is synced.</p>`;
  return html`${sets.map(([set, r]) => {
    const head = html`<h3>Content: ${set}</h3>`;
    const console = str(r['console']);
    const against = console !== null ? html` compared with console <code>${console}</code>` : '';
    if (!Array.isArray(r['files'])) {
      return html`${head}<p>Not reported${against}: ${str(r['unknown']) ?? compactJson(r)}</p>`;
    }
    const files = (r['files'] as unknown[]).filter(isObj);
    const count = html`<p>${num(r['missing']) ?? 0} missing, ${num(r['outdated']) ?? 0} outdated${against}.</p>`;
    if (files.length === 0) return html`${head}${count}`;
    const table = html`<table><caption>Files missing or outdated in ${set}</caption>
${columns(['File', 'Expected sha256', 'Found'])}
<tbody>
${files.slice(0, FILES_SHOWN).map((f) => html`<tr><th scope="row"><code>${str(f['path'])}</code></th>\
<td><code>${str(f['expected'])}</code></td>\
<td>${str(f['found']) === null ? 'missing' : html`<code>${str(f['found'])}</code>`}</td></tr>
`)}</tbody></table>`;
    return html`${head}${count}${scroller(`Files of ${set}`, table)}\
${files.length > FILES_SHOWN && html`<p>… and ${files.length - FILES_SHOWN} more files.</p>`}`;
  })}`;
}

function conditions(d: TargetDetail): SafeHtml {
  if (d.conditions.length === 0) return html`<p>No conditions yet: the target has no status.</p>`;
  const table = html`<table><caption>Conditions</caption>
${columns(['Type', 'Status', 'Reason', 'Message', 'Since'])}
<tbody>
${d.conditions.map((c) => html`<tr><th scope="row">${c.type}</th><td>${c.status}</td><td>${c.reason}</td>\
<td>${c.message}</td><td>${when(c.lastTransitionTime)}</td></tr>
`)}</tbody></table>`;
  return scroller('Conditions', table);
}
