import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainRepo, eventually } from '../helpers/controller-fixture.ts';
import { ROOT } from '../helpers/git-repo.ts';
import { TestCa } from '../helpers/tls-certs.ts';
import { startHarness, type Harness } from '../fleet/helpers/harness.ts';

// Issue 13, item 1: versiond-fleet against an HTTPS controller with --ca, --cert and --key —
// one certificate naming every agent, also served by the bidirectional member's push endpoint.
let ca: TestCa | undefined;
let harness: Harness | undefined;
afterAll(async () => {
  await harness?.close();
  ca?.dispose();
});

describe('versiond-fleet over TLS', () => {
  it('reports with its certificate and takes pushes over HTTPS', async () => {
    ca = TestCa.create();
    const server = ca.issue('server', 'localhost', { san: ['IP:127.0.0.1'] });
    const fleetCert = ca.issue('fleet', 'versiond-fleet', { client: true, server: true,
      san: ['DNS:wd-master', 'DNS:wd-s1', 'DNS:wd-s2', 'IP:127.0.0.1'] });
    const h = (harness = await startHarness(domainRepo(), {
      controller: { tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.certPath } },
    }));
    const observed = join(h.fleetState, 'observed.json');
    const at = (agent: string, version: string) =>
      ({ agent, components: [{ product: 'watchdoc', version, state: 'running' }] });
    const agents = [at('wd-master', '6.1.4'), at('wd-s1', '6.1.3'), at('wd-s2', '6.1.3')];
    writeFileSync(observed, JSON.stringify({ agents }));
    const child = spawn(process.execPath, [join(ROOT, 'agent/fleet/bin.js'), '--controller', h.controller.url,
      '--repo', h.repo.dir, '--controller-state-dir', h.controllerState, '--state-dir', h.fleetState,
      '--observed', observed, '--artifact-mirror', h.packages.mirror,
      '--ca', ca.certPath, '--cert', fleetCert.cert, '--key', fleetCert.key],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await eventually(() => ['wd-master', 'wd-s1', 'wd-s2'].every((a) => h.controller.inventory.observations.has(a)),
        10_000, `the three agents to report (fleet output: ${output})`);
      const metrics = () => h.controller.metrics.registry.render();
      const delivered = /versiond_command_pushes_total\{outcome="delivered"\} [1-9]/;
      await eventually(async () => delivered.test(await metrics()), 10_000,
        `a push delivered to wd-s1 (fleet output: ${output})`);
      expect(await metrics()).not.toMatch(/versiond_command_pushes_total\{outcome="failed"\}/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
