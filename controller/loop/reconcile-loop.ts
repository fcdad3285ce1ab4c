import type { PlanStep, Reconciler, TargetStatus } from '../../reconcilers/contract.ts';
import type { AnyDesiredObject, Kind, Release } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { ArtifactCheck, CredentialCheck, Observed } from '../../reconcilers/observed.ts';
import { RECONCILERS } from '../../reconcilers/registry.ts';
import type { DesiredState } from '../desired/load-desired-state.ts';
import type { ApprovalTrust } from '../../reconcilers/model/approval-trust.ts';
import { sameJson, type ObservedInventory } from '../agents/inventory.ts';
import type { Mailbox } from '../agents/mailbox.ts';
import { WorkQueue } from './work-queue.ts';
import { TargetIndex } from './target-index.ts';

export interface LoopLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What the loop reports to metrics; every hook is optional. */
export interface LoopObserver {
  reconciled?(target: TargetId, kind: Kind, outcome: 'ok' | 'error' | 'no-reconciler' | 'deferred', seconds: number): void;
}

export interface ReconcileLoopOptions {
  readonly inventory: ObservedInventory;
  readonly mailbox: Mailbox;
  /** Called with the agents whose pending commands changed. */
  readonly onCommandsChanged: (agents: readonly string[], index: TargetIndex) => void;
  /** Receives each new status (to be committed). */
  readonly onStatus: (status: TargetStatus) => void;
  /** A target's status differs from the one before (the web view's event stream), or the target was removed. */
  readonly onStatusChanged?: (target: TargetId, status: TargetStatus | undefined) => void;
  readonly artifacts?: () => ReadonlyMap<string, ArtifactCheck>;
  readonly credentials?: (now: number) => ReadonlyMap<string, CredentialCheck>;
  /** Statuses committed before this start (the reconcilers' memory). */
  readonly previous?: ReadonlyMap<TargetId, TargetStatus>;
  readonly consoleId?: string;
  readonly concurrency?: number;
  /**
   * After a start, how long a target waits for all its agents to report before it is
   * reconciled anyway. Acting on an inventory that is still empty would show every member
   * offline and commit that as status.
   */
  readonly warmUpMs?: number;
  /** Every target is reconciled again at least this often (drift, clocks, schedules). */
  readonly resyncMs?: number;
  readonly now?: () => number;
  readonly logger?: LoopLogger;
  readonly observer?: LoopObserver;
  /** Exponential backoff of a target whose reconcile throws. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A test seam: the reconcilers by kind (default: the registry). */
  readonly reconcilers?: { readonly [K in Kind]?: Reconciler<K> };
}

/**
 * The reconcile loop (issue 4, item 4), after controller-runtime: a work queue keyed by
 * target (`kind/name`), fed by new desired revisions, by agent reports that touch a target,
 * by agents going offline, by package checks, and by each reconcile's `requeueAfter`.
 * A key carries no payload: every pass re-reads the current desired state, the whole
 * observed inventory and the target's last status. Bounded concurrency; a target that
 * throws backs off exponentially without holding up the others; a target is never
 * reconciled twice at once (the queue guarantees it).
 */
