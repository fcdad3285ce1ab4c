import { formatDiagnostic } from '../../controller/desired/diagnostics.ts';
import { DesiredStateLoader, type DesiredState } from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { locateRepository } from '../../controller/git/repository.ts';

/** Loads the desired state of `rev` (default HEAD) of the repository at `dir`, as `validate` does. */
export async function loadRevision(dir: string, rev?: string, baseRev?: string, loader = new DesiredStateLoader()): Promise<DesiredState> {
  const location = locateRepository(dir);
  const base = baseRev ? await loader.load(await openDesiredSource(location, { rev: baseRev })) : undefined;
  return loader.load(await openDesiredSource(location, rev ? { rev } : {}), base ? { base } : {});
}

export function lines(state: DesiredState): string[] {
  return state.diagnostics.map(formatDiagnostic);
}
