/**
 * The status commit format, shared by the writer (`status-writer.ts`) and `versiond audit`.
 *
 * A status commit changes only files under `status/` and reads, in `git log --oneline`:
 *
 *   status(hacluster/ums-prod): server ums-2 updated, 1 of 3 servers updated to 12.08.110
 *
 * with machine-readable trailers at the end of the message (git-interpret-trailers style):
 *
 *   Versiond-Target: hacluster/ums-prod          (one per target the commit changes)
 *   Versiond-Phase: hacluster/ums-prod=Progressing
 *   Versiond-Revision: <full sha of the desired commit reconciled>
 *
 * A commit that changes several targets has the subject `status: N targets` and one
 * Target and Phase trailer per target. The author is the controller (`versiond
 * <versiond@localhost>` unless configured).
 */
export const STATUS_DIR = 'status';
export const TRAILER_TARGET = 'Versiond-Target';
export const TRAILER_PHASE = 'Versiond-Phase';
export const TRAILER_REVISION = 'Versiond-Revision';

/** `status/<kind>/<name>.yaml` for a target id `<kind>/<name>`. */
export function statusPath(target: string): string {
  return `${STATUS_DIR}/${target}.yaml`;
}

export interface StatusTrailers {
  readonly targets: readonly string[];
  readonly phases: ReadonlyMap<string, string>;
  readonly revision: string | null;
}

export function formatTrailers(t: StatusTrailers): string {
  const lines = t.targets.map((x) => `${TRAILER_TARGET}: ${x}`);
  for (const x of t.targets) {
    const phase = t.phases.get(x);
    if (phase) lines.push(`${TRAILER_PHASE}: ${x}=${phase}`);
  }
  if (t.revision) lines.push(`${TRAILER_REVISION}: ${t.revision}`);
  return lines.join('\n');
}

/** Reads the trailers back from a commit message; `null` when it is not a status commit. */
export function parseTrailers(message: string): StatusTrailers | null {
  const targets: string[] = [];
  const phases = new Map<string, string>();
  let revision: string | null = null;
  for (const line of message.split('\n')) {
    const m = /^(Versiond-[A-Za-z]+):\s*(.+?)\s*$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === TRAILER_TARGET) targets.push(value);
    else if (key === TRAILER_PHASE) {
      const eq = value.lastIndexOf('=');
      if (eq > 0) phases.set(value.slice(0, eq), value.slice(eq + 1));
    } else if (key === TRAILER_REVISION) revision = value;
  }
  return targets.length > 0 ? { targets, phases, revision } : null;
}
