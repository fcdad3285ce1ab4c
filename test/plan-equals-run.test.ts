/**
 * "plan = run" (DESIGN.md §5): `versiond plan` decides what `versiond run` decides. The real
 * reconcile loop is driven over several passes on a real Git repository built from
 * example-repo/, agents carrying out its commands between passes (the simulated driver);
 * each pass's commands and committed status are recorded. At each recorded point,
 * `versiond plan --format json` is run on the same revision, the same observed snapshot
 * (written as schemas/observed-snapshot.schema.json), the same --now, with the previous
 * status read from Git, and must decide the same.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentReport } from '../protocol/report.ts';
import { ObservedInventory } from '../controller/agents/inventory.ts';
import { Mailbox } from '../controller/agents/mailbox.ts';
import { main } from '../controller/cli/main.ts';
import { ReconcileLoop } from '../controller/loop/reconcile-loop.ts';
import { targetReport } from '../controller/plan/plan-report.ts';
import { RevisionTracker } from '../controller/source/revision-tracker.ts';
import { sourceStatus } from '../controller/source/source-status.ts';
import { readStatusesAt } from '../controller/status/read-statuses.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { SimulatedDriver } from '../agent/reference/drivers/simulated-driver.ts';
import type { AgentCommand } from '../agent/reference/protocol.ts';
import type { Reconciler, TargetStatus } from '../reconcilers/contract.ts';
import type { Kind } from '../reconcilers/model/desired.ts';
import type { TargetId } from '../reconcilers/model/identity.ts';
import type { CommandResult } from '../protocol/command-result.ts';
import type { ComponentReport } from '../protocol/component.ts';
import type { ArtifactCheck, CredentialCheck } from '../reconcilers/observed.ts';
import { RECONCILERS } from '../reconcilers/registry.ts';
import { ROOT, TempRepo } from './helpers/git-repo.ts';

const CONSOLE = 'console-hq';
const HEARTBEAT_MS = 30_000;
const START = Date.parse('2026-11-22T10:00:00Z');
const PASS_MS = 60_000;
/** Six passes of the example rollout, the merge of a rollback, three passes of the rollback. */
const PASSES = 10;

interface ExampleAgent {
  readonly agent: string;
  readonly online?: boolean;
  readonly lastSeen?: string;
  readonly components: ComponentReport[];
  readonly facts?: Record<string, unknown>;
}
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, 'agent/example-observed.json'), 'utf8')) as {
  agents: ExampleAgent[];
  artifacts: ArtifactCheck[];
  credentials: CredentialCheck[];
};
// The rollback below wants 6.1.3: the controller would have checked its package by then.
const ARTIFACTS: ArtifactCheck[] = [...EXAMPLE.artifacts, { release: 'watchdoc-6.1.3', status: 'verified' }];

/** One agent: a simulated machine (the reference agent's driver), plus what the agent itself keeps. */
class Machine {
  readonly driver: SimulatedDriver;
  readonly staged = new Map<string, { version: string; verified: boolean }>();
  readonly results: CommandResult[] = [];
  sequence = 0;

  constructor(readonly id: string, readonly clock: () => number, from: ExampleAgent, public online: boolean) {
    // A package the snapshot shows staged is the agent's own, as `staged`; the clock is reported per report.
    const components = from.components.map(({ staged, ...rest }) => {
      if (staged !== undefined) this.staged.set(rest.product, { version: staged.version, verified: staged.verified });
      return structuredClone(rest);
    });
    const { clock: _clock, ...facts } = from.facts ?? {};
    this.driver = new SimulatedDriver({
      machine: { components, ...(Object.keys(facts).length > 0 ? { facts: structuredClone(facts) as never } : {}) },
      now: clock,
    });
  }

  async report(): Promise<AgentReport> {
    const inv = await this.driver.inventory();
    const components = inv.components.map((c) => {
      const staged = this.staged.get(c.product);
      return (staged !== undefined ? { ...c, staged } : c) as ComponentReport;
    });
    return {
      sequence: ++this.sequence,
      sentAt: new Date(this.clock()).toISOString(),
      components,
      results: [...this.results],
      ...(inv.facts !== undefined ? { facts: inv.facts as AgentReport['facts'] } : {}),
    };
  }

