/**
 * Waves and approval gates (issue 8, items 1 and 2): the last governance step. It lets an
 * account's devices or a domain's slaves change in the waves `spec.rollout.waves` declares,
 * each only once the one before is done — and, for a gated wave, once approved in Git.
 *
 * Wave members: an Account's devices (member role `device`) and a Domain's slaves (`slave`),
 * in file order. Everything else — WRS, infrastructure, master — is ordered by the kind's
 * reconciler (seeds 000, 001, 003) and never held here; so are an account's test-ring
 * devices: the test ring is the canary before any wave, and production waits for it to
 * converge (promotion) — a ring device held by a wave would wait for production, for ever. Only commands that change what runs
 * are held (not downloads, disruptive.ts): a domain still propagates (stages) to every slave, since
 * seed 000 applies only once every slave holds the package.
 *
 * Per member (from the reconciler's status, plan and commands, and what agents report):
 *   done        `Updated` or `Ahead`.
 *   failed      `Failed` (its command failed).
 *   in flight   being changed now: `Updating` with a command already under way (running, a
 *               result already reported, or a restart after its install). Never held by this
 *               step, whatever happens: never half an update. A member merely sent its first
 *               `apply` this pass is not in flight yet (the reconciler also calls it Updating).
 *   straggler   not done, and offline for longer than `stragglerAfter` (from its last report,
 *               `lastSeen`). Its wave does not wait for it. A member that never reported is no
 *               straggler: how long it has been offline is unknown (a controller that lost its
 *               inventory sees every member so), and unknown holds — its wave waits for it.
 *               It stays a straggler until it is done, even once back online — remembered in
 *               the previous status (`details.rollout.waves.stragglers`) for the same rollout
 *               (`rolloutStartedAt`) — so its return never pulls the rollout back: it catches
 *               up, its commands not held whatever wave is current (a halt or a gate excepted).
 *               Only members of waves the rollout reached are stragglers: a member of a later
 *               wave waits for its wave, offline or not.
 *
 * A wave is complete when each member is done, a straggler, or a tolerated failure, and —
 * for a gated wave — it is approved. The current wave is the first one not complete:
 *
 *   halted      more failed members than `failureThreshold` tolerates (default 0; a share is of
 *               the wave, rounded down). Every wave member's command not in flight is held;
 *               phase Failed, reason `WaveFailed`, naming each failed member and why. It
 *               clears when the failed members are no longer `Failed`: a commit that sets or
 *               bumps `spec.rollout.retryFailed` gives them new command ids (the reconcilers).
 *   awaiting-approval   the wave is in `approvalRequired` and `approvals` holds no approval
 *               with its plan digest (see `approval-digest.ts`): members of it and of later
 *               waves not in flight are held; phase Waiting, reason `AwaitingApproval` — or
 *               `ApprovalOutdated` when an approval names the wave with another digest (its
 *               members or version changed since). The same rule holds mid-wave: members done
 *               stay done, members in flight finish, members not started wait for a new
 *               approval. A gate with nothing left to do from its wave on asks for nothing.
 *               An approval naming a wave that does not exist opens nothing; details list it
 *               (`unusedApprovals`, "wave 7 does not exist: …", as `validate` says) and so
 *               does the awaiting message.
 *   current     rolling out: its members get their commands, at most `maxUnavailable` of
 *               them in flight at once (a share is of the wave, rounded up; in member order,
 *               the rest held with `MaxUnavailable`); later waves are held (`WaitingForWave`),
 *               and their members without a command yet are listed (`heldMembers`) so status
 *               and plan say which wave they are in.
 *
 * Details (`status.details.rollout.waves`, for status and `plan`): see `WavesDetails`. Member
 * lists are bounded (LISTED names per wave), so a million-device account stays readable.
 * Cost: O(members + commands + plan steps): per-member flags in typed arrays, members found
 * by a cursor over the file order (MemberLocator) rather than a map of every name, results
 * looked up only for the waves reached, digests only for gated waves. 100,000 devices: about
 * 55 ms on top of the Account reconciler's 200 ms.
 */
import type { Blocker, Command, MemberStatus } from '../contract.ts';
import type { Approval, CountOrPercent, WaveStrategy } from '../model/desired.ts';
import { targetId } from '../model/identity.ts';
import type { AgentObservation } from '../observed.ts';
import { approvalDigest } from './approval-digest.ts';
import { verdictOn } from '../model/approval-trust.ts';
import { isDownload } from './disruptive.ts';
import { blocker } from './reasons.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';
import { messageOf } from '../model/errors.ts';
import { durationMs, maxWaveCount, planWaves, resolveCount, type WaveBounds } from './wave-plan.ts';

