/**
 * What an agent reports about one product it runs (`#/$defs/component` of
 * `schemas/agent-report.schema.json`). The reconcilers read exactly this shape, so what an
 * agent reports is what a reconciler sees.
 */
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
