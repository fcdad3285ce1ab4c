/**
 * The preconditions of seed 004 (IGEL UMS HA, "Ohne Ausfallzeit der Server"). Each answers
 * satisfied, unsatisfied or unknown; unknown holds the step like unsatisfied and names what is
 * missing and from whom ("no clock reported by ums-3"). Each lists the observations it reads
 * and what it does when one is absent. Pure: built from the members' reports only.
 *
 *   no-schema-downgrade    component.version of every server          absent/unreadable → unknown
 *   installer-distributed  staged/version/stage+apply results, all    never reported → unknown
 *   no-orphans             facts.registeredMembers of online servers  none reports → unknown
 *   fresh-backup           facts.lastBackup, our backup result        (a step: preflight.ts)
 *   clock-skew             facts.clock + lastSeen, servers and LBs    absent, unreadable, offline → unknown
 *   one-at-a-time          mode, state, version, apply result         mode or state absent → unknown
 *   updated-last           installedAt (else our apply's `at`)        neither → unknown; a tie → unsatisfied
 *   servers-in-normal-mode version, state, mode of every server       mode/state/version absent → unknown
 *
 * Two gates live with their steps: the next server must itself report `state: running` and
 * `mode: normal` (servers.ts; absent → unknown), and a load balancer or console that reports no
 * version is not applied (components.ts; it could be newer, `MemberAhead`).
 */
import { SATISFIED, unknown, unsatisfied, type Answer, type Missing, type Precondition } from '../engine/index.ts';
import { compareVersions, crossesSchemaDowngrade, isValidVersion, schemaLevel } from '../../protocol/version.ts';
import { beingUpdated, crashed, installed, ROLE_LABEL, settledServer, type UmsMember } from './members.ts';

/** An answer with a message in every case (status details show why a check passed, too). */
export type Said = Answer & { readonly message: string };

/** A precondition whose every answer carries a message (it is one in the engine's sense too). */
export interface SaidPrecondition<C> extends Precondition<C> {
  check(ctx: C): Said;
}

const satisfied = (message: string): Said => ({ ...SATISFIED, message });
const said = (a: Answer, fallback: string): Said => ('message' in a ? a : { ...a, message: fallback });

export const PREFLIGHT_CHECKS = ['installer-distributed', 'no-orphans', 'fresh-backup', 'clock-skew'] as const;
export type PreflightName = (typeof PREFLIGHT_CHECKS)[number];

/** One named check as reported in `status.details.preflight`. */
export interface PreflightCheck {
  readonly name: PreflightName;
  /** `satisfied`, `unsatisfied` or `unknown` (an observation is missing: never a pass). */
  readonly status: Answer['status'];
  readonly passed: boolean;
  readonly message: string;
}

const list = (ms: readonly UmsMember[]): string => ms.map((m) => m.name).join(', ');

// ------------------------------------------------------------------ no downgrade across major.minor

export interface VersionContext {
  /** Every server the rollout manages. */
  readonly servers: readonly UmsMember[];
  /** Servers added to the file during the rollout: only a known higher schema counts. */
  readonly added: readonly UmsMember[];
  readonly version: string;
  /** Git moved the release down from this version within one major.minor (a planned rollback). */
  readonly rollbackFrom: string | undefined;
}

/**
 * no-schema-downgrade: no server may go to a lower major.minor (the database schema); within one
 * major.minor a downgrade is allowed only when Git moved the release down (`rollbackFrom`), else a
 * newer server is `MemberAhead`, left alone. Reads `component.version` of every server; a server that
 * reports none, or one that does not read as a version, makes it unknown: its schema could be higher.
 */
