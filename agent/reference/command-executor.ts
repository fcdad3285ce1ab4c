/**
 * Runs one command on the machine, crash-safely, and says what the machine runs.
 *
 * Running a command:
 *  1. It is JOURNALED as started (with a `running` result) in the state file, atomically,
 *     before anything happens.
 *  2. `stage`: the package is obtained and verified (`package-store.ts`), then the driver's
 *     stage runs; the component reports `staged {version, verified}`. A package that does
 *     not verify is deleted, reported `staged {verified: false, reason}`, and the result is
 *     `failed` with "package not secure: …".
 *     `apply`: the staged package is verified AGAIN (or obtained first when none is kept); on
 *     any mismatch the result is `failed` ("package not secure: …") and the driver's apply is
 *     never called. Then the driver installs it; the staged entry and file are dropped.
 *     Other actions go to the driver as they are.
 *  3. The result replaces the journal, in one atomic save.
 *
 * Resuming after a crash (`resume`): a journaled command whose effect the machine already
 * reports (`command-effect.ts`) is recorded `succeeded` without running it again; any other
 * is run again, from step 1. A command with a finished result is never run again.
 */
import type { AgentStateStore } from './agent-state.ts';
import { effectAlreadyThere } from './command-effect.ts';
import type { Driver, Inventory, RunOutcome } from './drivers/driver.ts';
import type { Logger } from './json-log.ts';
import type { PackageStore } from './package-store.ts';
import type { AgentCommand, CommandResult, ComponentReport, Facts } from './protocol.ts';
import { sameVersion } from './same-version.ts';

/** What a report says of the machine: the driver's inventory, with the agent's own knowledge laid over it. */
export interface MachineReport {
  readonly components: ComponentReport[];
  readonly facts: Facts;
  readonly results: CommandResult[];
}

export interface ExecutorDeps {
  readonly driver: Driver;
  readonly packages: PackageStore;
  readonly state: AgentStateStore;
  readonly log: Logger;
  /** The machine's clock, epoch ms. */
  readonly clock: () => number;
}

export type ExecutionEnd = 'finished' | 'interrupted';

