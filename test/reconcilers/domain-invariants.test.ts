/**
 * Seed 000 invariants, held in every state: a simulated fleet of Watchdoc servers carries out
 * the reconciler's commands pass after pass while the world moves (servers go offline, an
 * operator updates by hand, a server is updated out of band, Git moves the version, the
 * package check changes, observations go missing field by field, the status is lost or comes
 * from another revision). After every pass:
 *
 *   I1 no command at all — in particular no slave `stage` — while any server is unreachable
 *   I2 no slave `apply` before every slave that needs the release holds the verified package
 *   I3 nothing at all while the controller has not verified the package
 *   I4 the master first: no slave command before the master reports the release, running
 *   I5 never a downgrade unless Git moved the version down (no previous status: never)
 *   I6 no stage/apply to a server whose version is unknown, nor to a slave below 6.1;
 *      nothing to the slaves when the release is below 6.1
 *   I7 a manual master never gets a command; no command the agent reported failed or running
 *      is sent again; runnable plan steps are the commands; same input, same output
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { Command, ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import type { MasterUpdate, SyncMode } from '../../reconcilers/model/desired.ts';
import { isNewer, isValidVersion, versionsEqual } from '../../protocol/version.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, ArtifactCheck, Observed } from '../../reconcilers/observed.ts';
import { NOW } from '../helpers/observed.ts';
import { domain, PRODUCT, TARGET } from './domain-fixtures.ts';

type State = ComponentReport['state'];
const VERSIONS = ['6.0.3', '6.1.0', '6.1.3', '6.1.4', '6.01.4', '6.1.5', '6.1.6', 'garbage'] as const;
const RELEASE_VERSIONS = ['6.0.5', '6.1.3', '6.1.4', '6.1.5'] as const;

const valid = (v: string | undefined): v is string => v !== undefined && isValidVersion(v);
const same = (v: string | undefined, w: string) => valid(v) && versionsEqual(v, w);
const newer = (v: string | undefined, w: string) => valid(v) && isNewer(v, w);
const below61 = (v: string) => isNewer('6.1.0', v);

interface SimServer {
  readonly name: string;
  reported: 'online' | 'offline' | 'never';
  component: boolean;
  version: string | undefined;
  state: State | undefined;
  staged: { version: string; verified?: boolean; reason?: string } | undefined;
  results: CommandResult[];
  /** Commands the agent reported running, finished on the next pass. */
  inFlight: Command[];
}

const serverArb = fc.record({
  reported: fc.constantFrom('online', 'online', 'online', 'online', 'online', 'online', 'online', 'offline', 'never'),
  component: fc.constantFrom(true, true, true, true, true, true, false),
  version: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<string | undefined>('6.1.3', '6.1.4') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(...VERSIONS, undefined) },
  ),
  state: fc.constantFrom<State | undefined>('running', 'running', 'running', 'running', 'installing', 'stopped', 'failed', undefined),
  staged: fc.constantFrom<'none' | 'ok' | 'bad' | 'silent' | 'old'>('none', 'none', 'none', 'ok', 'bad', 'silent', 'old'),
});

const eventArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('toggle' as const), who: fc.nat(4) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'hand-master' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hand-slave' as const), who: fc.nat(4), to: fc.constantFrom('6.1.0', 'desired') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('out-of-band' as const), who: fc.nat(4), to: fc.constantFrom('6.1.6', '6.1.5') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('git' as const), version: fc.constantFrom(...RELEASE_VERSIONS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('artifact' as const), status: fc.constantFrom('verified', 'verified', 'pending', 'failed', 'absent') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), who: fc.nat(4), field: fc.constantFrom('state', 'version', 'verified', 'component') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restore' as const), who: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose-status' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('foreign-status' as const),
      desired: fc.constantFrom(...RELEASE_VERSIONS, '6.1.6'),
      rollbackFrom: fc.constantFrom(undefined, '6.1.5', '6.1.6'),
      ahead: fc.nat(4),
    }),
  },
);
type Event = typeof eventArb extends fc.Arbitrary<infer E> ? E : never;
/** The same events, the world mostly quiet: rollouts get far enough to reach propagation and apply. */
const quietEventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 30, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 5, arbitrary: fc.constant({ kind: 'hand-master' as const }) },
  { weight: 2, arbitrary: eventArb },
);

