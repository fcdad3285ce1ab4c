import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../controller/desired/diagnostics.ts';
import { DesiredStateLoader } from '../controller/desired/load-desired-state.ts';
import { DirectorySource } from '../controller/desired/directory-source.ts';
import { EXAMPLE_REPO, ROOT } from './helpers/git-repo.ts';

/** The README's file-format examples are documentation people copy: they must stay valid. */
describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const snippets = [...readme.matchAll(/```yaml\n# ((?:releases|domains|accounts|distribution-servers|ha-clusters)\/[\w.-]+\.yaml)[^\n]*\n([\s\S]*?)```/g)].map(
    (m) => ({ path: m[1]!, text: m[2]! }),
  );

  it('shows one example per kind', () => {
    expect(snippets.map((s) => /^kind: (\w+)$/m.exec(s.text)?.[1]).sort()).toEqual(['Account', 'DistributionServer', 'Domain', 'HACluster', 'Release']);
  });

  it('every example validates when dropped into example-repo/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-readme-'));
    try {
      cpSync(EXAMPLE_REPO, dir, { recursive: true });
      for (const s of snippets) writeFileSync(join(dir, s.path), s.text);
      const state = await new DesiredStateLoader().load(new DirectorySource(dir));
      expect(state.diagnostics.map(formatDiagnostic)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
