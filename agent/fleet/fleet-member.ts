/**
 * One simulated machine of a fleet: its simulated driver (the machine itself, which outlives
 * its agent) and the reference agent that runs on it while it is online. Going offline stops
 * the agent — as a machine switched off or cut from the network, its running command is
 * interrupted and stays journaled — and coming back starts a new agent on the same state
 * directory and the same machine, which resumes where the last one stopped (sequence numbers,
 * results, the journaled command), exactly as a restarted real agent does.
 *
 * Nothing changes the machine while it is offline: a console cannot copy content to it (the
 * sync fails, see `fleet.ts`) and the people of `unprompted-actions.ts` wait for it. That keeps
 * the machine and its agent's state file the same thing.
 */
import type { Agent } from '../reference/agent.ts';
import type { SimulatedDriver, SimulatedMachine } from '../reference/drivers/simulated-driver.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentBehaviour } from './behaviour.ts';
import type { Duty } from './duties.ts';

export class FleetMember {
  private agent: Agent | undefined;
  /** Start and stop, one at a time, in the order asked. */
  private chain: Promise<void> = Promise.resolve();
  private wantOnline = false;
  /** When it last went offline (epoch ms), while it is. */
  offlineSince: number | undefined;

  constructor(
    readonly id: string,
    public duties: readonly Duty[],
    readonly behaviour: AgentBehaviour,
    readonly driver: SimulatedDriver,
    private readonly makeAgent: (member: FleetMember) => Agent,
  ) {}

  /** A member the controller may push to (a bidirectional slave): its agent serves the push endpoint. */
  get wantsPush(): boolean {
    return this.duties.some((d) => d.push === true);
  }

  /** Its agent is running (it reports). */
  get online(): boolean {
    return this.agent !== undefined;
  }

  /** The running agent, while online. */
  get runningAgent(): Agent | undefined {
    return this.agent;
  }

  goOnline(): Promise<void> {
    this.wantOnline = true;
    return this.enqueue(async () => {
      if (this.agent !== undefined || !this.wantOnline) return;
      const agent = this.makeAgent(this);
      await agent.start();
      this.agent = agent;
      this.offlineSince = undefined;
    });
  }

  goOffline(graceMs: number, now = Date.now()): Promise<void> {
    this.wantOnline = false;
    return this.enqueue(async () => {
      const agent = this.agent;
      if (agent === undefined) return;
      this.agent = undefined;
      this.offlineSince = now;
      await agent.stop(graceMs);
    });
  }

  /** Ask its agent to report now (its machine changed), if it is online. */
  reportSoon(): void {
    this.agent?.reportSoon();
  }

  /** The machine as it is now (a copy). */
  machine(): SimulatedMachine {
    return this.driver.memory.snapshot() as SimulatedMachine;
  }

  component(product: string): ComponentReport | undefined {
    return this.machine().components.find((c) => c.product === product);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
