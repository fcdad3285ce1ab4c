/**
 * `validate --approvers`: the approvals of a revision that the controller would not count,
 * as warnings at their line (`spec.rollout.approvals[1]`), so a reviewer sees in the pull
 * request that their approval is unsigned or that they authored the change (issue 13).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApprovalTrust } from '../../reconcilers/model/approval-trust.ts';
import type { SourceRef } from '../../reconcilers/model/desired.ts';
import { makeDiagnostic, type Diagnostic } from '../desired/diagnostics.ts';
import type { DesiredState } from '../desired/load-desired-state.ts';
import { locate, reparse } from '../desired/parse-document.ts';
import { readBlobBytes } from '../git/read-blob.ts';
import type { RepositoryLocation } from '../git/repository.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';

export async function approvalDiagnostics(
  state: DesiredState, location: RepositoryLocation, trust: ReadonlyMap<TargetId, ApprovalTrust>,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const o of state.objects) {
    const t = trust.get(targetId(o.kind, o.metadata.name));
    if (t === undefined || t.mode !== 'verify') continue;
    const approvals = (o.spec as { rollout?: { approvals?: readonly { by: string }[] } }).rollout?.approvals ?? [];
    let yaml: ReturnType<typeof reparse> | undefined;
    for (let i = 0; i < approvals.length; i++) {
      const verdict = t.verdicts[i];
      if (verdict?.verified) continue;
      yaml ??= reparse(await fileText(location, state.revision, o.source));
      const field = ['spec', 'rollout', 'approvals', i];
      const reason = verdict?.reason ?? 'its history was not read (no Git revision to verify it in)';
      out.push(makeDiagnostic({
        code: 'APPROVAL_UNVERIFIED', severity: 'warning', path: o.source.path,
        target: targetId(o.kind, o.metadata.name), field, data: { by: approvals[i]!.by, reason },
      }, locate(yaml, field)));
    }
  }
  return out;
}

/** The target's file again, for positions: the blob the loader read, through the same size-capped reader. */
async function fileText(location: RepositoryLocation, revision: string | null, source: SourceRef): Promise<string> {
  if (location.type === 'git' && revision !== null) {
    return new TextDecoder().decode(await readBlobBytes(location.gitdir, source.blob, {}));
  }
  return readFile(join(location.dir, source.path), 'utf8');
}
