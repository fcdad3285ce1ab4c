/**
 * The observed inventory: what agents last reported, as the reconcilers see it. The shapes an
 * agent reports (components, results, facts) are the protocol's own (`protocol/`); the
 * controller keeps the last report per agent and marks it offline after a heartbeat timeout.
 * Reconcilers read it and never change it.
 */
import type { CommandResult } from '../protocol/command-result.ts';
import type { ComponentReport } from '../protocol/component.ts';
import type { Facts } from '../protocol/facts.ts';

export interface AgentObservation {
  readonly agent: string;
  /** Reported within the heartbeat timeout. */
  readonly online: boolean;
  /** ISO-8601 time of the last report, absent if the agent never reported. */
  readonly lastSeen?: string;
  readonly components: readonly ComponentReport[];
  readonly results: readonly CommandResult[];
  /** Facts some reconcilers need, beyond the components the agent runs; `clock` is the report's `sentAt`. */
  readonly facts?: Facts;
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
