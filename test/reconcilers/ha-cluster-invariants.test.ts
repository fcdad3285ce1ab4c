/**
 * Seed 004 (IGEL UMS HA) — invariants, over many passes of a simulated cluster (fast-check).
 *
 * The test keeps the ground truth of every machine and feeds the reconciler what agents would
 * report: fields dropped one by one, members offline (their last report, stale), members that
 * never reported, servers already at or past the release, servers updated by hand (out of band),
 * pending-restart flags (meaningless to UMS, ignored), crashes, a package check that is pending or
 * failed on some passes, and, as the previous status: the last pass's, none (a restart, or plan),
 * or one from another revision or another release. After every pass, against the ground truth:
 *
 *   I1 never two UMS servers installing at once (an apply goes out only while no other server is
 *      installing or in update mode unfinished);
 *   I2 the schema is migrated only once every server runs the release, and only by the server
 *      whose update finished last;
 *   I3 no load balancer or console before every server runs the release, running, in normal
 *      mode, and the schema is migrated;
 *   I4 no server apply before the preflight passed — before any apply of ours ran, an apply goes
 *      out only in a pass whose four checks are satisfied on what was reported;
 *   I5 nothing at all while the package is not verified;
 *   I6 no downgrade across major.minor; nothing at all while a server runs a higher schema;
 *   plus: commands are exactly the runnable plan steps, and the reconciler is deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Command, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileHACluster, type PreflightCheck } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { HAClusterSpec } from '../../reconcilers/model/desired.ts';
import { crossesSchemaDowngrade } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW, desired, input, release } from '../helpers/observed.ts';
import { prng } from '../helpers/prng.ts';

const P = 'igel-ums';
const OLD = '12.07.100';
const V = '12.08.110';
const PATCH_AHEAD = '12.08.120';
const SCHEMA_AHEAD = '12.09.100';
const T = 'hacluster/ums-prod' as const;
const RELEASES = [release('igel-ums-12.07.100', P, OLD), release('igel-ums-12.08.110', P, V), release('igel-ums-12.08.120', P, PATCH_AHEAD)];
const iso = (ms: number): string => new Date(ms).toISOString();
const PASS_MS = 30_000;

type Field = 'version' | 'mode' | 'state' | 'installedAt' | 'staged' | 'clock' | 'lastBackup' | 'registered' | 'lastSeen';
const FIELDS: readonly Field[] = ['version', 'mode', 'state', 'installedAt', 'staged', 'clock', 'lastBackup', 'registered', 'lastSeen'];

interface Machine {
  readonly name: string;
  readonly role: 'server' | 'lb' | 'console';
  version: string;
  mode: 'normal' | 'update';
  state: 'running' | 'installing' | 'stopped';
  staged: boolean;
  /** Ground truth: when the running version was installed (epoch ms). */
  installedAt: number | undefined;
  /** An agent that does not report installedAt at all. */
  readonly noInstalledAt: boolean;
  online: boolean;
  /** Never reported until it first comes online. */
  silent: boolean;
  clockOffsetMs: number;
  lastBackup: number | undefined;
  readonly registered: readonly string[];
  results: CommandResult[];
  ran: Set<string>;
  /** A command in progress, finished on a later pass. */
  busy: { command: Command | 'hand'; until: number } | undefined;
  lastObs: AgentObservation | undefined;
}

interface MachineInit {
  version: string;
  mode: 'normal' | 'update';
  staged: boolean;
  installedMinutesAgo: number;
  noInstalledAt: boolean;
  online: boolean;
  silent: boolean;
  clockOffsetS: number;
  backupMinutesAgo: number | null;
  orphan: boolean;
}

