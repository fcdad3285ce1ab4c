/**
 * Fixtures shared by the DistributionServer rule and invariant tests (seed 002). NOW is
 * Sunday 2026-11-22T10:00Z; the daily sync runs at 03:30 Paris (02:30Z).
 */
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileDistributionServer } from '../../reconcilers/distribution-server/reconcile.ts';
import type { DistributionServerDetails, SyncDetail } from '../../reconcilers/distribution-server/reconcile.ts';
import type { DistributionServerSpec, ScheduledSync } from '../../reconcilers/model/desired.ts';
import type { ContentFile, ContentInventory } from '../../protocol/content.ts';
import type { CredentialCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, observed, type AgentSpec } from '../helpers/observed.ts';

export { NOW };
export const T = 'distributionserver/ds-paris';
export const DS = 'ds-paris';
export const HQ = 'console-hq';
export const BERLIN = 'console-berlin';
export const CRED = 'ivanti-ds-paris';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const TODAY_DAILY = '2026-11-22T02:30:00.000Z';
export const NEXT_DAILY = Date.parse('2026-11-23T02:30:00Z');
export const iso = (t: number): string => new Date(t).toISOString();

export const file = (path: string, digit: string): ContentFile => ({ path, sha256: digit.repeat(64) });

export const CONSOLE: ContentInventory = {
  'engines-definitions': [file('engines/av-engine-5.2.dll', '1'), file('definitions/defs-2026-11-22.dat', '2')],
  patches: [file('patches/kb5046617.msu', '3'), file('patches/kb5046613.msu', '4')],
};
export const BEHIND: ContentInventory = {
  'engines-definitions': [file('engines/av-engine-5.2.dll', '1'), file('definitions/defs-2026-11-22.dat', '9')],
  patches: [file('patches/kb5046617.msu', '3')],
};

export const MONTHLY: ScheduledSync = {
  name: 'monthly-patches',
  content: 'patches',
  console: HQ,
  schedule: {
    frequency: 'monthly',
    week: 'second',
    weekday: 'tuesday',
    delayDays: 4,
    at: '02:00',
    timeZone: 'Europe/Paris',
  },
};
export const DAILY: ScheduledSync = {
  name: 'daily-definitions',
  content: 'engines-definitions',
  console: HQ,
  schedule: { frequency: 'daily', at: '03:30', timeZone: 'Europe/Paris' },
};

export function spec(over: Partial<DistributionServerSpec> = {}): DistributionServerSpec {
  const address = '\\\\ds-paris.corp.example\\SecurityControls';
  return { address, credentialRef: CRED, downloadSourceFor: [], syncs: [MONTHLY, DAILY], ...over };
}

export interface World {
  /** console-hq's report; null: it never reported. */
  readonly console?: AgentSpec | null;
  /** ds-paris's report; null: it never reported. */
  readonly server?: AgentSpec | null;
  /** The credential check; null: the store reports nothing for it; 'no-map': no credentials at all. */
  readonly credential?: CredentialCheck | null | 'no-map';
}

export function world(w: World = {}): Observed {
  const agents: Record<string, AgentSpec> = {};
  const c = w.console === undefined ? { facts: { content: CONSOLE, downloading: false } } : w.console;
  const s = w.server === undefined ? { facts: { content: BEHIND } } : w.server;
  if (c !== null) agents[HQ] = c;
  if (s !== null) agents[DS] = s;
  const base = observed(agents);
  if (w.credential === 'no-map') return base;
  const cred = w.credential === undefined ? { ref: CRED, usable: true } : w.credential;
  return { ...base, credentials: new Map(cred === null ? [] : [[cred.ref, cred]]) };
}

export interface Opts {
  readonly previous?: TargetStatus;
  readonly now?: number;
  /** Console identity; null: none. */
  readonly consoleId?: string | null;
}

export function reconcile(s: DistributionServerSpec, obs: Observed, o: Opts = {}): ReconcileResult {
  const inp = input(desired('DistributionServer', DS, s), []);
  const consoleId = o.consoleId === undefined ? HQ : o.consoleId;
  return reconcileDistributionServer(consoleId === null ? inp : { ...inp, consoleId }, obs, o.previous, o.now ?? NOW);
}

/** The status a controller started at `at` with no earlier status would hold. */
export const startedAt = (at: number, s: DistributionServerSpec = spec(), obs: Observed = world()): TargetStatus =>
  reconcile(s, obs, { now: at }).status;
/** Yesterday's status: today's 02:30Z daily run is due at NOW. */
export const YESTERDAY = (): TargetStatus => startedAt(NOW - DAY);

export const details = (r: ReconcileResult): DistributionServerDetails =>
  r.status.details as unknown as DistributionServerDetails;
export const syncOf = (r: ReconcileResult, name: string): SyncDetail => details(r).syncs.find((s) => s.name === name)!;
export const conditionOf = (r: ReconcileResult, type: string) => r.status.conditions.find((c) => c.type === type)!;
/** The plan as `sync ds-paris <version>: runnable | <blocker reason>`. */
export const steps = (r: ReconcileResult): string[] =>
  r.plan.map((p) => `${p.action} ${p.member} ${p.version}: ${p.runnable ? 'runnable' : p.blockedBy?.reason}`);
export const idOf = (syncName: string, key: string): string => commandId(T, DS, 'sync', `${syncName}@${key}`);
export const DAILY_ID = idOf('daily-definitions', `scheduled ${TODAY_DAILY}`);
/** The condition that carries the phase's reason and message. */
export const headline = (r: ReconcileResult) => r.status.conditions.find((c) => c.status === 'True')!;
