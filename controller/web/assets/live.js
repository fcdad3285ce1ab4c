/*
 * versiond web view (issue 15): progressive enhancement only. Every page works without this
 * script; with it:
 *  1. pages whose <main> has data-live="1" follow the controller's server-sent events and
 *     redraw <main> from a fresh copy of the page (focus, filter text and caret kept);
 *  2. the members table of a target page filters as you type;
 *  3. each approval snippet (<pre data-copy>) gets a Copy button.
 * Plain ES2020 for the browser, no build step, nothing inline (the CSP allows only 'self').
 */
(() => {
  'use strict';

  const main = document.getElementById('main');
  const status = document.getElementById('live');
  if (!main) return;

  /** Says something through the polite live region (cleared first, so the same words are announced again). */
  function say(text) {
    if (!status) return;
    status.textContent = '';
    if (text) window.setTimeout(() => { status.textContent = text; }, 50);
  }

  // ---------------------------------------------------------------- 2. the members filter

  /** The same rule as the server's filter: a case-insensitive substring of name, agent, role, state or message. */
  function filterMembers(root) {
    const input = root.querySelector('input[name=member]');
    const table = root.querySelector('table#member-table');
    if (!input || !table) return;
    const query = input.value.trim().toLowerCase();
    const columns = [];
    table.querySelectorAll('thead th').forEach((th, i) => { if (th.hasAttribute('data-filter')) columns.push(i); });
    const rows = table.tBodies[0] ? Array.from(table.tBodies[0].rows) : [];
    let shown = 0;
    for (const tr of rows) {
      const text = columns.map((i) => (tr.cells[i] ? tr.cells[i].textContent : '')).join('\n').toLowerCase();
      const match = query === '' || text.includes(query);
      tr.hidden = !match;
      if (match) shown += 1;
    }
    const count = root.querySelector('#members-count');
    if (count) count.textContent = `${shown} of ${rows.length} members`;
  }

  main.addEventListener('input', (event) => {
    if (event.target instanceof HTMLInputElement && event.target.name === 'member') filterMembers(main);
  });
  // With the script, filtering needs no round trip: keep the filter in the address (so a
  // reload and a live update show the same rows) and stay on the page.
  main.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.querySelector('input[name=member]')) return;
    event.preventDefault();
    const input = form.querySelector('input[name=member]');
    const url = new URL(location.href);
    if (input.value.trim() === '') url.searchParams.delete('member');
    else url.searchParams.set('member', input.value);
    history.replaceState(history.state, '', url);
    filterMembers(main);
  });

  // ---------------------------------------------------------------- 3. copy buttons

  function addCopyButtons(root) {
    root.querySelectorAll('pre[data-copy]').forEach((pre) => {
      const next = pre.nextElementSibling;
      if (next && next.classList.contains('copy')) return;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy';
      button.textContent = 'Copy';
      const what = pre.getAttribute('data-copy');
      if (what) button.setAttribute('aria-label', `Copy ${what}`);
      button.addEventListener('click', () => copy(pre, button));
      pre.after(button);
    });
  }

  async function copy(pre, button) {
    const text = pre.textContent || '';
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        copied = true;
      }
    } catch (_) {
      copied = false;
    }
    if (!copied) {
      // No clipboard API (plain HTTP, or refused): select the text so Ctrl+C / Cmd+C copies it.
      const range = document.createRange();
      range.selectNodeContents(pre);
      const selection = window.getSelection();
      if (selection) {
        selection.removeAllRanges();
        selection.addRange(range);
      }
      try {
        copied = document.execCommand('copy');
      } catch (_) {
        copied = false;
      }
    }
    const said = copied ? 'Copied' : 'Selected: press Ctrl+C to copy';
    button.textContent = copied ? 'Copied' : 'Selected';
    say(said);
    window.setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  }

  filterMembers(main);
  addCopyButtons(main);

  // ---------------------------------------------------------------- 1. live updates

  if (main.getAttribute('data-live') !== '1' || !('EventSource' in window) || !('DOMParser' in window)) return;
  const pageTarget = main.getAttribute('data-target');

  const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]';

  /** How to find the focused element again in the new content: id, name, link address, else its position. */
  function focusKey() {
    const el = document.activeElement;
    if (!el || el === main || !main.contains(el)) return null;
    if (el.id) return { id: el.id };
    if (el.getAttribute('name')) return { name: el.getAttribute('name') };
    if (el.getAttribute('href')) return { href: el.getAttribute('href') };
    return { index: Array.from(main.querySelectorAll(FOCUSABLE)).indexOf(el) };
  }

  function findFocus(key) {
    if (key.id) return document.getElementById(key.id);
    if (key.name) return main.querySelector(`[name="${CSS.escape(key.name)}"]`);
    if (key.href) return main.querySelector(`[href="${CSS.escape(key.href)}"]`);
    return main.querySelectorAll(FOCUSABLE)[key.index] || null;
  }

  function swap(fresh) {
    const key = focusKey();
    const input = main.querySelector('input[name=member]');
    const kept = input ? { value: input.value, start: input.selectionStart, end: input.selectionEnd } : null;
    const open = Array.from(main.querySelectorAll('details')).map((d) => d.open);

    main.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));

    main.querySelectorAll('details').forEach((d, i) => { if (i < open.length) d.open = open[i]; });
    const next = main.querySelector('input[name=member]');
    if (next && kept) next.value = kept.value;
    filterMembers(main);
    addCopyButtons(main);
    const target = key && findFocus(key);
    if (target instanceof HTMLElement) {
      target.focus({ preventScroll: true });
      if (target === next && kept && kept.start !== null) next.setSelectionRange(kept.start, kept.end);
    }
  }

  let timer = 0;
  let first = 0;
  let busy = false;
  let again = false;
  let stale = false;

  async function refresh() {
    if (document.hidden) {
      // A background tab fetches nothing; it catches up once when it is shown again.
      stale = true;
      return;
    }
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const response = await fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      if (!response.ok) {
        say(`live update failed (${response.status})`);
        return;
      }
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = doc.getElementById('main');
      // Signed out meanwhile (the login page came back), or another page: leave this one as it is.
      if (!fresh || fresh.getAttribute('data-live') !== '1') return;
      swap(fresh);
      say('updated');
    } catch (_) {
      say('live update failed');
    } finally {
      busy = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  /**
   * Many events in a burst (a pass over the fleet) make one refresh, 300 ms after the last;
   * a steady stream of events still redraws at least every 2 s.
   */
  function schedule() {
    const now = Date.now();
    if (!timer) first = now;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      timer = 0;
      refresh();
    }, Math.max(0, Math.min(300, first + 2000 - now)));
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && stale) {
      stale = false;
      schedule();
    }
  });

  const events = new EventSource('/v1/events');
  let paused = false;
  events.addEventListener('status', (event) => {
    if (pageTarget) {
      try {
        if (JSON.parse(event.data).target !== pageTarget) return;
      } catch (_) {
        // Unreadable data: refresh anyway.
      }
    }
    schedule();
  });
  events.addEventListener('reset', schedule);
  events.addEventListener('open', () => {
    if (!paused) return;
    // Back after a break: events were missed, so redraw once.
    paused = false;
    schedule();
  });
  events.addEventListener('error', () => {
    paused = true;
    // The browser reconnects by itself (the server sends retry:) unless the answer was an error.
    say(events.readyState === EventSource.CLOSED
      ? 'live updates stopped: reload the page to resume'
      : 'live updates paused — reconnecting');
  });
})();
