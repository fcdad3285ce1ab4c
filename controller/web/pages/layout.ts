/**
 * The frame of every web page (issue 15) and the small parts several pages draw the same way:
 * phase badges, times, commit ids, links to targets, scrolling tables.
 *
 * The server sends a Content-Security-Policy that allows only this origin's own files and no
 * inline style or script: no `style=` attribute, no inline `<script>`, no `on…=` handler, no
 * URL to anywhere else (no CDN, no web font). The pages work without JavaScript; live.js only
 * enhances them (live updates where `<main>` says `data-live="1"`, the members filter, copy buttons).
 */
import type { Kind } from '../../../reconcilers/model/desired.ts';
import type { PageContext, ViewPhase } from '../view-model.ts';
import { assetUrl } from './assets.ts';
import { html, raw, segment, SafeHtml, type Html } from './html.ts';

export const PRODUCT = 'versiond';

export interface PageOptions {
  /** Live updates: live.js re-fetches the page when a status event arrives. */
  readonly live?: boolean;
  /** The target the page is about (`account/acme`): live.js then ignores other targets' events. */
  readonly target?: string;
  /** The navigation entry marked as the current page. */
  readonly nav?: 'overview' | 'plan';
}

/** The whole document. `body` is the content of `<main>`, which live.js replaces on an update. */
export function page(title: string, ctx: PageContext, body: SafeHtml, opts: PageOptions = {}): string {
  const current = (which: PageOptions['nav']) => (opts.nav === which ? raw(' aria-current="page"') : '');
  const live = opts.live ? html` data-live="1"${opts.target !== undefined && html` data-target="${opts.target}"`}` : '';
  const viewer =
    ctx.viewer !== null &&
    html`<form class="who" method="post" action="/logout"><span>Signed in as <b>${ctx.viewer}</b></span>
<button type="submit">Sign out</button></form>`;
  return `<!doctype html>
${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} — ${PRODUCT}</title>
<link rel="stylesheet" href="${assetUrl('/assets/style.css')}">
<script src="${assetUrl('/assets/live.js')}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">${PRODUCT}</a>
<nav aria-label="Main"><ul><li><a href="/"${current('overview')}>Overview</a></li>\
<li><a href="/plan"${current('plan')}>Plan</a></li></ul></nav>
<p class="rev">Acting on ${ctx.revision === null ? 'no revision yet' : commitLink(ctx.revision, ctx)}</p>
${viewer}
</header>
<p id="live" class="live" role="status" aria-live="polite"></p>
<main id="main" tabindex="-1"${live}>
${body}
</main>
</body>
</html>
`}`;
}

// ------------------------------------------------------------------ parts shared by the pages

const PHASES: ReadonlySet<string> = new Set([
  'Converged', 'Progressing', 'Waiting', 'Blocked', 'Failed', 'Paused', 'Pending',
]);

/**
 * The class that colours a phase: the phase word itself for the known ones, `ph` for anything
 * else. Unquoted where it is used (the overview counts bytes), so only a word from the list.
 */
export function phaseClass(phase: ViewPhase | string): SafeHtml {
  return raw(PHASES.has(phase) ? phase : 'ph');
}

/** The phase word in a coloured badge: the word is always written, the colour only repeats it. */
export function phaseBadge(phase: ViewPhase | string | null): SafeHtml {
  const word = phase ?? 'Pending';
  return html`<b class=${phaseClass(word)}>${word}</b>`;
}

/** Section headings and labels of the kinds, in the order the overview lists them. */
export const KIND_TITLES: Readonly<Record<string, { readonly one: string; readonly many: string }>> = {
  Domain: { one: 'Domain', many: 'Domains' },
  Account: { one: 'Account', many: 'Accounts' },
  DistributionServer: { one: 'Distribution server', many: 'Distribution servers' },
  HACluster: { one: 'HA cluster', many: 'HA clusters' },
};

export function kindTitle(kind: Kind | string): string {
  return KIND_TITLES[kind]?.one ?? kind;
}

/** `/targets/{kind lower-case}/{name}`, the name percent-encoded: safe even in an unquoted attribute. */
export function targetHref(kind: Kind | string, name: string): string {
  return `/targets/${segment(kind.toLowerCase())}/${segment(name)}`;
}

/** An ISO-8601 instant as `2026-05-04 09:30:12 UTC` in a `<time>`; text that does not read as one is shown as it is. */
export function when(iso: string | null): SafeHtml {
  if (iso === null) return html`—`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return html`${iso}`;
  const text = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  return html`<time datetime="${iso}">${text} UTC</time>`;
}

const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/i;

/** A commit id as people read it: 7 digits. Anything that is not an id (a folder) is kept whole. */
export function shortCommit(id: string): string {
  return COMMIT.test(id) ? id.slice(0, 7) : id;
}

/**
 * A commit id, short, the full id in its title; linked through `--commit-url` when one is set
 * (and is a web or site-relative address: nothing like `javascript:` ever becomes a link).
 */
export function commitLink(id: string, ctx: PageContext): SafeHtml {
  const code = html`<code title="${id}">${shortCommit(id)}</code>`;
  if (ctx.commitUrl === null || !/^(?:https?:\/\/|\/(?![/\\]))/i.test(ctx.commitUrl)) return code;
  return html`<a href="${ctx.commitUrl.split('{commit}').join(segment(id))}">${code}</a>`;
}

/**
 * A table that scrolls sideways on a narrow screen instead of widening the page. The scrolling
 * box is focusable and named, so it can be scrolled with the keyboard too.
 */
export function scroller(label: string, table: Html): SafeHtml {
  return html`<div class="scroll" tabindex="0" role="region" aria-label="${label}">${table}</div>`;
}

/** A table's header row: `<th scope="col">` each; the columns named in `filtered` are marked for live.js's filter. */
export function columns(names: readonly string[], filtered: readonly string[] = []): SafeHtml {
  const th = (name: string) => html`<th scope="col"${filtered.includes(name) && raw(' data-filter')}>${name}</th>`;
  return html`<thead><tr>${names.map(th)}</tr></thead>`;
}

/** `1 member`, `3 members`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
