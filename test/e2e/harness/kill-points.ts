import type { LogLine } from './json-log.ts';
import type { Scenario } from './scenario.ts';
import { sleep } from './wait.ts';

/**
 * A moment at which a crash test SIGKILLs the controller. `arm` is called right after a run
 * started listening; it resolves once the controller was killed, or with `missed` if the moment
 * did not come within `withinMs` (the rollout may be past it). The kill happens inside the
 * log listener that saw the moment — not on a later poll — so "right after a status commit"
 * means right after it.
 */
export interface KillPoint {
  readonly name: string;
  arm(scenario: Scenario, withinMs: number): Promise<'killed' | 'missed'>;
}

/** Kills the controller when a line of the controller's log satisfies `test`. */
function onControllerLine(name: string, test: (line: LogLine) => boolean): KillPoint {
  return {
    name,
    arm: (scenario, withinMs) => {
      const run = scenario.controller.current;
      if (run === undefined) return Promise.resolve('missed');
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          off();
          resolve('missed');
        }, withinMs);
        const off = run.log.onLine((line) => {
          if (!test(line)) return;
          run.child.kill('SIGKILL');
          clearTimeout(timer);
          off();
          void run.exited.then(() => resolve('killed'));
        });
      });
    },
  };
}

/** Kills the controller when an agent's log line (any agent of the scenario) satisfies `test`. */
function onAgentLine(name: string, test: (line: LogLine) => boolean): KillPoint {
  return {
    name,
    arm: (scenario, withinMs) => {
      const run = scenario.controller.current;
      if (run === undefined) return Promise.resolve('missed');
      const since = Date.now();
      return new Promise((resolve) => {
        const offs: Array<() => void> = [];
        const done = (outcome: 'killed' | 'missed') => {
          for (const off of offs) off();
          clearTimeout(timer);
          if (outcome === 'killed') void run.exited.then(() => resolve('killed'));
          else resolve('missed');
        };
        const timer = setTimeout(() => done('missed'), withinMs);
        for (const agent of scenario.agents.values()) {
          const log = agent.current?.log;
          if (log === undefined) continue;
          offs.push(
            log.onLine((line) => {
              if (typeof line.time === 'number' && line.time < since) return;
              if (!test(line)) return;
              run.child.kill('SIGKILL');
              done('killed');
            }),
          );
        }
      });
    },
  };
}

/** Kills the controller `ms` after it started listening. */
function after(name: string, ms: number): KillPoint {
  return {
    name,
    arm: async (scenario) => {
      const run = scenario.controller.current;
      if (run === undefined) return 'missed';
      await sleep(ms);
      if (run.child.exitCode !== null) return 'missed';
      run.child.kill('SIGKILL');
      await run.exited;
      return 'killed';
    },
  };
}

const msg = (l: LogLine): string => (typeof l.msg === 'string' ? l.msg : '');
const commandOf = (l: LogLine) => l['command'] as { action?: string; member?: string } | undefined;

/** Moments that matter to a level-triggered controller that commits its memory to Git. */
export const KILL_POINTS = {
  /** Agents are still coming back: the controller has not reconciled anything yet. */
  duringWarmUp: after('during the warm-up, before every agent reported again', 400),
  /** A status commit just moved the branch; anything after it (the next reconcile, the next commit) is lost. */
  afterStatusCommit: onControllerLine('right after a status commit', (l) => l.msg === 'status committed'),
  /**
   * A reconcile that asks agents for something just logged its change (of phase, summary or
   * commands: the loop's info line); the agents have not fetched its commands yet.
   */
  afterCommandsChanged: onControllerLine('right after a reconcile that sends commands', (l) => typeof l['target'] === 'string' && typeof l['commands'] === 'number' && l['commands'] > 0),
  /** An agent started a command the controller sent: its result is reported to the next run. */
  whileAgentRunsCommand: onAgentLine('while an agent runs a command', (l) => msg(l).startsWith('command started:')),
  /** A given action is running on a member whose name matches (a UMS server installing, a WRS restarting…). */
  whileRunning: (action: string, member: RegExp) =>
    onAgentLine(`while ${action} runs on ${member.source.replace(/[\^$]/g, '')}`, (l) => msg(l).startsWith('command started:') && commandOf(l)?.action === action && member.test(commandOf(l)?.member ?? '')),
  /** A command just finished on an agent; its result is on the way. */
  afterCommandFinished: onAgentLine('right after an agent finished a command', (l) => msg(l).startsWith('command succeeded:')),
  /** Anywhere at all. */
  atRandom: (ms: number) => after(`at a random moment (${ms} ms after start)`, ms),
} as const;