/** The step's name: its details are `status.details.rollout.waves`. */
export const WAVES_STEP_NAME = 'waves';

/** Reasons this step sets (on the phase's conditions, or on held plan steps). */
export const WAVE_REASONS = {
  waitingForWave: 'WaitingForWave',
  maxUnavailable: 'MaxUnavailable',
  waveFailed: 'WaveFailed',
  awaitingApproval: 'AwaitingApproval',
  approvalOutdated: 'ApprovalOutdated',
  approvalUnverified: 'ApprovalUnverified',
} as const;

/** Names listed per wave in details (the first and last half of it); beyond, a count. */
export const LISTED = 50;
/** Failed members named in the phase message; all (up to LISTED per wave) are in details. */
const NAMED_IN_MESSAGE = 5;

// ------------------------------------------------------------------ details (plain JSON)

export type WaveState = 'done' | 'current' | 'awaiting-approval' | 'halted' | 'pending';

export interface WaveApprovalDetails {
  readonly required: true;
  /** The digest to approve: `{ wave, digest, by }` in `spec.rollout.approvals`. */
  readonly digest: string;
  readonly approved: boolean;
  /** Who approved this digest (the first matching approval). */
  readonly by?: string;
  /** Whether the approval was traced to its reviewer (false: taken as written, `--insecure-unverified-approvals`). */
  readonly verified?: boolean;
  /** An approval of this digest that does not count: who it names, and why. */
  readonly unverified?: { readonly by: string; readonly reason: string };
  /** An approval names this wave with another digest: the plan changed since. */
  readonly outdated?: true;
  readonly approvedDigest?: string;
}

export interface WaveDetails {
  readonly number: number;
  readonly size: number;
  /** Member names in order: all of them up to LISTED, else the first and last LISTED/2. */
  readonly members: readonly string[];
  /** Names left out between the first and the last halves of `members`. */
  readonly omitted?: number;
  /** Desired versions of its members (usually one). */
  readonly versions: readonly string[];
  readonly state: WaveState;
  readonly updated: number;
  readonly updating: number;
  readonly failed: readonly { readonly member: string; readonly message: string }[];
  readonly failedCount: number;
  /** Failed members it tolerates (`failureThreshold`). */
  readonly tolerated: number;
  readonly stragglers: number;
  readonly approval?: WaveApprovalDetails;
}

export interface UnusedApproval {
  readonly wave: number;
  readonly by: string;
  readonly why: 'no-such-wave' | 'not-required';
  readonly message: string;
}

export interface WavesDetails {
  /** `device` (Account) or `slave` (Domain). */
  readonly role: string;
  /** Wave members, all waves together. */
  readonly members: number;
  /** The current wave's number; null when every wave is done. */
  readonly current: number | null;
  readonly state: 'rolling-out' | 'awaiting-approval' | 'approval-unverified' | 'approval-outdated' | 'halted' | 'done';
  readonly waves: readonly WaveDetails[];
  /**
   * Every straggler of the waves reached so far, in member order. Also this step's memory
   * between passes: a straggler back online stays one until it is done.
   */
  readonly stragglers: readonly string[];
  readonly stragglerAfter?: string;
  readonly maxUnavailable?: { readonly limit: number; readonly inFlight: number; readonly held: number };
  readonly failureThreshold: CountOrPercent;
  /**
   * Approvals that open no gate, with why: the wave they name does not exist (`no-such-wave`),
   * or it exists and requires no approval (`not-required`). As `validate` reports them.
   */
  readonly unusedApprovals?: readonly UnusedApproval[];
  /** Members of the waves reached that never reported: not stragglers (unknown is not "offline long enough"). */
  readonly neverReported?: number;
}

// ------------------------------------------------------------------ the step

export const wavesStep: GovernanceStep = {
  name: WAVES_STEP_NAME,
  kinds: ['Account', 'Domain'],
  decide(ctx) {
    const strategy = ctx.policy?.waves;
    if (strategy === undefined) return undefined;
    const wm = waveMembers(ctx);
    if (wm === undefined || wm.list.length === 0) return undefined;
    return new WavePass(ctx, strategy, wm).decide();
  },
};

interface WaveMembers {
  readonly role: 'device' | 'slave';
  readonly product: string;
  readonly list: readonly MemberStatus[];
  /** Names of the target's other members (WRS, master, infrastructure, test ring): never in a wave. */
  readonly others: ReadonlySet<string>;
}

