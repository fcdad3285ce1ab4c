/**
 * A driver is how the agent acts on its machine. The agent owns the protocol, the package
 * store (download and verification), the journal and the results; the driver only says what
 * the machine runs and performs one step. Two drivers ship: `hooks-driver.ts` (a directory of
 * executables an installation fills in) and `simulated-driver.ts` (a machine in memory, for
 * tests and the fleet simulator).
 *
 * Contract for driver authors:
 *  - `run` must be IDEMPOTENT: after a crash the agent runs a command again when it cannot
 *    tell from `inventory` that its effect is already there (only an `apply` whose version
 *    is reported, and an `end-update-mode` whose server reports normal mode, are recognised).
 *  - `apply` is called only with a package the agent has just verified (sha256 and Ed25519
 *    signature against the release): `ctx.packagePath`. A package that does not verify never
 *    reaches the driver.
 *  - When `ctx.signal` aborts (the agent is stopping), stop and throw (an `AbortError`): the
 *    command stays journaled and is resumed at the next start.
 */
import type { AgentCommand, ComponentReport, Facts } from '../protocol.ts';
import type { DriverMemory } from '../agent-state.ts';

export interface Inventory {
  readonly components: readonly ComponentReport[];
  /** `clock` is set by the agent; a driver's own is ignored. */
  readonly facts?: Facts;
}

export interface RunContext {
  /** The verified package of a `stage` or `apply`, in the agent's package store. */
  readonly packagePath?: string;
  /** Aborted when the agent stops: end the step and throw. */
  readonly signal?: AbortSignal;
}

export interface RunOutcome {
  readonly ok: boolean;
  /** What the agent reports (the reason of a failure). */
  readonly message?: string;
}

export interface Driver {
  /** For logs: `hooks:/etc/versiond/hooks`, `simulated`. */
  readonly description: string;
  inventory(): Promise<Inventory>;
  run(command: AgentCommand, ctx: RunContext): Promise<RunOutcome>;
  /** A driver whose state is kept in the agent's state file (saved with it, atomically). */
  readonly memory?: DriverMemory;
  /** The machine's clock, when it is not the process's (a simulated clock skew). Epoch ms. */
  clock?(): number;
}

/** The error a driver throws when its step was interrupted by `ctx.signal`. */
export function abortError(what: string): Error {
  const err = new Error(`${what} interrupted: the agent is stopping`);
  err.name = 'AbortError';
  return err;
}
