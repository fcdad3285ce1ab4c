/**
 * Seeds 001/003 invariants, held in every state: a simulated account (WRS, devices behind them
 * or remote, a test ring, the cloud infrastructure) carries out the reconciler's commands pass
 * after pass while the world moves (members go offline, a device is updated out of band, Git
 * moves the tags back and forth, fields go missing from reports, a WRS's `serves` or a restart
 * stays pending, the status is lost or comes from another revision). After every pass:
 *
 *   I1 no device `apply` unless its WRS is online, runs the version, restarted (no restart
 *      pending, none of ours due) and lists it in `serves`; remote (`cloud`) devices never wait
 *      for a WRS
 *   I2 no production member (WRS or device outside the ring) gets a command for a version the
 *      test ring did not converge on (seen by the simulation, or in the status from Git), that
 *      an override did not name, and that is not a way back below a version production was given
 *   I3 no command to a member that is offline or never reported
 *   I4 nothing for a release whose package is not verified
 *   I5 never a downgrade without a rollback from Git (the previous status desired a newer
 *      version for the member); nothing over a version that does not read
 *   I6 runnable plan steps are the commands; same input, same output; plan from the status
 *      read back from Git decides what run decides
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStatusFile, renderStatus } from '../../controller/status/render-status.ts';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import type { PromotionDetails } from '../../reconcilers/account/promotion.ts';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Command, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import type { AccountSpec } from '../../reconcilers/model/desired.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { desired, input, NOW } from '../helpers/observed.ts';
import { P, T, releases, VERSIONS } from './account-fixtures.ts';

const OBSERVED_VERSIONS = [...VERSIONS, 'garbage'] as const;
const INFRA_PRODUCT = 'cebox-cloud';
const INFRA_AGENT = 'acme-infrastructure';
const INFRA_RELEASES = ['cebox-cloud-2026.10.2', 'cebox-cloud-2026.11.0'] as const;
const valid = (v: string | undefined): v is string => v !== undefined && isValidVersion(v);
const cmp = (a: string, b: string): number => compareVersions(a, b);
const same = (a: string | undefined, b: string) => valid(a) && cmp(a, b) === 0;

interface SimAgent {
  online: boolean;
  comp: { version?: string; pendingRestart?: boolean; serves?: string[]; state?: ComponentReport['state'] } | undefined;
  results: CommandResult[];
  /** The next command fails (disk full). */
  failNext: boolean;
}