/** The wave members in file order, with their status from the kind's reconciler. */
function waveMembers(ctx: GovernanceContext): WaveMembers | undefined {
  const object = ctx.desired.object;
  let role: WaveMembers['role'];
  let declared: readonly { readonly name: string }[];
  let product: string;
  let ring: ReadonlySet<string> | undefined;
  if (object.kind === 'Account') {
    const spec = (object as GovernanceContext<'Account'>['desired']['object']).spec;
    role = 'device';
    product = spec.product;
    // The test ring is the canary before any wave: production waits for it (promotion), so a
    // ring device held by a wave would wait for production — a deadlock.
    if (spec.testRing?.devices?.length) ring = new Set(spec.testRing.devices);
    declared = ring === undefined ? spec.devices : spec.devices.filter((d) => !ring!.has(d.name));
  } else if (object.kind === 'Domain') {
    const spec = (object as GovernanceContext<'Domain'>['desired']['object']).spec;
    role = 'slave';
    declared = spec.slaves;
    product = ctx.desired.releases.get(spec.release)?.spec.product ?? '';
  } else {
    return undefined;
  }
  const list: MemberStatus[] = [];
  const others = new Set<string>();
  for (const m of ctx.inner.status.members) {
    if (m.role === role && ring?.has(m.name) !== true) list.push(m);
    else others.add(m.name);
  }
  // The reconcilers list members in file order; check it in lockstep (no map on the common path).
  let aligned = list.length === declared.length;
  for (let i = 0; aligned && i < list.length; i++) aligned = list[i]!.name === declared[i]!.name;
  if (aligned) return { role, product, list, others };
  const byName = new Map(list.map((m) => [m.name, m]));
  const ordered: MemberStatus[] = [];
  for (const d of declared) {
    const m = byName.get(d.name);
    if (m !== undefined) ordered.push(m);
  }
  return { role, product, list: ordered, others };
}

// Per-member flags (typed arrays: a million devices cost a few megabytes, not a million objects).
const NEW_COMMAND = 1;
const CONTINUING = 2;

type CurrentState = Exclude<WaveState, 'done' | 'pending'>;

interface WaveEval {
  readonly bounds: WaveBounds;
  updated: number;
  failed: number[];
  stragglers: number[];
  /** Members neither done, nor failed, nor stragglers: the wave waits for them. */
  unsettled: number;
  tolerated: number;
  versions: string[];
}

interface Gate {
  readonly digest: string;
  /** A verified approval of this digest (or one taken as written, when so configured). */
  readonly approval: Approval | undefined;
  /** No verified approval, but one of this digest that could not be traced to its author: why. */
  readonly unverified: { readonly approval: Approval; readonly reason: string } | undefined;
  readonly outdated: Approval | undefined;
}

class WavePass {
  private readonly n: number;
  private readonly bounds: readonly WaveBounds[];
  private readonly locate: MemberLocator;
  private readonly waveOf: Uint8Array;
  private readonly work: Uint8Array;
  /** Per command of the reconciler (same order): its wave member's index, or -1 (not a wave member, or a download). */
  private readonly held: Int32Array;
  private readonly inFlight: Uint8Array;
  private readonly straggler: Uint8Array;
  private readonly afterMs: number | undefined;
  private readonly remembered: ReadonlySet<string>;
  private readonly target: string;
  private readonly noun: (count: number) => string;
  private requeueAfter: number | undefined;
  private neverReported = 0;

  constructor(
    private readonly ctx: GovernanceContext,
    private readonly strategy: WaveStrategy,
    private readonly wm: WaveMembers,
  ) {
    const n = (this.n = wm.list.length);
    this.bounds = planWaves(strategy.steps, n);
    this.waveOf = new Uint8Array(n);
    this.bounds.forEach((b, k) => this.waveOf.fill(k, b.start, b.end));
    this.locate = new MemberLocator(wm.list, wm.others);
    this.work = new Uint8Array(n);
    this.held = new Int32Array(ctx.inner.commands.length).fill(-1);
    this.inFlight = new Uint8Array(n);
    this.straggler = new Uint8Array(n);
    this.afterMs = strategy.stragglerAfter === undefined ? undefined : durationMs(strategy.stragglerAfter);
    this.remembered = this.afterMs === undefined ? new Set() : rememberedStragglers(ctx);
    this.target = targetId(ctx.desired.object.kind, ctx.desired.object.metadata.name);
    this.noun = (count) => `${wm.role}${count === 1 ? '' : 's'}`;
    this.classifyCommands();
  }

