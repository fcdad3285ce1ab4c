/**
 * The observed inventory: what agents last reported, as the reconcilers see it. The agent
 * protocol (`schemas/agent-report.schema.json`) carries the same shapes; the controller
 * keeps the last report per agent and marks it offline after a heartbeat timeout.
 * Reconcilers read it and never change it.
 */

/** What one agent reports about one product it runs (a component). */
export interface ComponentReport {
  /** Product identifier, as in Release `spec.product` (`watchdoc`, `w360-core`, `igel-ums`). */
  readonly product: string;
  /** Version installed and running; absent when not installed. */
  readonly version?: string;
  /** A package downloaded and verified (sha256 and signature) but not installed: "propagated" in seed 000. */
  readonly staged?: { readonly version: string; readonly verified: boolean; readonly reason?: string };
  readonly state?: 'running' | 'stopped' | 'installing' | 'failed';
  /** UMS servers run in `update` mode while being updated (seed 004). */
  readonly mode?: 'normal' | 'update';
  /** Installed, waiting for a restart to finalise (seeds 001, 003). Absent: no restart pending. */
  readonly pendingRestart?: boolean;
  /** ISO-8601 time the running version was installed (seed 004: which server was updated last). */
  readonly installedAt?: string;
  /** Versions a repository server (WRS) can hand to its devices (seeds 001, 003). */
  readonly serves?: readonly string[];
}

/** The result of a command the agent ran, reported back by id. */
export interface CommandResult {
  readonly id: string;
  readonly status: 'succeeded' | 'failed' | 'running';
  readonly message?: string;
  /** ISO-8601. */
  readonly at: string;
}

export interface AgentObservation {
  readonly agent: string;
  /** Reported within the heartbeat timeout. */
  readonly online: boolean;
  /** ISO-8601 time of the last report, absent if the agent never reported. */
  readonly lastSeen?: string;
  readonly components: readonly ComponentReport[];
  readonly results: readonly CommandResult[];
  /** Facts some reconcilers need, beyond the components the agent runs. */
  readonly facts?: {
    /** The agent's clock when it sent the report (seed 004: clocks within a minute). */
    readonly clock?: string;
    /** Time of the last database backup (seed 004). */
    readonly lastBackup?: string;
    /** Servers and load balancers the UMS cluster has registered (seed 004: no orphans). */
    readonly registeredMembers?: readonly string[];
    /** Content held, per content set (seed 002): a console's downloads, or a distribution server's copy. */
    readonly content?: ContentInventory;
    /** A console is downloading new content: scheduled syncs wait until it is done (seed 002). */
    readonly downloading?: boolean;
  };
}

/** Files of content, with their digests, per set (seed 002). `all` is the union of the two. */
export interface ContentInventory {
  readonly 'engines-definitions'?: readonly ContentFile[];
  readonly patches?: readonly ContentFile[];
}

export interface ContentFile {
  readonly path: string;
  readonly sha256: string;
}

/** Verification of a release's package by the controller: downloaded, sha256 and Ed25519 signature checked. */
export interface ArtifactCheck {
  readonly release: string;
  readonly status: 'verified' | 'failed' | 'pending';
  readonly reason?: string;
}

export interface Observed {
  readonly agents: ReadonlyMap<string, AgentObservation>;
  /** By release name. A release with no entry has not been checked yet. */
  readonly artifacts: ReadonlyMap<string, ArtifactCheck>;
  /**
   * Whether each credential a target names (`credentialRef`, seed 002) resolves in the
   * controller's credential store, which is outside Git. Absent: nothing resolved.
   */
  readonly credentials?: ReadonlyMap<string, CredentialCheck>;
}

export interface CredentialCheck {
  readonly ref: string;
  readonly usable: boolean;
  readonly reason?: string;
}

export const NOTHING_OBSERVED: Observed = { agents: new Map(), artifacts: new Map(), credentials: new Map() };

export function componentOf(obs: AgentObservation | undefined, product: string): ComponentReport | undefined {
  return obs?.components.find((c) => c.product === product);
}

export function resultOf(obs: AgentObservation | undefined, commandId: string): CommandResult | undefined {
  return obs?.results.find((r) => r.id === commandId);
}
