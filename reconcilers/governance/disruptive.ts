/**
 * What disrupts, per kind: the ONE table the maintenance window, the change freeze and pause
 * read to decide which of a reconciler's commands they hold (issue 12, row "governance").
 *
 *   download    installs nothing, changes nothing that runs: goes on outside a window (so the
 *               window is spent installing); held in a freeze and while paused
 *   disruptive  changes what runs or loads what people use: held outside every window, in a
 *               freeze and while paused
 *   finishing   a step of an update a member is observed to be in the middle of: goes on
 *               outside a window, in a freeze and while paused (the safe point comes after it)
 *
 * | kind               | action           | member        | treated as                                              |
 * |--------------------|------------------|---------------|---------------------------------------------------------|
 * | Account            | stage            | any           | download                                                |
 * | (seeds 001, 003)   | apply, restart   | WRS, ceBox,   | disruptive: a restart during office hours is what a     |
 * |                    |                  | device        | window exists to prevent, even right after our install  |
 * | Domain (seed 000)  | stage            | slave         | download (propagation: the package is copied, not run)  |
 * |                    | apply            | slave         | disruptive (install on a print server)                  |
 * | HACluster          | stage            | server        | finishing while the cluster is mid-update, else download|
 * | (seed 004)         | apply            | server        | finishing while the cluster is mid-update, else         |
 * |                    | migrate,         | server        |   disruptive: the first server never starts outside a   |
 * |                    | end-update-mode  |               |   window                                                |
 * |                    | backup           | server        | disruptive (only taken before the first server)         |
 * |                    | stage            | LB, console   | download                                                |
 * |                    | apply            | LB, console   | disruptive: LBs work with newer servers (seed 004) and  |
 * |                    |                  |               |   are updated all together; consoles are admin tools    |
 * | DistributionServer | sync             | —             | not governed: it has no spec.rollout; its own schedule  |
 * | (seed 002)         |                  |               |   (spec) says when a copy runs                          |
 *
 * Anything not in the table (a new action) is disruptive: unknown is never harmless.
 *
 * "Mid-update" (`clusterMidUpdate`) is read from what the servers report, never remembered:
 * a server in update mode, or one server running the desired version while another runs
 * another. Seed 004: in update mode the servers run decoupled on a local copy of the
 * database, changes made in the console meanwhile are lost, "aus diesem Grund sollte das
 * Update aller Komponenten innerhalb des UMS HA-Verbundes sofort durchgeführt werden". So
 * once the first server was updated, the other servers' install, the migration by the last
 * one and the return to normal mode go on whatever the window; once every server is back in
 * normal mode on one version the urgency is over, and load balancers and consoles wait for
 * the window. No server reporting enough to tell (unknown) is not mid-update: held.
 */
import type { Action } from '../../protocol/action.ts';
import type { Command } from '../contract.ts';
import { SATISFIED, unknown, unsatisfied } from '../engine/precondition.ts';
import type { Answer, Missing, Precondition } from '../engine/precondition.ts';
import { agentIdOf, type Kind } from '../model/desired.ts';
import { isValidVersion, versionsEqual } from '../../protocol/version.ts';
import { componentOf } from '../observed.ts';
import type { GovernanceContext } from './step.ts';

export type Treatment = 'download' | 'disruptive' | 'finishing';

/** A row: how an action is treated by member role (`*`: any other), and whether a mid-update cluster lets it finish. */
interface Row {
  readonly treatment: 'download' | 'disruptive';
  /** Finishing while the cluster is observed mid-update (HACluster servers only). */
  readonly finishesMidUpdate?: boolean;
}

type RoleRows = Readonly<Record<string, Row>>;

const DOWNLOAD: Row = { treatment: 'download' };
const DISRUPTIVE: Row = { treatment: 'disruptive' };
const ANY = '*';

/** The table above. Roles are `server` for an HACluster's servers, `*` for any member. */
export type GovernedKind = Exclude<Kind, 'Release'>;

export const DISRUPTION: Readonly<Record<GovernedKind, Partial<Record<Action, RoleRows>>>> = {
  Account: { stage: { [ANY]: DOWNLOAD }, apply: { [ANY]: DISRUPTIVE }, restart: { [ANY]: DISRUPTIVE } },
  Domain: { stage: { [ANY]: DOWNLOAD }, apply: { [ANY]: DISRUPTIVE } },
  HACluster: {
    stage: { server: { treatment: 'download', finishesMidUpdate: true }, [ANY]: DOWNLOAD },
    apply: { server: { treatment: 'disruptive', finishesMidUpdate: true }, [ANY]: DISRUPTIVE },
    migrate: { server: { treatment: 'disruptive', finishesMidUpdate: true }, [ANY]: DISRUPTIVE },
    'end-update-mode': { server: { treatment: 'disruptive', finishesMidUpdate: true }, [ANY]: DISRUPTIVE },
    backup: { [ANY]: DISRUPTIVE },
  },
  // No spec.rollout: governance never sees its syncs (the steps do not list the kind).
  DistributionServer: { sync: { [ANY]: DOWNLOAD } },
};