  decide(): GovernanceVerdict {
    const { bounds } = this;
    const gates = this.gates();
    const unused = unusedApprovals(this.strategy, this.ctx.policy?.approvals ?? []);
    const left = this.leftFrom();
    const evals: WaveEval[] = [];
    let current = -1;
    let state: CurrentState | undefined;
    for (let k = 0; k < bounds.length; k++) {
      const ev = this.evaluate(k, true);
      evals.push(ev);
      const gate = gates[k];
      if (ev.failed.length > ev.tolerated) state = 'halted';
      else if (gate !== undefined && gate.approval === undefined && left[k]! > 0) state = 'awaiting-approval';
      else if (ev.unsettled > 0) state = 'current';
      if (state !== undefined) {
        current = k;
        break;
      }
    }
    for (let k = evals.length; k < bounds.length; k++) evals.push(this.evaluate(k, false));
    if (current >= 0) this.findSentBefore(bounds[current]!.end);
    this.classifyInFlight();

    const holds = new Map<string, Blocker>();
    const heldMembers = new Map<string, Blocker>();
    let limit: { limit: number; inFlight: number; held: number } | undefined;
    let verdict: Pick<GovernanceVerdict, 'reason' | 'message' | 'note'> = {};
    const total = bounds.length;
    if (state === 'halted') {
      const ev = evals[current]!;
      const b: Blocker = blocker(WAVE_REASONS.waveFailed, `rollout halted: wave ${current + 1} of ${total} failed (${ev.failed.length} failed, ${ev.tolerated} tolerated)`);
      this.hold(holds, heldMembers, () => b, 0);
      verdict = { reason: WAVE_REASONS.waveFailed, message: this.failedMessage(ev, total), note: `halted: wave ${current + 1}/${total} failed` };
    } else if (state === 'awaiting-approval') {
      const gate = gates[current]!;
      const ev = evals[current]!;
      const reason = gate.unverified
        ? WAVE_REASONS.approvalUnverified
        : gate.outdated ? WAVE_REASONS.approvalOutdated : WAVE_REASONS.awaitingApproval;
      const b: Blocker = blocker(
        reason,
        gate.unverified
          ? `the approval of wave ${current + 1} of ${total} by ${gate.unverified.approval.by} is not verified: ${gate.unverified.reason}`
          : gate.outdated
            ? `the approval of wave ${current + 1} of ${total} no longer matches its plan; waiting for an approval of ${gate.digest}`
            : `wave ${current + 1} of ${total} awaits approval (digest ${gate.digest})`,
      );
      // Earlier waves (their stragglers catching up) go on; the gated wave and later ones wait.
      this.hold(holds, heldMembers, (k) => (k >= current ? b : undefined), current);
      verdict = {
        reason,
        message: this.approvalMessage(ev, gate, total) + misnamed(unused),
        note: gate.unverified
          ? `wave ${current + 1}/${total}: approval not verified`
          : gate.outdated ? `wave ${current + 1}/${total}: approval outdated` : `wave ${current + 1}/${total} awaits approval`,
      };
    } else if (state === 'current') {
      const waiting = waitingForWave(total, current);
      limit = this.holdLaterWaves(holds, heldMembers, waiting, current, evals[current]!);
      verdict = { note: `wave ${current + 1}/${total}` };
    }

    const details: WavesDetails = {
      role: this.wm.role,
      members: this.n,
      current: current < 0 ? null : current + 1,
      state: state === undefined ? 'done' : state === 'current' ? 'rolling-out' : state === 'awaiting-approval' && gates[current]!.unverified ? 'approval-unverified'
        : state === 'awaiting-approval' && gates[current]!.outdated ? 'approval-outdated' : state,
      waves: evals.map((ev, k) => this.waveDetails(ev, k < current || current < 0 ? 'done' : k === current ? state! : 'pending', gates[k])),
      stragglers: this.stragglerNames(current < 0 ? bounds.length : current + 1),
      ...(this.strategy.stragglerAfter !== undefined ? { stragglerAfter: this.strategy.stragglerAfter } : {}),
      ...(limit !== undefined ? { maxUnavailable: limit } : {}),
      failureThreshold: this.strategy.failureThreshold ?? 0,
      ...(unused.length > 0 ? { unusedApprovals: unused } : {}),
      ...(this.neverReported > 0 ? { neverReported: this.neverReported } : {}),
    };
    return {
      ...(holds.size > 0 ? { holds } : {}),
      ...(heldMembers.size > 0 ? { heldMembers } : {}),
      ...verdict,
      ...(this.requeueAfter !== undefined ? { requeueAfter: this.requeueAfter } : {}),
      details: details as unknown as Record<string, unknown>,
    };
  }

  // ---------------------------------------------------------------- per member