export class CommandExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /** Runs `command` to its result, or stops at `signal` leaving it journaled. */
  async execute(command: AgentCommand, signal?: AbortSignal): Promise<ExecutionEnd> {
    const { state, log } = this.deps;
    const startedAt = this.iso();
    state.results.record(command, 'running', undefined, startedAt);
    state.journal = { command, startedAt };
    await state.save();
    log.info({ command: brief(command) }, `command started: ${describe(command)}`);

    let outcome: RunOutcome;
    try {
      outcome = await this.perform(command, signal);
    } catch (err) {
      if (signal?.aborted) {
        log.warn({ command: brief(command) }, `command interrupted, journaled to resume at the next start: ${describe(command)}`);
        return 'interrupted';
      }
      outcome = { ok: false, message: `agent error while running ${command.action}: ${(err as Error).message}` };
    }
    state.results.record(command, outcome.ok ? 'succeeded' : 'failed', outcome.message, this.iso());
    state.journal = undefined;
    await state.save();
    const line = `command ${outcome.ok ? 'succeeded' : 'failed'}: ${describe(command)}${outcome.message ? ` — ${outcome.message}` : ''}`;
    if (outcome.ok) log.info({ command: brief(command), status: 'succeeded' }, line);
    else log.warn({ command: brief(command), status: 'failed' }, line);
    return 'finished';
  }

  /** Finishes the command a crash left journaled, if any. */
  async resume(signal?: AbortSignal): Promise<ExecutionEnd | 'nothing'> {
    const { state, log, driver } = this.deps;
    const journal = state.journal;
    if (journal === undefined) return 'nothing';
    const command = journal.command;
    let inventory: Inventory | undefined;
    try {
      inventory = await driver.inventory();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'inventory failed while resuming a journaled command: running it again');
    }
    if (inventory !== undefined && effectAlreadyThere(command, inventory)) {
      state.results.record(command, 'succeeded', `${command.action} had completed before the agent restarted`, this.iso());
      state.journal = undefined;
      await state.save();
      log.info({ command: brief(command), status: 'succeeded' }, `command journaled before a restart was already done: ${describe(command)}`);
      return 'finished';
    }
    log.info({ command: brief(command), startedAt: journal.startedAt }, `resuming a command journaled before a restart: ${describe(command)}`);
    return this.execute(command, signal);
  }

  /** The machine as a report shows it. Throws when the driver cannot tell (its inventory failed). */
  async observe(): Promise<MachineReport> {
    const { driver, state } = this.deps;
    const inventory = await driver.inventory();
    const installing = state.journal?.command.action === 'apply' ? (state.journal.command.product ?? state.journal.command.artifact?.product) : undefined;
    const components: ComponentReport[] = inventory.components.map((c) => {
      const staged = state.staged.get(c.product);
      const out: ComponentReport = { ...c, ...(staged !== undefined ? { staged: stagedReport(staged) } : {}) };
      return c.product === installing ? { ...out, state: 'installing' } : out;
    });
    // A product staged but not installed at all is still reported: seed 000 propagates before it applies.
    for (const [product, staged] of state.staged) {
      if (!components.some((c) => c.product === product)) components.push({ product, staged: stagedReport(staged) });
    }
    const facts: Facts = { ...(inventory.facts ?? {}), clock: this.iso() };
    return { components, facts, results: state.results.forReport() };
  }

  private async perform(command: AgentCommand, signal: AbortSignal | undefined): Promise<RunOutcome> {
    if (command.action === 'stage') return this.stage(command, signal);
    if (command.action === 'apply') return this.apply(command, signal);
    return this.deps.driver.run(command, signal ? { signal } : {});
  }

  private async stage(command: AgentCommand, signal: AbortSignal | undefined): Promise<RunOutcome> {
    const { artifact } = command;
    if (artifact === undefined) return { ok: false, message: 'stage without an artifact: nothing to download' };
    const product = command.product ?? artifact.product;
    const got = await this.deps.packages.obtain(artifact, signal);
    if (!got.ok) {
      if (got.insecure) this.deps.state.staged.set(product, { version: artifact.version, sha256: artifact.sha256, verified: false, reason: got.reason });
      return { ok: false, message: got.reason };
    }
    const outcome = await this.deps.driver.run(command, { packagePath: got.path, ...(signal ? { signal } : {}) });
    if (outcome.ok) this.deps.state.staged.set(product, { version: artifact.version, sha256: artifact.sha256, verified: true });
    return outcome;
  }

  private async apply(command: AgentCommand, signal: AbortSignal | undefined): Promise<RunOutcome> {
    const { artifact } = command;
    if (artifact === undefined) return { ok: false, message: 'package not secure: the apply carries no artifact to verify the package against' };
    const product = command.product ?? artifact.product;
    const got = await this.deps.packages.obtain(artifact, signal);
    if (!got.ok) {
      if (got.insecure) this.deps.state.staged.set(product, { version: artifact.version, sha256: artifact.sha256, verified: false, reason: got.reason });
      return { ok: false, message: got.reason };
    }
    const outcome = await this.deps.driver.run(command, { packagePath: got.path, ...(signal ? { signal } : {}) });
    if (outcome.ok) {
      const staged = this.deps.state.staged.get(product);
      if (staged !== undefined && sameVersion(staged.version, artifact.version)) this.deps.state.staged.delete(product);
      await this.deps.packages.remove(artifact.sha256); // installed: the store is for what is waiting to be
    }
    return outcome;
  }

  private iso(): string {
    return new Date(this.deps.clock()).toISOString();
  }
}

function stagedReport(s: { version: string; verified: boolean; reason?: string }): NonNullable<ComponentReport['staged']> {
  return s.reason !== undefined ? { version: s.version, verified: s.verified, reason: s.reason } : { version: s.version, verified: s.verified };
}

function describe(c: AgentCommand): string {
  const what = [c.product ?? c.artifact?.product, c.version].filter((x) => x !== undefined).join(' ');
  return `${c.action}${what ? ` ${what}` : ''} for ${c.target} ${c.member} (${c.id})`;
}

function brief(c: AgentCommand): { id: string; action: string; target: string; member: string; version?: string } {
  return { id: c.id, action: c.action, target: c.target, member: c.member, ...(c.version !== undefined ? { version: c.version } : {}) };
}