const previousArb = fc.option(
  fc.record({
    desired: fc.constantFrom(...RELEASE_VERSIONS, '6.1.6'),
    states: fc.array(fc.constantFrom('Pending', 'Updated', 'Ahead', 'Waiting', 'Updating'), { minLength: 5, maxLength: 5 }),
    rollbackFrom: fc.option(fc.constantFrom('6.1.5', '6.1.6'), { nil: undefined }),
  }),
  { nil: undefined },
);

/** `calm`: every server online and reporting at the start, the package verified, the world mostly quiet. */
const scenarioArb = fc.boolean().chain((calm) => fc.record({
  calm: fc.constant(calm),
  update: fc.constantFrom<MasterUpdate>('Manual', 'Controller'),
  slaves: fc.array(fc.constantFrom<SyncMode>('mailbox', 'bidirectional'), { minLength: 1, maxLength: 4 }),
  version: fc.constantFrom<string>(...RELEASE_VERSIONS, '6.1.4', '6.1.4'),
  servers: fc.array(serverArb, { minLength: 5, maxLength: 5 }),
  artifact: fc.constantFrom('verified', 'verified', 'verified', 'pending', 'failed', 'absent'),
  previous: previousArb,
  events: fc.array(calm ? quietEventArb : eventArb, { minLength: 4, maxLength: 20 }),
  outcomes: fc.array(fc.constantFrom('ok', 'ok', 'ok', 'ok', ...(calm ? ['ok', 'ok'] : []), 'fail', 'running', 'installing', 'lost'), {
    minLength: 1,
    maxLength: 8,
  }),
}));
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

/** A status "from another revision": the generator's previous status, for these members. */
function foreignStatus(names: readonly string[], desired: string, states: readonly string[], rollbackFrom: string | undefined): TargetStatus {
  return {
    target: TARGET,
    phase: 'Progressing',
    conditions: [],
    observedRevision: 'feedface00000000000000000000000000000000',
    summary: '',
    members: names.map((n, i) => ({ name: n, agent: n, role: i === 0 ? 'master' : 'slave', desired, observed: '6.1.5', state: (states[i] ?? 'Pending') as 'Pending' })),
    ...(rollbackFrom !== undefined ? { details: { rollback: { from: rollbackFrom, to: desired } } } : {}),
  };
}

const seen = { slaveStage: 0, slaveApply: 0, masterCommand: 0, heldByOffline: 0, downgrade: 0, byHand: 0, converged: 0, passes: 0 };