  /** Which members have a command that changes what runs this pass, and whether it continues an update under way (a restart follows an install). */
  private classifyCommands(): void {
    const commands = this.ctx.inner.commands;
    const kind = this.ctx.desired.object.kind;
    for (let n = 0; n < commands.length; n++) {
      const c = commands[n]!;
      if (isDownload(kind, c)) continue;
      const i = this.locate.indexOf(c.member);
      if (i < 0) continue;
      this.held[n] = i;
      this.work[i]! |= c.action !== 'apply' ? CONTINUING : NEW_COMMAND;
    }
  }

  /**
   * An apply the agent already reported a result for was sent on an earlier pass: its member is
   * in flight. Looked up for the members before `end` only (the waves reached): a later wave has
   * none but after a change of plan, and a held apply that already ran costs nothing — its member
   * reports the version, and its restart, a continuation, is never held.
   */
  private findSentBefore(end: number): void {
    const agents = this.ctx.observed.agents;
    const commands = this.ctx.inner.commands;
    for (let n = 0; n < commands.length; n++) {
      const i = this.held[n]!;
      if (i < 0 || i >= end || this.work[i] !== NEW_COMMAND) continue;
      const c = commands[n]!;
      if (sentBefore(agents.get(c.agent), c)) this.work[i]! |= CONTINUING;
    }
  }

  /**
   * In flight: Updating with a continuing command, or Updating with no command at all (its
   * command is running) — unless what runs is a download (`stage`), which changes nothing.
   */
  private classifyInFlight(): void {
    const { list } = this.wm;
    let running = 0;
    for (let i = 0; i < this.n; i++) {
      if (list[i]!.state !== 'Updating') continue;
      if ((this.work[i]! & CONTINUING) !== 0) this.inFlight[i] = 1;
      else if (this.work[i] === 0) {
        this.inFlight[i] = 2; // decided by its next plan step, below
        running++;
      }
    }
    if (running === 0) return;
    const seen = new Uint8Array(this.n);
    for (const s of this.ctx.inner.plan) {
      const i = this.locate.indexOf(s.member);
      if (i < 0 || seen[i] === 1) continue;
      seen[i] = 1;
      if (this.inFlight[i] === 2) this.inFlight[i] = s.action === 'stage' ? 0 : 1;
    }
    for (let i = 0; i < this.n; i++) if (this.inFlight[i] === 2) this.inFlight[i] = 1;
  }

  private isDone(m: MemberStatus): boolean {
    return m.state === 'Updated' || m.state === 'Ahead';
  }

  /** Straggler now (see the header): remembered from the previous pass, or offline for too long. */
  private isStraggler(m: MemberStatus): boolean {
    const after = this.afterMs;
    if (after === undefined) return false;
    if (this.remembered.has(m.name)) return true;
    const obs = this.ctx.observed.agents.get(m.agent);
    if (obs?.online === true) return false;
    const since = obs?.lastSeen === undefined ? Number.NaN : Date.parse(obs.lastSeen);
    if (Number.isNaN(since)) {
      // Never reported (or a controller that lost its inventory): how long it has been offline is
      // unknown, and unknown is not "long enough" — its wave waits for it.
      this.neverReported++;
      return false;
    }
    const left = since + after - this.ctx.now;
    if (left < 0) return true;
    // It becomes one just after `left`: be back then to let its wave go on.
    if (this.requeueAfter === undefined || left + 1 < this.requeueAfter) this.requeueAfter = left + 1;
    return false;
  }

  /** Counts a wave's members; `reached`: the rollout got to it (earlier or current), so it has stragglers. */
  private evaluate(k: number, reached: boolean): WaveEval {
    const bounds = this.bounds[k]!;
    const size = bounds.end - bounds.start;
    const ev: WaveEval = {
      bounds,
      updated: 0,
      failed: [],
      stragglers: [],
      unsettled: 0,
      tolerated: resolveCount(this.strategy.failureThreshold ?? 0, size, 'down'),
      versions: [],
    };
    const { list } = this.wm;
    for (let i = bounds.start; i < bounds.end; i++) {
      const m = list[i]!;
      if (ev.versions.length < 3 && !ev.versions.includes(m.desired)) ev.versions.push(m.desired);
      if (this.isDone(m)) ev.updated++;
      else if (m.state === 'Failed') ev.failed.push(i);
      else if (reached && this.isStraggler(m)) {
        this.straggler[i] = 1;
        ev.stragglers.push(i);
      } else ev.unsettled++;
    }
    return ev;
  }

