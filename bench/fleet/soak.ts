/**
 * The fleet benchmark's soak mode (`bench/fleet.bench.ts --soak 30m`): a fleet and a controller
 * left running for a long time, with a version change every `--change-every` (forward, then
 * back) and a share of agents going offline and back, to find what a single rollout does not
 * show: memory that grows from rollout to rollout, errors that appear after a while, a rollout
 * that stops converging. It reports whether every rollout Converged in Git, the controller's
 * RSS at the end against after the first rollout (goal: within 10 %), and every error-level
 * line of the controller's log (goal: none).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../test/e2e/harness/free-port.ts';
import os from 'node:os';
import { join } from 'node:path';
import { startDemoPackageServer } from '../../agent/demo-package-server.ts';
import { formatDuration, parseDuration } from '../../agent/fleet/duration.ts';
import { mib, round, table } from '../stats.ts';
import { writeFleetTokens } from './fleet-credentials.ts';
import { CommittedPhases } from './committed-phases.ts';
import { commitVersionChange, createFleetRepo, pushChange, type FleetRepo } from './fleet-repo.ts';
import { sampleProcess, sampleTree } from './process-sample.ts';
import { stopChildren } from './stop-children.ts';

export interface SoakOptions {
  readonly root: string;
  readonly exampleRepo: string;
  readonly agents: number;
  readonly intervalS: number;
  readonly coalesceS: number;
  /** `30m`, `3m`, `90s`. */
  readonly duration: string;
  readonly changeEvery: string;
  /** Share of agents that go offline now and then, in %. */
  readonly flapPercent: number;
  readonly fleetArgs: readonly string[];
  readonly json: boolean;
  readonly keep: boolean;
  readonly log: (line: string) => void;
  /** Starts a child process of the benchmark (`fleet.bench.ts`'s `start`). */
  readonly start: (name: string, script: string, args: readonly string[], log: string, heap: number) => ChildProcess;
  readonly children: Set<ChildProcess>;
}

/** A flapping agent is offline this long, this often. */
const FLAP_FOR_S = 20;
const FLAP_EVERY_S = 150;

interface Rollout {
  readonly n: number;
  readonly direction: 'forward' | 'back';
  readonly convergedS: number | undefined;
}

