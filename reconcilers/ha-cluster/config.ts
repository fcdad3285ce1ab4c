/**
 * The cluster configuration a rollout runs with (seed 004: "changes made in update mode are
 * lost", so configuration changes are frozen while servers run on local database copies).
 *
 * At rollout start the reconciler records in `status.details` a digest of the configuration
 * (the spec without `release`) and the member names (servers in update order, load balancers,
 * consoles). While the rollout runs, a different digest means a change is HELD BACK: the
 * rollout goes on with the members of the recorded configuration that are still in the file,
 * in the recorded update order; members added meanwhile wait until it finishes, members
 * removed meanwhile are no longer waited for. Pure: `createHash` is deterministic.
 */
import { createHash } from 'node:crypto';
import type { HAClusterSpec } from '../model/desired.ts';
import { inUpdateOrder } from './members.ts';

export interface RolloutMembers {
  /** In update order. */
  readonly servers: readonly string[];
  readonly loadBalancers: readonly string[];
  readonly consoles: readonly string[];
}

export const HELD_BACK_MESSAGE =
  'configuration changes are held back until the rollout finishes: changes made in update mode are lost';

/** JSON with object keys sorted at every level: the same data always gives the same string. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => stableJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 16 hex digits of SHA-256 over the stable JSON of the spec without `release`. */
export function configDigest(spec: HAClusterSpec): string {
  const { release: _release, ...config } = spec;
  return createHash('sha256').update(stableJson(config)).digest('hex').slice(0, 16);
}

export function rolloutMembersOf(spec: HAClusterSpec): RolloutMembers {
  return {
    servers: inUpdateOrder(spec).map((s) => s.name),
    loadBalancers: (spec.loadBalancers ?? []).map((m) => m.name),
    consoles: (spec.consoles ?? []).map((m) => m.name),
  };
}

/** The recorded members from a previous status's details, if well-formed (it is data read back from Git). */
export function readRolloutMembers(value: unknown): RolloutMembers | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const names = (x: unknown): string[] | undefined =>
    Array.isArray(x) && x.every((n) => typeof n === 'string') ? (x as string[]) : undefined;
  const servers = names(v['servers']);
  const loadBalancers = names(v['loadBalancers']);
  const consoles = names(v['consoles']);
  return servers && loadBalancers && consoles ? { servers, loadBalancers, consoles } : undefined;
}
