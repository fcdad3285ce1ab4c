import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedSetup } from './harness/agent-process.ts';
import { acmeW360, dsParis, printBranches, umsProd } from './harness/example-fleet.ts';
import { endOf, executions, only, overlapping, startOf, storyOf, type Execution } from './harness/evidence.ts';
import { Scenario } from './harness/scenario.ts';

/**
 * Issue 7, item 4: a full rollout of every kind of the example, end to end — `versiond run`
 * and one `versiond-agent` process per machine (simulated driver, seeded from
 * agent/example-observed.json), a bare Git repository, real HTTP. Each kind converges in the
 * order its vendor procedure requires, as the agents' own logs show it, and the status
 * commits tell the story in `git log`.
 */
describe('a full rollout of each kind of the example, with real processes', () => {
  const quick = { installMs: 150, stepMs: 30 };
  const parts = [printBranches(quick), acmeW360(quick), umsProd(quick), dsParis()];
  let s: Scenario;
  let desiredCommit: string;
  let ran: Execution[];
  const ofTarget = (target: string) => ran.filter((e) => e.target === target);

  beforeAll(async () => {
    s = await Scenario.create({
      files: Object.assign({}, ...parts.map((p) => p.files)) as Record<string, string>,
      agents: Object.assign({}, ...parts.map((p) => p.agents)) as Record<string, SimulatedSetup>,
      consoleId: 'console-hq',
      credentials: ['ivanti-ds-paris'],
    });
    desiredCommit = s.work.head();
    await s.start();
    for (const p of parts) await s.waitForStatus(p.target, (st) => st.phase === 'Converged', 'Converged', 60_000);
    // SIGTERM: what is still pending is committed, and the controller exits 0.
    expect(await s.controller.stop(), s.controller.tail()).toBe(0);
    ran = executions(s.agents.values());
  }, 120_000);
  afterAll(async () => {
    await s?.dispose();
  });

  it('no command ran twice and none failed, on any machine', () => {
    for (const e of ran) {
      expect(e.starts, `${e.member} ${e.action}`).toHaveLength(1);
      expect(e.ends.map((x) => x.outcome), `${e.member} ${e.action}`).toEqual(['succeeded']);
    }
    expect(s.controller.errors()).toEqual([]);
  });

  it('Domain (seed 000): the master is staged and applied first, then the package reaches every slave, and only then is it applied', () => {
    const d = ofTarget('domain/print-branches');
    expect(storyOf(d).slice(0, 2)).toEqual(['wd-branches-master stage', 'wd-branches-master apply']);
    const masterDone = endOf(only(d, 'wd-branches-master', 'apply'));
    const slaves = ['wd-lille', 'wd-nantes'];
    const lastStage = Math.max(...slaves.map((m) => endOf(only(d, m, 'stage'))));
    for (const m of slaves) {
      expect(startOf(only(d, m, 'stage'))).toBeGreaterThan(masterDone);
      expect(startOf(only(d, m, 'apply'))).toBeGreaterThan(lastStage);
      expect(s.agent(m).component('watchdoc')).toMatchObject({ version: '6.1.4', state: 'running' });
    }
    expect(s.status.status('domain/print-branches')?.summary).toMatch(/3\/3 servers at 6\.1\.4/);
  });

  it('Account (seeds 001/003): the WRS installs and restarts before its test devices, which then install and restart; the device outside the test ring is left alone', () => {
    const a = ofTarget('account/acme-w360');
    const wrsRestart = only(a, 'acme-wrs-paris', 'restart');
    expect(startOf(wrsRestart)).toBeGreaterThan(endOf(only(a, 'acme-wrs-paris', 'apply')));
    for (const device of ['acme-ws-001', 'acme-ws-002']) {
      const apply = only(a, device, 'apply');
      expect(apply.version).toBe('4.3.0');
      expect(startOf(apply)).toBeGreaterThan(endOf(wrsRestart));
      expect(startOf(only(a, device, 'restart'))).toBeGreaterThan(endOf(apply));
      const component = s.agent(device).component('w360-core');
      expect(component).toMatchObject({ product: 'w360-core', version: '4.3.0', state: 'running' });
      expect(component?.pendingRestart, 'restarted: no restart pending').toBeUndefined();
    }
    expect(a.filter((e) => e.member === 'acme-ws-003')).toEqual([]);
    expect(s.agent('acme-ws-003').component('w360-core')?.version).toBe('4.2.1');
    expect(s.agent('acme-wrs-paris').component('w360-core')).toMatchObject({ version: '4.3.0', serves: ['4.2.1', '4.3.0'] });
  });

  it('HACluster (seed 004): installer everywhere and a backup first, servers one at a time in update order, the last migrates, then the load balancer, then the console', () => {
    const h = ofTarget('hacluster/ums-prod');
    const servers = ['ums-2', 'ums-1', 'ums-3'];
    const applies = servers.map((m) => only(h, m, 'apply'));
    const firstApply = startOf(applies[0]!);
    for (const m of [...servers, 'ums-lb-1', 'ums-console-admin']) expect(endOf(only(h, m, 'stage'))).toBeLessThan(firstApply);
    expect(endOf(only(h, 'ums-2', 'backup'))).toBeLessThan(firstApply);
    expect(overlapping(applies)).toEqual([]);
    expect([...applies].sort((x, y) => startOf(x) - startOf(y)).map((e) => e.member)).toEqual(servers);
    const migrate = only(h, 'ums-3', 'migrate');
    expect(startOf(migrate)).toBeGreaterThan(Math.max(...applies.map(endOf)));
    const lb = only(h, 'ums-lb-1', 'apply');
    expect(startOf(lb)).toBeGreaterThan(endOf(migrate));
    expect(startOf(only(h, 'ums-console-admin', 'apply'))).toBeGreaterThan(endOf(lb));
    for (const m of servers) expect(s.agent(m).component('igel-ums')).toMatchObject({ version: '12.08.110', state: 'running', mode: 'normal' });
  });

  it('DistributionServer (seed 002): the owning console runs the on-demand sync once, copying exactly the patches the server lacks', () => {
    const target = 'distributionserver/ds-paris';
    const syncs = ofTarget(target);
    expect(syncs.map((e) => `${e.agent} → ${e.member} ${e.action}`)).toEqual(['console-hq → ds-paris sync']);
    // What the status said was missing when the sync was sent…
    const sending = s.status.history(target).find((c) => c.phase === 'Progressing')!;
    const report = s.status.status(target, sending.commit)!.details!['content'] as Record<string, { files: Array<{ path: string; found: string | null }> }>;
    expect(report['patches']!.files.map((f) => [f.path, f.found])).toEqual([
      ['patches/office-kb5002651-x64.cab', null],
      ['patches/windows10.0-kb5046613-x64.msu', null],
    ]);
    expect(report['engines-definitions']!.files).toEqual([]);
    // …is what the console copied: two files (the simulated console delivers into its own
    // machine — another process's cannot be reached — so the server's own report is unchanged).
    expect(syncs[0]!.events.at(-1)!.msg).toMatch(/copied 2 files to ds-paris$/);
    const runs = (s.status.status(target)!.details!['syncs'] as Array<{ name: string; lastRunNow?: string; message?: string }>).find((x) => x.name === 'monthly-patches');
    expect(runs).toMatchObject({ lastRunNow: '2026-11-20T09:15:00Z', message: 'last run (runNow 2026-11-20T09:15:00Z) succeeded' });
  });

  it('git log tells each story: status commits from the first step to Converged, each naming the desired commit it reconciled', () => {
    for (const p of parts) {
      const history = s.status.history(p.target);
      expect(history.length, p.target).toBeGreaterThanOrEqual(2);
      expect(history[0]!.phase, p.target).not.toBe('Converged');
      expect(history.at(-1)!.phase, p.target).toBe('Converged');
      for (const c of history) {
        expect(c.subject).toMatch(new RegExp(`^status(\\(${p.target.replace('/', '\\/')}\\))?: `));
        expect(c.revision).toBe(desiredCommit);
      }
    }
    const ums = s.status.history('hacluster/ums-prod').map((c) => Number(/(\d) of 3 servers updated/.exec(c.summary)?.[1]));
    expect(ums).toEqual([...ums].sort((a, b) => a - b));
    expect(ums.at(-1)).toBe(3);
    // The operator's view: the branch is the desired commit followed by status commits only.
    const subjects = s.status.subjects();
    expect(subjects[0]).toBe('desired state');
    for (const subject of subjects.slice(1)) expect(subject).toMatch(/^status(\(|:)/);
  });
});