  /** Per wave, how many members are not done from that wave to the last (a gate with nothing after it asks for nothing). */
  private leftFrom(): number[] {
    const { list } = this.wm;
    const out = new Array<number>(this.bounds.length + 1).fill(0);
    for (let k = this.bounds.length - 1; k >= 0; k--) {
      const b = this.bounds[k]!;
      let left = 0;
      for (let i = b.start; i < b.end; i++) if (!this.isDone(list[i]!)) left++;
      out[k] = out[k + 1]! + left;
    }
    return out;
  }

  private gates(): (Gate | undefined)[] {
    const required = new Set(this.strategy.approvalRequired ?? []);
    const approvals = this.ctx.policy?.approvals ?? [];
    const trust = this.ctx.desired.approvalTrust;
    return this.bounds.map((b) => {
      if (!required.has(b.number)) return undefined;
      const digest = approvalDigest({ target: this.target, wave: b.number, product: this.wm.product, members: this.wm.list.slice(b.start, b.end) });
      let approval: Approval | undefined;
      let unverified: Gate['unverified'];
      let last: Approval | undefined;
      approvals.forEach((a, i) => {
        if (a.wave !== b.number) return;
        last = a;
        if (a.digest !== digest || approval !== undefined) return;
        const verdict = verdictOn(trust, i);
        if (verdict.verified) approval = a;
        else unverified ??= { approval: a, reason: verdict.reason ?? 'not verified' };
      });
      const outdated = approval === undefined && unverified === undefined ? last : undefined;
      return { digest, approval, unverified: approval === undefined ? unverified : undefined, outdated };
    });
  }

  // ---------------------------------------------------------------- holds

  /**
   * Holds every command that changes what runs of a wave member not in flight whose wave
   * `blockerOf` names, and lists the members of those waves with work left and no command.
   * Waves before `from` are left alone (only stragglers and tolerated failures are left there).
   */
  private hold(holds: Map<string, Blocker>, heldMembers: Map<string, Blocker>, blockerOf: (wave: number) => Blocker | undefined, from: number): void {
    const commands = this.ctx.inner.commands;
    for (let n = 0; n < commands.length; n++) {
      const i = this.held[n]!;
      if (i < 0 || this.inFlight[i] === 1) continue;
      const b = blockerOf(this.waveOf[i]!);
      if (b !== undefined) holds.set(commands[n]!.id, b);
    }
    this.listHeld(heldMembers, blockerOf, from);
  }

  /** While a wave rolls out: later waves wait (stragglers excepted), and at most `maxUnavailable` members of it are in flight. */
  private holdLaterWaves(
    holds: Map<string, Blocker>,
    heldMembers: Map<string, Blocker>,
    waiting: readonly (Blocker | undefined)[],
    current: number,
    ev: WaveEval,
  ): { limit: number; inFlight: number; held: number } | undefined {
    const max = this.strategy.maxUnavailable;
    const size = ev.bounds.end - ev.bounds.start;
    const limit = max === undefined ? undefined : Math.max(1, resolveCount(max, size, 'up'));
    const inFlight = this.inFlightIn(0, this.n);
    let room = limit === undefined ? Infinity : limit - inFlight;
    let held = 0;
    const admitted = new Uint8Array(this.n);
    const total = this.bounds.length;
    const full: Blocker | undefined =
      limit === undefined
        ? undefined
        : blocker(WAVE_REASONS.maxUnavailable, `wave ${current + 1} of ${total}: at most ${limit} ${this.noun(limit)} updated at once (maxUnavailable); starts when one finishes`);
    const commands = this.ctx.inner.commands;
    for (let n = 0; n < commands.length; n++) {
      const i = this.held[n]!;
      if (i < 0 || this.inFlight[i] === 1) continue;
      const c = commands[n]!;
      const k = this.waveOf[i]!;
      // A member of a later wave waits for its wave, straggler or not: only a wave already reached goes on without it.
      if (k > current) {
        holds.set(c.id, waiting[k]!);
        continue;
      }
      if (admitted[i] === 1) continue;
      // Stragglers catching up are never held, but they are being updated: they take room.
      if (room > 0 || this.straggler[i] === 1) {
        admitted[i] = 1;
        room--;
      } else {
        holds.set(c.id, full!);
        held++;
      }
    }
    this.listHeld(heldMembers, (k) => waiting[k], current + 1);
    return limit === undefined ? undefined : { limit, inFlight: inFlight + countOnes(admitted), held };
  }

