import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoArtifact, demoArtifactBytes } from '../../agent/demo-artifacts.ts';
import { PackageStore } from '../../agent/reference/package-store.ts';
import type { ArtifactRef } from '../../protocol/artifact.ts';

/**
 * A download that did not get the bytes is tried again before the command fails (found by
 * the fleet benchmark: a keep-alive socket the mirror had closed failed a `stage` for good).
 * Bytes that do not verify are never retried.
 */
describe('the agent downloads a package again after a network error, never after bad bytes', () => {
  let server: Server | undefined;
  const dirs: string[] = [];
  afterEach(() => {
    server?.close();
    server?.closeAllConnections();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function serve(answer: (n: number, res: import('node:http').ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
    let n = 0;
    server = createServer((_req, res) => answer(++n, res));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/watchdoc/6.1.4/watchdoc-6.1.4.pkg`, requests: () => n };
  }

  function artifact(url: string): ArtifactRef {
    return { release: 'watchdoc-6.1.4', product: 'watchdoc', version: '6.1.4', url, ...demoArtifact('watchdoc', '6.1.4') };
  }

  function store(): PackageStore {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-pkg-'));
    dirs.push(dir);
    return new PackageStore(dir);
  }

  it('a connection reset on the first attempt: the second gets the package', async () => {
    const bytes = demoArtifactBytes('watchdoc', '6.1.4');
    const s = await serve((n, res) => (n === 1 ? res.socket?.destroy() : res.writeHead(200, { 'content-length': bytes.length }).end(bytes)));
    const outcome = await store().obtain(artifact(s.url));
    expect(outcome.ok).toBe(true);
    expect(s.requests()).toBe(2);
  });

  it('a package that does not verify is refused at once, without another download', async () => {
    const bytes = Buffer.from(demoArtifactBytes('watchdoc', '6.1.4'));
    bytes[0] = bytes[0]! ^ 1;
    const s = await serve((_n, res) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes));
    const outcome = await store().obtain(artifact(s.url));
    expect(outcome).toMatchObject({ ok: false, insecure: true });
    expect(s.requests()).toBe(1);
  });

  it('a mirror that stays down: three attempts, then the command fails with the reason', async () => {
    const s = await serve((_n, res) => res.writeHead(503).end());
    const outcome = await store().obtain(artifact(s.url));
    expect(outcome).toMatchObject({ ok: false, insecure: false });
    expect(!outcome.ok && outcome.reason).toMatch(/HTTP 503/);
    expect(s.requests()).toBe(3);
  }, 10_000);

  it('a package folder removed while the agent runs is made again by the next download', async () => {
    const bytes = demoArtifactBytes('watchdoc', '6.1.4');
    const s = await serve((_n, res) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes));
    const packages = store();
    expect((await packages.obtain(artifact(s.url))).ok).toBe(true);
    rmSync(packages.dir, { recursive: true });
    const again = await packages.obtain(artifact(s.url));
    expect(again).toMatchObject({ ok: true, path: join(packages.dir, demoArtifact('watchdoc', '6.1.4').sha256) });
    expect(s.requests()).toBe(2);
  });
});
