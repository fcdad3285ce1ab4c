/**
 * What one Account pass shares between its steps: the engine's `Pass` (plan, commands,
 * outcomes), the desired releases with the blockers their members share, what each WRS can
 * give its devices, and the tallies the summary is made of. Built per pass, never kept.
 */
import { artifactRef } from '../artifact-ref.ts';
import type { Action } from '../../protocol/action.ts';
import type { ArtifactRef } from '../../protocol/artifact.ts';
import type { Blocker, Command, MemberStatus, TargetStatus } from '../contract.ts';
import { Pass, reasonDef } from '../engine/index.ts';
import type { AccountSpec, Release } from '../model/desired.ts';
import { targetId, type TargetId } from '../model/identity.ts';
import type { ReleaseIndex } from '../model/release-index.ts';
import { versionKey } from '../../protocol/version.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, Observed } from '../observed.ts';
import type { PromotionDetails } from './promotion.ts';
import { ACCOUNT_CATALOGUE, type AccountReason } from './reasons.ts';
import type { WaveHold, Withheld } from '../governance/wave-hold.ts';
import { heldStep } from '../governance/held-shapes.ts';

/** The member name of the cloud infrastructure (console and APIs, seed 003). */
export const INFRASTRUCTURE = 'infrastructure';

/**
 * Where a member stands against its desired release: nothing to do (`updated`), newer and
 * not rolled back by Git (`ahead`), its observed version does not read (`unreadable`: held),
 * or its next step (`install`, `restart`).
 */
export type Stage = 'updated' | 'ahead' | 'unreadable' | 'install' | 'restart';
export type Role = 'infrastructure' | 'wrs' | 'device';

/** One desired release and what members heading for it share (blockers, artifact, comparisons). */
export interface Desire {
  readonly release: Release;
  readonly product: string;
  readonly version: string;
  readonly key: string;
  readonly artifact: ArtifactRef;
  /** Set by the package step: why nothing of this release may run yet; undefined once verified. */
  gate: Blocker | undefined;
  /** Used by at least one member (for the summary). */
  used: boolean;
  /** compareVersions(observed, version) by observed string; NaN for an observed version that does not read. */
  readonly compared: Map<string, number>;
  readonly awaitInstall: Blocker;
  readonly applyRunning: Blocker;
  readonly restartRunning: Blocker;
  readonly pendingRestart: Blocker;
  readonly selfUpdate: Blocker;
}

/** What the devices behind one WRS need of it, computed once per WRS. */
export interface WrsEntry {
  readonly name: string;
  readonly agent: string;
  readonly obs: AgentObservation | undefined;
  readonly comp: ComponentReport | undefined;
  /** Its answer per desire (null: serves it, restarted), memoised: at most two desires. */
  readonly gates: Map<Desire, Blocker | null>;
  /** Its next step is a restart of ours (our apply succeeded, our restart did not). */
  readonly restartDue: boolean;
}

export interface Tally {
  wrs: number;
  wrsUpdated: number;
  devices: number;
  devicesUpdated: number;
  infra: number;
  infraUpdated: number;
  updating: number;
  ahead: number;
  /** `device ws-004: apply 4.3.0 failed: …`, the first few only (with `failedCount`). */
  readonly failed: string[];
  failedCount: number;
  readonly wrsFailed: string[];
}

export interface Ctx {
  readonly pass: Pass;
  readonly target: TargetId;
  readonly name: string;
  readonly spec: AccountSpec;
  readonly releases: ReleaseIndex;
  readonly revision: string | null;
  readonly observed: Observed;
  readonly previous: TargetStatus | undefined;
  readonly now: number;
  /** `spec.rollout.retryFailed`: commands that failed before it are sent again under a new id. */
  readonly retryFailed: string | undefined;
  prod: Desire | undefined;
  test: Desire | undefined;
  infra: Desire | undefined;
  /** Tag problems of step 1: when any, nothing is decided. */
  tagProblems: string[];
  readonly members: MemberStatus[];
  readonly reminders: string[];
  readonly wrs: Map<string, WrsEntry>;
  readonly tally: Tally;
  /** previous.members by name, built on first need (only members reporting a newer version need it). */
  previousMembers: Map<string, MemberStatus> | undefined;
  /** `status.details.promotion`. */
  promotion: PromotionDetails | undefined;
  /** Set while production may not take its version (AwaitingTestRing): every production step waits on it. */
  hold: Blocker | undefined;
  /** The open wave, when governance told it (wave-hold.ts): later waves' applies are withheld. */
  readonly waveHold: WaveHold | undefined;
  /** What was withheld under `waveHold`. */
  readonly withheld: Withheld | undefined;
}

