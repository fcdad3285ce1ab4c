/**
 * The preflight checks of seed 004 ("Die Aktualisierung vorbereiten") that need no command:
 * no orphan entries in the registered server list, a database backup newer than the rollout
 * start, clocks within a minute. Each returns a verdict for `status.details.preflight` and,
 * when it fails, the blocker that holds every server apply back. Pure.
 */
import type { Blocker } from '../contract.ts';
import { ROLE_LABEL, type UmsMember } from './members.ts';

export const PREFLIGHT_CHECKS = ['installer-distributed', 'no-orphans', 'fresh-backup', 'clock-skew'] as const;
export type PreflightName = (typeof PREFLIGHT_CHECKS)[number];

/** One named check as reported in `status.details.preflight`. */
export interface PreflightCheck {
  readonly name: PreflightName;
  readonly passed: boolean;
  readonly message: string;
}

export interface Verdict {
  readonly passed: boolean;
  readonly message: string;
  /** Set when not passed. */
  readonly blocker?: Blocker;
}

const pass = (message: string): Verdict => ({ passed: true, message });
const failWith = (category: Blocker['category'], reason: string, message: string): Verdict => ({ passed: false, message, blocker: { category, reason, message } });

/**
 * (b) no-orphans: the registered servers and load balancers, as reported by the first online
 * server (in update order) that reports them, must all be declared in the file. Orphans are
 * deleted by a person (UMS Console > UMS Administration > UMS Network), never by the controller.
 */
export function checkOrphans(enabled: boolean, servers: readonly UmsMember[], declared: ReadonlySet<string>): Verdict {
  if (!enabled) return pass('orphan check disabled (preflight.orphanCheck: false)');
  const reporter = servers.find((s) => s.online && s.obs?.facts?.registeredMembers !== undefined);
  const registered = reporter?.obs?.facts?.registeredMembers;
  if (reporter === undefined || registered === undefined) {
    return failWith('waiting', 'WaitingForRegisteredMembers', 'waiting for an online server to report the registered servers and load balancers (UMS Network)');
  }
  const orphans = [...new Set(registered.filter((n) => !declared.has(n)))];
  if (orphans.length === 0) return pass(`the ${registered.length} registered servers and load balancers (reported by ${reporter.name}) are all in this file`);
  return failWith(
    'stalled',
    'OrphanMembers',
    `orphan entries registered in the cluster but not in this file: ${orphans.join(', ')}; delete them in UMS Console > UMS Administration > UMS Network before the update (reported by ${reporter.name})`,
  );
}

/** The newest `facts.lastBackup` any server reports, in epoch ms (invalid timestamps ignored). */
export function latestBackup(servers: readonly UmsMember[]): { at: number; iso: string } | undefined {
  let best: { at: number; iso: string } | undefined;
  for (const s of servers) {
    const iso = s.obs?.facts?.lastBackup;
    if (iso === undefined) continue;
    const at = Date.parse(iso);
    if (Number.isNaN(at)) continue;
    if (best === undefined || at > best.at) best = { at, iso };
  }
  return best;
}

/**
 * (d) clock-skew: each member's offset is its clock minus the time the controller received its
 * report (`facts.clock - lastSeen`); the largest offset minus the smallest must not exceed
 * `maxSeconds`. Members that report no clock are not compared. The message names the members
 * at both ends with their offsets.
 */
export function checkClockSkew(members: readonly UmsMember[], maxSeconds: number): Verdict {
  const offsets: { m: UmsMember; offset: number }[] = [];
  for (const m of members) {
    const clock = m.obs?.facts?.clock;
    const seen = m.obs?.lastSeen;
    if (clock === undefined || seen === undefined) continue;
    const c = Date.parse(clock);
    const l = Date.parse(seen);
    if (Number.isNaN(c) || Number.isNaN(l)) continue;
    offsets.push({ m, offset: c - l });
  }
  if (offsets.length < 2) return pass(`${offsets.length === 0 ? 'no member reports' : 'only one member reports'} its clock; nothing to compare`);
  const min = Math.min(...offsets.map((o) => o.offset));
  const max = Math.max(...offsets.map((o) => o.offset));
  const spread = max - min;
  if (spread <= maxSeconds * 1000) return pass(`the clocks of ${offsets.length} members differ by at most ${seconds(spread)} s (allowed ${maxSeconds} s)`);
  const at = (value: number): string =>
    offsets
      .filter((o) => o.offset === value)
      .map((o) => `${ROLE_LABEL[o.m.role]} ${o.m.name} (${o.offset >= 0 ? '+' : ''}${seconds(o.offset)} s)`)
      .join(', ');
  return failWith(
    'stalled',
    'ClockSkew',
    `clocks differ by ${seconds(spread)} s, more than the ${maxSeconds} s allowed: ${at(max)} vs ${at(min)}; synchronise the time, then restart the HA services on the corrected machine`,
  );
}

/** Milliseconds as seconds, up to 3 decimals, without trailing zeros (61000 -> "61", 60500 -> "60.5"). */
function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}