const machineArb = fc.record<MachineInit>({
  version: fc.constantFrom(OLD, OLD, OLD, OLD, OLD, OLD, OLD, OLD, V, V, PATCH_AHEAD, SCHEMA_AHEAD),
  mode: fc.constantFrom('normal', 'normal', 'normal', 'update'),
  staged: fc.boolean(),
  installedMinutesAgo: fc.integer({ min: 1, max: 600 }),
  noInstalledAt: fc.constantFrom(false, false, false, true),
  online: fc.constantFrom(true, true, true, true, false),
  silent: fc.constantFrom(false, false, false, false, false, true),
  clockOffsetS: fc.constantFrom(0, 0, 0, 5, 20, -30, 0, 0, 5, 20, -30, 90),
  backupMinutesAgo: fc.constantFrom(null, 10, 2000, -1),
  orphan: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

/** Load balancers and consoles: rarely ahead (MemberAhead stops the whole rollout, which teaches little). */
const componentArb = fc.tuple(machineArb, fc.integer({ min: 0, max: 14 })).map(([m, n]) => ({ ...m, version: n === 0 ? PATCH_AHEAD : n < 3 ? V : OLD }));

const scenarioArb = fc.record({
  servers: fc.array(machineArb, { minLength: 1, maxLength: 4 }),
  lbs: fc.array(componentArb, { minLength: 0, maxLength: 2 }),
  consoles: fc.array(componentArb, { minLength: 0, maxLength: 2 }),
  reversedOrder: fc.boolean(),
  backup: fc.constantFrom('Command' as const, 'External' as const),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  /** How often a field is dropped from a report, per member, per pass. */
  dropRate: fc.constantFrom(0, 0.02, 0.06),
  handRate: fc.constantFrom(0, 0.05),
  crashRate: fc.constantFrom(0, 0.03),
  previousStart: fc.constantFrom('none', 'own', 'other-release'),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;


function simulate(sc: Scenario, passes: number): { checked: Record<string, number> } {
  const rand = prng(sc.seed);
  const chance = (p: number) => rand() < p;
  const names = {
    servers: sc.servers.map((_, i) => `ums-${i + 1}`),
    lbs: sc.lbs.map((_, i) => `lb-${i + 1}`),
    consoles: sc.consoles.map((_, i) => `console-${i + 1}`),
  };
  const declared = [...names.servers, ...names.lbs];
  const spec: HAClusterSpec = {
    release: 'igel-ums-12.08.110',
    servers: names.servers.map((name) => ({ name })),
    loadBalancers: names.lbs.map((name) => ({ name })),
    consoles: names.consoles.map((name) => ({ name })),
    updateOrder: sc.reversedOrder ? [...names.servers].reverse() : names.servers,
    preflight: { maxClockSkewSeconds: 60, backup: sc.backup, orphanCheck: true },
  };
  const d = input(desired('HACluster', 'ums-prod', spec), RELEASES);
  const machines: Machine[] = [];
  const make = (name: string, role: Machine['role'], m: MachineInit): Machine => ({
    name,
    role,
    version: m.version,
    mode: role === 'server' ? m.mode : 'normal',
    state: 'running',
    staged: m.staged,
    installedAt: NOW - m.installedMinutesAgo * 60_000,
    noInstalledAt: m.noInstalledAt,
    online: m.online,
    silent: m.silent,
    clockOffsetMs: m.clockOffsetS * 1000,
    lastBackup: m.backupMinutesAgo === null ? undefined : NOW - m.backupMinutesAgo * 60_000,
    registered: m.orphan ? [...declared, 'ums-orphan'] : declared,
    results: [],
    ran: new Set(),
    busy: undefined,
    lastObs: undefined,
  });
  sc.servers.forEach((m, i) => machines.push(make(names.servers[i]!, 'server', m)));
  sc.lbs.forEach((m, i) => machines.push(make(names.lbs[i]!, 'lb', m)));
  sc.consoles.forEach((m, i) => machines.push(make(names.consoles[i]!, 'console', m)));
  const servers = machines.filter((m) => m.role === 'server');
  const byName = new Map(machines.map((m) => [m.name, m]));
  // The schema is migrated to V when every server already runs V in normal mode.
  let migrated = servers.every((s) => s.version === V && s.mode === 'normal');
  const checked: Record<string, number> = { applyServer: 0, migrate: 0, lbOrConsole: 0, firstApply: 0, halted: 0 };

  const busyServers = (): Machine[] => servers.filter((s) => s.state === 'installing' || (s.mode === 'update' && !(s.version === V && s.state === 'running')));
  const finish = (m: Machine, now: number): void => {
    const b = m.busy;
    if (b === undefined || b.until > now) return;
    m.busy = undefined;
    const at = iso(now);
    if (b.command === 'hand') {
      m.version = V;
      m.state = 'running';
      m.installedAt = now;
      // the installer of the server updated last renews the schema itself; the others return to normal mode
      if (servers.every((s) => s.version === V && s.state === 'running')) {
        migrated = true;
        for (const s of servers) s.mode = 'normal';
      }
      return;
    }
    const c = b.command;
    let status: CommandResult['status'] = 'succeeded';
    if (c.action === 'stage') m.staged = true;
    if (c.action === 'backup') m.lastBackup = now;
    if (c.action === 'apply') {
      if (m.role === 'server' && chance(sc.crashRate)) {
        m.state = 'stopped';
        status = 'failed';
      } else {
        m.version = c.version!;
        m.state = 'running';
        m.installedAt = now;
        m.staged = false;
      }
    }
    if (c.action === 'migrate') {
      migrated = true;
      for (const s of servers) if (s.version === V && s.mode === 'update') s.mode = 'normal';
    }
    if (c.action === 'end-update-mode') m.mode = 'normal';
    m.results = m.results.map((r) => (r.id === c.id ? { ...r, status, at } : r));
  };

  const report = (m: Machine, now: number): AgentObservation => {
    const drop = (f: Field) => chance(sc.dropRate) && FIELDS.includes(f);
    const component: ComponentReport = {
      product: P,
      ...(drop('version') ? {} : { version: m.version }),
      ...(drop('state') ? {} : { state: m.state }),
      ...(m.role === 'server' && !drop('mode') ? { mode: m.mode } : {}),
      ...(m.staged && !drop('staged') ? { staged: { version: V, verified: true } } : {}),
      ...(m.installedAt !== undefined && !m.noInstalledAt && !drop('installedAt') ? { installedAt: iso(m.installedAt) } : {}),
      ...(chance(0.1) ? { pendingRestart: true } : {}),
    };
    const seen = now - 2_000;
    return {
      agent: m.name,
      online: true,
      ...(drop('lastSeen') ? {} : { lastSeen: iso(seen) }),
      components: [component],
      results: [...m.results],
      facts: {
        ...(drop('clock') ? {} : { clock: iso(seen + m.clockOffsetMs) }),
        ...(m.role === 'server' && m.lastBackup !== undefined && !drop('lastBackup') ? { lastBackup: iso(m.lastBackup) } : {}),
        ...(m.role === 'server' && !drop('registered') ? { registeredMembers: m.registered } : {}),
      },
    };
  };

  let previous: TargetStatus | undefined;
  if (sc.previousStart !== 'none') {
    const release = sc.previousStart === 'own' ? spec.release : 'igel-ums-12.07.100';
    previous = reconcileHACluster(input(desired('HACluster', 'ums-prod', { ...spec, release }), RELEASES), { agents: new Map(), artifacts: new Map() }, undefined, NOW - 3_600_000).status;
  }

  for (let pass = 0; pass < passes; pass++) {
    const now = NOW + pass * PASS_MS;
    // agents finish what they started; members come and go; someone may run the installer by hand
    for (const m of machines) {
      if (!m.online) {
        if (chance(0.3)) m.online = true;
        continue;
      }
      finish(m, now);
      if (m.online && chance(0.05)) m.online = false;
    }
    for (const m of machines) if (m.online) m.silent = false;
    if (chance(sc.handRate) && busyServers().length === 0) {
      const s = servers.find((x) => x.online && x.version !== V && x.state === 'running' && x.busy === undefined);
      if (s !== undefined) {
        s.mode = 'update';
        s.state = 'installing';
        s.busy = { command: 'hand', until: now + PASS_MS };
      }
    }

    const agents = new Map<string, AgentObservation>();
    for (const m of machines) {
      if (m.silent) continue;
      if (m.online) m.lastObs = report(m, now);
      if (m.lastObs !== undefined) agents.set(m.name, { ...m.lastObs, online: m.online });
    }
    const r0 = rand();
    const artifact: ArtifactCheck['status'] = r0 < 0.85 ? 'verified' : r0 < 0.95 ? 'pending' : 'failed';
    const observed: Observed = { agents, artifacts: new Map([['igel-ums-12.08.110', { release: 'igel-ums-12.08.110', status: artifact }]]) };

    const p0 = rand();
    const given: TargetStatus | undefined =
      p0 < 0.9 || previous === undefined
        ? previous
        : p0 < 0.95
          ? undefined
          : p0 < 0.98
            ? { ...previous, observedRevision: 'feedface00000000000000000000000000000000' }
            : { ...previous, members: previous.members.map((x) => ({ ...x, desired: OLD })) };
    const r = reconcileHACluster(d, observed, given, now);
    const where = () => JSON.stringify({ pass, sc, cmds: r.commands.map((c) => `${c.action} ${c.member}`), truth: machines.map((m) => [m.name, m.version, m.mode, m.state, m.online, m.installedAt]) });

    if (pass % 7 === 0) expect(reconcileHACluster(d, observed, given, now), 'deterministic').toEqual(r);
    expect(r.plan.filter((s) => s.runnable).map((s) => `${s.action} ${s.member}`), where()).toEqual(r.commands.map((c) => `${c.action} ${c.member}`));

    assertInvariants(r, observed, now, where);
    if (r.commands.length === 0 && r.status.phase !== 'Converged') checked['halted']!++;

    // deliver: an agent runs an id once; offline agents get nothing
    for (const c of r.commands) {
      const m = byName.get(c.agent)!;
      if (!m.online || m.ran.has(c.id) || m.busy !== undefined) continue;
      m.ran.add(c.id);
      m.results = [...m.results, { id: c.id, status: 'running', at: iso(now) }];
      m.busy = { command: c, until: now + PASS_MS * (1 + Math.floor(rand() * 2)) };
      if (c.action === 'apply' && m.role === 'server') {
        m.mode = 'update';
        m.state = 'installing';
      }
    }
    previous = r.status;
    if (pass === passes - 1) {
      const reason = r.status.conditions.find((c) => c.status === 'True' && c.type !== 'Ready')?.reason ?? r.status.phase;
      checked[`end:${reason}`] = (checked[`end:${reason}`] ?? 0) + 1;
    }
  }
  return { checked };

  function assertInvariants(r: ReconcileResult, observed: Observed, now: number, where: () => string): void {
    const cmds = r.commands;
    const artifact = observed.artifacts.get('igel-ums-12.08.110')!.status;
    // I5
    if (artifact !== 'verified') expect(cmds, `I5 ${where()}`).toEqual([]);
    // I6
    if (servers.some((s) => crossesSchemaDowngrade(s.version, V))) expect(cmds, `I6 ${where()}`).toEqual([]);
    for (const c of cmds.filter((x) => x.action === 'apply')) expect(crossesSchemaDowngrade(byName.get(c.member)!.version, V), `I6 ${where()}`).toBe(false);

    const serverApplies = cmds.filter((c) => c.action === 'apply' && byName.get(c.member)!.role === 'server');
    // I1
    expect(serverApplies.length, `I1 ${where()}`).toBeLessThanOrEqual(1);
    for (const a of serverApplies) {
      checked['applyServer']!++;
      expect(busyServers().filter((s) => s.name !== a.member).map((s) => s.name), `I1 ${where()}`).toEqual([]);
      // I4: before any apply of ours ran, the four checks hold on what was reported in this pass
      const ours = servers.some((s) => s.results.some((x) => x.id === commandId(T, s.name, 'apply', V)));
      if (!ours) {
        checked['firstApply']!++;
        const checks = r.status.details?.['preflight'] as PreflightCheck[] | undefined;
        expect(checks?.map((x) => x.status), `I4 ${where()}`).toEqual(['satisfied', 'satisfied', 'satisfied', 'satisfied']);
        const clocks: number[] = [];
        for (const m of machines.filter((x) => x.role !== 'console')) {
          const o = observed.agents.get(m.name);
          expect(o?.online === true && o.facts?.clock !== undefined && o.lastSeen !== undefined, `I4 clock of ${m.name} ${where()}`).toBe(true);
          clocks.push(Date.parse(o!.facts!.clock!) - Date.parse(o!.lastSeen!));
        }
        expect(Math.max(...clocks) - Math.min(...clocks), `I4 skew ${where()}`).toBeLessThanOrEqual(60_000);
        for (const m of machines) expect(m.staged || m.version === V, `I4 installer on ${m.name} ${where()}`).toBe(true);
        const lists = servers.flatMap((s) => {
          const o = observed.agents.get(s.name);
          return o?.online && o.facts?.registeredMembers ? [o.facts.registeredMembers] : [];
        });
        expect(lists.length, `I4 registered ${where()}`).toBeGreaterThan(0);
        for (const l of lists) for (const n of l) expect(declared, `I4 orphan ${where()}`).toContain(n);
        const start = Date.parse(r.status.rolloutStartedAt!);
        expect(servers.some((s) => s.lastBackup !== undefined && s.lastBackup >= start), `I4 backup ${where()}`).toBe(true);
      }
    }
    // I2
    for (const m of cmds.filter((c) => c.action === 'migrate')) {
      checked['migrate']!++;
      expect(servers.every((s) => s.version === V && s.state === 'running'), `I2 all ${where()}`).toBe(true);
      const at = byName.get(m.member)!.installedAt!;
      for (const s of servers) if (s.name !== m.member) expect(s.installedAt! < at, `I2 last ${where()}`).toBe(true);
    }
    // I3
    for (const c of cmds.filter((x) => x.action === 'apply' && byName.get(x.member)!.role !== 'server')) {
      checked['lbOrConsole']!++;
      expect(migrated && servers.every((s) => s.version === V && s.state === 'running' && s.mode === 'normal'), `I3 ${where()}`).toBe(true);
    }
    void now;
  }
}

describe('seed 004: PROPERTY — over many passes of a simulated cluster, the vendor rules hold in every state', () => {
  it('I1–I6 after every pass (fields missing, offline and silent members, hand updates, crashes, previous status absent or foreign)', () => {
    const total: Record<string, number> = {};
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { checked } = simulate(sc, 40);
        for (const [k, v] of Object.entries(checked)) total[k] = (total[k] ?? 0) + v;
      }),
      { numRuns: 150, seed: 0x004c1a55 },
    );
    // the generator reaches every rule
    expect(total['applyServer']).toBeGreaterThan(30);
    expect(total['firstApply']).toBeGreaterThan(15);
    expect(total['migrate']).toBeGreaterThan(10);
    expect(total['lbOrConsole']).toBeGreaterThan(30);
  });

  it('a calm cluster (nothing missing, members briefly offline) converges within 60 passes, the invariants holding throughout', () => {
    let converged = 0;
    const calm: MachineInit = { version: OLD, mode: 'normal', staged: false, installedMinutesAgo: 600, noInstalledAt: false, online: true, silent: false, clockOffsetS: 0, backupMinutesAgo: null, orphan: false };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 1e6 }), (n, k, seed) => {
        const sc: Scenario = {
          servers: Array.from({ length: n }, () => calm),
          lbs: Array.from({ length: k }, () => calm),
          consoles: [calm],
          reversedOrder: seed % 2 === 0,
          backup: 'Command',
          seed,
          dropRate: 0,
          handRate: 0,
          crashRate: 0,
          previousStart: 'none',
        };
        if (simulate(sc, 60).checked['end:Converged'] === 1) converged++;
      }),
      { numRuns: 20, seed: 4 },
    );
    expect(converged).toBeGreaterThanOrEqual(18);
  });
});
