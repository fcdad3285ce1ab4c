/**
 * Version policy (issue 8, item 6), applied first: a forbidden version is refused whatever the
 * time, the windows or the waves.
 *
 * (a) Upgrade paths. A Release with `mandatory: true` may not be skipped: a member that runs a
 *     version below it and is told to go above it must install it first. Its commands are held
 *     with a stalled `MandatoryVersionSkipped` blocker naming the release to install first;
 *     phase Blocked. A person points the target at that release, then at the later one. In
 *     an HACluster every command is held (the cluster is updated as one, seed 004: a server
 *     left behind would stop it half-way, in update mode).
 *     Reads the version each member runs: the reconciler's `members[].observed`, else the
 *     agent's component of the product. A member whose agent never reported, or that reports
 *     a version that cannot be compared, while a mandatory release lies below its desired
 *     version: unknown, never "no skip" — its commands are held (`ObservationMissing`, phase
 *     Waiting, "no version reported by ws-7"; in an HACluster every command), also when
 *     another member's skip is known. An agent that reported without the product runs
 *     nothing: a first install skips nothing.
 *
 * (b) The schema fence of an HACluster. Every UMS update migrates the production database
 *     schema on the last server (seed 004), and no older server runs on a migrated schema —
 *     not even a patch below within the same major.minor. Once the cluster has migrated to a
 *     version (it converged on it, or our `migrate` of it succeeded), that version is
 *     remembered as `schemaAt`, and a desired version below it is refused: stalled
 *     `SchemaFence`, phase Blocked, every command held — unless the file declares that the
 *     database was restored for exactly that version (`spec.databaseRestore.version`). The
 *     major.minor case is also refused at validate time against the base revision
 *     (reconcilers/ha-cluster/validate-schema-downgrade.ts) and by the reconciler while a
 *     server reports the higher schema; the fence adds what neither can see: the same
 *     major.minor, and a migration whose servers no longer report it.
 *
 *     `schemaAt` lives in status (`status.details.rollout['version-policy'].schemaAt`), carried
 *     from the previous status on every pass: previous status is the only memory a pure step
 *     has. It moves to the desired version when that version migrates, down as well as up (a
 *     declared restore followed by a rollout to the restored version), never while fenced.
 *
 * Details (`status.details.rollout['version-policy']`):
 *   { schemaAt?: string,                                  HACluster: the version the schema was last migrated to
 *     fence?: { desired, schemaAt, refused: boolean,      the desired version is below schemaAt;
 *               restore?: { version, reason } },          refused unless the restore declared matches
 *     mandatory?: { count: number,                        members that would skip a mandatory release
 *                   members: [{ member, observed, desired, release, version }] },   (the first 20)
 *     unknown?: { count: number, members: string[] } }   members whose version is not known (the first 20)
 */
import { attempt } from '../command-id.ts';
import type { Blocker } from '../contract.ts';
import type { Release } from '../model/desired.ts';
import { messageOf } from '../model/errors.ts';
import { compareVersions, isValidVersion, versionsEqual } from '../../protocol/version.ts';
import { describeMissing, type Missing } from '../engine/precondition.ts';
import { componentOf } from '../observed.ts';
import { blocker } from './reasons.ts';
import type { GovernanceContext, GovernanceStep, GovernanceVerdict } from './step.ts';

export const MANDATORY_REASON = 'MandatoryVersionSkipped';
export const SCHEMA_FENCE_REASON = 'SchemaFence';
export const VERSION_POLICY_STEP = 'version-policy';

const MAX_LISTED = 20;

interface Skip {
  readonly member: string;
  readonly observed: string;
  readonly desired: string;
  readonly release: string;
  readonly version: string;
  readonly blocker: Blocker;
}

