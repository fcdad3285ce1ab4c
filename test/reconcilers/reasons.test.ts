import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesiredStateLoader } from '../../controller/desired/load-desired-state.ts';
import { DirectorySource } from '../../controller/desired/directory-source.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import { planTargets } from '../../reconcilers/plan-targets.ts';
import { REASONS, REASON_OWNERS } from '../../reconcilers/reasons.ts';
import { EXAMPLE_REPO, ROOT } from '../helpers/git-repo.ts';

describe('one reason catalogue: the same situation reads the same in every kind', () => {
  it('merges every kind and governance without a reason meaning two things', () => {
    expect(Object.keys(REASONS).length).toBeGreaterThan(50);
    for (const [reason, def] of Object.entries(REASONS)) {
      expect(reason, 'PascalCase').toMatch(/^[A-Z][A-Za-z]+$/);
      if (def.category === 'stalled') expect(['Blocked', 'Failed'], reason).toContain(def.phase);
      if (def.category === 'progress') expect(def.phase, reason).toBe('Progressing');
      if (def.category === 'stalled' && def.requeueMs !== undefined) {
        // A stalled reason is polled only when the fix happens outside Git (the credential store).
        expect(reason).toBe('CredentialUnavailable');
      }
    }
  });

  it('every reason the example repository produces, on the phase or on a plan step, is catalogued', async () => {
    const state = await new DesiredStateLoader().load(new DirectorySource(EXAMPLE_REPO));
    const snapshot = await readObservedSnapshot(join(ROOT, 'agent/example-observed.json'));
    if (!snapshot.ok) throw new Error('example snapshot is invalid');
    const plans = planTargets({
      objects: state.objects,
      releases: new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release')),
      revision: null,
      observed: snapshot.observed,
      previous: new Map<TargetId, TargetStatus>(),
      unusable: state.unusable,
      now: Date.parse('2026-11-22T10:00:00Z'),
      consoleId: 'console-hq',
    });
    const seen = new Set<string>();
    for (const p of plans) {
      if (p.outcome !== 'planned') continue;
      for (const c of p.result.status.conditions) if (c.reason !== 'None') seen.add(c.reason);
      for (const s of p.result.plan) if (s.blockedBy) seen.add(s.blockedBy.reason);
    }
    expect(seen.size).toBeGreaterThan(5);
    for (const reason of seen) expect(REASONS, reason).toHaveProperty(reason);
  });

  it('the README lists every reason with its phase', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [reason, def] of Object.entries(REASONS)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${reason}\` |`));
      expect(row, `README row for ${reason}`).toBeDefined();
      expect(row).toContain(`| ${REASON_OWNERS.get(reason)} | ${def.category} | ${def.phase}`);
    }
  });
});
