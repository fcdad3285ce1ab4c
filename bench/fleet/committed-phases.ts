/**
 * Each target's phase and observed revision as committed on `main`, for the fleet benchmarks'
 * "Converged in Git" polls. Only status files whose blob changed since the last poll are read
 * and parsed: re-parsing every status file twice a second (70 MB of YAML at 100,000 agents)
 * took a whole core from the machine being measured.
 */
import { readBlobBytes } from '../../controller/git/read-blob.ts';
import { parseStatusFile } from '../../controller/status/render-status.ts';
import { git } from '../generate-repo.ts';

export interface CommittedPhase {
  readonly phase: string;
  readonly observedRevision: string | null;
}

export class CommittedPhases {
  /** Parsed status by blob id; undefined for a file that is not a readable status of its path's target. */
  private byBlob = new Map<string, CommittedPhase | undefined>();
  private readonly gitCache = {};

  constructor(private readonly gitdir: string) {}

  /** Target → its committed phase, for every readable `status/<kind>/<name>.yaml` on `main`. */
  async read(): Promise<Map<string, CommittedPhase>> {
    const listing = git(this.gitdir, '--git-dir', this.gitdir, 'ls-tree', '-r', 'main', '--', 'status/');
    const out = new Map<string, CommittedPhase>();
    const seen = new Map<string, CommittedPhase | undefined>();
    for (const line of listing.split('\n')) {
      const m = /^100644 blob ([0-9a-f]{40,64})\tstatus\/(.+)\.yaml$/.exec(line);
      if (!m) continue;
      const [, oid, target] = m as unknown as [string, string, string];
      let phase = this.byBlob.get(oid);
      if (!this.byBlob.has(oid)) {
        const text = Buffer.from(await readBlobBytes(this.gitdir, oid, this.gitCache)).toString('utf8');
        phase = readPhase(text, target);
      }
      seen.set(oid, phase);
      if (phase !== undefined) out.set(target, phase);
    }
    this.byBlob = seen;
    return out;
  }
}

/**
 * The phase from the file's head: the controller writes `target`, `observedRevision` and `phase`
 * as plain top-level keys before the members, so a 60 KB account status is not parsed whole
 * for two lines (at 100,000 agents, hundreds of files change every second). A head that does
 * not read so is parsed as the controller would.
 */
const HEAD_KEYS = ['target', 'phase', 'observedRevision'].map((name) => new RegExp(`^${name}: ([^\\s"']+)$`, 'm'));

function readPhase(text: string, target: string): CommittedPhase | undefined {
  const head = text.slice(0, 2048);
  const [t, phase, revision] = HEAD_KEYS.map((key) => key.exec(head)?.[1]);
  if (t !== undefined && phase !== undefined && revision !== undefined) {
    return t === target ? { phase, observedRevision: revision === 'null' ? null : revision } : undefined;
  }
  const status = parseStatusFile(text).status;
  if (status === undefined || status.target !== target) return undefined;
  return { phase: status.phase, observedRevision: status.observedRevision };
}
