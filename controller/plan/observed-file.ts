/**
 * The observed snapshot `versiond plan --observed` plans against (schemas/observed-snapshot.schema.json):
 * parsed and validated here, whether it came from a file or from a controller's
 * `GET /v1/observed` (plan/observed-url.ts), so both give the same diagnostics.
 */
import { readFile } from 'node:fs/promises';
import type { AgentObservation, ArtifactCheck, CredentialCheck, Observed } from '../../reconcilers/observed.ts';
import { makeDiagnostic, type Diagnostic } from '../desired/diagnostics.ts';
import { locate, parseDesiredFile } from '../desired/parse-document.ts';
import { schemaValidator, validateWith } from '../desired/schema-validator.ts';

/** Observed snapshots are bigger than desired documents: one line per agent of a large fleet. */
export const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

export type SnapshotOutcome = { ok: true; observed: Observed; agents: number } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Reads an observed snapshot (`schemas/observed-snapshot.schema.json`) for `versiond plan`.
 * JSON is YAML 1.2, so the same parser gives every error a line and a column.
 */
export async function readObservedSnapshot(path: string): Promise<SnapshotOutcome> {
  return parseObservedSnapshot(await readFile(path), path);
}

/**
 * `readObservedSnapshot` of bytes read elsewhere: `name` (a path, a URL) is what the
 * diagnostics name as the file.
 */
export function parseObservedSnapshot(bytes: Uint8Array, name: string): SnapshotOutcome {
  const parsed = parseDesiredFile(name, bytes, MAX_SNAPSHOT_BYTES);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.findings.map((f) => makeDiagnostic(f, f)) };
  const validator = schemaValidator('observed-snapshot.schema.json');
  const findings = validateWith(validator, parsed.value, parsed.yaml, { path: name });
  if (findings.length > 0) {
    return { ok: false, diagnostics: findings.map((f) => makeDiagnostic(f, locate(parsed.yaml, f.field, f.atKey))) };
  }
  const value = parsed.value as unknown as { agents: AgentObservation[]; artifacts?: ArtifactCheck[]; credentials?: CredentialCheck[] };
  return {
    ok: true,
    agents: value.agents.length,
    observed: {
      agents: new Map(value.agents.map((a) => [a.agent, a])),
      artifacts: new Map((value.artifacts ?? []).map((a) => [a.release, a])),
      credentials: new Map((value.credentials ?? []).map((c) => [c.ref, c])),
    },
  };
}
