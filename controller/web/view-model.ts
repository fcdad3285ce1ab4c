/**
 * What the read API answers and the web pages draw (issue 15): targets as people look at
 * them. Built from what the controller already derives — the reconcilers' last status and
 * plan, the agents' reports — never stored: a restarted controller shows the same thing
 * once its agents have reported. Shapes are in schemas/view-*.schema.json.
 */
import type { Condition, MemberState, Phase } from '../../reconcilers/contract.ts';
import type { Kind } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import type { AuditEvent } from '../audit/target-history.ts';

/** `Pending`: the target has no status yet (the controller just started, or it cannot be reconciled). */
export type ViewPhase = Phase | 'Pending';

/** How a plan step reads: sent now, done by a person or the device, or held (and whether it clears by itself). */
export type StepState = 'now' | 'by hand' | 'by device' | 'waiting' | 'blocked';

/** Who has to move next: `person` (stalled, failed, an approval or a manual step), else the controller or time. */
export type Attention = 'person' | 'controller';

export interface Blocking {
  readonly category: 'waiting' | 'stalled';
  readonly reason: string;
  readonly message: string;
}

/** One line of the fleet overview and of `GET /v1/targets`. */
export interface TargetRow {
  readonly target: TargetId;
  readonly kind: Kind;
  readonly name: string;
  /** The file the target is declared in, relative to the repository. */
  readonly path: string;
  readonly phase: ViewPhase;
  /** The condition that speaks for the phase (Stalled, else Reconciling, else Ready). */
  readonly reason: string | null;
  readonly message: string | null;
  readonly summary: string;
  /** Members at the desired version (state Updated) out of all members. */
  readonly progress: { readonly done: number; readonly total: number };
  /** The desired commit the status reconciled (null: read from a folder, or not reconciled yet). */
  readonly revision: string | null;
  /** When the speaking condition last changed (ISO-8601), null without status. */
  readonly since: string | null;
  readonly attention: Attention;
  /** What holds the target: its first held plan step, else its Stalled condition; null when nothing does. */
  readonly blockedBy: Blocking | null;
}

export interface MemberRow {
  readonly name: string;
  readonly agent: string;
  readonly role: string;
  readonly desired: string;
  readonly observed: string | null;
  readonly state: MemberState;
  readonly message: string | null;
  /** From the agent's reports: null when it never reported since the controller started. */
  readonly online: boolean | null;
  /** ISO-8601 time of the agent's last report, null when it never reported. */
  readonly lastReport: string | null;
}

export interface StepRow {
  readonly member: string;
  readonly action: string;
  readonly version: string | null;
  readonly state: StepState;
  readonly reason: string | null;
  readonly message: string | null;
}

export interface WaveApproval {
  readonly required: boolean;
  /** The plan digest a reviewer approves (`sha256:` and 64 hex digits). */
  readonly digest: string;
  readonly approved: boolean;
  /** The YAML a reviewer adds under the target's file to approve the wave, ready to paste. */
  readonly snippet: string;
}

export interface WaveRow {
  readonly number: number;
  readonly size: number;
  readonly state: string;
  readonly members: readonly string[];
  readonly versions: readonly string[];
  readonly updated: number;
  readonly updating: number;
  readonly failed: readonly string[];
  readonly approval: WaveApproval | null;
}

export interface WavesView {
  /** The members the waves split (`device` of an account, `slave` of a domain). */
  readonly role: string;
  /** The wave that runs now, null when none does. */
  readonly current: number | null;
  readonly state: string;
  readonly waves: readonly WaveRow[];
  readonly stragglers: readonly string[];
}

/** One target in full: `GET /v1/targets/{kind}/{name}` and the target page. */
export interface TargetDetail extends TargetRow {
  readonly conditions: readonly Condition[];
  readonly members: readonly MemberRow[];
  /** Every step the rollout still needs, in the vendor's order. */
  readonly steps: readonly StepRow[];
  readonly waves: WavesView | null;
  readonly reminders: readonly string[];
  readonly rolloutStartedAt: string | null;
  /** Kind details from status (HA preflight checks, distribution-server syncs and missing files), rollout excepted. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** `GET /v1/targets` and the overview page. */
export interface FleetView {
  /** The desired revision the controller acts on (null: none yet, or a folder). */
  readonly revision: string | null;
  /** ISO-8601. */
  readonly generatedAt: string;
  readonly agents: { readonly online: number; readonly known: number };
  /** Targets needing a person first, then the others; each group by kind, then name. */
  readonly targets: readonly TargetRow[];
}

/** `GET /v1/targets/{kind}/{name}/history` and the history page: the audit timeline, newest first, paged. */
export interface HistoryPage {
  readonly target: TargetId;
  /** The commit the walk started from (the watched branch, or its status branch). */
  readonly head: string | null;
  /** Newest first. */
  readonly events: readonly AuditEvent[];
  /** Pass as `?cursor=` for the next (older) page; null on the last page. */
  readonly next: string | null;
  /** Events of this target in the whole history read. */
  readonly total: number;
}

/** What every page needs besides its data. */
export interface PageContext {
  /** The desired revision acted on, shown in the header. */
  readonly revision: string | null;
  /** The viewer's name when signed in with a viewer token; null on anonymous loopback reads. */
  readonly viewer: string | null;
  /** Links a commit id to a web view of the repository (`--commit-url`, `{commit}` replaced), null: none. */
  readonly commitUrl: string | null;
}
