/**
 * The message of a status commit (format: `format.ts`). Pure.
 *
 * The subject is what a person reads in `git log --oneline`:
 *
 *   status(hacluster/ums-prod): server ums-2 updated, 2 of 3 servers updated to 12.08.110
 *   status(hacluster/ums-prod): Converged: 3 of 3 servers updated to 12.08.110
 *   status(account/acme): Failed: device acme-ws-001 failed, 7/10 devices at 4.3.0
 *   status: 3 targets
 *
 * For one target it says what changed since the status the branch held: the phase when it
 * changed (`<Phase>: `), then the members that became Updated or Failed, then the summary.
 * A commit of several targets has one body line per target in the same words.
 */
import type { MemberStatus, TargetStatus } from '../../reconcilers/contract.ts';
import { formatTrailers } from './format.ts';

/** Git's own advice is ~50; `git log --oneline` stays readable up to about this. */
export const SUBJECT_MAX = 100;
/** Member names are spelled out up to this length, then counted (`3 devices updated`). */
const NAMES_MAX = 40;

/** The parts of a status the subject looks at. */
export type SubjectStatus = Pick<TargetStatus, 'target' | 'phase' | 'summary'> & {
  readonly members: readonly Pick<MemberStatus, 'name' | 'role' | 'state'>[];
};

export interface StatusChange {
  /** What the branch held before (`undefined`: the target had no status file). */
  readonly previous: SubjectStatus | undefined;
  readonly next: SubjectStatus;
}

/** `<what changed>` for one target, without the `status(<target>): ` prefix and not shortened. */
export function describeChange(previous: SubjectStatus | undefined, next: SubjectStatus): string {
  const phase = previous === undefined || previous.phase !== next.phase ? `${next.phase}: ` : '';
  const before = new Map((previous?.members ?? []).map((m) => [`${m.role}\0${m.name}`, m.state]));
  const became = (state: string) =>
    previous === undefined ? [] : next.members.filter((m) => m.state === state && before.get(`${m.role}\0${m.name}`) !== state);
  const members = [phrase(became('Updated'), 'updated'), phrase(became('Failed'), 'failed')].filter((p) => p !== '');
  const summary = oneLine(next.summary);
  return `${phase}${[...members, summary].filter((p) => p !== '').join(', ')}`;
}

function phrase(members: readonly Pick<MemberStatus, 'name' | 'role'>[], verb: string): string {
  const first = members[0];
  if (first === undefined) return '';
  if (members.length === 1) return `${first.role} ${first.name} ${verb}`;
  const roles = new Set(members.map((m) => m.role));
  if (roles.size > 1) return `${members.length} members ${verb}`;
  const names = members.map((m) => m.name).join(', ');
  return names.length <= NAMES_MAX ? `${plural(first.role)} ${names} ${verb}` : `${members.length} ${plural(first.role)} ${verb}`;
}

function plural(role: string): string {
  return role.endsWith('s') || role === 'infrastructure' ? role : `${role}s`;
}

/** Collapses white space (a summary with a line break must not break the subject line). */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Cuts `s` to `max` UTF-16 units with an ellipsis, never inside a surrogate pair. */
export function shorten(s: string, max = SUBJECT_MAX): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${s.slice(0, end).trimEnd()}…`;
}

/** The subject line: `status(<target>): <what changed>` for one target, `status: N targets` for several. */
export function commitSubject(changes: readonly StatusChange[]): string {
  const only = changes.length === 1 ? changes[0] : undefined;
  if (only) return shorten(`status(${only.next.target}): ${describeChange(only.previous, only.next)}`);
  return `status: ${changes.length} targets`;
}

/**
 * The whole message: subject, then (several targets) one line per target, then the trailers
 * of `format.ts`. `revision` is the desired commit reconciled (Versiond-Revision).
 */
export function commitMessage(changes: readonly StatusChange[], revision: string | null): string {
  const subject = commitSubject(changes);
  const body = changes.length > 1 ? changes.map((c) => shorten(`${c.next.target}: ${describeChange(c.previous, c.next)}`)).join('\n') : '';
  const trailers = formatTrailers({
    targets: changes.map((c) => c.next.target),
    phases: new Map(changes.map((c) => [c.next.target, c.next.phase])),
    revision,
  });
  return [subject, body, trailers].filter((p) => p !== '').join('\n\n') + '\n';
}
