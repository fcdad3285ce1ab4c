/**
 * The status file of one target, `status/<kind>/<name>.yaml`, as text. Pure: the same
 * (status, previous file, now) always gives the same bytes, and rendering a status that
 * did not change gives the previous file back unchanged, so the writer can skip the commit.
 *
 *   # Written by versiond; edits are overwritten.
 *   apiVersion: versiond/v1
 *   kind: Status
 *   target: hacluster/ums-prod
 *   observedRevision: 3f2c…          (the desired commit reconciled, null for a folder)
 *   phase: Progressing
 *   summary: 1 of 3 servers updated to 12.08.110
 *   conditions: [...]                 (type, status, reason, message, lastTransitionTime)
 *   members: [...]                    (name, agent, role, desired, observed, state, message)
 *   reminders: [...]                  (only when the status has them)
 *   details: {...}                    (only when the status has them; keys sorted)
 *   rolloutStartedAt: …               (only when the status has it)
 *   history:                          (the last HISTORY_LIMIT phase/summary transitions, oldest first)
 *     - { time, phase, summary }
 *
 * `history` is the only part not in TargetStatus: it is carried over from the previous
 * file and gets a new entry only when the phase or the summary changed.
 */
import { parse, stringify } from 'yaml';
import type { Condition, MemberStatus, Phase, TargetStatus } from '../../reconcilers/contract.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';

export const STATUS_HEADER = '# Written by versiond; edits are overwritten.';
export const STATUS_API_VERSION = 'versiond/v1';
export const STATUS_KIND = 'Status';
/** How many phase/summary transitions a status file keeps. */
export const HISTORY_LIMIT = 10;

export interface HistoryEntry {
  /** ISO-8601, when the writer saw the transition. */
  readonly time: string;
  readonly phase: string;
  readonly summary: string;
}

/** What can be read back from a status file. */
export interface RenderedStatus {
  /** The status as the file holds it; `undefined` when the file is not a readable status file. */
  readonly status: TargetStatus | undefined;
  /** Valid history entries only, oldest first, at most HISTORY_LIMIT. */
  readonly history: readonly HistoryEntry[];
}

const PHASES: readonly string[] = ['Progressing', 'Converged', 'Waiting', 'Blocked', 'Failed', 'Paused'];

/**
 * Renders `status` as the text of its status file. `previous` is the file's current text
 * (or null when there is none): its history is carried over, and a new entry stamped with
 * `now` (epoch ms) is appended only when the phase or the summary differs from it.
 */
export function renderStatus(status: TargetStatus, previous: string | null | undefined, now: number): string {
  return new StatusRenderer().render(status, previous, now);
}

/** One member's lines, and the member they were rendered from (its JSON), to reuse them while it is unchanged. */
interface MemberLines {
  readonly key: string;
  readonly lines: string;
}

interface Rendered {
  readonly text: string;
  readonly read: RenderedStatus;
  readonly members: ReadonlyMap<string, MemberLines>;
}

/**
 * Renders the status files of many targets, one after another, as the writer does. It keeps
 * the last file it rendered for each target, so the next render of that target (issue 16):
 *   - does not parse its previous file back when it is that very text (the history and
 *     phase come from memory; any other text, e.g. a person's edit, is parsed);
 *   - renders again only the members that changed: a 500-device account whose one device
 *     moved costs one member's YAML, not 500.
 * The bytes are those of rendering the whole document at once (top-level keys and sequence
 * items render independently in block style): the cache changes the cost, never the file.
 */
export class StatusRenderer {
  private readonly last = new Map<string, Rendered>();
  /** The file rendered before the last one: usually what the branch holds while the last one waits to be committed. */
  private readonly before = new Map<string, Rendered>();

  render(status: TargetStatus, previous: string | null | undefined, now: number): string {
    const before = previous == null ? undefined : this.read(status.target, previous);
    const history = [...(before?.history ?? [])];
    const changed = before?.status === undefined || before.status.phase !== status.phase
      || before.status.summary !== status.summary;
    if (changed) history.push({ time: new Date(now).toISOString(), phase: status.phase, summary: status.summary });
    const kept = history.slice(-HISTORY_LIMIT);

    const head = {
      apiVersion: STATUS_API_VERSION,
      kind: STATUS_KIND,
      target: status.target,
      observedRevision: status.observedRevision,
      phase: status.phase,
      summary: status.summary,
      conditions: status.conditions.map(renderCondition),
    };
    const tail: Record<string, unknown> = {};
    if (status.reminders !== undefined) tail.reminders = [...status.reminders];
    if (status.details !== undefined) tail.details = sortKeys(status.details);
    if (status.rolloutStartedAt !== undefined) tail.rolloutStartedAt = status.rolloutStartedAt;
    tail.history = kept.map((h) => ({ time: h.time, phase: h.phase, summary: h.summary }));

    const reuse = this.last.get(status.target)?.members;
    const members = new Map<string, MemberLines>();
    let memberText = '';
    for (const m of status.members) {
      const plain = renderMember(m);
      const key = JSON.stringify(plain);
      const old = reuse?.get(m.name);
      const lines = old !== undefined && old.key === key ? old.lines : yaml({ members: [plain] }).slice('members:\n'.length);
      members.set(m.name, { key, lines });
      memberText += lines;
    }
    // lineWidth 0 (in yaml()): never fold long strings, so a line changes only when its value does.
    const text = `${STATUS_HEADER}\n${yaml(head)}${status.members.length === 0 ? 'members: []\n' : `members:\n${memberText}`}`
      + yaml(tail);
    const previousRender = this.last.get(status.target);
    if (previousRender !== undefined && previousRender.text !== text) this.before.set(status.target, previousRender);
    this.last.set(status.target, { text, read: { status: asRead(status, tail.details), history: kept }, members });
    return text;
  }

