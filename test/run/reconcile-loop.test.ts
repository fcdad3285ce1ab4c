import { afterEach, describe, expect, it } from 'vitest';
import type { ReconcileResult, Reconciler, TargetStatus } from '../../reconcilers/contract.ts';
import type { Kind } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { ObservedInventory } from '../../controller/agents/inventory.ts';
import { Mailbox } from '../../controller/agents/mailbox.ts';
import { ReconcileLoop } from '../../controller/loop/reconcile-loop.ts';
import { EXAMPLE_REPO } from '../helpers/git-repo.ts';
import { loadRevision } from '../helpers/load.ts';
import { eventually } from '../helpers/controller-fixture.ts';

const state = await loadRevision(EXAMPLE_REPO);

function converged(target: TargetId): ReconcileResult {
  const status: TargetStatus = { target, phase: 'Converged', conditions: [], observedRevision: null, summary: 'ok', members: [] };
  return { commands: [], status, plan: [] };
}

function logger(lines: { level: string; msg: string; obj: object }[]) {
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

describe('the reconcile loop (issue 4, item 4)', () => {
  let loop: ReconcileLoop | undefined;
  afterEach(async () => {
    await loop?.shutdown();
    loop = undefined;
  });

  it('a reconcile error backs off exponentially, does not hold up other targets, and recovers', async () => {
    const calls: { target: string; at: number }[] = [];
    let failures = 0;
    const flaky: Reconciler<'Domain'> = (desired) => {
      const target = `domain/${desired.object.metadata.name}` as TargetId;
      calls.push({ target, at: Date.now() });
      if (target === 'domain/print-paris' && failures < 3) {
        failures++;
        throw new Error('boom');
      }
      return converged(target);
    };
    const ok = ((d: { object: { kind: Kind; metadata: { name: string } } }) => converged(`${d.object.kind.toLowerCase()}/${d.object.metadata.name}` as TargetId)) as never;
    const statuses: TargetStatus[] = [];
    const lines: { level: string; msg: string; obj: object }[] = [];
    loop = new ReconcileLoop({
      inventory: new ObservedInventory(60_000),
      mailbox: new Mailbox(),
      onCommandsChanged: () => {},
      onStatus: (s) => statuses.push(s),
      reconcilers: { Domain: flaky, Account: ok, HACluster: ok, DistributionServer: ok },
      baseBackoffMs: 40,
      logger: logger(lines),
    });
    loop.applyDesired(state);
    await eventually(() => statuses.some((s) => s.target === 'domain/print-paris'), 5000, 'print-paris to recover');
    const paris = calls.filter((c) => c.target === 'domain/print-paris');
    expect(paris).toHaveLength(4);
    const gaps = paris.slice(1).map((c, i) => c.at - paris[i]!.at);
    // 40, 80, 160 ms (timers are never early).
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    // Every other target was reconciled once, before print-paris recovered.
    const others = new Set(statuses.filter((s) => s.target !== 'domain/print-paris').map((s) => s.target));
    expect(others.size).toBe(6);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(3);
    expect(errors[0]!.obj).toMatchObject({ target: 'domain/print-paris', err: 'boom', retryInMs: 40 });
  });

  it('reports a kind without a reconciler instead of skipping it silently (issue 4, item 6)', async () => {
    const lines: { level: string; msg: string; obj: object }[] = [];
    const outcomes: string[] = [];
    const ok = ((d: { object: { kind: Kind; metadata: { name: string } } }) => converged(`${d.object.kind.toLowerCase()}/${d.object.metadata.name}` as TargetId)) as never;
    loop = new ReconcileLoop({
      inventory: new ObservedInventory(60_000),
      mailbox: new Mailbox(),
      onCommandsChanged: () => {},
      onStatus: () => {},
      reconcilers: { Domain: ok, Account: ok },
      logger: logger(lines),
      observer: { reconciled: (target, _kind, outcome) => void outcomes.push(`${target}:${outcome}`) },
    });
    loop.applyDesired(state);
    await loop.idle();
    expect(outcomes).toContain('hacluster/ums-prod:no-reconciler');
    expect(outcomes).toContain('distributionserver/ds-paris:no-reconciler');
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings).toEqual(expect.arrayContaining(['no reconciler for kind HACluster: its targets are not acted on', 'no reconciler for kind DistributionServer: its targets are not acted on']));
  });

  it('never reconciles one target twice at once, however many reports arrive', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const slow: Reconciler<'Domain'> = (desired) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls++;
      // Reconcilers are synchronous: busy the thread a little so reports pile up meanwhile.
      const until = Date.now() + 2;
      while (Date.now() < until);
      running--;
      return converged(`domain/${desired.object.metadata.name}` as TargetId);
    };
    const inventory = new ObservedInventory(60_000);
    loop = new ReconcileLoop({ inventory, mailbox: new Mailbox(), onCommandsChanged: () => {}, onStatus: () => {}, reconcilers: { Domain: slow }, concurrency: 8 });
    loop.applyDesired(state);
    for (let i = 1; i <= 200; i++) {
      inventory.record('wd-lille', { sequence: i, components: [{ product: 'watchdoc', version: `6.1.${i}` }] }, Date.now());
      loop.agentReported('wd-lille', true);
    }
    await loop.idle();
    expect(maxRunning).toBe(1);
    // 200 reports coalesce into a handful of passes (keyed queue, no payloads).
    expect(calls).toBeLessThan(20);
  });

  it('waits, after a start, for a target\'s agents to report before acting on an empty inventory', async () => {
    const seen: string[] = [];
    const record: Reconciler<'Domain'> = (desired, observed) => {
      seen.push(`${desired.object.metadata.name}:${observed.agents.size}`);
      return converged(`domain/${desired.object.metadata.name}` as TargetId);
    };
    const inventory = new ObservedInventory(60_000);
    loop = new ReconcileLoop({ inventory, mailbox: new Mailbox(), onCommandsChanged: () => {}, onStatus: () => {}, reconcilers: { Domain: record }, warmUpMs: 10_000 });
    loop.applyDesired(state);
    await loop.idle();
    expect(seen).toEqual([]);
    let seq = 0;
    for (const agent of ['wd-paris-master', 'wd-paris-s1', 'wd-paris-s2']) {
      inventory.record(agent, { sequence: ++seq, components: [] }, Date.now());
      loop.agentReported(agent, true);
    }
    await eventually(() => seen.length > 0, 3000, 'print-paris once its three agents reported');
    expect(seen).toEqual(['print-paris:3']);
  });
});