export const versionPolicy: GovernanceStep = {
  name: VERSION_POLICY_STEP,
  kinds: ['Domain', 'Account', 'HACluster'],
  // Read from each member's desired and observed versions only, never from commands or states.
  idle: { byResult: (ctx) => ctx.desired.object.kind !== 'HACluster' && noSkips(mandatorySkips(ctx)) },
  decide(ctx: GovernanceContext): GovernanceVerdict | undefined {
    const { skips, unknown } = mandatorySkips(ctx);
    const fence = ctx.desired.object.kind === 'HACluster' ? schemaFence(ctx) : undefined;
    if (skips.length === 0 && unknown.length === 0 && fence === undefined) return undefined;

    const details: Record<string, unknown> = {};
    if (fence?.schemaAt !== undefined) details['schemaAt'] = fence.schemaAt;
    if (fence?.below !== undefined) details['fence'] = fence.below;
    if (skips.length > 0) {
      details['mandatory'] = {
        count: skips.length,
        members: skips.slice(0, MAX_LISTED).map(({ member, observed, desired, release, version }) => ({ member, observed, desired, release, version })),
      };
    }
    if (unknown.length > 0) details['unknown'] = { count: unknown.length, members: unknown.slice(0, MAX_LISTED).map((u) => u.member) };

    const holds = new Map<string, Blocker>();
    const heldMembers = new Map<string, Blocker>();
    if (fence?.refusal !== undefined) {
      // Nothing at all goes to a cluster told to go below its schema, not even a finishing step.
      const b = fence.refusal;
      for (const c of ctx.inner.commands) holds.set(c.id, b);
      for (const m of ctx.inner.status.members) heldMembers.set(m.name, b);
      return { holds, heldMembers, reason: SCHEMA_FENCE_REASON, message: b.message, details };
    }
    if (skips.length === 0 && unknown.length === 0) return { details };
    if (skips.length === 0) return unknownVerdict(ctx, unknown, details);

    const first = skips[0]!;
    // Unknown members wait too, whatever a known skip says (a skip outranks them in the phase).
    if (unknown.length > 0) for (const [m, b] of unknownVerdict(ctx, unknown, details).heldMembers!) heldMembers.set(m, b);
    for (const s of skips) heldMembers.set(s.member, s.blocker);
    const cluster = ctx.desired.object.kind === 'HACluster';
    for (const c of ctx.inner.commands) {
      const b = heldMembers.get(c.member) ?? (cluster ? clusterHeld(first) : undefined);
      if (b !== undefined) holds.set(c.id, b);
    }
    const others = skips.length > 1 ? ` (and ${skips.length - 1} more member${skips.length === 2 ? '' : 's'})` : '';
    return {
      holds,
      heldMembers,
      reason: MANDATORY_REASON,
      message: `${first.member}${others}: ${first.blocker.message}`,
      note: `mandatory ${first.version} first`,
      details,
    };
  },
};

function noSkips(s: { skips: readonly Skip[]; unknown: readonly Unknown[] }): boolean {
  return s.skips.length === 0 && s.unknown.length === 0;
}

function clusterHeld(first: Skip): Blocker {
  return blocker(MANDATORY_REASON, `${first.member} would skip the mandatory version ${first.version}: the cluster is updated as one, so nothing starts until it is installed first`);
}

/** Members whose version is unknown: their commands are held until they report one. */
function unknownVerdict(ctx: GovernanceContext, unknown: readonly Unknown[], details: Record<string, unknown>): GovernanceVerdict {
  const first = unknown[0]!;
  const missing: Missing[] = unknown.slice(0, 3).map((u) => ({ member: u.member, observation: u.observation }));
  const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
  const message = `${describeMissing(missing)}${more}: whether ${first.version} (mandatory) would be skipped is unknown, so ${unknown.length === 1 ? 'its' : 'their'} update waits`;
  const heldMembers = new Map<string, Blocker>();
  const b = blocker('ObservationMissing', message);
  for (const u of unknown) heldMembers.set(u.member, b);
  // A cluster is updated as one (seed 004): a server found to skip half-way would stop it in update mode.
  const cluster = ctx.desired.object.kind === 'HACluster';
  const holds = new Map<string, Blocker>();
  for (const c of ctx.inner.commands) if (cluster || heldMembers.has(c.member)) holds.set(c.id, b);
  return { holds, heldMembers, reason: 'ObservationMissing', message, note: 'versions unknown', details };
}

interface Unknown {
  readonly member: string;
  /** `version` (never reported) or `comparable version` (reported one that is not valid). */
  readonly observation: string;
  /** The lowest mandatory version below the desired one. */
  readonly version: string;
}

// ------------------------------------------------------------------ (a) mandatory versions

/** The product a member runs, as the target names it. */
function productOf(ctx: GovernanceContext, role: string): string | undefined {
  const o = ctx.desired.object;
  switch (o.kind) {
    case 'Account': {
      const spec = (o as GovernanceContext<'Account'>['desired']['object']).spec;
      if (role !== 'infrastructure') return spec.product;
      return spec.infrastructure === undefined ? undefined : ctx.desired.releases.get(spec.infrastructure.release)?.spec.product;
    }
    case 'Domain':
    case 'HACluster': {
      const spec = o.spec as { release: string };
      return ctx.desired.releases.get(spec.release)?.spec.product;
    }
    default:
      return undefined;
  }
}

/**
 * Members below a mandatory release that is below their desired version, in status order, and
 * members whose version is unknown while such a release exists. A million devices share a
 * handful of (observed, desired) pairs: each pair is judged once.
 */
