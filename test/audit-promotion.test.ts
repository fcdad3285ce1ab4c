import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditJson, renderAuditText } from '../controller/audit/render-audit.ts';
import { readTargetHistory } from '../controller/audit/target-history.ts';
import { TempRepo } from './helpers/git-repo.ts';

/**
 * Promotion (issue 8, item 3): a version let into production without the test ring is an
 * explicit `spec.promotion.override` with a reason, and `versiond audit` shows who set it,
 * when, in which pull request, with that reason — and when it changed or was removed.
 */

const ACME = 'accounts/acme-w360.yaml';
const REASON = 'CVE-2026-4242: the fix must reach every workstation today';
const OVERRIDE = `  promotion:\n    override:\n      version: "4.3.0"\n      reason: "${REASON}"\n`;

let g: TempRepo;
const c: Record<string, string> = {};

beforeAll(() => {
  g = TempRepo.create();
  g.write(ACME, `${g.read(ACME)}${OVERRIDE}`);
  c['set'] = g.commitAll('Let 4.3.0 into production before the test ring converged (#77)');
  g.edit(ACME, '      version: "4.3.0"', '      version: "4.3.1"');
  c['moved'] = g.commitAll('The hotfix is 4.3.1 (#78)');
  g.edit(ACME, OVERRIDE.replace('4.3.0', '4.3.1'), '');
  c['removed'] = g.commitAll('Drop the promotion override (#79)');
});
afterAll(() => g?.dispose());

/** The index of the timeline line of commit `key` (the header names HEAD's short id too). */
const lineOf = (lines: readonly string[], key: string): number => lines.findIndex((l) => l.includes(`  ${c[key]!.slice(0, 7)}  `));

async function history() {
  const h = await readTargetHistory({ gitdir: join(g.dir, '.git'), head: g.head(), target: 'account/acme-w360' });
  return { h, text: renderAuditText({ ...h, branch: 'main' }) };
}

describe('versiond audit shows promotion overrides (issue 8)', () => {
  it('setting an override is listed with its version and reason, under the commit and pull request that set it', async () => {
    const { text } = await history();
    const lines = text.split('\n');
    const commit = lineOf(lines, 'set');
    expect(lines[commit]).toContain('Ada Admin <ada@example.com>  PR #77  Let 4.3.0 into production before the test ring converged (#77)');
    expect(lines[commit + 1]).toBe(`      spec.promotion: (unset) -> {"override":{"version":"4.3.0","reason":"${REASON}"}}`);
  });

  it('changing and removing the override are listed field by field', async () => {
    const { text } = await history();
    const lines = text.split('\n');
    const moved = lineOf(lines, 'moved');
    expect(lines[moved + 1]).toBe('      spec.promotion.override.version: 4.3.0 -> 4.3.1');
    const removed = lineOf(lines, 'removed');
    expect(lines[removed + 1]).toBe(`      spec.promotion: {"override":{"version":"4.3.1","reason":"${REASON}"}} -> (unset)`);
  });

  it('the JSON audit carries the override as data', async () => {
    const { h } = await history();
    const [acme] = auditJson({ ...h, branch: 'main' }).targets;
    const set = acme!.events.find((e) => e.commit === c['set']);
    expect(set).toMatchObject({ type: 'desired', fields: [{ field: 'spec.promotion', to: { override: { version: '4.3.0', reason: REASON } } }] });
  });
});
