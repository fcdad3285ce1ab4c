/**
 * Benchmark: planning an account (issue 5). Builds, in memory, an account of N devices behind
 * W repository servers (the shape the loader produces), an observed snapshot where every
 * WRS already runs and serves the new version and every device still runs the old one (the worst
 * case: every device needs a command), and times `reconcileAccount` on it.
 *
 *   node --expose-gc --import tsx bench/plan-account.bench.ts [--json] [--only governed|ungoverned]
 *
 * Goals: 100,000 devices behind 100 WRS <= 500 ms; 1,000,000 devices <= 5 s; <= 1 KB of
 * memory per device (heap the reconcile allocates and the result keeps). Governed (waves
 * [1, 5%, 25%, 100%], a gate, maxUnavailable, through the registry as `run` calls it, issue 16):
 * 100,000 devices <= 100 ms, 1,000,000 <= 1 s — only the open wave should cost per command.
 */
import os from 'node:os';
import { reconcileAccount } from '../reconcilers/account/reconcile.ts';
import { RECONCILERS } from '../reconcilers/registry.ts';
import type { Account, Release } from '../reconcilers/model/desired.ts';
import { ReleaseIndex } from '../reconcilers/model/release-index.ts';
import type { AgentObservation, Observed } from '../reconcilers/observed.ts';
import { round, summarize, table } from './stats.ts';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

function release(name: string, version: string, tags: string[]): Release {
  return {
    apiVersion: 'versiond/v1',
    kind: 'Release',
    metadata: { name },
    spec: {
      product: 'w360-core',
      version,
      artifact: { url: `https://vendor.example/${version}.pkg`, sha256: 'a'.repeat(64), size: 1, signature: { algorithm: 'ed25519', publicKey: `${'A'.repeat(43)}=`, value: `${'A'.repeat(86)}==` } },
      tags,
    },
    source: { path: `releases/${name}.yaml`, blob: '0'.repeat(40) },
  };
}

/** The rollout governance (issue 8) as reviewers would set it on a big account: waves, a gate, a cap. */
const WAVES = { steps: [1, '5%', '25%', '100%'], maxUnavailable: '10%', approvalRequired: [3] } as const;

function scenario(devices: number, wrsCount: number, waves = false) {
  const wrs = Array.from({ length: wrsCount }, (_, i) => ({ name: `wrs-${i}` }));
  const list = Array.from({ length: devices }, (_, i) => ({ name: `ws-${i}`, repositoryServer: i % 50 === 49 ? 'cloud' : `wrs-${i % wrsCount}` }));
  const account: Account = {
    apiVersion: 'versiond/v1',
    kind: 'Account',
    metadata: { name: 'big' },
    spec: {
      product: 'w360-core',
      defaultTag: 'stable',
      restartPolicy: 'Immediate',
      autoUpdate: false,
      repositoryServers: wrs,
      devices: list,
      ...(waves ? { rollout: { waves: { ...WAVES, steps: [...WAVES.steps], approvalRequired: [...WAVES.approvalRequired] } } } : {}),
    } as Account['spec'],
    source: { path: 'accounts/big.yaml', blob: '1'.repeat(40) },
  };
  const agents = new Map<string, AgentObservation>();
  const seen = new Date(NOW - 5000).toISOString();
  for (const w of wrs) agents.set(w.name, { agent: w.name, online: true, lastSeen: seen, components: [{ product: 'w360-core', version: '4.3.0', state: 'running', serves: ['4.2.1', '4.3.0'] }], results: [] });
  for (const d of list) agents.set(d.name, { agent: d.name, online: true, lastSeen: seen, components: [{ product: 'w360-core', version: '4.2.1', state: 'running' }], results: [] });
  const observed: Observed = { agents, artifacts: new Map([['w360-core-4.3.0', { release: 'w360-core-4.3.0', status: 'verified' }]]) };
  const releases = new ReleaseIndex([release('w360-core-4.2.1', '4.2.1', ['previous']), release('w360-core-4.3.0', '4.3.0', ['stable'])]);
  return { input: { object: account, releases, revision: 'c0ffee' }, observed };
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function measure(devices: number, wrs: number, runs: number, governed = false) {
  const { input, observed } = scenario(devices, wrs, governed);
  const reconcile = governed ? RECONCILERS.Account! : reconcileAccount;
  const times: number[] = [];
  let commands = 0;
  let allocatedPerDevice = 0;
  let retainedPerDevice = 0;
  for (let i = 0; i < runs; i++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const t = performance.now();
    const result = reconcile(input, observed, undefined, NOW);
    times.push(performance.now() - t);
    const after = process.memoryUsage().heapUsed;
    commands = result.commands.length;
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    if (i === 0) {
      allocatedPerDevice = (after - before) / devices;
      retainedPerDevice = retained / devices;
    }
    if (result.commands.length === 0) throw new Error('the scenario should need commands');
  }
  return { devices, wrs, governed, commands, ms: summarize(times), allocatedPerDevice: round(allocatedPerDevice, 0), retainedPerDevice: round(retainedPerDevice, 0) };
}

const json = process.argv.includes('--json');
// `--only governed` (or `ungoverned`) runs half of the cases, e.g. under --cpu-prof.
const only = process.argv[process.argv.indexOf('--only') + 1];
const CASES = [
  { devices: 100_000, runs: 7, governed: false, goal: 500 },
  { devices: 1_000_000, runs: 3, governed: false, goal: 5000 },
  { devices: 100_000, runs: 7, governed: true, goal: 100 },
  { devices: 1_000_000, runs: 3, governed: true, goal: 1000 },
].filter((c) => !process.argv.includes('--only') || (c.governed ? 'governed' : 'ungoverned') === only);
const results = CASES.map((c) => measure(c.devices, 100, c.runs, c.governed));
const goals = CASES.map((c) => c.goal);
process.stderr.write(`versiond plan benchmark (reconcileAccount, every device needs an update)\nmachine: ${os.cpus().length} cpus (${os.cpus()[0]?.model.trim()}), node ${process.version}\n\n`);
process.stderr.write(
  `${table(
    ['devices', 'WRS', 'waves (governed)', 'commands', 'min ms', 'median ms', 'goal ms', 'heap allocated B/device', 'heap kept by result B/device', 'verdict'],
    results.map((r, i) => [r.devices, r.wrs, r.governed ? 'yes' : 'no', r.commands, round(r.ms.min), round(r.ms.median), goals[i]!, r.allocatedPerDevice, r.retainedPerDevice, r.ms.median <= goals[i]! && r.retainedPerDevice <= 1024 ? 'ok' : 'MISSED']),
  )}\n`,
);
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
