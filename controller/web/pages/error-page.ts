/**
 * An error as a page (issue 15): a target that does not exist, a history cursor that no longer
 * reads, a server fault. It says what happened and links back to the overview; the status code
 * is the server's to send.
 */
import type { PageContext } from '../view-model.ts';
import { html, paragraphs } from './html.ts';
import { page } from './layout.ts';

export function renderErrorPage(status: number, title: string, message: string, ctx: PageContext): string {
  const body = html`<h1>${title}</h1>
${paragraphs(message)}
<p class="meta">HTTP ${status}</p>
<p><a href="/">Back to the fleet overview</a></p>`;
  return page(title, ctx, body);
}
