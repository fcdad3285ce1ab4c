/**
 * The status file (render-status.ts) and the status commit message (commit-subject.ts):
 * both pure, so tested with plain objects.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commitMessage, commitSubject, describeChange, SUBJECT_MAX } from '../controller/status/commit-subject.ts';
import { parseTrailers } from '../controller/status/format.ts';
import { HISTORY_LIMIT, STATUS_HEADER, parseStatusFile, renderStatus } from '../controller/status/render-status.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { MemberStatus, Phase, TargetStatus } from '../reconcilers/contract.ts';

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const REV = 'c0ffee'.padEnd(40, '0');
const SERVERS = ['ums-1', 'ums-2', 'ums-3'];

/** A UMS cluster status with the servers in `updated` at 12.08.110. */
function cluster(updated: readonly string[], over: Partial<TargetStatus> = {}): TargetStatus {
  const phase: Phase = updated.length === SERVERS.length ? 'Converged' : 'Progressing';
  const summary = `${updated.length} of ${SERVERS.length} servers updated to 12.08.110`;
  const members: MemberStatus[] = SERVERS.map((name) => ({
    name,
    agent: `agent-${name}`,
    role: 'server',
    desired: '12.08.110',
    observed: updated.includes(name) ? '12.08.110' : '12.07.100',
    state: updated.includes(name) ? 'Updated' : 'Pending',
  }));
  return {
    target: 'hacluster/ums-prod',
    phase,
    conditions: conditionsFor(phase, phase === 'Converged' ? 'Converged' : 'UpdatingServers', summary, undefined, T0),
    observedRevision: REV,
    summary,
    members,
    ...over,
  };
}

