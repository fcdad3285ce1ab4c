import type { Command } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { AgentCommand } from '../../protocol/command.ts';
import { toAgentCommand } from './agent-command.ts';

interface AgentBox {
  /** Pending commands per target, in the reconciler's order, and whether they may also be pushed (a `bidirectional` member). */
  readonly byTarget: Map<TargetId, { readonly commands: readonly AgentCommand[]; readonly push: boolean }>;
  /** The JSON of every pending command, computed once per change: answers are served from it. */
  json: string | undefined;
}

/**
 * The mailbox of each agent (seed 000, "unidirectional" sync): the commands the last
 * reconcile of each target wants that agent to run. It is not a queue of events — each
 * reconcile *replaces* its target's commands, so the mailbox always holds what the current
 * desired and observed state call for, and a controller restart rebuilds it identically.
 * An agent only ever gets its own box.
 */
export class Mailbox {
  private readonly boxes = new Map<string, AgentBox>();
  private readonly agentsOfTarget = new Map<TargetId, Set<string>>();
  private pendingCount = 0;

  /** Commands pending across all agents (a metric). */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Replaces `target`'s commands. Returns the agents whose pending commands changed, so the
   * controller can push to those that accept pushes.
   */
  set(target: TargetId, commands: readonly Command[]): string[] {
    const next = new Map<string, Command[]>();
    for (const c of commands) {
      let list = next.get(c.agent);
      if (!list) next.set(c.agent, (list = []));
      list.push(c);
    }
    const changed: string[] = [];
    const before = this.agentsOfTarget.get(target) ?? new Set<string>();
    for (const agent of before) {
      if (!next.has(agent)) {
        this.replace(agent, target, undefined, false);
        changed.push(agent);
      }
    }
    for (const [agent, list] of next) {
      const wire = list.map(toAgentCommand);
      const box = this.boxes.get(agent);
      const old = box?.byTarget.get(target)?.commands;
      if (old !== undefined && sameIds(old, wire)) continue;
      this.replace(agent, target, wire, list.some((c) => c.delivery === 'push'));
      changed.push(agent);
    }
    if (next.size === 0) this.agentsOfTarget.delete(target);
    else this.agentsOfTarget.set(target, new Set(next.keys()));
    return changed;
  }

  /** A target that no longer exists leaves nothing behind. */
  clear(target: TargetId): string[] {
    return this.set(target, []);
  }

  /** Every command pending for `agent`, targets in name order. */
  commandsFor(agent: string): AgentCommand[] {
    const box = this.boxes.get(agent);
    if (!box) return [];
    return [...box.byTarget.keys()].sort().flatMap((t) => box.byTarget.get(t)!.commands);
  }

  /** The same as JSON, cached until the box changes (the report answer is on the hot path). */
  commandsJson(agent: string): string {
    const box = this.boxes.get(agent);
    if (!box) return '[]';
    box.json ??= JSON.stringify(this.commandsFor(agent));
    return box.json;
  }

  /** Whether some command pending for `agent` may be pushed to it. */
  wantsPush(agent: string): boolean {
    const box = this.boxes.get(agent);
    if (!box) return false;
    for (const entry of box.byTarget.values()) if (entry.push) return true;
    return false;
  }

  private replace(agent: string, target: TargetId, commands: readonly AgentCommand[] | undefined, push: boolean): void {
    let box = this.boxes.get(agent);
    if (!box) this.boxes.set(agent, (box = { byTarget: new Map(), json: undefined }));
    this.pendingCount -= box.byTarget.get(target)?.commands.length ?? 0;
    if (commands === undefined || commands.length === 0) box.byTarget.delete(target);
    else {
      box.byTarget.set(target, { commands, push });
      this.pendingCount += commands.length;
    }
    box.json = undefined;
    if (box.byTarget.size === 0) this.boxes.delete(agent);
  }
}

/** Commands are deterministic from their id: the same ids in the same order are the same commands. */
function sameIds(a: readonly AgentCommand[], b: readonly AgentCommand[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.id !== b[i]!.id) return false;
  return true;
}
