import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from './harness/agent-process.ts';
import { printBranches, umsProd } from './harness/example-fleet.ts';
import { endOf, executions, only, overlapping, startOf, type Execution } from './harness/evidence.ts';
import type { LogLine } from './harness/json-log.ts';
import { Scenario } from './harness/scenario.ts';
import { sleep } from './harness/wait.ts';

/**
 * Issue 7, item 4: agents SIGKILLed in the middle of a command and started again resume it
 * correctly. The agent journals a command before running it, so at restart it finds the
 * command cut short and runs it again (the simulated install had not finished: the machine
 * is as before it); the result reaches the controller, which never sends the step to anyone
 * else meanwhile, and the rollout completes with every command finished exactly once.
 */
describe('agents SIGKILLed in the middle of a command, and started again', () => {
  const domain = printBranches({ installMs: 1500, stepMs: 1000 });
  const ums = umsProd({ installMs: 1500, stepMs: 100 });
  /** agent → the command it was killed in, and how long it stayed down. */
  const crashes: Array<{ agent: string; action: string; downMs: number }> = [
    { agent: 'wd-lille', action: 'stage', downMs: 300 },
    { agent: 'wd-branches-master', action: 'apply', downMs: 300 },
    { agent: 'wd-nantes', action: 'apply', downMs: 2500 },
    { agent: 'ums-2', action: 'apply', downMs: 2500 },
  ];
  let s: Scenario;
  let ran: Execution[];

  /** SIGKILLs `agent` 400 ms into the first `action` it starts, waits `downMs`, starts it again. */
  function crashDuring(agent: AgentProcess, action: string, downMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const off = agent.current!.log.onLine((l: LogLine) => {
        const command = l['command'] as { action?: string } | undefined;
        if (!String(l.msg).startsWith('command started:') || command?.action !== action) return;
        off();
        void (async () => {
          await sleep(400);
          await agent.kill();
          await sleep(downMs);
          await agent.start();
        })().then(resolve, reject);
      });
    });
  }

  beforeAll(async () => {
    s = await Scenario.create({ files: { ...domain.files, ...ums.files }, agents: { ...domain.agents, ...ums.agents } });
    await s.start();
    await Promise.all(crashes.map((c) => crashDuring(s.agent(c.agent), c.action, c.downMs)));
    for (const t of [domain.target, ums.target]) await s.waitForStatus(t, (st) => st.phase === 'Converged', 'Converged', 60_000);
    expect(await s.controller.stop()).toBe(0);
    ran = executions(s.agents.values());
  }, 120_000);
  afterAll(async () => {
    await s?.dispose();
  });

  it.each(crashes)('$agent, killed during its $action, ran it again from its journal at restart, and finished it once', ({ agent, action }) => {
    const e = only(ran.filter((x) => x.agent === agent), agent, action);
    // Run 1: started, never ended (killed). Run 2: found in the journal, run again, succeeded.
    expect(e.events.map((x) => `${x.run}:${x.kind}`)).toEqual(['1:started', '2:resumed', '2:started', '2:succeeded']);
    const state = s.agent(agent).state()!;
    expect(state.journal).toBeUndefined();
    expect(state.results.find((r) => r.id === e.id)?.status).toBe('succeeded');
  });

  it('every other command ran once, and nothing failed', () => {
    const killed = new Set(crashes.map((c) => `${c.agent} ${c.action}`));
    for (const e of ran) {
      expect(e.ends.map((x) => x.outcome), `${e.member} ${e.action}`).toEqual(['succeeded']);
      if (!killed.has(`${e.agent} ${e.action}`)) expect(e.starts, `${e.member} ${e.action}`).toHaveLength(1);
    }
  });

  it('the machines run the release: the install cut short was not counted as done', () => {
    for (const m of ['wd-branches-master', 'wd-lille', 'wd-nantes']) expect(s.agent(m).component('watchdoc')).toMatchObject({ version: '6.1.4', state: 'running' });
    for (const m of ['ums-1', 'ums-2', 'ums-3']) expect(s.agent(m).component('igel-ums')).toMatchObject({ version: '12.08.110', state: 'running', mode: 'normal' });
  });

  it('no report was refused: the sequence numbers a killed agent saved before sending carried on after its restart', () => {
    for (const c of crashes) {
      const refused = s.agent(c.agent).lines.filter((l) => String(l.msg).includes('refused as stale'));
      expect(refused, c.agent).toEqual([]);
    }
  });

  it('while a UMS server was down in the middle of its install, no other server started one; the domain still propagated before applying', () => {
    const applies = ['ums-2', 'ums-1', 'ums-3'].map((m) => only(ran, m, 'apply'));
    expect(overlapping(applies)).toEqual([]);
    expect(startOf(only(ran, 'ums-1', 'apply'))).toBeGreaterThan(endOf(only(ran, 'ums-2', 'apply')));
    const lastStage = Math.max(...['wd-lille', 'wd-nantes'].map((m) => endOf(only(ran, m, 'stage'))));
    for (const m of ['wd-lille', 'wd-nantes']) expect(startOf(only(ran, m, 'apply'))).toBeGreaterThan(lastStage);
  });
});
