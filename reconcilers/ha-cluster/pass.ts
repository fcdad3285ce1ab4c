/**
 * One HACluster pass: the engine's `Pass` (plan, commands, outcomes, notes, halt) plus what the
 * seed-004 steps share — the release, the members the rollout manages, and what earlier steps
 * found (the preflight, the migration, whether servers and load balancers are done). Local to
 * the pass: nothing survives it but the result.
 */
import type { Action } from '../../protocol/action.ts';
import type { ArtifactRef } from '../../protocol/artifact.ts';
import type { Blocker, MemberState } from '../contract.ts';
import { Pass, type Answer } from '../engine/index.ts';
import type { HAClusterSpec, Release } from '../model/desired.ts';
import type { TargetId } from '../model/identity.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { Observed } from '../observed.ts';
import { ROLE_LABEL, type UmsMember } from './members.ts';
import type { PreflightCheck } from './preconditions.ts';
import { HA_CLUSTER_CATALOGUE, type HAClusterReason } from './reasons.ts';

export interface HeldBack {
  readonly message: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export interface HAPassInput {
  readonly target: TargetId;
  readonly release: Release;
  readonly artifact: ArtifactRef;
  readonly spec: HAClusterSpec;
  readonly observed: Observed;
  readonly retryFailed: string | undefined;
  readonly servers: readonly UmsMember[];
  readonly loadBalancers: readonly UmsMember[];
  readonly consoles: readonly UmsMember[];
  readonly added: readonly UmsMember[];
  readonly heldBack: HeldBack | undefined;
  readonly rolloutStart: number;
  readonly started: boolean;
  readonly previousPreflight: readonly PreflightCheck[] | undefined;
  /** `details.rollbackFrom`: Git moved the release down from this version within one major.minor. */
  readonly rollbackFrom: string | undefined;
}

export class HAPass extends Pass {
  readonly version: string;
  preflight: PreflightCheck[] | undefined;
  /** Holds every server apply while the preflight is not satisfied (unsatisfied or unknown). */
  preflightGate: Blocker | undefined;
  preflightPassedNow = false;
  /** The schema of the release is migrated (the server updated last did it, or every server is in normal mode). */
  migrated = false;
  serversSettled = false;
  /** servers-in-normal-mode, as step 9 found it: the gate of load balancers and consoles. */
  serversGate: Answer | undefined;
  loadBalancersSettled = false;
  readonly reminders: string[] = [];

  constructor(readonly input: HAPassInput) {
    super(input.target, HA_CLUSTER_CATALOGUE);
    this.version = input.release.spec.version;
  }

  get servers(): readonly UmsMember[] {
    return this.input.servers;
  }
  get loadBalancers(): readonly UmsMember[] {
    return this.input.loadBalancers;
  }
  get consoles(): readonly UmsMember[] {
    return this.input.consoles;
  }
  all(): UmsMember[] {
    return [...this.input.servers, ...this.input.loadBalancers, ...this.input.consoles];
  }

  /** A catalogued blocker (the catalogue says whether it is waiting or stalled). */
  block(reason: HAClusterReason | (string & {}), message: string): Blocker {
    return this.blocker(reason, message);
  }

  say(reason: HAClusterReason | (string & {}), message: string): void {
    this.outcome(reason, message);
  }

  noteOf(m: UmsMember, state: MemberState, message?: string): void {
    this.note(m.name, state, message);
  }

  /** A plan step for `m` at the release's version. */
  stepOf(m: UmsMember, action: Action, blockedBy?: Blocker, performedBy?: 'operator'): void {
    this.step(m.name, action, {
      version: this.version,
      ...(blockedBy !== undefined ? { blockedBy } : {}),
      ...(performedBy !== undefined ? { performedBy } : {}),
    });
  }

  /** Sends `action` to `m` under `id` unless the pass halted or `gate` blocks it. */
  sendTo(m: UmsMember, action: Action, id: string, gate?: Blocker): boolean {
    const withArtifact = action === 'stage' || action === 'apply';
    return this.send(
      {
        id,
        target: this.target,
        member: m.name,
        agent: m.agent,
        action,
        delivery: m.delivery,
        product: this.input.release.spec.product,
        version: this.version,
        ...(withArtifact ? { artifact: this.input.artifact } : {}),
      },
      gate,
    );
  }
}

export const names = (list: readonly UmsMember[]): string => list.map((m) => m.name).join(', ');
export const label = (m: UmsMember): string => `${ROLE_LABEL[m.role]} ${m.name}`;
export const agentSays = (r: CommandResult | undefined): string => r?.message ?? 'no message from the agent';