describe('renderStatus', () => {
  it('writes the header, then the fields in a fixed order', () => {
    const text = renderStatus(
      cluster(['ums-2'], { reminders: ['back up the database'], details: { zeta: 1, alpha: { b: 2, a: [3, { y: 1, x: 2 }] } }, rolloutStartedAt: '2026-11-20T08:00:00.000Z' }),
      null,
      T0,
    );
    expect(text.split('\n')[0]).toBe(STATUS_HEADER);
    const doc = parse(text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      'apiVersion', 'kind', 'target', 'observedRevision', 'phase', 'summary',
      'conditions', 'members', 'reminders', 'details', 'rolloutStartedAt', 'history',
    ]);
    expect(doc).toMatchObject({ apiVersion: 'versiond/v1', kind: 'Status', target: 'hacluster/ums-prod', observedRevision: REV, phase: 'Progressing' });
    const members = doc.members as Record<string, unknown>[];
    expect(Object.keys(members[0]!)).toEqual(['name', 'agent', 'role', 'desired', 'observed', 'state']);
    expect(members[1]).toEqual({ name: 'ums-2', agent: 'agent-ums-2', role: 'server', desired: '12.08.110', observed: '12.08.110', state: 'Updated' });
    expect(Object.keys((doc.conditions as Record<string, unknown>[])[0]!)).toEqual(['type', 'status', 'reason', 'message', 'lastTransitionTime']);
    // details: keys sorted at every level, arrays in their order
    expect(text).toContain('details:\n  alpha:\n    a:\n      - 3\n      - x: 2\n        y: 1\n    b: 2\n  zeta: 1\n');
    expect(doc.history).toEqual([{ time: '2026-11-20T09:00:00.000Z', phase: 'Progressing', summary: '1 of 3 servers updated to 12.08.110' }]);
  });

  it('leaves out what the status does not have; a folder revision is null', () => {
    const doc = parse(renderStatus(cluster([], { observedRevision: null }), null, T0)) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'target', 'observedRevision', 'phase', 'summary', 'conditions', 'members', 'history']);
    expect(doc.observedRevision).toBeNull();
  });

  it('is deterministic, and re-rendering an unchanged status gives the same bytes whatever the time', () => {
    const s = cluster(['ums-2']);
    const first = renderStatus(s, null, T0);
    expect(renderStatus(s, null, T0)).toBe(first);
    expect(renderStatus(s, first, T0 + 60_000)).toBe(first);
    // key order of the input does not matter
    const reordered = { members: s.members, summary: s.summary, target: s.target, phase: s.phase, observedRevision: s.observedRevision, conditions: s.conditions } as TargetStatus;
    expect(renderStatus(reordered, null, T0)).toBe(first);
  });

  it('appends to history only when the phase or the summary changed', () => {
    let text = renderStatus(cluster([]), null, T0);
    // a member message changes, phase and summary do not: no history entry
    const quiet = cluster([], { members: cluster([]).members.map((m) => ({ ...m, message: 'in update mode' })) });
    text = renderStatus(quiet, text, T0 + 1000);
    expect(parseStatusFile(text).history).toHaveLength(1);
    text = renderStatus(cluster(['ums-2']), text, T0 + 2000); // summary changed
    text = renderStatus(cluster(['ums-2'], { phase: 'Blocked' }), text, T0 + 3000); // phase changed
    expect(parseStatusFile(text).history).toEqual([
      { time: '2026-11-20T09:00:00.000Z', phase: 'Progressing', summary: '0 of 3 servers updated to 12.08.110' },
      { time: '2026-11-20T09:00:02.000Z', phase: 'Progressing', summary: '1 of 3 servers updated to 12.08.110' },
      { time: '2026-11-20T09:00:03.000Z', phase: 'Blocked', summary: '1 of 3 servers updated to 12.08.110' },
    ]);
  });

  it(`keeps the last ${HISTORY_LIMIT} transitions, oldest first`, () => {
    let text: string | null = null;
    for (let i = 0; i < 15; i++) text = renderStatus(cluster([], { summary: `step ${i}` }), text, T0 + i * 1000);
    const { history } = parseStatusFile(text!);
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.map((h) => h.summary)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 5}`));
  });

  it('reads back what it wrote (the status is recoverable from the file)', () => {
    const s = cluster(['ums-1'], { reminders: [], details: { checks: [{ name: 'backup', ok: true }], version: '12.10' }, rolloutStartedAt: '2026-11-20T08:00:00.000Z' });
    const back = parseStatusFile(renderStatus(s, null, T0));
    expect(back.status).toEqual(s);
    // a version that YAML would read as a number stays a string
    expect((back.status?.details as { version: unknown }).version).toBe('12.10');
  });

  it('survives a previous file a person mangled: starts history again, never throws', () => {
    for (const junk of ['phase: [unclosed', '- just\n- a list\n', 'apiVersion: versiond/v1\nkind: Status\nhistory: [1, {time: x}]\n', '']) {
      const text = renderStatus(cluster([]), junk, T0);
      expect(parseStatusFile(junk).status).toBeUndefined();
      expect(parseStatusFile(text).history).toHaveLength(1);
    }
  });
});

describe('commit subject and message', () => {
  const target = 'hacluster/ums-prod';

  it('a member that became Updated is named, then the summary', () => {
    expect(commitSubject([{ previous: cluster([]), next: cluster(['ums-2']) }])).toBe(
      'status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110',
    );
    expect(describeChange(cluster([]), cluster(['ums-1', 'ums-2']))).toBe('servers ums-1, ums-2 updated, 2 of 3 servers updated to 12.08.110');
  });

  it('a phase change leads with the phase', () => {
    expect(commitSubject([{ previous: cluster(['ums-1', 'ums-2']), next: cluster(SERVERS) }])).toBe(
      'status(hacluster/ums-prod): Converged: server ums-3 updated, 3 of 3 servers updated to 12.08.110',
    );
    expect(describeChange(cluster(['ums-2']), cluster(['ums-2'], { phase: 'Blocked' }))).toBe('Blocked: 1 of 3 servers updated to 12.08.110');
    // a first status is a phase change from nothing
    expect(describeChange(undefined, cluster([]))).toBe('Progressing: 0 of 3 servers updated to 12.08.110');
  });

  it('otherwise just the summary; failures are named', () => {
    expect(describeChange(cluster(['ums-2']), cluster(['ums-2'], { summary: 'waiting for ums-1 to report' }))).toBe('waiting for ums-1 to report');
    const failed = cluster(['ums-2'], { members: cluster(['ums-2']).members.map((m) => (m.name === 'ums-1' ? { ...m, state: 'Failed' as const } : m)) });
    expect(describeChange(cluster(['ums-2']), failed)).toBe('server ums-1 failed, 1 of 3 servers updated to 12.08.110');
  });

  it(`stays on one line of at most ${SUBJECT_MAX} characters`, () => {
    const long = cluster([], { summary: `a very ${'long '.repeat(40)}summary\nwith a line break` });
    const subject = commitSubject([{ previous: cluster([]), next: long }]);
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
    expect(subject).not.toContain('\n');
    expect(subject.endsWith('…')).toBe(true);
  });

  it('several targets: `status: N targets`, one body line each, trailers per format.ts', () => {
    const acme: TargetStatus = { ...cluster([]), target: 'account/acme', summary: '7/10 devices at 4.3.0', members: [] };
    const message = commitMessage(
      [
        { previous: cluster([]), next: cluster(['ums-2']) },
        { previous: undefined, next: acme },
      ],
      REV,
    );
    const [subject, , ...rest] = message.split('\n');
    expect(subject).toBe('status: 2 targets');
    expect(rest.slice(0, 2)).toEqual(['hacluster/ums-prod: server ums-2 updated, 1 of 3 servers updated to 12.08.110', 'account/acme: Progressing: 7/10 devices at 4.3.0']);
    expect(parseTrailers(message)).toEqual({
      targets: [target, 'account/acme'],
      phases: new Map([[target, 'Progressing'], ['account/acme', 'Progressing']]),
      revision: REV,
    });
  });

  it('one target: subject, blank line, trailers', () => {
    expect(commitMessage([{ previous: cluster([]), next: cluster(['ums-2']) }], REV)).toBe(
      'status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110\n\n' +
        `Versiond-Target: ${target}\nVersiond-Phase: ${target}=Progressing\nVersiond-Revision: ${REV}\n`,
    );
  });
});