  /** What a status file holds: from memory when it is a text this renderer wrote for the target, else parsed. */
  read(target: string, text: string): RenderedStatus {
    for (const known of [this.last.get(target), this.before.get(target)]) {
      if (known !== undefined && known.text === text) return known.read;
    }
    return parseStatusFile(text);
  }

  /** A target that left the desired state: nothing of it is kept. */
  forget(target: string): void {
    this.last.delete(target);
    this.before.delete(target);
  }
}

function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** The status as `parseStatusFile` reads it back from the rendered text: absent fields dropped, details sorted. */
function asRead(status: TargetStatus, details: unknown): TargetStatus {
  return {
    target: status.target,
    phase: status.phase,
    conditions: status.conditions.map((c) => renderCondition(c) as unknown as Condition),
    observedRevision: status.observedRevision,
    summary: status.summary,
    members: status.members.map((m) => renderMember(m) as unknown as MemberStatus),
    ...(status.reminders !== undefined ? { reminders: [...status.reminders] } : {}),
    ...(details !== undefined ? { details: details as Record<string, unknown> } : {}),
    ...(status.rolloutStartedAt !== undefined ? { rolloutStartedAt: status.rolloutStartedAt } : {}),
  };
}

function renderCondition(c: Condition): Record<string, unknown> {
  return { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime };
}

function renderMember(m: MemberStatus): Record<string, unknown> {
  const out: Record<string, unknown> = { name: m.name, agent: m.agent, role: m.role, desired: m.desired };
  if (m.observed !== undefined) out.observed = m.observed;
  out.state = m.state;
  if (m.message !== undefined) out.message = m.message;
  return out;
}

/** Plain JSON data with object keys sorted at every level (arrays keep their order). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

// ------------------------------------------------------------------ reading back

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';

/**
 * Reads a status file back. Tolerant: a file a person mangled gives `status: undefined`
 * (and whatever history entries are still well-formed) instead of an error, since the
 * writer overwrites it anyway.
 */
export function parseStatusFile(text: string): RenderedStatus {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return { status: undefined, history: [] };
  }
  if (!isRecord(doc)) return { status: undefined, history: [] };
  const history = (Array.isArray(doc.history) ? doc.history : [])
    .filter((h): h is Record<string, unknown> => isRecord(h) && isString(h.time) && isString(h.phase) && isString(h.summary))
    .map((h) => ({ time: h.time as string, phase: h.phase as string, summary: h.summary as string }))
    .slice(-HISTORY_LIMIT);
  return { status: readStatus(doc), history };
}

function readStatus(doc: Record<string, unknown>): TargetStatus | undefined {
  if (doc.apiVersion !== STATUS_API_VERSION || doc.kind !== STATUS_KIND) return undefined;
  const { target, observedRevision, phase, summary } = doc;
  if (!isString(target) || !/^[a-z]+\/./.test(target)) return undefined;
  if (!(observedRevision === null || isString(observedRevision))) return undefined;
  if (!isString(phase) || !PHASES.includes(phase) || !isString(summary)) return undefined;
  if (!Array.isArray(doc.conditions) || !Array.isArray(doc.members)) return undefined;
  const conditions = doc.conditions.filter(
    (c): c is Record<string, unknown> =>
      isRecord(c) && isString(c.type) && isString(c.status) && isString(c.reason) && isString(c.message) && isString(c.lastTransitionTime),
  );
  const members = doc.members.filter(
    (m): m is Record<string, unknown> =>
      isRecord(m) && isString(m.name) && isString(m.agent) && isString(m.role) && isString(m.desired) && isString(m.state) &&
      (m.observed === undefined || isString(m.observed)) && (m.message === undefined || isString(m.message)),
  );
  if (conditions.length !== doc.conditions.length || members.length !== doc.members.length) return undefined;
  const status: {
    -readonly [K in keyof TargetStatus]: TargetStatus[K];
  } = {
    target: target as TargetId,
    phase: phase as Phase,
    conditions: conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime }) as Condition),
    observedRevision,
    summary,
    members: members.map((m) => {
      const out: Record<string, unknown> = { name: m.name, agent: m.agent, role: m.role, desired: m.desired };
      if (m.observed !== undefined) out.observed = m.observed;
      out.state = m.state;
      if (m.message !== undefined) out.message = m.message;
      return out as unknown as MemberStatus;
    }),
  };
  if (Array.isArray(doc.reminders) && doc.reminders.every(isString)) status.reminders = doc.reminders as string[];
  if (isRecord(doc.details)) status.details = doc.details;
  if (isString(doc.rolloutStartedAt)) status.rolloutStartedAt = doc.rolloutStartedAt;
  return status;
}