export const noSchemaDowngrade: Precondition<VersionContext> = {
  name: 'no-schema-downgrade',
  reads: ['component.version of every server'],
  check(ctx) {
    const { version } = ctx;
    type Known = UmsMember & { observedVersion: string };
    const valid = (s: UmsMember): s is Known => s.observedVersion !== undefined && isValidVersion(s.observedVersion);
    const higher = [...ctx.servers, ...ctx.added].filter(
      (s) => valid(s) && crossesSchemaDowngrade(s.observedVersion, version),
    );
    if (higher.length > 0) {
      const from = higher.map((s) => s.observedVersion!).reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
      return unsatisfied(
        'SchemaDowngrade',
        `${from} -> ${version} lowers the database schema ${schemaLevel(from)} -> ${schemaLevel(version)}: UMS can ` +
          `only downgrade within one major.minor (install a separate HA network and restore a backup of that schema)`,
      );
    }
    const ahead = ctx.servers.filter(
      (s) =>
        valid(s) && compareVersions(s.observedVersion, version) > 0 && !rolledBack(s.observedVersion, ctx.rollbackFrom),
    );
    if (ahead.length > 0) {
      return unsatisfied(
        'MemberAhead',
        `${ahead.map((s) => `server ${s.name} runs ${s.observedVersion}`).join(', ')}, newer than ${version}, and ` +
          `Git ` +
          `did not move the release down: left alone (to go back within ${schemaLevel(version)}, point the ` +
            `cluster at ` +
          `the newer release first, then at ${version})`,
      );
    }
    const missing: Missing[] = ctx.servers.flatMap((s): Missing[] =>
      s.observedVersion === undefined
        ? [{ member: s.name, observation: 'version' }]
        : !isValidVersion(s.observedVersion)
          ? [{ member: s.name, observation: 'readable version' }]
          : [],
    );
    const context = 'the database schema of the cluster is unknown (no downgrade across major.minor)';
    if (missing.length > 0) return unknown('ObservationMissing', missing, context);
    return SATISFIED;
  },
};

function rolledBack(observed: string, from: string | undefined): boolean {
  return from !== undefined && isValidVersion(from) && compareVersions(observed, from) <= 0;
}

// ------------------------------------------------------------------ the preflight ("Die Aktualisierung vorbereiten")

export interface MembersContext {
  readonly servers: readonly UmsMember[];
  readonly loadBalancers: readonly UmsMember[];
  readonly consoles: readonly UmsMember[];
  readonly version: string;
}

/**
 * installer-distributed (step 1: "verteilen Sie die Installationsdatei an alle Systeme"): every server,
 * load balancer and console holds the installer staged and verified, runs the release, or our apply of
 * it ran. Reads `component.staged`, `component.version` and our stage/apply results of every member.
 * A member still missing it → unsatisfied (the installer step stages it); a member that never
 * reported → unknown.
 */
export const installerDistributed: SaidPrecondition<MembersContext> = {
  name: 'installer-distributed',
  reads: ['component.staged, component.version and stage/apply results of every server, load balancer and console'],
  check(ctx) {
    const all = [...ctx.servers, ...ctx.loadBalancers, ...ctx.consoles];
    const lacking = all.filter((m) => !m.hasPackage);
    if (lacking.length === 0) return satisfied(`the installer ${ctx.version} is staged and verified on all ` +
      `${all.length} components`);
    const silent = lacking.filter((m) => m.obs === undefined);
    if (silent.length === lacking.length) {
      const missing = silent.map((m) => ({ member: m.name, observation: 'report' }));
      const context = `the installer ${ctx.version} is not known to be on ${list(silent)}`;
      return said(unknown('ObservationMissing', missing, context), '');
    }
    const message = `the installer ${ctx.version} is not staged and verified yet on ${list(lacking)}`;
    return said(unsatisfied('WaitingForInstaller', message), message);
  },
};

/**
 * no-orphans (step 2): the servers and load balancers the cluster registers (UMS Network) are all
 * declared in the file. Reads `facts.registeredMembers` of every ONLINE server (an offline one's list
 * may be stale); the lists are of one database, so one reporter suffices and any orphan any of them
 * reports holds. No online server reports a list → unknown, naming every server. Orphans are deleted
 * by a person, never by the controller.
 */
export interface OrphansContext extends MembersContext {
  readonly enabled: boolean;
  readonly declared: ReadonlySet<string>;
}
export const noOrphans: SaidPrecondition<OrphansContext> = {
  name: 'no-orphans',
  reads: ['facts.registeredMembers of the online servers'],
  check(ctx) {
    if (!ctx.enabled) return satisfied('orphan check disabled (preflight.orphanCheck: false)');
    const reporters = ctx.servers.filter((s) => s.online && s.obs?.facts?.registeredMembers !== undefined);
    if (reporters.length === 0) {
      const a = unknown(
        'ObservationMissing',
        ctx.servers.map((s) => ({ member: s.name, observation: s.online ? 'registered servers and load balancers ' +
          '(UMS ' +
          'Network)' : 'registered servers and load balancers (UMS Network) while online' })),
      );
      return said(a, '');
    }
    const orphans = new Set<string>();
    let count = 0;
    for (const s of reporters) {
      const registered = s.obs!.facts!.registeredMembers!;
      count = Math.max(count, registered.length);
      for (const n of registered) if (!ctx.declared.has(n)) orphans.add(n);
    }
    const by = `reported by ${list(reporters)}`;
    if (orphans.size === 0) return satisfied(`the ${count} registered servers and load balancers (${by}) are all in ` +
      `this file`);
    const message = `orphan entries registered in the cluster but not in this file: ${[...orphans].join(', ')}; ` +
      `delete them in UMS Console > UMS Administration > UMS Network before the update (${by})`;
    return said(unsatisfied('OrphanMembers', message), message);
  },
};

