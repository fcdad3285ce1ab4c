/**
 * The web view in a real Chromium (issue 15), against the embedded demo run as a real
 * process (`npm start -- --fast --keep-running`): a controller, the simulated fleet and the
 * example repository. The screenshots of the README are written here, from this run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as versiond } from '../../controller/cli/main.ts';
import { collectPageErrors, launchBrowser, runAxe, seriousViolations } from '../helpers/browser.ts';
import { eventually } from '../helpers/controller-fixture.ts';
import { ROOT } from '../helpers/git-repo.ts';

const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');

let demo: ChildProcess;
let out = '';
let dir: string;
let url: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'versiond-web-'));
  demo = spawn(process.execPath, [
    join(ROOT, 'agent/demo/bin.js'), '--fast', '--keep-running', '--dir', join(dir, 'demo'),
  ], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  demo.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  [url, browser] = await Promise.all([
    eventually(() => /web view +(http:\/\/\S+?)\/? /.exec(out)?.[1], 20_000,
      `the demo's web view URL; output:\n${out}`),
    launchBrowser(),
  ]);
}, 40_000);

afterAll(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    demo.kill('SIGTERM');
    await new Promise((r) => demo.once('close', r));
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function open(path: string): Promise<{ page: Page; errors: ReturnType<typeof collectPageErrors> }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const errors = collectPageErrors(page);
  const res = await page.goto(`${url}${path}`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  return { page, errors };
}

const git = (cwd: string, ...args: string[]) => execFileSync('git',
  ['-c', 'user.name=Rita Reviewer', '-c', 'user.email=rita@example.com', ...args],
  { cwd, encoding: 'utf8', stdio: 'pipe' });

const text = (page: Page, selector = 'main') => page.$eval(selector, (e) => (e as HTMLElement).innerText);

describe('the web view in Chromium, on the running demo', () => {
  it('shows a status change on the overview without a reload', async () => {
    const { page, errors } = await open('/');
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    const before = await text(page);
    // The demo's rollouts move on their own: some target's line changes while we look.
    await eventually(async () => (await text(page)) !== before, 30_000, 'the overview to change by itself');
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 45_000);

  it('lists every target of the example with its phase, persons-must-act first', async () => {
    await eventually(() => /Settled after/.test(out), 60_000, `the demo to settle; output:\n${out.slice(-2000)}`);
    const { page, errors } = await open('/');
    const main = await text(page);
    for (const name of [
      'print-paris', 'print-branches', 'acme-w360', 'globex-cebox', 'ds-paris', 'ds-berlin', 'ums-prod',
    ]) {
      expect(main).toContain(name);
    }
    expect(main).toMatch(/Converged/);
    expect(main.indexOf('A person must act')).toBeLessThan(main.indexOf('ds-berlin'));
    const act = await text(page, 'main section');
    expect(act).toContain('ds-berlin');
    expect(act).toMatch(/CredentialUnavailable|expired/);
    expect(seriousViolations(await runAxe(page))).toEqual([]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('shows a gate opening on the target page without a reload, ' +
    'once a push starts a rollout through waves', async () => {
    const { page, errors } = await open('/targets/account/acme-w360');
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    expect(await text(page)).not.toMatch(/AwaitingApproval/);
    // Production moves to 4.3.0, which converged on the test ring: wave 1 goes, wave 2 waits for a reviewer.
    const work = join(dir, 'demo', 'work');
    for (const [file, from, to] of [
      ['releases/w360-core-4.2.1.yaml', 'tags: ["stable"]', 'tags: []'],
      ['releases/w360-core-4.3.0.yaml', 'tags: ["4.3-test"]', 'tags: ["4.3-test", "stable"]'],
    ] as const) {
      const path = join(work, file);
      writeFileSync(path, readFileSync(path, 'utf8').replace(from, to));
    }
    git(work, 'commit', '-qam', 'w360-core: stable is 4.3.0');
    // The controller commits status to the same branch meanwhile: rebase onto it, as a person would.
    await eventually(() => {
      git(work, 'pull', '-q', '--rebase', 'origin', 'main');
      try {
        git(work, 'push', '-q', 'origin', 'HEAD:main');
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'the push to land');
    await eventually(async () => /AwaitingApproval/.test(await text(page)), 60_000, 'wave 2 to wait for its approval');
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('shows why a member waits, and an approval snippet whose digest is the one versiond plan prints', async () => {
    const { page, errors } = await open('/targets/account/acme-w360');
    const waitingRow = await page.$$eval('main table tr', (rows) =>
      rows.map((r) => (r as HTMLElement).innerText).find((t) => /\bWaiting\b/.test(t) && /wave/i.test(t)));
    expect(waitingRow, 'a members row in state Waiting that says which wave it waits for').toBeDefined();
    const snippet = await page.$eval('pre[data-copy]', (e) => e.textContent ?? '');
    const digest = /sha256:[0-9a-f]{64}/.exec(snippet)?.[0];
    expect(digest).toBeDefined();

    let json = '';
    const code = await versiond(
      ['plan', '--repo', join(dir, 'demo', 'origin.git'), '--observed', `${url}/v1/observed`, '--format', 'json',
        '--console-id', 'console-hq'],
      { stdout: { write: (s: string) => (json += s) }, stderr: { write: () => true } },
    );
    expect(code).toBe(0);
    type Waves = { waves: { approval?: { digest: string; approved: boolean } }[] };
    const plan = JSON.parse(json) as { targets: { target: string; rollout?: { waves?: Waves } }[] };
    const gates = plan.targets.find((t) => t.target === 'account/acme-w360')!.rollout!.waves!.waves
      .flatMap((w) => (w.approval && !w.approval.approved ? [w.approval.digest] : []));
    expect(gates).toContain(digest);

    expect(seriousViolations(await runAxe(page))).toEqual([]);
    // The top of the page: the phase, why it waits, the vendor order, the wave to approve.
    await page.screenshot({ path: join(SCREENSHOTS, 'target.png'), clip: { x: 0, y: 0, width: 1280, height: 1500 } });
    expect(errors).toEqual([]);
    await page.close();
  }, 45_000);

  it('filters members as you type, and without JavaScript through the form', async () => {
    const { page } = await open('/targets/account/acme-w360');
    const visible = () => page.$$eval('main table tbody tr', (rows) =>
      rows.filter((r) => (r as HTMLElement).offsetParent !== null
        && /acme-/.test((r as HTMLElement).innerText)).length);
    const all = await visible();
    await page.type('input[name=member]', 'laptop');
    await eventually(async () => (await visible()) < all, 3000, 'the filter to hide rows');
    await page.close();

    const noJs = await browser.newPage();
    await noJs.setJavaScriptEnabled(false);
    await noJs.goto(`${url}/targets/account/acme-w360?member=laptop`);
    const rows = await noJs.$$eval('main table tbody tr',
      (r) => r.map((x) => ({ text: (x as HTMLElement).textContent ?? '', hidden: (x as HTMLElement).hidden })));
    const members = rows.filter((r) => /acme-(ws|laptop|wrs)/.test(r.text) && !r.hidden).map((r) => r.text);
    expect(members.length).toBeGreaterThan(0);
    for (const r of members) expect(r).toMatch(/laptop/);
    await noJs.close();
  });

  it('reads the history of a target and plans a ref, keyboard first and accessible', async () => {
    const { page, errors } = await open('/targets/hacluster/ums-prod/history');
    expect(await text(page)).toMatch(/Converged/);
    expect(seriousViolations(await runAxe(page))).toEqual([]);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent ?? '')).toMatch(/skip/i);
    await page.goto(`${url}/plan?rev=main`);
    expect(await text(page)).toMatch(/acme-w360/);
    expect(seriousViolations(await runAxe(page))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