const agentArb = (isWrs: boolean) =>
  fc.option(
    fc.record({
      online: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
      comp: fc.option(
        fc.record(
          {
            version: fc.constantFrom(...OBSERVED_VERSIONS, '4.1.0', '4.2.1'),
            pendingRestart: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
            serves: isWrs ? fc.subarray([...VERSIONS]) : fc.constant(undefined),
            state: fc.constantFrom('running', 'running', 'running', 'stopped', 'installing'),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined, freq: 8 },
      ),
      failNext: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
    }),
    { nil: null, freq: 10 },
  );

const eventArb = fc.oneof(
  fc.record({ kind: fc.constant('toggle-online' as const), who: fc.nat(20) }),
  fc.record({ kind: fc.constant('out-of-band' as const), who: fc.nat(20), version: fc.constantFrom(...VERSIONS), pending: fc.boolean() }),
  fc.record({ kind: fc.constant('drop-serves' as const), who: fc.nat(20) }),
  fc.record({ kind: fc.constant('fail-next' as const), who: fc.nat(20) }),
  fc.record({ kind: fc.constant('move-stable' as const), version: fc.constantFrom(...VERSIONS) }),
  fc.record({ kind: fc.constant('move-test' as const), version: fc.constantFrom(...VERSIONS) }),
  fc.record({ kind: fc.constant('move-infra' as const), index: fc.nat(1) }),
  fc.record({ kind: fc.constant('lose-status' as const) }),
  fc.record({ kind: fc.constant('package' as const), version: fc.constantFrom(...VERSIONS), status: fc.constantFrom('verified', 'verified', 'pending', 'failed', 'absent') }),
);

const worldArb = fc
  .record({
    wrsCount: fc.integer({ min: 1, max: 3 }),
    devices: fc.array(fc.record({ wrs: fc.integer({ min: -1, max: 2 }) }), { maxLength: 8 }),
    ring: fc.option(fc.record({ wrs: fc.array(fc.nat(2), { maxLength: 2 }), devices: fc.array(fc.nat(7), { maxLength: 3 }) }), { nil: undefined }),
    stable: fc.constantFrom(...VERSIONS),
    test: fc.constantFrom(...VERSIONS),
    override: fc.option(fc.constantFrom(...VERSIONS), { nil: undefined, freq: 4 }),
    autoUpdate: fc.boolean(),
    leaveToUser: fc.boolean(),
    infra: fc.option(fc.nat(1), { nil: undefined }),
    packages: fc.array(fc.constantFrom('verified', 'verified', 'verified', 'verified', 'verified', 'pending', 'failed', 'absent'), { minLength: 4, maxLength: 4 }),
    /** A previous status: none, or one reconciled at another revision (other tags) on the same fleet. */
    previousFrom: fc.option(fc.record({ stable: fc.constantFrom(...VERSIONS), test: fc.constantFrom(...VERSIONS) }), { nil: undefined }),
    passes: fc.array(fc.array(eventArb, { maxLength: 2 }), { minLength: 4, maxLength: 10 }),
  })
  .chain((w) =>
    fc.record({
      w: fc.constant(w),
      wrsAgents: fc.array(agentArb(true), { minLength: w.wrsCount, maxLength: w.wrsCount }),
      deviceAgents: fc.array(agentArb(false), { minLength: w.devices.length, maxLength: w.devices.length }),
      infraAgent: agentArb(false),
    }),
  );

type World = typeof worldArb extends fc.Arbitrary<infer X> ? X : never;

function buildSpec(w: World['w'], stableUnused?: string): AccountSpec {
  void stableUnused;
  const wrs = Array.from({ length: w.wrsCount }, (_, i) => ({ name: `wrs-${i}` }));
  const devices = w.devices.map((d, i) => ({ name: `ws-${i}`, repositoryServer: d.wrs < 0 || d.wrs >= w.wrsCount ? 'cloud' : `wrs-${d.wrs}` }));
  const ring = w.ring && {
    tag: 'test',
    repositoryServers: [...new Set(w.ring.wrs.filter((i) => i < w.wrsCount).map((i) => `wrs-${i}`))],
    devices: [...new Set(w.ring.devices.filter((i) => i < devices.length).map((i) => `ws-${i}`))],
  };
  return {
    product: P,
    defaultTag: 'stable',
    restartPolicy: w.leaveToUser ? 'LeaveToUser' : 'Immediate',
    autoUpdate: w.autoUpdate,
    repositoryServers: wrs,
    devices,
    installMedia: { generatedFor: '4.3.0' },
    ...(ring ? { testRing: ring } : {}),
    ...(w.infra !== undefined ? { infrastructure: { release: INFRA_RELEASES[w.infra]! } } : {}),
    ...(w.override !== undefined ? { promotion: { override: { version: w.override, reason: 'hotfix' } } } : {}),
  };
}

function toObserved(agents: Map<string, SimAgent>, artifacts: Map<string, ArtifactCheck>, productOf: (agent: string) => string): Observed {
  const out = new Map<string, AgentObservation>();
  for (const [name, a] of agents) {
    const components: ComponentReport[] = a.comp === undefined ? [] : [{ product: productOf(name), ...a.comp, ...(a.comp.serves ? { serves: [...a.comp.serves] } : {}) }];
    out.set(name, { agent: name, online: a.online, lastSeen: new Date(NOW - 5000).toISOString(), components, results: [...a.results] });
  }
  return { agents: out, artifacts: new Map(artifacts) };
}

const throughGit = (s: TargetStatus): TargetStatus => parseStatusFile(renderStatus(s, null, NOW)).status!;
const promotionOf = (s: TargetStatus | undefined) => s?.details?.['promotion'] as PromotionDetails | undefined;

function run(spec: AccountSpec, stable: string, test: string, observed: Observed, previous: TargetStatus | undefined, now: number): ReconcileResult {
  return reconcileAccount(input(desired('Account', 'acme', spec), releases(stable, test)), observed, previous, now);
}

describe('Account invariants over many passes of a simulated fleet (seeds 001, 003)', () => {
  it('I1–I6 hold after every pass', () => {
    let commandsSeen = 0;
    let deviceApplies = 0;
    let productionCommands = 0;
    let rollbacks = 0;
    fc.assert(
      fc.property(worldArb, ({ w, wrsAgents, deviceAgents, infraAgent }) => {
        const spec = buildSpec(w);
        let stable: string = w.stable;
        let test: string = w.test;
        let infraRelease = w.infra;
        const agents = new Map<string, SimAgent>();
        type Generated = { online: boolean; comp: { version?: string; pendingRestart?: boolean; serves?: string[]; state?: ComponentReport['state'] } | undefined; failNext: boolean } | null;
        const put = (name: string, a: Generated) => {
          if (a !== null) agents.set(name, { online: a.online, comp: a.comp === undefined ? undefined : { ...a.comp, ...(a.comp.serves ? { serves: [...a.comp.serves] } : {}) }, results: [], failNext: a.failNext });
        };
        spec.repositoryServers.forEach((x, i) => put(x.name, wrsAgents[i]!));
        spec.devices.forEach((x, i) => put(x.name, deviceAgents[i]!));
        if (spec.infrastructure) put(INFRA_AGENT, infraAgent?.comp?.version ? { ...infraAgent, comp: { version: '2026.10.2' } } : infraAgent);
        const productOf = (agent: string) => (agent === INFRA_AGENT ? INFRA_PRODUCT : P);
        const artifacts = new Map<string, ArtifactCheck>();
        w.packages.forEach((s, i) => {
          const release = `${P}-${VERSIONS[i]}`;
          if (s !== 'absent') artifacts.set(release, { release, status: s as ArtifactCheck['status'] });
        });
        for (const r of INFRA_RELEASES) artifacts.set(r, { release: r, status: 'verified' });

        const names = [...spec.repositoryServers.map((x) => x.name), ...spec.devices.map((x) => x.name)];
        const ringWrs = new Set(spec.testRing?.repositoryServers);
        const ringDevices = new Set(spec.testRing?.devices);
        const deviceWrs = new Map(spec.devices.map((d) => [d.name, d.repositoryServer]));
        const isWrs = (m: string) => m.startsWith('wrs-');

        let previous: TargetStatus | undefined = w.previousFrom ? run(spec, w.previousFrom.stable, w.previousFrom.test, toObserved(agents, artifacts, productOf), undefined, NOW - 3_600_000).status : undefined;
        // What Git says production was given: versions tested or admitted in the status we start from.
        const given = new Set<string>();
        const seedGiven = (s: TargetStatus | undefined) => {
          const p = promotionOf(s);
          for (const t of p?.tested ?? []) given.add(t.version);
          if (p?.production) given.add(p.production.version);
          if (s && p?.testRing === undefined && p?.held === undefined && p?.production === undefined) {
            for (const m of s.members) if ((m.role === 'wrs' || m.role === 'device') && valid(m.desired)) given.add(m.desired);
          }
        };
        seedGiven(previous);

        for (const [pass, events] of w.passes.entries()) {
          const now = NOW + pass * 60_000;
          for (const e of events) {
            const who = names.length > 0 && 'who' in e ? names[e.who % names.length]! : undefined;
            const a = who !== undefined ? agents.get(who) : undefined;
            if (e.kind === 'toggle-online' && a) a.online = !a.online;
            else if (e.kind === 'out-of-band' && a) a.comp = { ...(a.comp ?? {}), version: e.version, ...(e.pending ? { pendingRestart: true } : {}) };
            else if (e.kind === 'drop-serves' && a?.comp) delete a.comp.serves;
            else if (e.kind === 'fail-next' && a) a.failNext = true;
            else if (e.kind === 'move-stable') stable = e.version;
            else if (e.kind === 'move-test') test = e.version;
            else if (e.kind === 'move-infra' && infraRelease !== undefined) infraRelease = e.index;
            else if (e.kind === 'lose-status') previous = undefined;
            else if (e.kind === 'package') {
              const release = `${P}-${e.version}`;
              if (e.status === 'absent') artifacts.delete(release);
              else artifacts.set(release, { release, status: e.status as ArtifactCheck['status'] });
            }
          }
          const s: AccountSpec = spec.infrastructure && infraRelease !== undefined ? { ...spec, infrastructure: { release: INFRA_RELEASES[infraRelease]! } } : spec;
          const obs = toObserved(agents, artifacts, productOf);
          const comp = (m: string) => obs.agents.get(m)?.components[0];
          const wrsRestartDue = (m: string, v: string) => {
            const res = obs.agents.get(m)?.results ?? [];
            const ok = (id: string) => res.some((x) => x.id === id && x.status === 'succeeded');
            return ok(commandId(T, m, 'apply', v)) && !ok(commandId(T, m, 'restart', v));
          };
          // the simulation's own view: did the test ring converge on the test version now?
          if (spec.testRing) {
            const ring = [...ringWrs, ...ringDevices];
            const done = ring.length > 0 && ring.every((m) => same(comp(m)?.version, test) && comp(m)?.pendingRestart !== true && !(isWrs(m) && wrsRestartDue(m, test)));
            if (done) given.add(test);
            if (spec.promotion?.override && same(spec.promotion.override.version, stable)) given.add(stable);
          }

          const r = run(s, stable, test, obs, previous, now);
          const where = `pass ${pass}: ${JSON.stringify({ stable, test, cmds: r.commands.map((c) => `${c.action} ${c.member} ${c.version}`) })}`;

          // I6: plan = commands; determinism; plan from Git = run
          expect(r.plan.filter((p) => p.runnable).map((p) => `${p.action} ${p.member} ${p.version}`), where).toEqual(r.commands.map((c) => `${c.action} ${c.member} ${c.version}`));
          for (const p of r.plan) if (!p.runnable) expect(p.blockedBy, where).toBeDefined();
          expect(JSON.stringify(run(s, stable, test, obs, previous, now)), where).toBe(JSON.stringify(r));
          if (previous) expect(run(s, stable, test, obs, throughGit(previous), now).commands, where).toEqual(r.commands);

          for (const c of r.commands) {
            commandsSeen++;
            const a = obs.agents.get(c.agent);
            // I3
            expect(a?.online, `${where}: ${c.member} offline`).toBe(true);
            // I4
            const release = c.member === 'infrastructure' ? INFRA_RELEASES.find((x) => x.endsWith(c.version!)) : `${P}-${c.version}`;
            expect(obs.artifacts.get(release!)?.status, `${where}: ${c.member} package`).toBe('verified');
            // I5
            const mine = a?.components[0]?.version;
            if (c.action === 'apply' && mine !== undefined) {
              expect(valid(mine), `${where}: ${c.member} reports an unreadable version`).toBe(true);
              if (cmp(mine, c.version!) > 0) {
                rollbacks++;
                const prev = previous?.members.find((m) => m.name === c.member);
                const gitRolledBack =
                  prev !== undefined && valid(prev.desired) &&
                  (cmp(prev.desired, c.version!) > 0 || (cmp(prev.desired, c.version!) === 0 && prev.state !== 'Ahead' && valid(prev.observed) && cmp(prev.observed, prev.desired) > 0));
                expect(gitRolledBack, `${where}: ${c.member} downgraded from ${mine} without Git`).toBe(true);
              }
            }
            // I1
            const wrs = deviceWrs.get(c.member);
            if (wrs !== undefined && c.action === 'apply') {
              deviceApplies++;
              expect(spec.autoUpdate, where).toBe(false);
              if (wrs !== 'cloud') {
                const wa = obs.agents.get(wrs);
                const wc = wa?.components[0];
                const ok = wa?.online === true && same(wc?.version, c.version!) && wc?.pendingRestart !== true && (wc?.state ?? 'running') === 'running' && (wc?.serves ?? []).some((v) => same(v, c.version!)) && !wrsRestartDue(wrs, c.version!);
                expect(ok, `${where}: ${c.member} applied before ${wrs} ran and served ${c.version}, restarted`).toBe(true);
              }
            }
            // I2
            const production = spec.testRing !== undefined && c.member !== 'infrastructure' && !(isWrs(c.member) ? ringWrs.has(c.member) : ringDevices.has(c.member));
            if (production) {
              productionCommands++;
              const v = c.version!;
              const ok = [...given].some((g) => same(g, v) || (valid(g) && cmp(v, g) < 0));
              expect(ok, `${where}: production ${c.member} got ${v}; given ${[...given].join(',')}`).toBe(true);
            }
          }
          // I1: remote devices never wait for a WRS
          for (const p of r.plan) {
            if (deviceWrs.get(p.member) === 'cloud') expect(['WaitingForRepositoryServer', 'UnknownRepositoryServer'], where).not.toContain(p.blockedBy?.reason);
          }

          // the fleet carries the commands out
          for (const c of r.commands) carryOut(agents.get(c.agent)!, c, isWrs(c.member));
          // auto-update: devices take what their WRS serves, restarted
          if (spec.autoUpdate) {
            for (const d of spec.devices) {
              const a = agents.get(d.name);
              const desiredV = r.status.members.find((m) => m.name === d.name)?.desired;
              const wc = d.repositoryServer === 'cloud' ? undefined : obs.agents.get(d.repositoryServer)?.components[0];
              if (a?.online && desiredV && valid(desiredV) && (d.repositoryServer === 'cloud' || (wc?.serves ?? []).includes(desiredV))) a.comp = { ...(a.comp ?? {}), version: desiredV, pendingRestart: true };
            }
          }
          previous = r.status;
          const p = promotionOf(previous);
          for (const t of p?.tested ?? []) given.add(t.version);
        }
      }),
      { numRuns: 200, seed: 4_2_2026 },
    );
    // the generators do reach the rules
    expect(commandsSeen).toBeGreaterThan(300);
    expect(deviceApplies).toBeGreaterThan(40);
    expect(productionCommands).toBeGreaterThan(40);
    expect(rollbacks).toBeGreaterThan(10);
  });
});

/** What an agent does with a command: apply installs (restart pending), restart finalises (a WRS then serves it). */
function carryOut(a: SimAgent, c: Command, isWrs: boolean): void {
  if (a.failNext) {
    a.failNext = false;
    a.results.push({ id: c.id, status: 'failed', message: 'disk full', at: new Date(NOW).toISOString() });
    return;
  }
  a.results.push({ id: c.id, status: 'succeeded', at: new Date(NOW).toISOString() });
  if (c.action === 'apply') {
    a.comp = { ...(a.comp ?? {}), version: c.version!, state: 'running', ...(c.member === 'infrastructure' ? {} : { pendingRestart: true }) };
  } else if (c.action === 'restart' && a.comp) {
    delete a.comp.pendingRestart;
    if (isWrs && a.comp.version !== undefined) a.comp.serves = [...new Set([...(a.comp.serves ?? []), a.comp.version])];
  }
}
