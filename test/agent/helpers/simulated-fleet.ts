/**
 * A fleet of simulated members driven by a real reconciler, without HTTP: each member is the
 * agent's own command executor (package store, journal, results) over a SimulatedDriver, and
 * each pass feeds what they report to the reconciler and its commands back to them — the
 * controller's loop in miniature. It shows that the simulated driver makes every reconciler
 * progress as real members would.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { AgentStateStore } from '../../../agent/reference/agent-state.ts';
import { CommandExecutor } from '../../../agent/reference/command-executor.ts';
import { SimulatedDriver, type SimulatedBehaviour, type SimulatedMachine } from '../../../agent/reference/drivers/simulated-driver.ts';
import { PackageStore } from '../../../agent/reference/package-store.ts';
import type { AgentCommand } from '../../../agent/reference/protocol.ts';
import type { Command, DesiredInput, ReconcileResult, Reconciler, TargetStatus } from '../../../reconcilers/contract.ts';
import type { Kind } from '../../../reconcilers/model/desired.ts';
import type { AgentObservation, CredentialCheck, Observed } from '../../../reconcilers/observed.ts';

interface Member {
  readonly driver: SimulatedDriver;
  readonly state: AgentStateStore;
  readonly executor: CommandExecutor;
}

export interface MemberSetup {
  readonly machine: SimulatedMachine;
  readonly behaviour?: SimulatedBehaviour;
}

export class SimulatedFleet {
  private constructor(private readonly members: Map<string, Member>) {}

  static async create(dir: string, setups: Record<string, MemberSetup>): Promise<SimulatedFleet> {
    const members = new Map<string, Member>();
    const log = pino({ level: 'silent' });
    for (const [agent, setup] of Object.entries(setups)) {
      const driver = new SimulatedDriver({
        machine: setup.machine,
        ...(setup.behaviour ? { behaviour: setup.behaviour } : {}),
        // A console's sync lands on the distribution server's own machine.
        deliverSync: (server, content) => members.get(server)?.driver.receiveContent(content),
      });
      const state = await AgentStateStore.open(join(dir, agent), agent, { durable: false });
      state.attachDriver(driver.memory);
      const executor = new CommandExecutor({ driver, packages: new PackageStore(join(dir, agent)), state, log, clock: () => driver.clock() });
      members.set(agent, { driver, state, executor });
    }
    return new SimulatedFleet(members);
  }

  driver(agent: string): SimulatedDriver {
    return this.members.get(agent)!.driver;
  }

  async observed(releases: readonly string[], credentials: readonly string[] = []): Promise<Observed> {
    const now = new Date().toISOString();
    const agents = new Map<string, AgentObservation>();
    for (const [agent, m] of this.members) {
      const r = await m.executor.observe();
      agents.set(agent, { agent, online: true, lastSeen: now, components: r.components, results: r.results, facts: r.facts });
    }
    return {
      agents,
      artifacts: new Map(releases.map((release) => [release, { release, status: 'verified' as const }])),
      credentials: new Map(credentials.map((ref): [string, CredentialCheck] => [ref, { ref, usable: true }])),
    };
  }

  /** Each agent runs its commands without a result, in order, one at a time; agents run side by side. Returns how many ran. */
  async run(commands: readonly Command[]): Promise<number> {
    let ran = 0;
    const byAgent = new Map<string, AgentCommand[]>();
    for (const { agent, delivery: _delivery, ...wire } of commands) {
      const list = byAgent.get(agent) ?? [];
      list.push(wire);
      byAgent.set(agent, list);
    }
    await Promise.all(
      [...byAgent].map(async ([agent, list]) => {
        const m = this.members.get(agent);
        if (m === undefined) throw new Error(`a command for ${agent}, which is not in the fleet`);
        for (const c of list) {
          if (m.state.results.has(c.id)) continue;
          await m.executor.execute(c);
          ran++;
        }
      }),
    );
    return ran;
  }

  async close(): Promise<void> {
    for (const m of this.members.values()) await m.state.close();
  }
}

export interface Convergence {
  readonly final: ReconcileResult;
  /** Per pass, the commands sent: `member action`. */
  readonly passes: string[][];
}

/** Reconciles until the target converges, or nothing more is sent, or every command sent already ran (no progress is possible). */
export async function reconcileUntilSettled<K extends Kind>(
  reconcile: Reconciler<K>,
  desired: DesiredInput<K>,
  fleet: SimulatedFleet,
  releases: readonly string[],
  credentials: readonly string[] = [],
  maxPasses = 40,
): Promise<Convergence> {
  let previous: TargetStatus | undefined;
  const passes: string[][] = [];
  for (let i = 0; i < maxPasses; i++) {
    const result = reconcile(desired, await fleet.observed(releases, credentials), previous, Date.now());
    if (result.status.phase === 'Converged' || result.commands.length === 0) return { final: result, passes };
    if ((await fleet.run(result.commands)) === 0) return { final: result, passes };
    passes.push(result.commands.map((c) => `${c.member} ${c.action}`));
    previous = result.status;
  }
  throw new Error(`not settled after ${maxPasses} passes: ${JSON.stringify(passes)}`);
}
