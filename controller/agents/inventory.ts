import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation } from '../../reconcilers/observed.ts';
import type { AgentReport } from '../../protocol/report.ts';

/** What recording a report did, so the caller knows whether targets must be reconciled again. */
export type RecordOutcome =
  /** The report is older than (or the same as) the last one accepted: ignored, nothing changed. */
  | { readonly kind: 'stale'; readonly lastSequence: number }
  /**
   * Accepted. `changed`: something a reconciler reads differs (state, results, facts, online).
   * `progressed`: the machine itself moved — a command result, what it runs, or it is back
   * online — which is what the next step of a rollout waits for (facts alone are not).
   */
  | { readonly kind: 'recorded'; readonly changed: boolean; readonly progressed: boolean };

interface Entry {
  observation: AgentObservation;
  sequence: number;
  lastSeenMs: number;
  endpoint: string | undefined;
}

/**
 * The observed inventory (issue 4, item 3): the last report of each agent, and whether it is
 * online — it is when it reported within `heartbeatTimeoutMs`. Kept in memory only: after a
 * restart it is rebuilt from the agents' next reports, and since reconcilers are
 * level-triggered nothing in flight is lost — a pending command is simply computed again.
 *
 * `observations` is the very map reconcilers read (`Observed.agents`); a reconcile is one
 * synchronous call, so it always sees a consistent snapshot.
 *
 * Memory matters at fleet scale (goal: ≤ 1 KB per agent for 100,000): the versions,
 * products and states agents report are interned, so 100,000 devices at `4.3.0` hold one
 * string, not 100,000.
 */
export class ObservedInventory {
  readonly observations = new Map<string, AgentObservation>();
  private readonly entries = new Map<string, Entry>();
  private readonly interned = new Map<string, string>();

  constructor(private readonly heartbeatTimeoutMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  online(): number {
    let n = 0;
    for (const o of this.observations.values()) if (o.online) n++;
    return n;
  }

  /** The last sequence accepted from `agent`, or -1. */
  lastSequence(agent: string): number {
    return this.entries.get(agent)?.sequence ?? -1;
  }

  /** The push endpoint `agent` advertised in its last report. */
  endpointOf(agent: string): string | undefined {
    return this.entries.get(agent)?.endpoint;
  }

  /**
   * Records a report received at `now`. Sequence numbers only go forward: a replayed or
   * reordered report (a retry that arrives after a newer one) is ignored whole.
   */
  record(agent: string, report: AgentReport, now: number): RecordOutcome {
    const entry = this.entries.get(agent);
    if (entry !== undefined && report.sequence <= entry.sequence) return { kind: 'stale', lastSequence: entry.sequence };
    const previous = entry?.observation;
    const observation = this.observationOf(agent, report, now, previous);
    // Components and results the same as before are the very arrays kept before (observationOf).
    const progressed = previous === undefined || !previous.online || observation.components !== previous.components
      || observation.results !== previous.results;
    const changed = progressed || !sameFacts(previous.facts, observation.facts);
    if (entry === undefined) {
      this.entries.set(agent, { observation, sequence: report.sequence, lastSeenMs: now, endpoint: report.endpoint });
    } else {
      entry.observation = observation;
      entry.sequence = report.sequence;
      entry.lastSeenMs = now;
      entry.endpoint = report.endpoint;
    }
    this.observations.set(agent, observation);
    return { kind: 'recorded', changed, progressed };
  }

  /**
   * Marks offline every agent silent for longer than the heartbeat timeout, and returns
   * them: their targets must be reconciled again (an offline member changes the plan).
   */
  sweep(now: number): string[] {
    const gone: string[] = [];
    for (const [agent, entry] of this.entries) {
      if (entry.observation.online && now - entry.lastSeenMs > this.heartbeatTimeoutMs) {
        entry.observation = { ...entry.observation, online: false };
        this.observations.set(agent, entry.observation);
        gone.push(agent);
      }
    }
    return gone;
  }

  /**
   * The observation of a report. Most reports repeat the last one (a heartbeat): components
   * and results equal to `previous`'s are `previous`'s own arrays, compared field by field
   * without building anything (issue 16) — which also tells `record` they did not change.
   */
  private observationOf(
    agent: string,
    report: AgentReport,
    now: number,
    previous: AgentObservation | undefined,
  ): AgentObservation {
    const facts = report.facts === undefined && report.sentAt === undefined ? undefined : { ...report.facts, ...(report.sentAt !== undefined ? { clock: report.sentAt } : {}) };
    const results = report.results ?? [];
    return {
      agent,
      online: true,
      lastSeen: this.isoSecond(now),
      components: previous !== undefined && sameComponents(previous.components, report.components)
        ? previous.components
        : report.components.map((c) => this.internComponent(c)),
      results: previous !== undefined && sameResults(previous.results, results)
        ? previous.results
        : results.map((r) => this.internResult(r)),
      ...(facts !== undefined ? { facts } : {}),
    };
  }

  private isoAt = -1;
  private iso = '';

  /**
   * `lastSeen`, to the second: thousands of reports a second share one string instead of
   * each making its own (time and memory on the report path). Sub-second precision would
   * mean nothing next to a heartbeat timeout of tens of seconds.
   */
  private isoSecond(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.isoAt) {
      this.isoAt = second;
      this.iso = new Date(second * 1000).toISOString();
    }
    return this.iso;
  }

