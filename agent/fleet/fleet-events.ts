/**
 * What a simulated fleet announces: the things that happen to it that a person watching a
 * rollout wants to know about, because the controller reacts to them — an agent going offline
 * or coming back, an operator or a user acting, a device updating itself, a new member joining.
 * Each carries a sentence for people (`message`); the demo prints them, the CLI logs them.
 */
export type FleetEventKind =
  /** The agent stopped: the machine is off or cut from the network. */
  | 'offline'
  /** The agent runs again, on the same state. */
  | 'online'
  /** An operator installed the desired version on a Manual master. */
  | 'by-hand'
  /** An auto-update device installed its account's version. */
  | 'self-update'
  /** A user restarted a device that waited for it. */
  | 'user-restart'
  /** A revision added a member: its agent started. */
  | 'joined'
  /** Something the fleet did on its own failed (an operator's install, an agent that cannot start). */
  | 'failed';

export interface FleetEvent {
  readonly kind: FleetEventKind;
  readonly agent: string;
  /** For people: `wd-bordeaux comes back online (offline for 12s)`. */
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
  readonly target?: string;
  readonly product?: string;
  readonly version?: string;
}