export class ReconcileLoop {
  private desired: DesiredState | undefined;
  private releases: ReleaseIndex | undefined;
  /** Who really added each target's approvals, read from Git with the revision (issue 13). */
  private approvalTrust: ReadonlyMap<TargetId, ApprovalTrust> = new Map();
  private index: TargetIndex = new TargetIndex([]);
  private readonly statuses: Map<TargetId, TargetStatus>;
  /** Each target's last plan: what the web view shows as the vendor order (derived, like status). */
  private readonly plans = new Map<TargetId, readonly PlanStep[]>();
  private readonly queue: WorkQueue<TargetId>;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly warned = new Set<Kind>();
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconcileLoopOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.statuses = new Map(options.previous ?? []);
    this.queue = new WorkQueue<TargetId>({
      concurrency: options.concurrency ?? 4,
      process: (target) => this.reconcile(target),
      now: this.now,
      ...(options.baseBackoffMs !== undefined ? { baseBackoffMs: options.baseBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
      onError: (target, err, retryInMs, failures) =>
        options.logger?.error({ target, revision: this.desired?.revision, err: messageOf(err), retryInMs, failures }, 'reconcile failed; backing off'),
    });
    if (options.resyncMs !== undefined) {
      this.resyncTimer = setInterval(() => this.enqueueAll(), options.resyncMs);
      this.resyncTimer.unref();
    }
  }

  /** The revision the loop acts on. */
  get revision(): string | null | undefined {
    return this.desired?.revision;
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get activeReconciles(): number {
    return this.queue.active;
  }

  get targetIndex(): TargetIndex {
    return this.index;
  }

  statusOf(target: TargetId): TargetStatus | undefined {
    return this.statuses.get(target);
  }

  /** The steps the target's last reconcile planned; undefined before its first reconcile in this process. */
  planOf(target: TargetId): readonly PlanStep[] | undefined {
    return this.plans.get(target);
  }

  /** The desired state acted on (undefined before the first valid revision). */
  get desiredState(): DesiredState | undefined {
    return this.desired;
  }

  /** A new valid desired state: every target is reconciled again; removed targets leave nothing behind. */
  applyDesired(state: DesiredState, approvalTrust: ReadonlyMap<TargetId, ApprovalTrust> = new Map()): void {
    const before = new Set(this.index.targets);
    this.desired = state;
    this.approvalTrust = approvalTrust;
    this.releases = new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release'));
    this.index = new TargetIndex(state.objects);
    for (const target of this.index.targets) before.delete(target);
    for (const removed of before) {
      this.queue.forget(removed);
      this.statuses.delete(removed);
      this.plans.delete(removed);
      this.options.onStatusChanged?.(removed, undefined);
      const agents = this.options.mailbox.clear(removed);
      if (agents.length > 0) this.options.onCommandsChanged(agents, this.index);
      this.options.logger?.info({ target: removed, revision: state.revision }, 'target removed from the desired state; its commands are withdrawn');
    }
    this.enqueueAll();
  }

  /** An agent reported: the targets it belongs to are reconciled again if anything they read changed. */
  agentReported(agent: string, changed: boolean): void {
    if (!changed) return;
    for (const target of this.index.targetsOf(agent)) this.queue.add(target);
  }

  /** Agents that fell silent, or whatever else changes what an agent's targets see. */
  agentsChanged(agents: Iterable<string>): void {
    for (const agent of agents) for (const target of this.index.targetsOf(agent)) this.queue.add(target);
  }

  /** A package check or a credential changed: cheap and rare, so every target looks again. */
  enqueueAll(): void {
    for (const target of this.index.targets) this.queue.add(target);
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops taking work and waits for the reconciles in flight. */
  async shutdown(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.queue.shutdown();
  }

  private async reconcile(target: TargetId): Promise<{ requeueAfter?: number } | void> {
    const state = this.desired;
    const object = state?.byId.get(target);
    if (state === undefined || object === undefined) return;
    const started = performance.now();
    const done = (outcome: 'ok' | 'error' | 'no-reconciler' | 'deferred') =>
      this.options.observer?.reconciled?.(target, object.kind, outcome, (performance.now() - started) / 1000);

    const reconcile = (this.options.reconcilers ?? RECONCILERS)[object.kind] as Reconciler<Kind> | undefined;
    if (!reconcile) {
      // Reported, never skipped silently (issue 4, item 6).
      if (!this.warned.has(object.kind)) {
        this.warned.add(object.kind);
        this.options.logger?.warn({ target, kind: object.kind, revision: state.revision }, `no reconciler for kind ${object.kind}: its targets are not acted on`);
      }
      done('no-reconciler');
      return;
    }

    const now = this.now();
    const wait = this.warmUpLeft(target, now);
    if (wait > 0) {
      done('deferred');
      return { requeueAfter: wait };
    }

    try {
      const observed: Observed = {
        agents: this.options.inventory.observations,
        artifacts: this.options.artifacts?.() ?? new Map(),
        credentials: this.options.credentials?.(now) ?? new Map(),
      };
      const desired = {
        object: object as AnyDesiredObject,
        releases: this.releases!,
        revision: state.revision,
        ...(this.options.consoleId !== undefined ? { consoleId: this.options.consoleId } : {}),
        ...(this.approvalTrust.has(target) ? { approvalTrust: this.approvalTrust.get(target)! } : {}),
      };
      const before = this.statuses.get(target);
      const result = reconcile(desired, observed, before, now);
      this.statuses.set(target, result.status);
      this.plans.set(target, result.plan);
      if (before === undefined || !sameJson(before, result.status)) this.options.onStatusChanged?.(target, result.status);
      const changed = this.options.mailbox.set(target, result.commands);
      if (changed.length > 0) this.options.onCommandsChanged(changed, this.index);
      this.options.onStatus(result.status);
      // A line per change of phase or summary, and per change of what agents are asked: the story of a rollout.
      const moved = before?.phase !== result.status.phase || before.summary !== result.status.summary || changed.length > 0;
      const line = { target, revision: state.revision, phase: result.status.phase, commands: result.commands.length, ...(result.requeueAfter !== undefined ? { requeueAfter: result.requeueAfter } : {}) };
      if (moved) this.options.logger?.info(line, result.status.summary);
      else this.options.logger?.debug(line, result.status.summary);
      done('ok');
      return result.requeueAfter !== undefined ? { requeueAfter: result.requeueAfter } : undefined;
    } catch (err) {
      done('error');
      throw err;
    }
  }

  /** Milliseconds this target still waits for its agents' first reports after a start (0: go). */
  private warmUpLeft(target: TargetId, now: number): number {
    const warmUp = this.options.warmUpMs ?? 0;
    const left = this.startedAt + warmUp - now;
    if (left <= 0) return 0;
    for (const agent of this.index.agentsOf(target)) {
      if (!this.options.inventory.observations.has(agent)) return Math.min(left, 1000);
    }
    return 0;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
