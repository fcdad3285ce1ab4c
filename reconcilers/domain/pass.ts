/**
 * One pass of the Domain reconciler: the engine's `Pass` (plan, commands, outcomes, notes,
 * halt) plus what every domain step reads — the release, the package check, the servers.
 */
import type { ArtifactRef } from '../../protocol/artifact.ts';
import type { Command } from '../contract.ts';
import { Pass } from '../engine/index.ts';
import type { Release } from '../model/desired.ts';
import type { TargetId } from '../model/identity.ts';
import type { ArtifactCheck } from '../observed.ts';
import { DOMAIN_CATALOGUE } from './reasons.ts';
import { needsUpdate, type Server } from './servers.ts';

export class DomainPass extends Pass {
  readonly servers: readonly Server[];
  /** Slaves below 6.1 that an operator updates by hand (found by the propagation step). */
  readonly byHand = new Set<string>();

  constructor(
    target: TargetId,
    readonly release: Release,
    readonly artifact: ArtifactRef,
    readonly artifactCheck: ArtifactCheck | undefined,
    readonly master: Server,
    readonly slaves: readonly Server[],
  ) {
    super(target, DOMAIN_CATALOGUE);
    this.servers = [master, ...slaves];
  }

  get version(): string {
    return this.release.spec.version;
  }

  /** Some server still needs the release: only then are the package and reachability asked. */
  somethingToDo(): boolean {
    return this.servers.some(needsUpdate);
  }

  command(s: Server, action: 'stage' | 'apply'): Command {
    return {
      id: action === 'stage' ? s.stageId : s.applyId,
      target: this.target,
      member: s.name,
      agent: s.agent,
      action,
      delivery: s.delivery,
      product: this.release.spec.product,
      version: this.version,
      artifact: this.artifact,
    };
  }
}
