/**
 * What happens on a fleet without the controller asking, and that the controller waits for
 * (it says so in status, and would wait forever in a simulation that did not play it):
 *
 *  - **An operator updates a Manual master by hand** (seed 000: the master of a domain with
 *    `update: Manual` is the admin's; the controller waits, `waiting for master … to be
 *    updated by hand`). Played for masters whose behaviour sets `updateByHandAfter`: that long
 *    after the master first differs from its domain's version, the operator installs it.
 *  - **An auto-update device updates itself** (seeds 001/003, `autoUpdate: true`: no command
 *    ever reaches a device; the controller only observes). Once the version its account's tag
 *    names is served by its repository server (or at once for a `cloud` device), the device
 *    installs it, taking its `installTime`.
 *  - **A user restarts a device** whose restart is theirs (`restartPolicy: LeaveToUser`, or an
 *    auto-update device): `userRestartAfter` after it first reports a restart pending.
 *
 * Each is announced as a fleet event and followed by a report, as a real agent reports a
 * changed machine at its next exchange. Nothing is done to a machine while it is offline.
 */
import type { AgentCommand } from '../reference/protocol.ts';
import { sameVersion } from '../reference/same-version.ts';
import { formatDuration } from './duration.ts';
import type { Duty } from './duties.ts';
import type { FleetEvent } from './fleet-events.ts';
import type { FleetMember } from './fleet-member.ts';

export interface UnpromptedActionsOptions {
  /** Every member, by agent id (the WRS a device fetches from is looked up here). */
  readonly members: ReadonlyMap<string, FleetMember>;
  readonly onEvent: (event: FleetEvent) => void;
  readonly now?: () => number;
}

type Kind = 'by-hand' | 'self-update' | 'user-restart';

export class UnpromptedActions {
  private readonly now: () => number;
  /** Per `agent kind product`: since when the action has been due. */
  private readonly dueSince = new Map<string, number>();
  /** Actions under way, by the same key. */
  private readonly running = new Set<string>();
  /** Per `agent kind product`: the version a person or the device last installed (a machine that lies about it must not loop). */
  private readonly installed = new Map<string, string>();

  /** Members with a duty someone or something acts on without a command; undefined: to be found again. */
  private concerned: FleetMember[] | undefined;

  constructor(private readonly options: UnpromptedActionsOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Looks at every member with such a duty once; starts the actions that became due. The list
   * of those members is kept between ticks (`dutiesChanged` renews it), so a fleet of 100,000
   * machines with a handful of Manual masters costs a handful of looks.
   */
  tick(): void {
    const now = this.now();
    this.concerned ??= [...this.options.members.values()].filter((m) => m.duties.some((d) => d.manual === true || d.autoUpdate === true || d.restartByUser === true));
    for (const member of this.concerned) {
      for (const duty of member.duties) {
        if (duty.product === undefined || duty.version === undefined) continue;
        if (duty.manual === true && member.behaviour.updateByHandAfterMs !== undefined) this.consider(member, duty, 'by-hand', member.behaviour.updateByHandAfterMs, now);
        if (duty.autoUpdate === true) this.consider(member, duty, 'self-update', 0, now);
        if (duty.restartByUser === true && member.behaviour.userRestartAfterMs !== undefined) this.consider(member, duty, 'user-restart', member.behaviour.userRestartAfterMs, now);
      }
    }
  }

  /** Members joined or their duties changed (a new revision). */
  dutiesChanged(): void {
    this.concerned = undefined;
  }

  /** An action is under way, or due and waiting for its delay: something is still going to happen. */
  get busy(): boolean {
    return this.running.size > 0 || this.dueSince.size > 0;
  }

  private consider(member: FleetMember, duty: Duty, kind: Kind, afterMs: number, now: number): void {
    const key = `${member.id} ${kind} ${duty.product}`;
    if (this.running.has(key)) return;
    const due = member.online && this.installed.get(key) !== duty.version && this.isDue(member, duty, kind);
    if (!due) {
      this.dueSince.delete(key);
      return;
    }
    const since = this.dueSince.get(key);
    if (since === undefined) {
      this.dueSince.set(key, now);
      if (afterMs > 0) return;
    } else if (now - since < afterMs) return;
    this.dueSince.delete(key);
    this.running.add(key);
    void this.act(member, duty, kind).then(
      (ok) => {
        if (ok && kind !== 'user-restart') this.installed.set(key, duty.version!);
        this.running.delete(key);
      },
      () => this.running.delete(key),
    );
  }

  private isDue(member: FleetMember, duty: Duty, kind: Kind): boolean {
    const c = member.component(duty.product!);
    const version = duty.version!;
    const installed = c?.version !== undefined && sameVersion(c.version, version);
    switch (kind) {
      case 'by-hand':
        return !installed && c?.state !== 'installing';
      case 'self-update':
        return !installed && c?.state !== 'installing' && this.served(duty, version);
      case 'user-restart':
        return c?.pendingRestart === true;
    }
  }

  /** A device behind a repository server gets only what it serves; a `cloud` device fetches from the vendor. */
  private served(duty: Duty, version: string): boolean {
    if (duty.repositoryServer === undefined || duty.repositoryServer === 'cloud') return true;
    const wrs = this.options.members.get(duty.repositoryServer);
    return wrs?.component(duty.product!)?.serves?.some((v) => sameVersion(v, version)) === true;
  }

  /** Carries the action out on the machine; true when it succeeded. */
  private async act(member: FleetMember, duty: Duty, kind: Kind): Promise<boolean> {
    const product = duty.product!;
    const version = duty.version!;
    const command: AgentCommand = {
      id: `${kind}-${member.id}-${product}-${version}`,
      action: kind === 'user-restart' ? 'restart' : 'apply',
      target: duty.target,
      member: duty.member,
      product,
      version,
    };
    const emit = (message: string): void => this.options.onEvent({ kind, agent: member.id, target: duty.target, product, version, message, at: this.now() });
    if (kind === 'by-hand') emit(`an operator updates ${member.id} by hand to ${product} ${version} (${duty.target} waits for it: update: Manual)`);
    if (kind === 'self-update') emit(`${member.id} updates itself to ${product} ${version} (${duty.target}: autoUpdate)`);
    if (kind === 'user-restart') {
      const waited = member.behaviour.userRestartAfterMs;
      emit(`the user of ${member.id} restarts it${waited !== undefined ? ` after ${formatDuration(waited)}` : ''}, finalising ${product} ${member.component(product)?.version ?? version}`);
    }
    try {
      const outcome = await member.driver.run(command, {});
      if (!outcome.ok) this.options.onEvent({ kind: 'failed', agent: member.id, target: duty.target, product, version, message: `${member.id}: ${outcome.message ?? `${command.action} failed`}`, at: this.now() });
      return outcome.ok;
    } finally {
      member.reportSoon();
    }
  }
}
