import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, collectPageErrors, launchBrowser, runAxe, seriousViolations } from '../helpers/browser.ts';

// Checks the real-browser harness itself (test/helpers/browser.ts) against a tiny server that
// sends the same strict CSP as the web view: Chromium starts, same-origin scripts run, inline
// ones are blocked and reported, axe-core runs under that CSP and does find real problems.

const CSP = "default-src 'none'; style-src 'self'; script-src 'self'";

const page = (body: string, head = '') =>
  `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>versiond harness</title>${head}</head>\n` +
  `<body>${body}</body></html>\n`;

const FILES: Record<string, { type: string; body: string }> = {
  '/': {
    type: 'text/html; charset=utf-8',
    body: page(
      '<main><h1>Fleet versions</h1><p id="status">loading</p>' +
        '<form><label for="filter">Filter</label> <input id="filter" name="filter" type="search"></form></main>',
      '<link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script>',
    ),
  },
  '/app.js': { type: 'text/javascript', body: "document.getElementById('status').textContent = 'ready';\n" },
  '/style.css': { type: 'text/css', body: 'body { color: #111; background: #fff; font: 16px sans-serif; }\n' },
  // Accessibility failures on purpose: an input without a label, light grey on white.
  '/bad': {
    type: 'text/html; charset=utf-8',
    body: page(
      '<main><h1>Bad</h1><p class="faint">Hard to read</p><input type="text"></main>',
      '<link rel="stylesheet" href="/bad.css">',
    ),
  },
  '/bad.css': { type: 'text/css', body: '.faint { color: #ccc; background: #fff; }\n' },
  // A stylesheet that does not exist, and an image the CSP blocks (img-src falls back to 'none').
  '/broken': {
    type: 'text/html; charset=utf-8',
    body: page(
      '<main><h1>Broken</h1><img src="/logo.png" alt="logo"></main>',
      '<link rel="stylesheet" href="/missing.css">',
    ),
  },
  // An inline script, which the CSP must block (and the harness must report).
  '/inline': {
    type: 'text/html; charset=utf-8',
    body: page('<main><h1>Inline</h1><p id="status">untouched</p>' +
      '<script>document.getElementById("status").textContent = "inline ran";</script></main>'),
  },
};

let server: Server;
let origin: string;
let browser: Browser;
let shotDir: string;
const pages: Page[] = [];

async function open(path: string): Promise<{ tab: Page; errors: ReturnType<typeof collectPageErrors> }> {
  const tab = await browser.newPage();
  pages.push(tab);
  const errors = collectPageErrors(tab);
  const response = await tab.goto(origin + path, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  return { tab, errors };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const file = FILES[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-security-policy': CSP, 'cache-control': 'no-store' })
      .end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  shotDir = mkdtempSync(join(tmpdir(), 'versiond-browser-'));

  const started = performance.now();
  browser = await launchBrowser();
  console.log(
    `${await browser.version()} (${chromiumPath()}) launched in ${Math.round(performance.now() - started)} ms`,
  );
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((tab) => tab.close()));
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (shotDir) rmSync(shotDir, { recursive: true, force: true });
});

describe('browser harness', () => {
  it('loads a page under a strict CSP, runs its same-origin script, and axe finds nothing serious', async () => {
    const { tab, errors } = await open('/');
    expect(await tab.$eval('#status', (el) => el.textContent)).toBe('ready');

    const violations = await runAxe(tab);
    expect(seriousViolations(violations)).toEqual([]);
    expect(violations.map((v) => v.id)).toEqual([]);
    expect(errors).toEqual([]);

    const shot = join(shotDir, 'index.png');
    await tab.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('axe reports an unlabelled input and poor contrast as serious', async () => {
    const { tab, errors } = await open('/bad');
    const serious = seriousViolations(await runAxe(tab));
    expect(serious.map((line) => line.split(' ')[0])).toEqual(expect.arrayContaining(['label', 'color-contrast']));
    expect(serious.find((line) => line.startsWith('label '))).toMatch(/^label \[critical\] .+: input$/);
    expect(serious.find((line) => line.startsWith('color-contrast '))).toMatch(/^color-contrast \[serious\] .+: p$/);
    expect(errors).toEqual([]);
  });

  it('keeps the page CSP in force: an inline script is blocked and reported as a console error', async () => {
    const { tab, errors } = await open('/inline');
    expect(await tab.$eval('#status', (el) => el.textContent)).toBe('untouched');
    expect(errors).toEqual([{
      kind: 'console',
      message: expect.stringContaining("violates the following Content Security Policy directive 'script-src 'self''"),
    }]);
    // axe still runs on such a page (it is evaluated over the DevTools protocol, not inlined).
    expect(seriousViolations(await runAxe(tab))).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('reports failed requests and HTTP errors', async () => {
    const { errors } = await open('/broken');
    expect(errors).toEqual(
      expect.arrayContaining([
        { kind: 'http', message: `GET ${origin}/missing.css: HTTP 404` },
        { kind: 'requestfailed', message: expect.stringMatching(/^GET .*\/logo\.png: /) },
      ]),
    );
  });

  it('says how to install Chromium when CHROMIUM_PATH points nowhere', () => {
    const saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    try {
      expect(() => chromiumPath()).toThrow(/CHROMIUM_PATH=\/nonexistent\/chromium does not exist/);
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = saved;
    }
  });
});