function play(sc: Scenario): void {
  const slaveDefs = sc.slaves.map((sync, i) => [`wd-s${i + 1}`, sync] as const);
  const names = ['wd-master-1', ...slaveDefs.map(([n]) => n)];
  let version = sc.version;
  /** Every desired version Git held (and any status of another revision claimed), for I5. */
  const gitVersions = new Set<string>([version]);
  const servers: SimServer[] = names.map((name, i) => {
    const g = sc.servers[i]!;
    const staged =
      g.staged === 'ok' ? { version, verified: true } : g.staged === 'bad' ? { version, verified: false, reason: 'bad signature' } : g.staged === 'silent' ? { version } : g.staged === 'old' ? { version: '6.1.3', verified: true } : undefined;
    if (sc.calm) {
      const calmStaged = g.staged === 'ok' ? staged : undefined;
      const v = i === 0 ? (g.version ?? '6.1.3') : '6.1.3';
      return { name, reported: 'online', component: true, version: v, state: 'running', staged: calmStaged, results: [], inFlight: [] };
    }
    return { name, reported: g.reported, component: g.component, version: g.version, state: g.state, staged, results: [], inFlight: [] };
  });
  let artifact = sc.calm ? 'verified' : sc.artifact;
  let previous: TargetStatus | undefined;
  if (sc.previous !== undefined) {
    previous = foreignStatus(names, sc.previous.desired, sc.previous.states, sc.previous.rollbackFrom);
    gitVersions.add(sc.previous.desired);
    if (sc.previous.rollbackFrom !== undefined) gitVersions.add(sc.previous.rollbackFrom);
  }
  let outcomeIx = 0;
  const at = (pass: number) => new Date(NOW + pass * 30_000).toISOString();

  const observe = (pass: number): Observed => {
    const agents = new Map<string, AgentObservation>();
    for (const s of servers) {
      if (s.reported === 'never') continue;
      const c: ComponentReport = {
        product: PRODUCT,
        ...(s.version !== undefined ? { version: s.version } : {}),
        ...(s.state !== undefined ? { state: s.state } : {}),
        ...(s.staged !== undefined ? { staged: { ...s.staged } as { version: string; verified: boolean } } : {}),
      };
      agents.set(s.name, { agent: s.name, online: s.reported === 'online', lastSeen: at(pass - 1), components: s.component ? [c] : [], results: [...s.results] });
    }
    const artifacts = new Map<string, ArtifactCheck>();
    if (artifact !== 'absent') artifacts.set(`watchdoc-${version}`, { release: `watchdoc-${version}`, status: artifact as ArtifactCheck['status'] });
    return { agents, artifacts };
  };

  const apply = (e: Event): void => {
    const pick = (who: number) => servers[who % servers.length]!;
    switch (e.kind) {
      case 'toggle': {
        const s = pick(e.who);
        s.reported = s.reported === 'online' ? 'offline' : 'online';
        break;
      }
      case 'hand-master':
        if (sc.update === 'Manual') Object.assign(servers[0]!, { component: true, version, state: 'running' });
        break;
      case 'hand-slave':
        if (e.who % servers.length !== 0) Object.assign(pick(e.who), { component: true, version: e.to === 'desired' ? version : e.to, state: 'running' });
        break;
      case 'out-of-band':
        Object.assign(pick(e.who), { component: true, version: e.to, state: 'running' });
        break;
      case 'git':
        version = e.version;
        gitVersions.add(version);
        break;
      case 'artifact':
        artifact = e.status;
        break;
      case 'drop': {
        const s = pick(e.who);
        if (e.field === 'state') s.state = undefined;
        else if (e.field === 'version') s.version = undefined;
        else if (e.field === 'component') s.component = false;
        else if (s.staged !== undefined) delete s.staged.verified;
        break;
      }
      case 'restore': {
        const s = pick(e.who);
        s.component = true;
        s.state ??= 'running';
        s.version ??= '6.1.3';
        if (s.staged !== undefined && s.staged.verified === undefined) s.staged.verified = true;
        break;
      }
      case 'lose-status':
        previous = undefined;
        break;
      case 'foreign-status':
        previous = foreignStatus(names, e.desired, names.map((_, i) => (i === e.ahead ? 'Ahead' : 'Pending')), e.rollbackFrom);
        gitVersions.add(e.desired);
        if (e.rollbackFrom !== undefined) gitVersions.add(e.rollbackFrom);
        break;
      case 'none':
        break;
    }
  };

  const carryOut = (r: ReconcileResult, pass: number): void => {
    for (const s of servers) {
      // Commands reported running finish now.
      for (const c of s.inFlight) finish(s, c, pass);
      s.inFlight = [];
    }
    for (const c of r.commands) {
      const s = servers.find((x) => x.name === c.agent)!;
      const outcome = sc.outcomes[outcomeIx++ % sc.outcomes.length]!;
      if (outcome === 'lost') continue;
      if (outcome === 'fail') {
        s.results.push({ id: c.id, status: 'failed', message: 'simulated failure', at: at(pass) });
        if (c.action === 'stage') s.staged = { version: c.version!, verified: false, reason: 'simulated bad package' };
      } else if (outcome === 'running' || outcome === 'installing') {
        s.results.push({ id: c.id, status: 'running', at: at(pass) });
        if (c.action === 'apply' && outcome === 'installing') s.state = 'installing';
        s.inFlight.push(c);
      } else finish(s, c, pass);
    }
  };
  const finish = (s: SimServer, c: Command, pass: number): void => {
    s.results = s.results.filter((x) => x.id !== c.id);
    s.results.push({ id: c.id, status: 'succeeded', at: at(pass) });
    if (c.action === 'stage') s.staged = { version: c.version!, verified: true };
    else Object.assign(s, { component: true, version: c.version!, state: 'running', staged: undefined });
  };

  for (let pass = 1; pass <= sc.events.length; pass++) {
    apply(sc.events[pass - 1]!);
    const d = domain({ version, update: sc.update, slaves: slaveDefs });
    const obs = observe(pass);
    const now = NOW + pass * 30_000;
    const r = reconcileDomain(d, obs, previous, now);
    check(r, obs, previous, version, names, sc.update, gitVersions, () => reconcileDomain(d, obs, previous, now));
    seen.passes++;
    previous = r.status;
    carryOut(r, pass);
  }
}