  /** Members of the held waves with work left but no command to hold: so status and plan say what they wait for. */
  private listHeld(heldMembers: Map<string, Blocker>, blockerOf: (wave: number) => Blocker | undefined, from: number): void {
    // Without a plan the reconciler itself stopped (an unresolved tag, a missing release): its reason speaks.
    if (this.ctx.inner.plan.length === 0) return;
    const { list } = this.wm;
    const withheld = this.ctx.withheld?.flags;
    for (let k = from; k < this.bounds.length; k++) {
      const b = blockerOf(k);
      if (b === undefined) continue;
      const { start, end } = this.bounds[k]!;
      for (let i = start; i < end; i++) {
        const m = list[i]!;
        if (this.work[i] !== 0 || this.inFlight[i] === 1 || this.isDone(m) || m.state === 'Failed') continue;
        // Withheld by the reconciler under the wave hold: its status and steps already say so.
        if (withheld !== undefined && withheld[i] === 1) continue;
        heldMembers.set(m.name, b);
      }
    }
  }

  // ---------------------------------------------------------------- words and details

  private describe(ev: WaveEval, total: number): string {
    const size = ev.bounds.end - ev.bounds.start;
    return `wave ${ev.bounds.number} of ${total} (${size} ${this.noun(size)} → ${ev.versions.join(', ')})`;
  }

  private failedMessage(ev: WaveEval, total: number): string {
    const { list } = this.wm;
    const named = ev.failed.slice(0, NAMED_IN_MESSAGE).map((i) => `${list[i]!.name}: ${list[i]!.message ?? 'failed'}`);
    const more = ev.failed.length - named.length;
    return (
      `${this.describe(ev, total)} failed: ${ev.failed.length} failed, ${ev.tolerated} tolerated (failureThreshold ${String(this.strategy.failureThreshold ?? 0)}) — ` +
      `${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}. The rollout is halted: fix the cause, then set spec.rollout.retryFailed to a new time to retry only the failed members`
    );
  }

  private approvalMessage(ev: WaveEval, gate: Gate, total: number): string {
    const add = `add {wave: ${ev.bounds.number}, digest: ${gate.digest}, by: …} to spec.rollout.approvals`;
    if (gate.unverified) {
      const { approval, reason } = gate.unverified;
      return `the approval of wave ${ev.bounds.number} of ${total} by ${approval.by} does not count — ${this.describe(ev, total)}: ${reason}; an approval counts when the commit adding it is signed by a key the approvers file lists for its reviewer, who did not author the change`;
    }
    if (gate.outdated) {
      return `the approval of wave ${ev.bounds.number} of ${total} by ${gate.outdated.by} (${gate.outdated.digest}) no longer matches its plan — ${this.describe(ev, total)}: its members or version changed; a new approval is needed: ${add}`;
    }
    return `${this.describe(ev, total)} awaits approval: ${add}`;
  }

  private waveDetails(ev: WaveEval, state: WaveState, gate: Gate | undefined): WaveDetails {
    const { list } = this.wm;
    const { start, end, number } = ev.bounds;
    const size = end - start;
    const names: string[] = [];
    const half = LISTED / 2;
    if (size <= LISTED) for (let i = start; i < end; i++) names.push(list[i]!.name);
    else {
      for (let i = start; i < start + half; i++) names.push(list[i]!.name);
      for (let i = end - half; i < end; i++) names.push(list[i]!.name);
    }
    return {
      number,
      size,
      members: names,
      ...(size > LISTED ? { omitted: size - LISTED } : {}),
      versions: ev.versions,
      state,
      updated: ev.updated,
      updating: this.inFlightIn(start, end),
      failed: ev.failed.slice(0, LISTED).map((i) => ({ member: list[i]!.name, message: list[i]!.message ?? 'failed' })),
      failedCount: ev.failed.length,
      tolerated: ev.tolerated,
      stragglers: ev.stragglers.length,
      ...(gate !== undefined
        ? {
            approval: {
              required: true,
              digest: gate.digest,
              approved: gate.approval !== undefined,
              ...(gate.approval !== undefined ? { by: gate.approval.by } : {}),
              ...(gate.approval !== undefined ? { verified: this.ctx.desired.approvalTrust?.mode === 'verify' } : {}),
              ...(gate.unverified !== undefined
                ? { unverified: { by: gate.unverified.approval.by, reason: gate.unverified.reason } }
                : {}),
              ...(gate.outdated !== undefined ? { outdated: true, approvedDigest: gate.outdated.digest } : {}),
            },
          }
        : {}),
    };
  }

  private inFlightIn(start: number, end: number): number {
    let n = 0;
    for (let i = start; i < end; i++) if (this.inFlight[i] === 1) n++;
    return n;
  }

