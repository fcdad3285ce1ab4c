import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT, STATUS_HEADER, StatusRenderer, parseStatusFile } from '../controller/status/render-status.ts';
import type { MemberStatus, TargetStatus } from '../reconcilers/contract.ts';

// Issue 16: the writer renders a large account's file by reusing the lines of the members that
// did not change, and reads back its own files from memory. Neither may change one byte of
// the file, nor what is read back: the oracle below renders the whole document at once and
// parses the previous file, as the writer did before.
function oracle(status: TargetStatus, previous: string | null, now: number): string {
  const before = previous === null ? undefined : parseStatusFile(previous);
  const history = [...(before?.history ?? [])];
  if (before?.status === undefined || before.status.phase !== status.phase ||
    before.status.summary !== status.summary) {
    history.push({ time: new Date(now).toISOString(), phase: status.phase, summary: status.summary });
  }
  const doc: Record<string, unknown> = {
    apiVersion: 'versiond/v1', kind: 'Status', target: status.target, observedRevision: status.observedRevision,
    phase: status.phase, summary: status.summary,
    conditions: status.conditions.map((c) => ({ ...c })),
    members: status.members.map((m) => ({
      name: m.name, agent: m.agent, role: m.role, desired: m.desired,
      ...(m.observed !== undefined ? { observed: m.observed } : {}), state: m.state,
      ...(m.message !== undefined ? { message: m.message } : {}),
    })),
  };
  if (status.reminders !== undefined) doc.reminders = [...status.reminders];
  if (status.details !== undefined) {
    doc.details = JSON.parse(JSON.stringify(status.details, Object.keys(status.details).sort()));
  }
  if (status.rolloutStartedAt !== undefined) doc.rolloutStartedAt = status.rolloutStartedAt;
  doc.history = history.slice(-HISTORY_LIMIT);
  return `${STATUS_HEADER}\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

// Awkward strings on purpose: YAML indicators, numbers, booleans, quotes, newlines, unicode.
const text = fc.oneof(fc.constantFrom('4.3.0', '12.08.110', 'yes', 'null', '- x', 'a: b', '"q"', "it's", '#c', '',
  '0x1F', 'line\nbreak', 'é ü 中', '  lead'), fc.string({ maxLength: 12 }));
const member = (i: number) => fc.record({
  name: fc.constant(`dev-${i}`), agent: fc.constant(`agent-${i}`), role: fc.constantFrom('device', 'wrs'),
  desired: text,
  observed: fc.option(text, { nil: undefined }), state: fc.constantFrom('Pending', 'Updated', 'Waiting', 'Failed'),
  message: fc.option(text, { nil: undefined }),
}).map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as unknown as MemberStatus);
const status = (size: number) => fc.record({
  phase: fc.constantFrom('Progressing', 'Converged', 'Waiting', 'Blocked'),
  summary: text,
  members: fc.tuple(...Array.from({ length: size }, (_, i) => member(i))),
  reminders: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
  details: fc.option(
    fc.dictionary(fc.constantFrom('b', 'a', 'waves'), fc.oneof(text, fc.integer(), fc.array(text))),
    { nil: undefined },
  ),
}).map((s): TargetStatus => ({
  target: 'account/acme', observedRevision: 'a'.repeat(40), conditions: [
    {
      type: 'Ready', status: 'False', reason: 'RollingOut', message: s.summary,
      lastTransitionTime: '2026-12-06T10:00:00Z',
    },
  ],
  phase: s.phase as TargetStatus['phase'], summary: s.summary, members: s.members,
  ...(s.reminders !== undefined ? { reminders: s.reminders } : {}),
  ...(s.details !== undefined ? { details: s.details } : {}),
}));

describe('the status renderer of the writer', () => {
  it('writes the very bytes of rendering the whole document, whatever changed between two renders', () => {
    fc.assert(fc.property(fc.array(status(4), { minLength: 1, maxLength: 6 }), (sequence) => {
      const renderer = new StatusRenderer();
      let previous: string | null = null;
      let now = Date.UTC(2026, 11, 6);
      for (const s of sequence) {
        const expected = oracle(s, previous, now);
        expect(renderer.render(s, previous, now)).toBe(expected);
        // Read back from memory, it is what parsing the file gives.
        expect(renderer.read(s.target, expected)).toEqual(parseStatusFile(expected));
        previous = expected;
        now += 1000;
      }
    }), { numRuns: 60 });
  });

  it('parses a file a person edited, rather than trusting what it wrote before', () => {
    const renderer = new StatusRenderer();
    const s = fc.sample(status(2), { numRuns: 1, seed: 7 })[0]!;
    const mine = renderer.render(s, null, 0);
    const edited = mine.replace(`phase: ${s.phase}`, 'phase: Failed');
    expect(renderer.read(s.target, edited).status?.phase).toBe('Failed');
  });

  it('costs what changed: one device of 500 moving renders far faster than the whole account', () => {
    const members = Array.from({ length: 500 }, (_, i): MemberStatus => ({
      name: `acme-ws-${i}`, agent: `acme-ws-${i}`, role: 'device', desired: '4.3.0', observed: '4.2.1',
      state: 'Waiting',
      message: 'wave 2 of 3 awaits approval ' +
        '(digest sha256:c6e54d44c6b3ef1491b23db75d33c78febc285172c7de58f6cd9e384cada9b1a)',
    }));
    const base: TargetStatus = {
      target: 'account/acme', phase: 'Progressing', observedRevision: null, summary: '0/500', conditions: [], members,
    };
    const renderer = new StatusRenderer();
    let previous = renderer.render(base, null, 0);
    const cold = performance.now();
    new StatusRenderer().render(base, previous, 1);
    const whole = performance.now() - cold;
    let warm = Infinity;
    for (let i = 0; i < 5; i++) {
      const next = {
        ...base,
        members: members.map((m, j) => (j === i ? { ...m, observed: '4.3.0', state: 'Updated' as const } : m)),
      };
      const t = performance.now();
      previous = renderer.render(next, previous, 2 + i);
      warm = Math.min(warm, performance.now() - t);
    }
    process.stdout.write(`500 members: whole ${whole.toFixed(1)} ms, one changed ${warm.toFixed(1)} ms\n`);
    expect(warm).toBeLessThan(whole / 3);
  });
});
