/**
 * What one reconcile pass builds up, shared by every kind: the plan, the commands, the
 * outcomes the fold turns into a phase, and a note per member. Local to the pass: nothing
 * survives it but the result (the controller keeps no workflow state).
 *
 * Halting is enforced here, not by each step: once a step raised a halt (a target-wide
 * obstacle: package not verified, a server unreachable, a crash), `send` records the step
 * as blocked by it instead of sending — later steps can list what they would do, and
 * nothing leaves the pass.
 */
import type { Action } from '../../protocol/action.ts';
import type { Blocker, Command, MemberState, PlanStep } from '../contract.ts';
import type { TargetId } from '../model/identity.ts';
import type { Answer } from './precondition.ts';
import { reasonDef, type ReasonCatalogue } from './reasons.ts';

export interface Outcome {
  readonly reason: string;
  readonly message: string;
}

export interface MemberNote {
  readonly state: MemberState;
  readonly message?: string;
}

export interface StepOptions {
  readonly version?: string;
  readonly blockedBy?: Blocker;
  readonly performedBy?: 'operator' | 'device';
}

export class Pass {
  readonly plan: PlanStep[] = [];
  readonly commands: Command[] = [];
  readonly outcomes: Outcome[] = [];
  /** First note per member wins: its earliest step says most about it. */
  readonly notes = new Map<string, MemberNote>();
  /** The first target-wide obstacle of the pass. */
  halt: Blocker | undefined;

  constructor(
    readonly target: TargetId,
    readonly catalogue: ReasonCatalogue,
  ) {}

  /** A blocker for a catalogued reason: `stalled` when a person must act, else `waiting`. */
  blocker(reason: string, message: string): Blocker {
    const category = reasonDef(this.catalogue, reason).category === 'stalled' ? 'stalled' : 'waiting';
    return { category, reason, message };
  }

  /** The blocker a precondition's answer imposes, or undefined when it is satisfied. Unknown holds, like no. */
  blockerOf(answer: Answer): Blocker | undefined {
    return answer.status === 'satisfied' ? undefined : this.blocker(answer.reason, answer.message);
  }

  haltWith(blocker: Blocker): void {
    this.halt ??= blocker;
  }

  outcome(reason: string, message: string): void {
    reasonDef(this.catalogue, reason); // an uncatalogued reason is a bug: fail loudly in tests
    this.outcomes.push({ reason, message });
  }

  note(member: string, state: MemberState, message?: string): void {
    if (!this.notes.has(member)) this.notes.set(member, message === undefined ? { state } : { state, message });
  }

  /** A plan step: runnable when nothing blocks it (its command is then sent by `send`). */
  step(member: string, action: Action, options: StepOptions = {}): void {
    const runnable = options.blockedBy === undefined;
    const s: { -readonly [K in keyof PlanStep]: PlanStep[K] } = { target: this.target, member, action, runnable };
    if (options.version !== undefined) s.version = options.version;
    if (options.blockedBy !== undefined) s.blockedBy = options.blockedBy;
    if (options.performedBy !== undefined) s.performedBy = options.performedBy;
    this.plan.push(s);
  }

  /**
   * Sends a command, unless the pass halted or `gate` blocks it: then the step is listed,
   * blocked, and nothing is sent. Returns whether it was sent.
   */
  send(command: Command, gate?: Blocker): boolean {
    const blockedBy = this.halt ?? gate;
    if (blockedBy !== undefined) {
      const version = command.version !== undefined ? { version: command.version } : {};
      this.step(command.member, command.action, { ...version, blockedBy });
      return false;
    }
    this.step(command.member, command.action, command.version !== undefined ? { version: command.version } : {});
    this.commands.push(command);
    return true;
  }
}