  /** Stragglers of the first `waves` waves, in member order. */
  private stragglerNames(waves: number): string[] {
    const out: string[] = [];
    const end = waves > 0 ? this.bounds[waves - 1]!.end : 0;
    for (let i = 0; i < end; i++) if (this.straggler[i] === 1) out.push(this.wm.list[i]!.name);
    return out;
  }
}

/** Per wave, what its members wait for while wave `current` (0-based) rolls out: later waves only. */
export function waitingForWave(total: number, current: number): (Blocker | undefined)[] {
  return Array.from({ length: total }, (_, k): Blocker | undefined =>
    k <= current
      ? undefined
      : blocker(
          WAVE_REASONS.waitingForWave,
          k === current + 1
            ? `in wave ${k + 1} of ${total}: starts once wave ${current + 1} is done`
            : `in wave ${k + 1} of ${total}: starts after wave ${k}; wave ${current + 1} is rolling out`,
        ),
  );
}

/**
 * Finds a wave member's index by name without building a map of a million names: reconcilers
 * emit commands and plan steps in member order (in a few runs — applies, then restarts), so a
 * cursor moving forward, wrapping around at the end, finds each in O(1) amortised. The
 * target's other members (a small set) are answered at once. Should an order ever be
 * scrambled, it switches to a map once its scanning exceeds a few passes over the list.
 */
export class MemberLocator {
  private cursor = 0;
  private budget: number;
  private map: Map<string, number> | undefined;

  constructor(
    private readonly list: readonly MemberStatus[],
    private readonly others: ReadonlySet<string>,
  ) {
    this.budget = 8 * list.length + 64;
  }

  /** The member's index in the list, or -1 when it is not a wave member. */
  indexOf(name: string): number {
    if (this.others.has(name)) return -1;
    if (this.map !== undefined) return this.map.get(name) ?? -1;
    const { list } = this;
    const n = list.length;
    let i = this.cursor;
    for (let scanned = 0; scanned < n && scanned <= this.budget; scanned++) {
      if (list[i]!.name === name) {
        this.budget -= scanned;
        this.cursor = i;
        return i;
      }
      if (++i === n) i = 0;
    }
    // Not found within budget (an unknown name, or an order this cursor does not suit): a map from now on.
    this.map = new Map(list.map((m, k) => [m.name, k]));
    return this.map.get(name) ?? -1;
  }
}

/** An agent already reported a result for this command: it was sent on an earlier pass. */
function sentBefore(obs: AgentObservation | undefined, c: Command): boolean {
  if (obs === undefined) return false;
  for (const r of obs.results) if (r.id === c.id) return true;
  return false;
}

/** Stragglers the previous status listed, if it is the same rollout (same `rolloutStartedAt`). */
function rememberedStragglers(ctx: GovernanceContext): ReadonlySet<string> {
  const prev = ctx.previous;
  if (prev?.rolloutStartedAt === undefined || prev.rolloutStartedAt !== ctx.inner.status.rolloutStartedAt) return new Set();
  const rollout = prev.details?.rollout as Record<string, unknown> | undefined;
  const waves = rollout?.[WAVES_STEP_NAME] as { stragglers?: unknown } | undefined;
  const list = waves?.stragglers;
  if (!Array.isArray(list)) return new Set();
  return new Set(list.filter((x): x is string => typeof x === 'string'));
}

function countOnes(a: Uint8Array): number {
  let n = 0;
  for (const x of a) n += x;
  return n;
}

/** Approvals that open no gate, in file order: the wave does not exist, or requires none. */
function unusedApprovals(strategy: WaveStrategy, approvals: readonly Approval[]): UnusedApproval[] {
  const waves = maxWaveCount(strategy.steps);
  const required = strategy.approvalRequired ?? [];
  const out: UnusedApproval[] = [];
  for (const a of approvals) {
    const { wave, by } = a;
    if (wave < 1 || wave > waves) out.push({ wave, by, why: 'no-such-wave', message: messageOf('APPROVAL_NO_SUCH_WAVE', { wave, waves }) });
    else if (!required.includes(wave)) out.push({ wave, by, why: 'not-required', message: messageOf('APPROVAL_NOT_REQUIRED', { wave, required }) });
  }
  return out;
}

/** While a gate waits: an approval naming a wave that does not exist is likely the one meant for it. */
function misnamed(unused: readonly UnusedApproval[]): string {
  const missing = unused.filter((u) => u.why === 'no-such-wave');
  if (missing.length === 0) return '';
  return ` (an approval by ${missing[0]!.by}: ${missing[0]!.message}${missing.length > 1 ? `; and ${missing.length - 1} more` : ''})`;
}
