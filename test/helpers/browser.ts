import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Result as AxeResult } from 'axe-core';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/**
 * Real-browser testing for the web view: Debian's Chromium (`apt-get install -y chromium`; CI's
 * `.ci/run` installs it when missing) driven by puppeteer-core, which never downloads a browser,
 * plus axe-core for accessibility. Nothing here touches the network except the page under test.
 */

export type { AxeResult };

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium binary: `CHROMIUM_PATH` if set, else Debian's / Ubuntu's usual paths. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist; unset it or point it at a Chromium binary`);
    }
    return fromEnv;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `No Chromium found (looked at ${CANDIDATES.join(', ')}). The browser tests need it: ` +
        'run `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return found;
}

/**
 * Headless Chromium for tests. Close it in `afterAll`. `--no-sandbox` only as root (Chromium
 * refuses to start as root with its sandbox); `--disable-dev-shm-usage` because containers often
 * have a tiny /dev/shm; `--disable-gpu` as there is none. A short protocol timeout makes a hung
 * page fail the test with a puppeteer error well before vitest's own timeout.
 */
export async function launchBrowser(
  options: { protocolTimeoutMs?: number; args?: readonly string[] } = {},
): Promise<Browser> {
  const args = [
    '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check', ...(options.args ?? []),
  ];
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args,
    timeout: 20_000,
    protocolTimeout: options.protocolTimeoutMs ?? 15_000,
  });
}

let axeSourceCache: string | undefined;
function axeSource(): string {
  // Read from node_modules: no CDN, no network.
  axeSourceCache ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSourceCache;
}

/**
 * Runs axe-core on the page as it is now and returns its violations (all impacts; see
 * `seriousViolations`). `context` is a CSS selector to limit the check (default: the document).
 *
 * CSP: the web view sends `script-src 'self'`, so `page.addScriptTag({ content })` (an inline
 * <script>) is blocked: axe never loads and the page logs a CSP error. `page.setBypassCSP(true)`
 * works, but it switches the page's CSP off for the whole page, so a test would no longer see the
 * CSP violations the real page would have (an inline script would silently run). Instead the
 * source is evaluated through the DevTools protocol (`page.evaluate(source)`, Runtime.evaluate),
 * which CSP does not govern; the page's own CSP stays in force. Re-run after each navigation.
 */
export async function runAxe(page: Page, context?: string): Promise<AxeResult[]> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: { run?: unknown } }).axe?.run === 'function');
  if (!loaded) await page.evaluate(axeSource());
  return page.evaluate(async (selector) => {
    const axe = (globalThis as unknown as { axe: typeof import('axe-core') }).axe;
    const results = await axe.run(selector ?? document, { resultTypes: ['violations'] });
    return results.violations;
  }, context ?? null);
}

/**
 * The violations of impact `serious` or `critical`, one line each (id, impact, help, up to three
 * offending elements), for `expect(seriousViolations(v)).toEqual([])`.
 */
export function seriousViolations(violations: readonly AxeResult[]): string[] {
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const targets = v.nodes.slice(0, 3)
        .map((node) => node.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' >>> '));
      const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
      return `${v.id} [${v.impact}] ${v.help}: ${targets.join(', ')}${more}`;
    });
}

export interface PageError {
  kind: 'console' | 'pageerror' | 'requestfailed' | 'http';
  message: string;
}

/**
 * Starts recording what went wrong on the page: console errors (CSP violations show up here),
 * uncaught exceptions, requests that failed (network errors, blocked by CSP) and responses with
 * an HTTP status >= 400. Call before `page.goto`. The returned array fills up as things happen;
 * assert `expect(errors).toEqual([])` at the end.
 */
export function collectPageErrors(page: Page): PageError[] {
  const errors: PageError[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location().url;
    errors.push({ kind: 'console', message: where ? `${msg.text()} (${where})` : msg.text() });
  });
  page.on('pageerror', (error) => {
    errors.push({ kind: 'pageerror', message: error instanceof Error ? error.message : String(error) });
  });
  page.on('requestfailed', (request) => {
    errors.push({
      kind: 'requestfailed',
      message: `${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`,
    });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      errors.push({
        kind: 'http',
        message: `${response.request().method()} ${response.url()}: HTTP ${response.status()}`,
      });
    }
  });
  return errors;
}