/**
 * clock-skew (step 4: "die Zeit auf den Servern des HA-Netzwerks nicht mehr als eine Minute
 * voneinander abweicht"): the HA network is its servers and load balancers (the UMS Network list);
 * consoles are clients, not part of it. Each member's offset is `facts.clock − lastSeen` (its clock
 * minus the time the controller received the report); the largest minus the smallest must not
 * exceed `maxSeconds`. Reads `facts.clock`, `lastSeen` and `online` of EVERY server and load
 * balancer: one that never reported, is offline (its clock is old), or reports no clock or an
 * unreadable one makes the check unknown — unless the clocks that are known already differ too much.
 * A single member with its clock reported passes.
 */
export const clockSkew: SaidPrecondition<{ readonly members: readonly UmsMember[]; readonly maxSeconds: number }> = {
  name: 'clock-skew',
  reads: ['facts.clock, lastSeen and online of every server and load balancer'],
  check({ members, maxSeconds }) {
    const offsets: { m: UmsMember; offset: number }[] = [];
    const missing: Missing[] = [];
    for (const m of members) {
      const obs = m.obs;
      const clock = obs?.facts?.clock;
      if (obs === undefined) {
        missing.push({ member: m.name, observation: 'clock' });
        continue;
      }
      if (clock === undefined) {
        missing.push({ member: m.name, observation: 'clock' });
        continue;
      }
      const c = Date.parse(clock);
      const l = obs.lastSeen === undefined ? Number.NaN : Date.parse(obs.lastSeen);
      if (Number.isNaN(c)) missing.push({ member: m.name, observation: 'readable clock' });
      else if (Number.isNaN(l)) missing.push({ member: m.name, observation: 'report time (lastSeen)' });
      else if (!m.online) missing.push({ member: m.name, observation: `current clock (offline since ` +
        `${obs.lastSeen})` });
      else offsets.push({ m, offset: c - l });
    }
    if (offsets.length > 0) {
      let min = offsets[0]!.offset;
      let max = min;
      for (const o of offsets) {
        if (o.offset < min) min = o.offset;
        if (o.offset > max) max = o.offset;
      }
      const spread = max - min;
      if (spread > maxSeconds * 1000) {
        const at = (value: number): string =>
          offsets
            .filter((o) => o.offset === value)
            .map((o) => `${ROLE_LABEL[o.m.role]} ${o.m.name} (${o.offset >= 0 ? '+' : ''}${seconds(o.offset)} s)`)
            .join(', ');
        const message = `clocks differ by ${seconds(spread)} s, more than the ${maxSeconds} s allowed: ${at(max)} vs ` +
          `${at(min)}; synchronise the time, then restart the HA services on the corrected machine`;
        return said(unsatisfied('ClockSkew', message), message);
      }
      if (missing.length === 0) return satisfied(`the clocks of ${offsets.length} servers and load balancers differ ` +
        `by at most ${seconds(spread)} s (allowed ${maxSeconds} s)`);
    }
    if (missing.length === 0) return said(unknown('ObservationMissing', [], 'no server or load balancer to compare ' +
      'clocks of'), '');
    return said(unknown('ObservationMissing', missing), '');
  },
};

/** Milliseconds as seconds, up to 3 decimals, without trailing zeros (61000 -> "61", 60500 -> "60.5"). */
function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

// ------------------------------------------------------------------ one server at a time

/**
 * one-at-a-time: `server` may start its update only when no other server is being updated. Reads
 * `component.mode`, `component.state`, `component.version` and our apply result of every other
 * server. Another server in update mode (not finished), installing, or with our apply running →
 * unsatisfied; another server (not finished) that reports no state or no mode → unknown: it could
 * be installing. A finished server (the release, running) may stay in update mode: it waits for the
 * migration.
 */
export const oneAtATime: Precondition<{ readonly servers: readonly UmsMember[]; readonly server: UmsMember }> = {
  name: 'one-at-a-time',
  reads: ['component.mode, component.state, component.version and apply results of every other server'],
  check({ servers, server }) {
    const missing: Missing[] = [];
    for (const o of servers) {
      if (o === server || installed(o) || crashed(o)) continue;
      if (beingUpdated(o)) {
        return unsatisfied('ServerInUpdateMode', `server ${o.name} is being updated (${o.mode ?? 'mode unknown'}, ` +
          `${o.state ?? 'state unknown'}, version ${o.observedVersion ?? 'unknown'}): one server at a time`);
      }
      if (o.state === undefined) missing.push({ member: o.name, observation: 'state' });
      if (o.mode === undefined) missing.push({ member: o.name, observation: 'mode' });
    }
    return missing.length === 0 ? SATISFIED : unknown('ObservationMissing', missing, `one server at a time: whether ` +
      `another server is being updated is unknown`);
  },
};