interface Flapping {
  readonly yaml: string;
  readonly flapping: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ms(text: string, what: string): number {
  const v = parseDuration(text);
  if (typeof v !== 'number' || v <= 0) {
    throw new Error(`${what}: ${JSON.stringify(text)} is not a duration (90s, 3m, 30m)`);
  }
  return v;
}

async function convergedAt(repo: FleetRepo, phases: CommittedPhases, revision: string | undefined): Promise<boolean> {
  const statuses = await phases.read();
  let n = 0;
  for (const [target, s] of statuses) {
    if (target.startsWith('source/')) continue;
    if (s.phase !== 'Converged' || (revision !== undefined && s.observedRevision !== revision)) return false;
    n++;
  }
  return n === repo.targets;
}

/** Offline periods of every flapping agent, spread so that a few are offline at any moment. */
function flapBehaviour(agents: readonly string[], percent: number, untilMs: number): Flapping {
  const every = percent > 0 ? Math.max(1, Math.round(100 / percent)) : 0;
  const rules: string[] = [];
  let i = 0;
  if (every > 0) {
    for (let a = every - 1; a < agents.length; a += every, i++) {
      const phase = 30 + ((i * 37) % FLAP_EVERY_S);
      const periods: string[] = [];
      for (let t = phase; t * 1000 < untilMs; t += FLAP_EVERY_S) periods.push(`{ after: ${t}s, for: ${FLAP_FOR_S}s }`);
      rules.push(`  - match: ${agents[a]}\n    offline: [${periods.join(', ')}]`);
    }
  }
  const agentRules = rules.length > 0 ? `agents:\n${rules.join('\n')}\n` : '';
  return { yaml: `defaults: { installTime: 2s, stepTime: 200ms }\n${agentRules}`, flapping: i };
}

export async function runSoak(o: SoakOptions): Promise<number> {
  const durationMs = ms(o.duration, '--soak');
  const changeEveryMs = ms(o.changeEvery, '--change-every');
  const dir = mkdtempSync(join(os.tmpdir(), 'versiond-fleet-soak-'));
  const { log } = o;
  log(`\nsoak: ${o.agents} agents for ${formatDuration(durationMs)}, a change every ${formatDuration(changeEveryMs)}, `
    + `${o.flapPercent} % flapping; in ${dir}`);
  const repo = createFleetRepo(dir, o.agents, o.exampleRepo);
  const phases = new CommittedPhases(repo.origin);
  const controllerState = join(dir, 'controller-state');
  const tokens = join(dir, 'tokens.json');
  writeFleetTokens(controllerState, tokens, repo.agents);
  const behaviour = flapBehaviour(repo.agents, o.flapPercent, durationMs + 30 * 60_000);
  const behaviourFile = join(dir, 'behaviour.yaml');
  writeFileSync(behaviourFile, behaviour.yaml);
  const mirror = await startDemoPackageServer();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const heap = Math.max(1024, Math.ceil(o.agents / 10_000) * 1536);
  const controllerLog = join(dir, 'controller.log');
  let fleet: ChildProcess | undefined;
  const controller = o.start('controller', 'controller/cli/bin.js', [
    'run', '--repo', repo.origin, '--state-dir', controllerState, '--listen', `127.0.0.1:${port}`,
    '--report-interval', String(o.intervalS),
    '--coalesce', String(o.coalesceS), '--artifact-mirror', mirror.mirror, '--log-format', 'json',
  ], controllerLog, heap);
  const rollouts: Rollout[] = [];
  let rssAfterFirstMiB: number | undefined;
  let rssEndMiB: number | undefined;
  let peakMiB = 0;
  let fleetPeakMiB = 0;
  try {
    const ready = (): Promise<boolean> => fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    for (const deadline = Date.now() + 60_000; !(await ready()); await sleep(250)) {
      if (Date.now() > deadline) throw new Error('the controller did not get ready within 60 s');
    }
    fleet = o.start('fleet', 'agent/fleet/bin.js', [
      '--controller', url, '--repo', repo.origin, '--tokens', tokens, '--state-dir', join(dir, 'fleet-state'),
      '--artifact-mirror', mirror.mirror, '--behaviour', behaviourFile, '--stats', join(dir, 'fleet-stats.json'),
      '--spread', String(o.intervalS), ...o.fleetArgs,
    ], join(dir, 'fleet.log'), heap * 2);
    const fleetStarted = Date.now();
    const startDeadline = Date.now() + Math.max(180_000, o.agents * 20);
    while (!(await convergedAt(repo, phases, undefined))) {
      if (Date.now() > startDeadline) throw new Error('the fleet did not converge at the first revision');
      await sleep(1000);
    }
    const took = round((Date.now() - fleetStarted) / 1000);
    log(`  every target Converged at the first revision, ${took} s after the fleet started`);

    const soakStart = Date.now();
    for (let n = 1; Date.now() - soakStart < durationMs; n++) {
      const direction = n % 2 === 1 ? 'forward' : 'back';
      commitVersionChange(repo, direction);
      const { startedAt, commit } = pushChange(repo);
      const nextChange = soakStart + n * changeEveryMs;
      let convergedS: number | undefined;
      while (Date.now() < Math.max(nextChange, startedAt + 10_000)) {
        const c = sampleProcess(controller.pid!);
        const f = fleet.pid !== undefined ? sampleTree(fleet.pid) : undefined;
        if (c) peakMiB = Math.max(peakMiB, mib(c.rssBytes));
        if (f) fleetPeakMiB = Math.max(fleetPeakMiB, mib(f.rssBytes));
        if (convergedS === undefined && (await convergedAt(repo, phases, commit))) {
          convergedS = round((Date.now() - startedAt) / 1000);
          log(`  rollout ${n} (${direction}): Converged in Git ${convergedS} s after the push`);
          if (rssAfterFirstMiB === undefined && c) rssAfterFirstMiB = mib(c.rssBytes);
        }
        await sleep(1000);
      }
      if (convergedS === undefined) {
        log(`  rollout ${n} (${direction}): NOT Converged within ${formatDuration(changeEveryMs)}`);
      }
      rollouts.push({ n, direction, convergedS });
    }
    const c = sampleProcess(controller.pid!);
    rssEndMiB = c ? mib(c.rssBytes) : undefined;
  } finally {
    await stopChildren([fleet, controller]);
    await mirror.close();
  }

  const errors = readFileSync(controllerLog, 'utf8').split('\n').filter((l) => /^\{.*"level":(50|60)[,}]/.test(l));
  const growth = rssAfterFirstMiB !== undefined && rssEndMiB !== undefined
    ? round(((rssEndMiB - rssAfterFirstMiB) / rssAfterFirstMiB) * 100, 1)
    : undefined;
  const allConverged = rollouts.length > 0 && rollouts.every((r) => r.convergedS !== undefined);
  process.stderr.write(`\nversiond fleet soak: ${o.agents} agents, ${formatDuration(durationMs)}, `
    + `a change every ${formatDuration(changeEveryMs)}, ${behaviour.flapping} agents flapping `
    + `(${FLAP_FOR_S} s offline every ${FLAP_EVERY_S / 60} min), report interval ${o.intervalS} s\n\n`);
  const rows = rollouts.map((r) => [r.n, r.direction, r.convergedS ?? 'NOT converged']);
  process.stderr.write(`${table(['rollout', 'direction', 'Converged in Git s'], rows)}\n\n`);
  const convergedCount = `${rollouts.filter((r) => r.convergedS !== undefined).length}/${rollouts.length}`;
  const growthText = growth === undefined ? '—' : `${growth > 0 ? '+' : ''}${growth} %`;
  process.stderr.write(`${table(['measure', 'value', 'goal', 'verdict'], [
    ['every rollout Converged', convergedCount, 'all', allConverged ? 'ok' : 'MISSED'],
    ['controller RSS after the first rollout that Converged', `${rssAfterFirstMiB ?? '—'} MiB`, '', ''],
    ['controller RSS at the end', `${rssEndMiB ?? '—'} MiB (${growthText})`, '≤ +10 %',
      growth === undefined ? '—' : growth <= 10 ? 'ok' : 'MISSED'],
    ['controller peak RSS (sampled)', `${peakMiB} MiB`, '', ''],
    ['fleet peak RSS, all processes (sampled)', `${fleetPeakMiB} MiB`, '', ''],
    ['error lines in the controller log', String(errors.length), 'none', errors.length === 0 ? 'ok' : 'MISSED'],
  ])}\n`);
  for (const line of errors.slice(0, 20)) process.stderr.write(`  ${line.slice(0, 400)}\n`);
  if (o.json) {
    const soak = {
      agents: o.agents, durationMs, changeEveryMs, flapping: behaviour.flapping, rollouts,
      rssAfterFirstMiB, rssEndMiB, growthPercent: growth, peakMiB, fleetPeakMiB, errors,
    };
    process.stdout.write(`${JSON.stringify({ soak }, null, 2)}\n`);
  }
  if (o.keep) log(`  kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return allConverged ? 0 : 1;
}
