/**
 * Sign-in with a viewer token (issue 15). A person reading the web view from another machine
 * pastes the token `versiond viewers add NAME` printed; the form posts it to `/login`, which
 * sets the session and goes back to `next` (a path on this site, checked by the server).
 */
import type { PageContext } from '../view-model.ts';
import { html } from './html.ts';
import { page } from './layout.ts';

export function renderLoginPage(ctx: PageContext, error: string | null, next: string): string {
  const body = html`<h1>Sign in</h1>
<p>Reading this controller's web view from another machine needs a viewer token: the one
<code>versiond viewers add NAME</code> printed for you. Ask whoever runs the controller for one.</p>
${error !== null && html`<div class="alert" role="alert"><p>${error}</p></div>`}
<form class="stack" method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label for="token">Viewer token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required spellcheck="false">
<p><button type="submit">Sign in</button></p>
</form>`;
  return page('Sign in', ctx, body);
}