  private intern(s: string): string {
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    if (this.interned.size < 100_000) this.interned.set(s, s);
    return s;
  }

  private internComponent(c: ComponentReport): ComponentReport {
    const out: { -readonly [K in keyof ComponentReport]: ComponentReport[K] } = { product: this.intern(c.product) };
    if (c.version !== undefined) out.version = this.intern(c.version);
    if (c.staged !== undefined) out.staged = c.staged.reason === undefined ? { version: this.intern(c.staged.version), verified: c.staged.verified } : c.staged;
    if (c.state !== undefined) out.state = c.state;
    if (c.mode !== undefined) out.mode = c.mode;
    if (c.pendingRestart !== undefined) out.pendingRestart = c.pendingRestart;
    if (c.installedAt !== undefined) out.installedAt = c.installedAt;
    if (c.serves !== undefined) out.serves = c.serves.map((v) => this.intern(v));
    return out;
  }

  private internResult(r: CommandResult): CommandResult {
    // Ids repeat across a whole wave of devices only per device, so they are not interned.
    return r.message === undefined ? { id: r.id, status: r.status, at: r.at } : r;
  }
}

/** Components as kept (`internComponent`) and as reported: the same fields, the same values. */
function sameComponents(kept: readonly ComponentReport[], reported: readonly ComponentReport[]): boolean {
  if (kept.length !== reported.length) return false;
  for (let i = 0; i < kept.length; i++) {
    const k = kept[i]!;
    const r = reported[i]!;
    if (k.product !== r.product || k.version !== r.version || k.state !== r.state || k.mode !== r.mode
      || k.pendingRestart !== r.pendingRestart || k.installedAt !== r.installedAt
      || !sameJson(k.staged, r.staged) || !sameJson(k.serves, r.serves)) return false;
  }
  return true;
}

/** Results as kept (`internResult`) and as reported. */
function sameResults(kept: readonly CommandResult[], reported: readonly CommandResult[]): boolean {
  if (kept.length !== reported.length) return false;
  for (let i = 0; i < kept.length; i++) {
    const k = kept[i]!;
    const r = reported[i]!;
    if (k.id !== r.id || k.status !== r.status || k.at !== r.at || k.message !== r.message) return false;
  }
  return true;
}

/** Whether two observations' facts differ in anything a reconciler reads, the agent's clock aside. */
function sameFacts(a: AgentObservation['facts'], b: AgentObservation['facts']): boolean {
  const fa = (a ?? {}) as Record<string, unknown>;
  const fb = (b ?? {}) as Record<string, unknown>;
  // Key by key, skipping `clock`: no objects built per report.
  let na = 0;
  for (const k in fa) {
    if (k === 'clock') continue;
    na++;
    if (!Object.prototype.hasOwnProperty.call(fb, k) || !sameJson(fa[k], fb[k])) return false;
  }
  let nb = 0;
  for (const k in fb) if (k !== 'clock') nb++;
  return na === nb;
}

/** Structural equality of plain JSON values (what a parsed report holds). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