  /** Runs the commands it was given that it has no result for, as the reference agent does. */
  async run(commands: readonly AgentCommand[]): Promise<void> {
    for (const c of commands) {
      if (this.results.some((r) => r.id === c.id)) continue;
      const out = await this.driver.run(c, {});
      const product = c.product ?? c.artifact?.product;
      if (out.ok && product !== undefined && c.version !== undefined) {
        if (c.action === 'stage') this.staged.set(product, { version: c.version, verified: true });
        if (c.action === 'apply') this.staged.delete(product);
      }
      const at = new Date(this.clock()).toISOString();
      const message = out.message !== undefined ? { message: out.message } : {};
      this.results.push({ id: c.id, status: out.ok ? 'succeeded' : 'failed', at, ...message });
    }
  }
}

/** What `run` decided for one target in one pass: its commands (from the mailbox) and its committed status. */
interface Decision {
  readonly commands: readonly string[];
  readonly phase: string | undefined;
  readonly reason: string | undefined;
  readonly summary: string | undefined;
}

interface Point {
  readonly name: string;
  /** The revision the loop acted on. */
  readonly revision: string;
  /** `plan` flags naming the revision and where the previous status is read. */
  readonly planFlags: readonly string[];
  /** The branch head the pass started from: where `run` would read the previous status after a restart. */
  readonly head: string;
  readonly now: number;
  readonly snapshot: string;
  readonly decisions: ReadonlyMap<TargetId, Decision>;
}

/** The phase and the speaking condition's reason, picked the way `plan` picks them. */
function phaseAndReason(status: TargetStatus | undefined): Pick<Decision, 'phase' | 'reason' | 'summary'> {
  if (status === undefined) return { phase: undefined, reason: undefined, summary: undefined };
  const report = targetReport({
    target: status.target,
    kind: 'Domain', // only echoed back: the pick reads the status alone
    path: '',
    outcome: 'planned',
    result: { status, plan: [], commands: [] },
  });
  return { phase: report.phase, reason: report.reason, summary: report.summary };
}

const commandKey = (c: { id: string; action: string; member: string }) => `${c.action} ${c.member} ${c.id}`;

async function plan(repo: TempRepo, args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  const code = await main(['plan', '--repo', repo.dir, ...args], io);
  return { code, out, err };
}

interface PlannedTarget {
  target: TargetId;
  outcome: string;
  phase?: string;
  reason?: string;
  summary?: string;
  commands: { id: string; action: string; member: string; version?: string }[];
  steps: { member: string; action: string; version?: string; runnable: boolean; blockedBy?: { reason: string } }[];
}
interface PlanJson {
  revision: string;
  previousStatus: { from: string; revision: string | null; targets: number };
  targets: PlannedTarget[];
}

