import { describe, expect, it } from 'vitest';
import type { Command } from '../../reconcilers/contract.ts';
import {
  allOf,
  COMMON_REASONS,
  defineReasons,
  foldOutcomes,
  mergeCatalogues,
  Pass,
  SATISFIED,
  unknown,
  unsatisfied,
} from '../../reconcilers/engine/index.ts';

const CATALOGUE = mergeCatalogues(
  COMMON_REASONS,
  defineReasons({
    CredentialUnavailable: { category: 'stalled', phase: 'Blocked', requeueMs: 300_000, meaning: 'credential outside Git' },
    DeviceFailed: { category: 'stalled', phase: 'Failed', scope: 'member', meaning: 'one device failed' },
    Rolling: { category: 'progress', phase: 'Progressing', requeueMs: 30_000, meaning: 'commands sent' },
  }),
);
const converged = { reason: 'Converged', message: 'done' };

describe('preconditions: unknown is not yes', () => {
  it('a missing observation answers unknown and names what is missing and from whom', () => {
    const a = unknown('ObservationMissing', [
      { member: 'ums-2', observation: 'clock' },
      { member: 'ums-3', observation: 'clock' },
      { member: 'ums-3', observation: 'database backup time' },
    ]);
    expect(a.status).toBe('unknown');
    expect(a.status !== 'satisfied' && a.message).toBe('no clock reported by ums-2, ums-3; no database backup time reported by ums-3');
  });

  it('all of: not satisfied outranks unknown, which outranks satisfied', () => {
    const no = unsatisfied('ClockSkew', 'clocks 90 s apart');
    const dunno = unknown('ObservationMissing', [{ member: 'a', observation: 'clock' }]);
    expect(allOf([SATISFIED, dunno, no])).toBe(no);
    expect(allOf([SATISFIED, dunno, SATISFIED])).toBe(dunno);
    expect(allOf([SATISFIED, SATISFIED])).toBe(SATISFIED);
    expect(allOf([])).toBe(SATISFIED);
  });

  it('an unknown answer holds the step like a no: the pass turns it into a blocker', () => {
    const pass = new Pass('domain/d', CATALOGUE);
    const blocker = pass.blockerOf(unknown('ObservationMissing', [{ member: 'wd-lille', observation: 'version' }]));
    expect(blocker).toEqual({ category: 'waiting', reason: 'ObservationMissing', message: 'no version reported by wd-lille' });
    expect(pass.blockerOf(SATISFIED)).toBeUndefined();
  });
});

describe('the pass: nothing leaves once halted', () => {
  const command = (member: string): Command => ({
    id: '0123456789abcdef', target: 'domain/d', member, agent: member, action: 'stage', delivery: 'push', version: '6.1.4',
  });

  it('sends while nothing blocks, then lists steps blocked by the first halt', () => {
    const pass = new Pass('domain/d', CATALOGUE);
    expect(pass.send(command('s1'))).toBe(true);
    pass.haltWith(pass.blocker('PackageNotSecure', 'package not secure: bad signature'));
    pass.haltWith(pass.blocker('VerifyingPackage', 'second halt is ignored'));
    expect(pass.send(command('s2'))).toBe(false);
    expect(pass.commands.map((c) => c.member)).toEqual(['s1']);
    expect(pass.plan[1]).toMatchObject({ member: 's2', runnable: false, blockedBy: { category: 'stalled', reason: 'PackageNotSecure' } });
  });

  it('a gate blocks one command without halting the pass', () => {
    const pass = new Pass('domain/d', CATALOGUE);
    expect(pass.send(command('s1'), pass.blocker('MemberOffline', 'slave s1 offline'))).toBe(false);
    expect(pass.send(command('s2'))).toBe(true);
    expect(pass.halt).toBeUndefined();
  });

  it('refuses a reason that is not in the catalogue', () => {
    const pass = new Pass('domain/d', CATALOGUE);
    expect(() => pass.outcome('SomethingInvented', 'x')).toThrow(/not in the catalogue/);
  });
});

describe('one fold for every kind', () => {
  it('a target-wide failure outranks progress, progress outranks waiting', () => {
    const out = foldOutcomes(
      [
        { reason: 'MemberOffline', message: 'w' },
        { reason: 'Rolling', message: 'p' },
        { reason: 'ApplyFailed', message: 'f' },
      ],
      CATALOGUE,
      converged,
    );
    expect(out).toEqual({ phase: 'Failed', reason: 'ApplyFailed', message: 'f' });
  });

  it('a member-scoped failure does not stop the others, and decides once nothing else moves', () => {
    const moving = foldOutcomes([{ reason: 'DeviceFailed', message: 'd' }, { reason: 'Rolling', message: 'p' }], CATALOGUE, converged);
    expect(moving).toEqual({ phase: 'Progressing', reason: 'Rolling', message: 'p', requeueAfter: 30_000 });
    const left = foldOutcomes([{ reason: 'DeviceFailed', message: 'd' }], CATALOGUE, converged);
    expect(left).toEqual({ phase: 'Failed', reason: 'DeviceFailed', message: 'd' });
  });

  it('ties go to the first outcome in step order; the soonest requeue of the non-stalled outcomes wins', () => {
    const out = foldOutcomes(
      [
        { reason: 'ObservationMissing', message: 'first' },
        { reason: 'VerifyingPackage', message: 'second' },
      ],
      CATALOGUE,
      converged,
    );
    expect(out).toEqual({ phase: 'Waiting', reason: 'ObservationMissing', message: 'first', requeueAfter: 10_000 });
  });

  it('a stalled phase does not requeue, unless its reason asks to be polled (a fix outside Git raises no event)', () => {
    expect(foldOutcomes([{ reason: 'MemberAhead', message: 'm' }, { reason: 'Rolling', message: 'p' }], CATALOGUE, converged))
      .toEqual({ phase: 'Blocked', reason: 'MemberAhead', message: 'm' });
    expect(foldOutcomes([{ reason: 'CredentialUnavailable', message: 'c' }], CATALOGUE, converged))
      .toEqual({ phase: 'Blocked', reason: 'CredentialUnavailable', message: 'c', requeueAfter: 300_000 });
  });

  it('no outcome: the fallback', () => {
    expect(foldOutcomes([], CATALOGUE, converged)).toEqual({ phase: 'Converged', reason: 'Converged', message: 'done' });
  });
});

describe('the catalogue', () => {
  it('the same reason cannot mean two things', () => {
    expect(() => mergeCatalogues(COMMON_REASONS, { MemberAhead: { category: 'waiting', phase: 'Waiting', meaning: 'drifted' } }))
      .toThrow(/MemberAhead is defined twice/);
  });

  it('stalled reasons put the target in Blocked or Failed, waiting ones in Waiting', () => {
    for (const [reason, def] of Object.entries(COMMON_REASONS)) {
      if (def.category === 'stalled') expect(['Blocked', 'Failed'], reason).toContain(def.phase);
      if (def.category === 'waiting') expect(def.phase, reason).toBe('Waiting');
    }
  });
});
