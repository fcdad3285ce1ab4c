/**
 * Which members make up each wave of a rollout (issue 8, item 1): pure arithmetic on
 * `spec.rollout.waves.steps` and the number of wave members, shared by the `waves`
 * governance step and by `validate`.
 *
 * Steps are CUMULATIVE sizes in member order (Argo Rollouts' canary weights, Fleet's
 * partitions): `[1, 5%, 25%, 100%]` is one member, then up to 5% of them, then 25%, then
 * everyone. A percentage is of the wave members, rounded up, at least 1; sizes are made
 * non-decreasing and capped at the member count; a last step below the count is followed by
 * one more wave covering the rest. Wave i holds members [size(i-1), size(i)).
 *
 * Wave numbers are the positions of the steps in the file (from 1), even when a wave comes
 * out empty on a small fleet (`5%` of 3 devices is 1, the same as the step before): numbers
 * are what `approvalRequired` and `approvals` refer to, so they never shift with the size.
 */
import type { CountOrPercent } from '../model/desired.ts';

export interface WaveBounds {
  /** From 1, the step's position in `steps` (the implied last wave is `steps.length + 1`). */
  readonly number: number;
  /** Index of its first member (inclusive) and of the end (exclusive), in member order. */
  readonly start: number;
  readonly end: number;
}

/** `5%` -> 5, `12` -> undefined. */
export function percentOf(value: CountOrPercent): number | undefined {
  return typeof value === 'string' ? Number(value.slice(0, -1)) : undefined;
}

/**
 * A count or a share of `total`. `round: 'up'` for sizes and limits (5% of 30 devices is 2, a
 * share never rounds to nothing), `'down'` for tolerances (10% of 15 tolerates 1 failure, not 2).
 */
export function resolveCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  const p = percentOf(value);
  if (p === undefined) return value as number;
  // p * total is an exact integer; a division that comes out whole stays exact in floating point.
  return round === 'up' ? Math.ceil((p * total) / 100) : Math.floor((p * total) / 100);
}

/** The waves of `total` members, in order. Empty when there are no members. */
export function planWaves(steps: readonly CountOrPercent[], total: number): WaveBounds[] {
  if (total <= 0) return [];
  const out: WaveBounds[] = [];
  let reached = 0;
  steps.forEach((step, i) => {
    // At least one member per step (a 0 would be refused by validate: a wave of nobody).
    const size = Math.min(Math.max(resolveCount(step, total, 'up'), 1, reached), total);
    out.push({ number: i + 1, start: reached, end: size });
    reached = size;
  });
  if (reached < total) out.push({ number: steps.length + 1, start: reached, end: total });
  return out;
}

/**
 * How many waves `steps` can make, whatever the number of members: one per step, plus the
 * implied last wave unless the last step is `100%` (validate: `approvalRequired` must name one).
 */
export function maxWaveCount(steps: readonly CountOrPercent[]): number {
  const last = steps[steps.length - 1];
  return steps.length + (last !== undefined && percentOf(last) === 100 ? 0 : 1);
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `4h`, `2d` (schemas/common.schema.json `$defs/duration`) in milliseconds; undefined if malformed. */
export function durationMs(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,4})(m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