function mandatorySkips(ctx: GovernanceContext): { skips: Skip[]; unknown: Unknown[] } {
  const mandatoryOf = new Map<string, Release[]>();
  const judged = new Map<string, Release | null>();
  const blockers = new Map<string, Blocker>();
  const out: Skip[] = [];
  const unknown: Unknown[] = [];
  for (const m of ctx.inner.status.members) {
    const { desired } = m;
    if (desired === '' || m.observed === desired) continue;
    const product = productOf(ctx, m.role);
    if (product === undefined) continue;
    let mandatory = mandatoryOf.get(product);
    if (mandatory === undefined) {
      mandatory = ctx.desired.releases
        .ofProduct(product)
        .filter((r) => r.spec.mandatory === true && isValidVersion(r.spec.version))
        .sort((a, b) => compareVersions(a.spec.version, b.spec.version));
      mandatoryOf.set(product, mandatory);
    }
    if (mandatory.length === 0 || !isValidVersion(desired)) continue;
    const observed = m.observed ?? versionReported(ctx, m.agent, product);
    if (observed === null) continue; // reported, without the product: a first install skips nothing
    if (observed === undefined || !isValidVersion(observed)) {
      const below = mandatory.find((r) => compareVersions(r.spec.version, desired) < 0);
      if (below !== undefined) unknown.push({ member: m.name, observation: observed === undefined ? 'version' : 'comparable version', version: below.spec.version });
      continue;
    }
    if (observed === desired) continue;
    const key = `${product}\0${observed}\0${desired}`;
    let release = judged.get(key);
    if (release === undefined) {
      // The lowest mandatory release strictly between: the one to install first.
      release = mandatory.find((r) => compareVersions(observed, r.spec.version) < 0 && compareVersions(r.spec.version, desired) < 0) ?? null;
      judged.set(key, release);
    }
    if (release === null) continue;
    let b = blockers.get(key);
    if (b === undefined) {
      const data = { observed, desired, release: release.metadata.name, version: release.spec.version };
      b = blocker(MANDATORY_REASON, messageOf('MANDATORY_VERSION_SKIPPED', data));
      blockers.set(key, b);
    }
    out.push({ member: m.name, observed, desired, release: release.metadata.name, version: release.spec.version, blocker: b });
  }
  return { skips: out, unknown };
}

/**
 * The version of `product` an agent reports: undefined when the agent never reported (no
 * report, or no `lastSeen` and nothing in it), null when it reported and runs no such product.
 */
function versionReported(ctx: GovernanceContext, agent: string, product: string): string | null | undefined {
  const obs = ctx.observed.agents.get(agent);
  if (obs === undefined || (obs.lastSeen === undefined && obs.components.length === 0)) return undefined;
  const c = componentOf(obs, product);
  if (c === undefined) return null;
  return c.version ?? null;
}

// ------------------------------------------------------------------ (b) the schema fence

interface Fence {
  /** What to remember in status (undefined: nothing known yet). */
  readonly schemaAt: string | undefined;
  /** The desired version is below the fence. */
  readonly below?: { desired: string; schemaAt: string; refused: boolean; restore?: { version: string; reason: string } };
  /** Set when refused. */
  readonly refusal?: Blocker;
}

/** `schemaAt` of the previous status, if it is a valid version. */
export function previousSchemaAt(ctx: GovernanceContext): string | undefined {
  const rollout = ctx.previous?.details?.['rollout'];
  if (rollout === null || typeof rollout !== 'object') return undefined;
  const mine = (rollout as Record<string, unknown>)[VERSION_POLICY_STEP];
  if (mine === null || typeof mine !== 'object') return undefined;
  const v = (mine as Record<string, unknown>)['schemaAt'];
  return typeof v === 'string' && isValidVersion(v) ? v : undefined;
}

function schemaFence(ctx: GovernanceContext): Fence | undefined {
  const cluster = (ctx.desired as GovernanceContext<'HACluster'>['desired']).object;
  const before = previousSchemaAt(ctx);
  const release = ctx.desired.releases.get(cluster.spec.release);
  const desired = release?.spec.version;
  if (desired === undefined || !isValidVersion(desired)) return before === undefined ? undefined : { schemaAt: before };

  if (before !== undefined && compareVersions(desired, before) < 0) {
    const restore = cluster.spec.databaseRestore;
    const restored = restore !== undefined && isValidVersion(restore.version) && versionsEqual(restore.version, desired);
    const below = { desired, schemaAt: before, refused: !restored, ...(restore !== undefined ? { restore: { version: restore.version, reason: restore.reason } } : {}) };
    if (!restored) {
      const refusal: Blocker = blocker(SCHEMA_FENCE_REASON, messageOf('SCHEMA_FENCE', { schemaAt: before, desired }));
      return { schemaAt: before, below, refusal };
    }
    return { schemaAt: migrated(ctx, desired) ? desired : before, below };
  }
  const schemaAt = migrated(ctx, desired) ? desired : before;
  return schemaAt === undefined ? undefined : { schemaAt };
}

/** The cluster migrated its schema to `version`: it converged on it, or our `migrate` of it succeeded. */
function migrated(ctx: GovernanceContext, version: string): boolean {
  if (ctx.inner.status.phase === 'Converged') return true;
  const target = ctx.inner.status.target;
  return ctx.inner.status.members.some(
    (m) => m.role === 'server' && attempt(ctx.observed.agents.get(m.agent), target, m.name, 'migrate', version, ctx.policy?.retryFailed).result?.status === 'succeeded',
  );
}