// ------------------------------------------------------------------ the server updated last migrates

export type LastAnswer = { readonly answer: Answer; readonly last?: UmsMember };

/**
 * updated-last (seed 004: "Der zuletzt aktualisierte UMS Server erneuert das Schema der produktiven
 * Datenbank"): among the servers running the release, the one whose update finished last. Reads each
 * one's `installedAt` (the agent's record of when the running version was installed), else the `at`
 * of our own apply's succeeded result. A server running the release with neither → unknown, naming
 * it; two servers at the very same time → unsatisfied (`LastServerAmbiguous`, a person decides).
 * Never the update order: a server may have been updated first by hand, or by an earlier attempt.
 */
type ServersContext = { readonly servers: readonly UmsMember[] };
export const updatedLast: Precondition<ServersContext> & { last(ctx: ServersContext): LastAnswer } = {
  name: 'updated-last',
  reads: ['component.installedAt of every server running the release, else the time our apply of it succeeded'],
  check(ctx) {
    return this.last(ctx).answer;
  },
  last({ servers }) {
    const missing: Missing[] = [];
    let last: UmsMember | undefined;
    let tied: UmsMember[] = [];
    for (const s of servers) {
      if (!s.runsDesired) continue;
      if (s.updatedAt === undefined) {
        missing.push({ member: s.name, observation: 'install time (installedAt)' });
        continue;
      }
      if (last === undefined || s.updatedAt > last.updatedAt!) {
        last = s;
        tied = [];
      } else if (s.updatedAt === last.updatedAt) tied.push(s);
    }
    if (missing.length > 0) return { answer: unknown('ObservationMissing', missing, 'which server was updated ' +
      'last is ' +
      'unknown') };
    if (last === undefined) return { answer: unsatisfied('WaitingForServers', 'no server runs the release yet') };
    if (tied.length > 0) {
      return {
        answer: unsatisfied(
          'LastServerAmbiguous',
          `servers ${list([last, ...tied])} report the same install time ` +
            `(${new Date(last.updatedAt!).toISOString()}): which one was updated last, and migrates the schema, is ` +
            `unclear: a person decides (the server updated last renews the schema; migrate by hand there)`,
        ),
      };
    }
    return { answer: SATISFIED, last };
  },
};

// ------------------------------------------------------------------ servers done before load balancers and consoles

/**
 * servers-in-normal-mode ("Alle Server ... aktualisiert, laufend, im normalen Modus"): load balancers
 * and consoles wait until the schema is migrated and every server runs the release, running, in
 * normal mode. Reads `component.version`, `component.state` and `component.mode` of every server: one
 * that does not report its mode or state (while running the release) → unknown, never "normal".
 */
export interface NormalModeContext {
  readonly servers: readonly UmsMember[];
  readonly migrated: boolean;
  readonly version: string;
  /** What waits, for the message: `load balancers are updated`. */
  readonly what: string;
}
export const serversInNormalMode: Precondition<NormalModeContext> = {
  name: 'servers-in-normal-mode',
  reads: ['component.version, component.state and component.mode of every server'],
  check({ servers, migrated, version, what }) {
    const wait = `${what} after every server runs ${version} in normal mode`;
    if (servers.length === 0) return unsatisfied('WaitingForServers', `${wait}: the cluster declares no server`);
    let behind: UmsMember | undefined;
    const missing: Missing[] = [];
    for (const s of servers) {
      if (settledServer(s)) continue;
      if (s.observedVersion === undefined) missing.push({ member: s.name, observation: 'version' });
      else if (!s.runsDesired) behind ??= s;
      else if (s.state === undefined) missing.push({ member: s.name, observation: 'state' });
      else if (s.state !== 'running') behind ??= s;
      else if (s.mode === undefined) missing.push({ member: s.name, observation: 'mode' });
      else behind ??= s;
    }
    if (behind !== undefined) return unsatisfied('WaitingForServers', wait);
    if (missing.length > 0) return unknown('ObservationMissing', missing, wait);
    if (!migrated) return unsatisfied('WaitingForServers', `${wait} and the schema is migrated`);
    return SATISFIED;
  },
};
