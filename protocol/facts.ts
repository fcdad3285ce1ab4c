/**
 * Facts some reconcilers need beyond the components an agent runs (`#/$defs/facts` of
 * `schemas/agent-report.schema.json`): clocks and backups (seed 004), the members a cluster
 * registered, content held and being downloaded (seed 002).
 */
import type { ContentInventory } from './content.ts';

export interface Facts {
  /** The agent's clock when it reported (seed 004: clocks within a minute); the controller sets it from `sentAt`. */
  readonly clock?: string;
  /** Time of the last database backup (seed 004). */
  readonly lastBackup?: string;
  /** Servers and load balancers the UMS cluster has registered (seed 004: no orphans). */
  readonly registeredMembers?: readonly string[];
  /** Content held, per content set (seed 002): a console's downloads, or a distribution server's copy. */
  readonly content?: ContentInventory;
  /** A console is downloading new content: scheduled syncs wait until it is done (seed 002). */
  readonly downloading?: boolean;
}
