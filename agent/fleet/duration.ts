/**
 * Durations in a behaviour file: a number of milliseconds (`1500`) or a number with a unit
 * (`500ms`, `3s`, `1.5m`, `2h`). People write `8s` far more readably than `8000`, and a
 * bare number is milliseconds, as every `…Ms` option of the agent is.
 */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** Milliseconds, or a message saying what is wrong (`allowNegative` for clock skews). */
export function parseDuration(value: unknown, options: { allowNegative?: boolean } = {}): number | { problem: string } {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const m = DURATION.exec(value.trim());
    if (m === null) return { problem: `must be a duration such as 500ms, 3s, 2m or a number of milliseconds, not ${JSON.stringify(value)}` };
    ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  } else return { problem: `must be a duration such as 500ms, 3s, 2m or a number of milliseconds, not ${value === null ? 'null' : typeof value}` };
  if (!Number.isFinite(ms)) return { problem: `must be a finite duration, not ${JSON.stringify(value)}` };
  if (ms < 0 && !options.allowNegative) return { problem: `must not be negative, not ${JSON.stringify(value)}` };
  return Math.round(ms);
}

/** `8000` → `8s`, `1500` → `1.5s`, `250` → `250ms`: for messages. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${ms}ms`;
  if (abs < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  return `${Number((ms / 60_000).toFixed(1))}m`;
}