function check(
  r: ReconcileResult,
  obs: Observed,
  previous: TargetStatus | undefined,
  version: string,
  names: readonly string[],
  update: MasterUpdate,
  gitVersions: ReadonlySet<string>,
  again: () => ReconcileResult,
): void {
  const ctx = (): string => `desired ${version}, ${update} master\nobserved ${JSON.stringify([...obs.agents.values()].map((a) => [a.agent, a.online, a.components, a.results.map((x) => x.status)]))}\nartifacts ${JSON.stringify([...obs.artifacts.values()])}\nprevious ${JSON.stringify(previous?.members.map((m) => [m.name, m.desired, m.state]))} ${JSON.stringify(previous?.details)}\nresult ${JSON.stringify({ commands: r.commands.map((c) => `${c.action} ${c.member}`), phase: r.status.phase, conditions: r.status.conditions.map((c) => c.message) })}`;
  try {
    checkPass(r, obs, previous, version, names, update, gitVersions, again);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${ctx()}`);
  }
}

function checkPass(
  r: ReconcileResult,
  obs: Observed,
  previous: TargetStatus | undefined,
  version: string,
  names: readonly string[],
  update: MasterUpdate,
  gitVersions: ReadonlySet<string>,
  again: () => ReconcileResult,
): void {
  const master = names[0]!;
  const slaves = names.slice(1);
  const comp = (n: string) => obs.agents.get(n)?.components.find((c) => c.product === PRODUCT);
  const reachable = (n: string) => obs.agents.get(n)?.online === true;
  const stateOf = (n: string) => r.status.members.find((m) => m.name === n)?.state;
  const applyRan = (n: string) => obs.agents.get(n)?.results.some((x) => x.id === commandId(TARGET, n, 'apply', version)) ?? false;
  const slaveCommands = r.commands.filter((c) => c.member !== master);

  // I1: reachability holds everything, before and after the start.
  if (!names.every(reachable)) ok(r.commands.length === 0, 'I1 a command while a server is unreachable');
  // I3: nothing at all unless the controller verified the package.
  if (obs.artifacts.get(`watchdoc-${version}`)?.status !== 'verified') ok(r.commands.length === 0, 'I3 a command while the package is not verified');
  // I6: a release below 6.1 is never propagated.
  if (below61(version)) ok(slaveCommands.length === 0, 'I6 a slave command for a release below 6.1');
  // I7: a manual master is never sent anything.
  if (update === 'Manual') ok(r.commands.every((c) => c.member !== master), 'I7 a command to a manual master');

  for (const c of r.commands) {
    const observed = comp(c.member)?.version;
    const result = obs.agents.get(c.agent)?.results.find((x) => x.id === c.id);
    ok(result?.status !== 'failed' && result?.status !== 'running', `I7 ${c.action} ${c.member} re-sent while ${result?.status}`);
    // I6: never to a server whose version is unknown; never to a slave below 6.1.
    ok(valid(observed), `I6 ${c.action} to ${c.member}, whose version is unknown`);
    if (c.member !== master) ok(!below61(observed!), `I6 ${c.action} to ${c.member}, below 6.1`);
    // I4: the master first.
    if (c.member !== master) ok(same(comp(master)?.version, version) && comp(master)?.state === 'running', `I4 ${c.action} ${c.member} before the master runs ${version}`);
    // I2: apply only once every slave that needs the release holds the verified package.
    if (c.action === 'apply' && c.member !== master) {
      for (const s of slaves) {
        if (same(comp(s)?.version, version) || stateOf(s) === 'Ahead') continue;
        const staged = comp(s)?.staged;
        const holds = staged !== undefined && same(staged.version, version) ? staged.verified === true : applyRan(s);
        ok(holds, `I2 apply ${c.member} while ${s} does not hold ${version}`);
      }
    }
    if (c.action === 'apply') {
      const staged = comp(c.member)?.staged;
      if (staged !== undefined && same(staged.version, version)) ok(staged.verified === true, `I2 apply ${c.member}, whose own package is not verified`);
    }
    // I5: never a downgrade unless Git moved the version down from at least what the server runs.
    if (newer(observed, version)) {
      seen.downgrade++;
      ok(previous !== undefined, `I5 ${c.action} ${c.member} (${observed}) down to ${version} without a previous status`);
      ok([...gitVersions].some((g) => !newer(observed, g) && newer(g, version)), `I5 ${c.member} runs ${observed}, above anything Git desired`);
      const before = previous!.members.find((m) => m.name === c.member);
      ok(before !== undefined, `I5 ${c.member} downgraded, not in the previous status`);
      if (same(before!.desired, version)) ok(before!.state !== 'Ahead', `I5 ${c.member} downgraded, Ahead before`);
    }
  }
  // Plan and status agree with the commands; Stalled <-> Blocked/Failed; Converged <-> all at the version.
  const runnable = r.plan.filter((s) => s.runnable).map((s) => `${s.action} ${s.member}`);
  ok(runnable.join() === r.commands.map((c) => `${c.action} ${c.member}`).join(), 'runnable plan steps are not the commands');
  ok(r.plan.every((s) => s.runnable || s.blockedBy !== undefined), 'a blocked plan step without a blocker');
  const stalled = r.status.conditions.find((c) => c.type === 'Stalled')?.status === 'True';
  ok(stalled === (r.status.phase === 'Failed' || r.status.phase === 'Blocked'), 'Stalled <-> Blocked/Failed');
  ok((r.status.phase === 'Converged') === names.every((n) => same(comp(n)?.version, version)), 'Converged <-> every server at the version');
  // Same input, same output.
  ok(JSON.stringify(again()) === JSON.stringify(r), 'not deterministic');

  if (slaveCommands.some((c) => c.action === 'stage')) seen.slaveStage++;
  if (slaveCommands.some((c) => c.action === 'apply')) seen.slaveApply++;
  if (r.commands.some((c) => c.member === master)) seen.masterCommand++;
  if (!names.every(reachable) && r.plan.length > 0) seen.heldByOffline++;
  if (r.plan.some((s) => s.performedBy === 'operator' && s.member !== master)) seen.byHand++;
  if (r.status.phase === 'Converged') seen.converged++;
}

/** A cheap assertion: thousands of passes each check dozens of things. */
function ok(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

describe('seed 000: the vendor rules hold in every state (fast-check, many passes)', () => {
  it('I1–I7 after every pass of a simulated fleet', () => {
    fc.assert(fc.property(scenarioArb, (sc) => play(sc)), { numRuns: 500, seed: 0x000d0c });
    // The generator reaches the interesting situations (else the invariants prove little).
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(what === 'downgrade' ? 10 : 50);
  });

  it('I5 over previous statuses of any revision: a newer server is downgraded only as far as Git moved the version', () => {
    const arb = fc.record({
      version: fc.constantFrom('6.1.3', '6.1.4', '6.1.5'),
      update: fc.constantFrom<MasterUpdate>('Manual', 'Controller'),
      versions: fc.array(fc.constantFrom('6.1.3', '6.1.4', '6.1.5', '6.1.6', '6.01.5'), { minLength: 4, maxLength: 4 }),
      previous: fc.option(
        fc.record({
          desired: fc.array(fc.constantFrom('6.1.3', '6.1.4', '6.1.5', '6.1.6', ''), { minLength: 4, maxLength: 4 }),
          states: fc.array(fc.constantFrom('Pending', 'Updated', 'Ahead', 'Waiting', 'Updating', 'Failed'), { minLength: 4, maxLength: 4 }),
          listed: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          rollback: fc.option(fc.record({ from: fc.constantFrom('6.1.5', '6.1.6', 'x'), to: fc.constantFrom('6.1.3', '6.1.4', '6.1.5') }), { nil: undefined }),
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(arb, ({ version, update, versions, previous }) => {
        const names = ['wd-master-1', 'wd-s1', 'wd-s2', 'wd-s3'];
        const d = domain({ version, update, slaves: names.slice(1).map((n) => [n, 'bidirectional'] as const) });
        const obs: Observed = {
          agents: new Map(names.map((n, i) => [n, { agent: n, online: true, components: [{ product: PRODUCT, version: versions[i]!, state: 'running' as const }], results: [] }])),
          artifacts: new Map([[`watchdoc-${version}`, { release: `watchdoc-${version}`, status: 'verified' as const }]]),
        };
        const prev: TargetStatus | undefined =
          previous === undefined
            ? undefined
            : {
                ...foreignStatus(names, version, previous.states, undefined),
                members: names.flatMap((n, i) =>
                  previous.listed[i] ? [{ name: n, agent: n, role: i === 0 ? 'master' : 'slave', desired: previous.desired[i]!, observed: versions[i]!, state: previous.states[i] as 'Pending' }] : [],
                ),
                ...(previous.rollback !== undefined ? { details: { rollback: previous.rollback } } : {}),
              };
        const r = reconcileDomain(d, obs, prev, NOW);
        for (const c of r.commands) {
          const observed = versions[names.indexOf(c.member)]!;
          if (!newer(observed, version)) continue;
          const before = prev?.members.find((m) => m.name === c.member);
          ok(before !== undefined, `I5 ${c.member} downgraded without being in a previous status`);
          const gitMoved = newer(before!.desired, version) && !newer(observed, before!.desired);
          const rb = prev?.details?.['rollback'] as { from: string; to: string } | undefined;
          const carried = same(before!.desired, version) && before!.state !== 'Ahead' && rb !== undefined && same(rb.to, version) && valid(rb.from) && !newer(observed, rb.from);
          ok(gitMoved || carried, `I5 ${c.action} ${c.member} ${observed} -> ${version}: previous ${JSON.stringify(before)} ${JSON.stringify(rb)}`);
        }
        if (prev === undefined) for (const n of names) if (newer(versions[names.indexOf(n)], version)) ok(r.status.members.find((m) => m.name === n)?.state === 'Ahead', `I5 ${n} not Ahead`);
      }),
      { numRuns: 1500, seed: 0x5eed },
    );
  });

  it('a clean domain converges: master first, propagation, then apply, whatever the order of reports', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<MasterUpdate>('Manual', 'Controller'),
        fc.array(fc.constantFrom<SyncMode>('mailbox', 'bidirectional'), { minLength: 1, maxLength: 4 }),
        (update, syncs) => {
          play({
            update,
            slaves: syncs,
            version: '6.1.4',
            servers: Array.from({ length: 5 }, () => ({ reported: 'online', component: true, version: '6.1.3', state: 'running', staged: 'none' })),
            artifact: 'verified',
            calm: true,
            previous: undefined,
            events: [{ kind: 'hand-master' }, ...Array.from({ length: 8 }, () => ({ kind: 'none' as const }))],
            outcomes: ['ok'],
          } as Scenario);
        },
      ),
      { numRuns: 20 },
    );
  });
});