describe('plan = run: versiond plan decides what the reconcile loop decides, pass after pass', () => {
  const repo = TempRepo.create();
  const gitdir = repo.path('.git');
  const work = mkdtempSync(join(tmpdir(), 'versiond-replay-'));
  let clock = START;
  const now = () => clock;

  const inventory = new ObservedInventory(HEARTBEAT_MS);
  const mailbox = new Mailbox();
  const offered: TargetStatus[] = [];
  // Passes are driven here with the clock frozen inside each; a requeue timer must not add
  // passes of its own (decisions are untouched: the same reconcilers, the same inputs).
  const reconcilers = Object.fromEntries(
    Object.entries(RECONCILERS).map(([kind, reconcile]) => [
      kind,
      ((...args: Parameters<Reconciler<Kind>>) => {
        const { requeueAfter: _requeue, ...result } = (reconcile as Reconciler<Kind>)(...args);
        return result;
      }) as Reconciler<Kind>,
    ]),
  ) as { readonly [K in Kind]?: Reconciler<K> };
  const loop = new ReconcileLoop({
    inventory,
    mailbox,
    previous: new Map(),
    onCommandsChanged: () => {},
    onStatus: (s) => offered.push(s),
    artifacts: () => new Map(ARTIFACTS.map((a) => [a.release, a])),
    credentials: () => new Map(EXAMPLE.credentials.map((c) => [c.ref, c])),
    consoleId: CONSOLE,
    concurrency: 4,
    warmUpMs: 0,
    now,
    reconcilers,
  });
  const tracker = new RevisionTracker(gitdir);
  const writer = new StatusWriter({ gitdir, coalesceMs: 0, now });
  let sourcePrevious: TargetStatus | undefined;

  const machines = new Map(EXAMPLE.agents.map((a) => [a.agent, new Machine(a.agent, now, a, a.online ?? true)]));
  const points: Point[] = [];

  /**
   * One pass of `run`: every online agent reports at `clock`, silent ones go offline, a new
   * desired head is taken as the tracker takes it, every target is reconciled once, its
   * status committed; then agents carry out what their mailbox holds.
   */
  async function pass(name: string, options: { planFlags?: readonly string[] } = {}): Promise<Point> {
    const statusFrom = repo.git('rev-parse', 'main');
    for (const m of machines.values()) if (m.online) inventory.record(m.id, await m.report(), clock);
    inventory.sweep(clock);
    offered.length = 0;
    const outcome = await tracker.consider(statusFrom);
    if (outcome.kind === 'applied') loop.applyDesired(outcome.state);
    else loop.enqueueAll();
    await loop.idle();
    const updates = offered.map((status) => ({ status }));
    if (outcome.kind !== 'unchanged') {
      sourcePrevious = sourceStatus('main', tracker, sourcePrevious, clock);
      updates.push({ status: sourcePrevious });
    }
    await writer.write(updates);
    const committed = (await readStatusesAt(gitdir, repo.git('rev-parse', 'main'))).statuses;

    const decisions = new Map<TargetId, Decision>();
    for (const target of loop.targetIndex.targets) {
      const commands = loop.targetIndex
        .agentsOf(target)
        .flatMap((agent) => mailbox.commandsFor(agent).filter((c) => c.target === target))
        .map(commandKey);
      decisions.set(target, { commands: [...new Set(commands)].sort(), ...phaseAndReason(committed.get(target)) });
    }
    const snapshot = join(work, `observed-${points.length + 1}.json`);
    const observed = {
      agents: [...inventory.observations.values()],
      artifacts: ARTIFACTS,
      credentials: EXAMPLE.credentials,
    };
    writeFileSync(snapshot, `${JSON.stringify(observed, null, 2)}\n`);
    const revision = loop.revision!;
    // By default the status is read where `run` read it: the branch head before this pass.
    const planFlags = options.planFlags ?? (revision === statusFrom
      ? ['--rev', revision]
      : ['--rev', revision, '--status-from', statusFrom]);
    const point: Point = { name, revision, planFlags, head: statusFrom, now: clock, snapshot, decisions };
    points.push(point);

    for (const m of machines.values()) if (m.online) await m.run(mailbox.commandsFor(m.id));
    clock += PASS_MS;
    return point;
  }

  /** A person's commit on `branch`, on top of main (status commits included), leaving main alone. */
  function personCommit(branch: string, file: string, from: string, to: string, message: string): string {
    repo.git('reset', '-q'); // the index to main's head: the controller's status commits included
    repo.edit(file, from, to);
    repo.git('add', file);
    const tree = repo.git('write-tree');
    const commit = repo.git('commit-tree', tree, '-p', 'main', '-m', message);
    repo.git('update-ref', `refs/heads/${branch}`, commit);
    return commit;
  }

  async function planAt(point: Point, extra: readonly string[] = [], flags = point.planFlags): Promise<PlanJson> {
    const args = [...flags, '--observed', point.snapshot, '--now', new Date(point.now).toISOString()];
    const r = await plan(repo, [...args, '--console-id', CONSOLE, '--format', 'json', ...extra]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.out) as PlanJson;
  }

  let rollbackPr = '';
  let rollbackPlan: PlanJson;
  let rollbackPlanWithoutStatus: PlanJson;

  beforeAll(async () => {
    await pass('start: example-observed.json');
    // The operator updates the Paris master by hand (seed 000); wd-bordeaux comes back.
    machines.get('wd-bordeaux')!.online = true;
    const parisMaster = machines.get('wd-paris-master')!;
    const byHand = { id: 'by-hand', target: 'domain/print-paris' as TargetId, member: 'wd-paris-master' };
    await parisMaster.run([{ ...byHand, action: 'apply', product: 'watchdoc', version: '6.1.4' }]);
    parisMaster.results.length = 0; // no command of the controller's
    for (let i = 2; i <= 6; i++) await pass(`agents progressing, pass ${i}`);

    // A pull request moves print-branches back to 6.1.3, planned as its CI would: --base main.
    // Merged as a fast-forward, the commit run acts on is the PR's, with the base's status.
    const base = repo.git('rev-parse', 'main');
    const file = 'domains/print-branches.yaml';
    rollbackPr = personCommit('pr', file, 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3', 'roll back');
    repo.git('update-ref', 'refs/heads/main', rollbackPr, base);
    const merged = await pass('rollback merged', { planFlags: ['--rev', rollbackPr, '--base', base] });
    expect(merged.revision).toBe(rollbackPr);
    rollbackPlan = await planAt(merged);
    rollbackPlanWithoutStatus = await planAt(merged, ['--no-status']);
    for (let i = 8; i <= PASSES; i++) await pass(`rollback under way, pass ${i}`);
  }, 120_000);

  afterAll(async () => {
    await loop.shutdown();
    repo.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  const decided = (point: Point, t: TargetId) => point.decisions.get(t);

  it('the rollout moved: commands were sent and statuses changed over the passes', () => {
    expect(points).toHaveLength(PASSES);
    const sent = points.flatMap((p) => [...p.decisions.values()].flatMap((d) => d.commands));
    const actions = [...new Set(sent.map((c) => c.split(' ')[0]))];
    expect(actions).toEqual(expect.arrayContaining(['apply', 'backup', 'restart', 'stage']));
    const paris = 'domain/print-paris' as TargetId;
    expect(decided(points[0]!, 'domain/print-branches' as TargetId)?.reason).toBe('ServerUnreachable');
    const moved = [decided(points[0]!, paris)?.reason, decided(points[5]!, paris)?.phase];
    expect(moved).toEqual(['WaitingForMaster', 'Converged']);
  });

  /** Plan's decisions for every target, in the shape recorded for `run`. */
  function decisionsOf(report: PlanJson): Map<TargetId, Decision> {
    const out = new Map<TargetId, Decision>();
    for (const t of report.targets) {
      expect(t.outcome, t.target).toBe('planned');
      const commands = [...new Set(t.commands.map(commandKey))].sort();
      out.set(t.target, { commands, phase: t.phase, reason: t.reason, summary: t.summary });
    }
    return out;
  }

  it.each(Array.from({ length: PASSES }, (_, i) => i))('pass %#: plan decides what run decided', async (i) => {
    const point = points[i]!;
    const report = await planAt(point);
    expect(report.revision).toBe(point.revision);
    // Read where the flags say: --status-from, else --base, else the planned revision.
    const flag = (name: string) => point.planFlags[point.planFlags.indexOf(name) + 1];
    const statusAt = point.planFlags.includes('--status-from') ? flag('--status-from')
      : point.planFlags.includes('--base') ? flag('--base') : point.revision;
    expect(report.previousStatus.revision).toBe(statusAt);
    expect(Object.fromEntries(decisionsOf(report)), point.name).toEqual(Object.fromEntries(point.decisions));
  });

  it.each(Array.from({ length: PASSES }, (_, i) => i))(
    'pass %#: plan at the branch head, status read there (the default), decides the same',
    async (i) => {
      // The head is a status commit (or the merge) over the same desired files: only the revision id differs.
      const point = points[i]!;
      const report = await planAt(point, [], ['--rev', point.head]);
      expect(report.previousStatus).toMatchObject({ from: 'rev', revision: point.head });
      expect(Object.fromEntries(decisionsOf(report)), point.name).toEqual(Object.fromEntries(point.decisions));
    },
  );

  it('a pull request that rolls a version back plans the rollback from the base\'s status', () => {
    expect(rollbackPlan.previousStatus).toMatchObject({ from: 'base', targets: 7 });
    const branches = rollbackPlan.targets.find((t) => t.target === 'domain/print-branches')!;
    expect(branches.reason).not.toBe('MemberAhead');
    const downgrades = branches.steps.filter((s) => s.version === '6.1.3').map((s) => `${s.action} ${s.member}`);
    expect(downgrades).toEqual(expect.arrayContaining(['apply wd-branches-master']));
    expect(branches.commands.length).toBeGreaterThan(0);
    expect(branches.commands.every((c) => c.version === '6.1.3')).toBe(true);

    // Without the status in Git, the same revision reads as servers ahead, left alone.
    const blind = rollbackPlanWithoutStatus.targets.find((t) => t.target === 'domain/print-branches')!;
    const none = { from: 'none', revision: null, targets: 0, skipped: [] };
    expect(rollbackPlanWithoutStatus.previousStatus).toEqual(none);
    expect(blind.reason).toBe('MemberAhead');
    expect(blind.commands).toEqual([]);
  });
});