/** What a treatment is judged on: a command, or a plan step. */
export interface Work {
  readonly member: string;
  readonly action: Action;
}

export interface Disruption {
  /** How governance treats this command or plan step in this pass. */
  treat(w: Work): Treatment;
  /** Would be `finishing` if the cluster were known to be mid-update (a held one says why not). */
  couldFinish(w: Work): boolean;
  /** The mid-update answer, once asked (HACluster only). */
  midUpdate(): Answer | undefined;
  /** Some action of this kind can finish a mid-update cluster. */
  readonly mayFinish: boolean;
}

/** The table applied to one pass: the mid-update question is answered at most once, from observations. */
export function disruptionOf(ctx: GovernanceContext): Disruption {
  const kind = ctx.desired.object.kind;
  const table: Partial<Record<Action, RoleRows>> = kind === 'Release' ? {} : DISRUPTION[kind];
  const cluster = kind === 'HACluster' ? (ctx.desired as GovernanceContext<'HACluster'>['desired']).object : undefined;
  const servers = cluster === undefined ? undefined : new Set(cluster.spec.servers.map((s) => s.name));
  let answer: Answer | undefined;
  const rowOf = (w: Work): Row | undefined => {
    const rows = table[w.action];
    if (rows === undefined) return undefined;
    return (servers?.has(w.member) === true ? rows['server'] : undefined) ?? rows[ANY];
  };
  const midUpdate = (): Answer => (answer ??= clusterMidUpdate.check(ctx));
  return {
    treat(w) {
      const row = rowOf(w);
      if (row === undefined) return 'disruptive';
      if (row.finishesMidUpdate === true && midUpdate().status === 'satisfied') return 'finishing';
      return row.treatment;
    },
    couldFinish(w) {
      return rowOf(w)?.finishesMidUpdate === true;
    },
    midUpdate: () => answer,
    mayFinish: Object.values(table).some((rows) => Object.values(rows).some((r) => r.finishesMidUpdate === true)),
  };
}

/** Per kind, the actions that are downloads for every member (computed once from the table). */
const DOWNLOADS = Object.fromEntries(
  Object.entries(DISRUPTION).map(([kind, actions]) => [
    kind,
    new Set(
      Object.entries(actions)
        .filter(([, rows]) => Object.values(rows).every((r) => r.treatment === 'download'))
        .map(([a]) => a),
    ),
  ]),
) as unknown as Readonly<Record<Kind, ReadonlySet<string> | undefined>>;

/** Whether a command only downloads, by the table (waves hold only what changes what runs). */
export function isDownload(kind: Kind, c: Command): boolean {
  return DOWNLOADS[kind]?.has(c.action) === true;
}

/**
 * The UMS cluster is in the middle of an update (seed 004), from what its servers report.
 *
 * Reads, for every server of `spec.servers`: `components[<release's product>].mode` and
 * `.version`. Satisfied: a server reports `mode: update`, or one reports the desired version
 * while another reports a different one. Unsatisfied: every server reports a version, all the
 * same, and none is in update mode. Unknown (held): no such evidence, and a server reports no
 * version or no mode, or the release has no valid version.
 */
const CANNOT_TELL = 'cannot tell whether the cluster is mid-update';

export const clusterMidUpdate: Precondition<GovernanceContext> = {
  name: 'cluster-mid-update',
  reads: ['components[product].mode of every server', 'components[product].version of every server'],
  check(ctx) {
    if (ctx.desired.object.kind !== 'HACluster') return unsatisfied('ObservationMissing', 'not an HA cluster');
    const spec = (ctx.desired as GovernanceContext<'HACluster'>['desired']).object.spec;
    const release = ctx.desired.releases.get(spec.release);
    const desired = release?.spec.version;
    if (release === undefined || desired === undefined || !isValidVersion(desired)) {
      const why = `release ${spec.release} has no valid version: cannot tell whether the cluster is mid-update`;
      return unsatisfied('ObservationMissing', why);
    }
    const missing: Missing[] = [];
    let at: string | undefined;
    let other: string | undefined;
    for (const s of spec.servers) {
      const c = componentOf(ctx.observed.agents.get(agentIdOf(s)), release.spec.product);
      if (c?.mode === 'update') return SATISFIED;
      if (c?.version === undefined) missing.push({ member: s.name, observation: 'version' });
      else if (isValidVersion(c.version) && versionsEqual(c.version, desired)) at ??= s.name;
      else other ??= s.name;
      if (c?.version !== undefined && c.mode === undefined) missing.push({ member: s.name, observation: 'mode' });
    }
    if (at !== undefined && other !== undefined) return SATISFIED;
    if (missing.length > 0) return unknown('ObservationMissing', missing, CANNOT_TELL);
    return unsatisfied('ObservationMissing', 'no server in update mode, all at one version: not mid-update');
  },
};