export function newContext(
  name: string,
  spec: AccountSpec,
  releases: ReleaseIndex,
  revision: string | null,
  observed: Observed,
  previous: TargetStatus | undefined,
  now: number,
  waveHold?: { readonly hold: WaveHold; readonly withheld: Withheld },
): Ctx {
  const target = targetId('Account', name);
  return {
    pass: new Pass(target, ACCOUNT_CATALOGUE),
    target,
    name,
    spec,
    releases,
    revision,
    observed,
    previous,
    now,
    retryFailed: spec.rollout?.retryFailed,
    prod: undefined,
    test: undefined,
    infra: undefined,
    tagProblems: [],
    members: [],
    reminders: [],
    wrs: new Map(),
    tally: {
      wrs: 0,
      wrsUpdated: 0,
      devices: 0,
      devicesUpdated: 0,
      infra: 0,
      infraUpdated: 0,
      updating: 0,
      ahead: 0,
      failed: [],
      failedCount: 0,
      wrsFailed: [],
    },
    previousMembers: undefined,
    promotion: undefined,
    hold: undefined,
    waveHold: waveHold?.hold,
    withheld: waveHold?.withheld,
  };
}

/** A blocker for an Account reason, its category taken from the catalogue. */
export function blocker(reason: AccountReason, message: string): Blocker {
  return {
    category: reasonDef(ACCOUNT_CATALOGUE, reason).category === 'stalled' ? 'stalled' : 'waiting',
    reason,
    message,
  };
}

export function newDesire(release: Release): Desire {
  const { product, version } = release.spec;
  return {
    release,
    product,
    version,
    key: versionKey(version),
    artifact: artifactRef(release),
    gate: undefined,
    used: false,
    compared: new Map(),
    awaitInstall: blocker('WaitingForInstall', `restarts once ${version} is reported installed`),
    applyRunning: blocker('InProgress', `apply ${version} in progress`),
    restartRunning: blocker('InProgress', `restart to finalise ${version} in progress`),
    pendingRestart: blocker(
      'PendingRestart',
      `${version} installed; the device finalises it at its next restart or shutdown`,
    ),
    selfUpdate: blocker(
      'AutoUpdate',
      `the device updates itself to ${version} (auto-update); waiting for it to report it`,
    ),
  };
}

/** A Pass for steps listed after the current loop (restarts after every apply), halted like the main one. */
export function laterPass(ctx: Ctx): Pass {
  const later = new Pass(ctx.target, ACCOUNT_CATALOGUE);
  later.halt = ctx.pass.halt;
  return later;
}

/** Appends the steps and commands of a `laterPass` to the main pass, in order. */
export function appendLater(ctx: Ctx, later: Pass): void {
  const { plan, commands } = ctx.pass;
  for (const s of later.plan) plan.push(s);
  for (const c of later.commands) commands.push(c);
}

// The engine's Pass.step/send build a step field by field; a million devices need the cheaper
// literal of known shape, so the Account lists steps on the same Pass through these two.

/** Lists a step on `pass` (blocked when `blockedBy` is set), as `Pass.step` does. */
export function listStep(
  pass: Pass,
  member: string,
  action: Action,
  version: string | undefined,
  blockedBy: Blocker | undefined,
  performedBy?: 'device',
): void {
  const target = pass.target;
  if (blockedBy === undefined) {
    pass.plan.push(
      version === undefined
        ? { target, member, action, runnable: true }
        : { target, member, action, version, runnable: true },
    );
  } else if (version === undefined) {
    pass.plan.push({ target, member, action, runnable: false, blockedBy });
  } else {
    pass.plan.push(
      performedBy === undefined
        ? { target, member, action, version, runnable: false, blockedBy }
        : { target, member, action, version, runnable: false, blockedBy, performedBy },
    );
  }
}

/** Lists a step held for a later wave, in the shape governance gives a step it holds (held-shapes.ts). */
export function listWithheldStep(
  pass: Pass,
  member: string,
  action: Action,
  version: string,
  blockedBy: Blocker,
  performedBy?: 'device',
): void {
  pass.plan.push(heldStep(pass.target, member, action, blockedBy, version, performedBy));
}

/** Sends `command` and lists its step, unless the pass halted (then only the blocked step), as `Pass.send` does. */
export function sendCommand(pass: Pass, command: Command): boolean {
  if (pass.halt !== undefined) {
    listStep(pass, command.member, command.action, command.version, pass.halt);
    return false;
  }
  listStep(pass, command.member, command.action, command.version, undefined);
  pass.commands.push(command);
  return true;
}
