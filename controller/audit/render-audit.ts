import { printableLines, quotePath, safeJson } from '../observability/printable.ts';
import type { FieldChange } from '../plan/desired-diff.ts';
import type { AuditEvent, DesiredEvent, DesiredTargetChange, Person, StatusEvent, TargetHistory } from './target-history.ts';

/**
 * `versiond audit` output: one timeline per target, oldest first, desired changes and the
 * status commits that followed interleaved. Times are UTC. Text is one line per entry
 * whatever commits hold (subjects, authors, file names): paths quoted, controls escaped.
 */

export interface AuditReport extends TargetHistory {
  /** What was walked, as the user named it: `main`, or `HEAD` when detached. */
  readonly branch: string;
}

/** The group of documents that could be identified on neither side of a change. */
const UNIDENTIFIED = '(unidentified documents)';

export type TimelineEntry =
  | ({ readonly type: 'desired' } & Omit<DesiredEvent, 'type' | 'changes'> & Omit<DesiredTargetChange, 'target'>)
  | ({ readonly type: 'status' } & Omit<StatusEvent, 'type' | 'targets'> & { readonly phase: string | null; readonly summary: string });

export interface Timeline {
  readonly target: string;
  readonly events: readonly TimelineEntry[];
}

/** The events split per target, targets in name order, each timeline oldest first. */
export function timelines(events: readonly AuditEvent[]): Timeline[] {
  const by = new Map<string, TimelineEntry[]>();
  const push = (target: string, e: TimelineEntry) => {
    let list = by.get(target);
    if (!list) by.set(target, (list = []));
    list.push(e);
  };
  for (const e of events) {
    if (e.type === 'desired') {
      const { changes, ...commit } = e;
      for (const { target, ...change } of changes) push(target ?? UNIDENTIFIED, { ...commit, ...change });
    } else {
      const { targets, ...commit } = e;
      for (const { target, ...t } of targets) push(target, { ...commit, ...t });
    }
  }
  return [...by]
    .sort(([a], [b]) => (a === UNIDENTIFIED ? 1 : b === UNIDENTIFIED ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([target, list]) => ({ target, events: list }));
}

export function auditJson(report: AuditReport) {
  return {
    branch: report.branch,
    head: report.head,
    since: report.since,
    target: report.target,
    commits: report.commits,
    targets: timelines(report.events),
  };
}

export function renderAuditJson(report: AuditReport): string {
  return `${safeJson(auditJson(report), 2)}\n`;
}

export function renderAuditText(report: AuditReport): string {
  const since = report.since ? ` since ${report.since}` : '';
  const head = `history of ${report.branch} at ${report.head.slice(0, 7)}${since}: ${report.commits} commit${report.commits === 1 ? '' : 's'} read, times in UTC`;
  const groups = timelines(report.events);
  if (groups.length === 0) {
    const what = report.target ?? 'the desired state';
    return printableLines([head, '', `${what}: no desired change and no status commit on ${report.branch}${since}`]);
  }
  const lines = [head];
  for (const g of groups) {
    lines.push('', g.target);
    for (const e of g.events) {
      if (e.type === 'status') {
        const text = e.phase ? `${e.phase}: ${e.summary}` : e.summary;
        lines.push(`  ${when(e.date)}  ${e.commit.slice(0, 7)}  status  ${text}${e.revision ? `  (revision ${e.revision.slice(0, 7)})` : ''}`);
        continue;
      }
      const refs = e.references.length > 0 ? `  ${e.references.join(', ')}` : '';
      const signed = e.signature !== undefined ? `  [${e.signature}]` : '';
      lines.push(`  ${when(e.date)}  ${e.commit.slice(0, 7)}  ${person(e.author)}${refs}  ${e.subject}${signed}`);
      for (const l of changeLines(e)) lines.push(`      ${l}`);
    }
  }
  return printableLines(lines);
}

function changeLines(c: Omit<DesiredTargetChange, 'target'>): string[] {
  const out: string[] = [];
  switch (c.change) {
    case 'added':
      out.push(`added in ${quotePath(c.path)}`);
      break;
    case 'removed':
      out.push(`removed (was in ${quotePath(c.path)})`);
      break;
    case 'moved':
      out.push(`moved from ${quotePath(c.previousPath ?? '')} to ${quotePath(c.path)}, content unchanged`);
      break;
    case 'unreadable':
      out.push(`${quotePath(c.path)} no longer reads`);
      break;
    case 'changed':
      if (c.previousPath) out.push(`moved from ${quotePath(c.previousPath)} to ${quotePath(c.path)}`);
      if (c.fields.length === 0 && !c.previousPath) {
        out.push(`no field changed in ${quotePath(c.path)} (comments or layout)`);
      }
      for (const f of c.fields) out.push(fieldLine(f));
      break;
  }
  if (c.problem) out.push(`(${c.problem})`);
  return out;
}

function fieldLine(f: FieldChange): string {
  return `${f.field}: ${'from' in f && f.from !== undefined ? value(f.from) : '(unset)'} -> ${'to' in f && f.to !== undefined ? value(f.to) : '(unset)'}`;
}

/** Plain strings as written; anything ambiguous (empty, padded, multi-line) and structures as JSON. */
function value(v: unknown): string {
  if (typeof v === 'string') return v !== '' && v === v.trim() && !/[\n"]/.test(v) && v !== '(unset)' ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

function person(p: Person): string {
  return `${p.name} <${p.email}>`;
}

/** `2026-11-20T09:12:30Z` -> `2026-11-20 09:12`. */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}
