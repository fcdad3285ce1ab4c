/**
 * The embedded demo (`npm start`): the whole of versiond in one process, with nothing to
 * install and no network.
 *
 *  1. A Git repository made from `example-repo/` (`demo-repos.ts`): a bare `origin.git` the
 *     controller watches, and a `work/` clone for the person trying it.
 *  2. The controller's state dir: a token for every agent, and a credential store where
 *     ds-paris's credential is usable and ds-berlin's expired (`demo-credentials.ts`).
 *  3. A package mirror serving the example's signed packages (`agent/demo-package-server.ts`).
 *  4. The controller (`startController`), logging to `controller.log`.
 *  5. The simulated fleet (`agent/fleet/`): one agent per member of every target, starting as
 *     `agent/example-observed.json` says, behaving as `behaviour.yaml` says — and playing the
 *     people the example waits for (an operator updating print-paris's Manual master, users
 *     restarting their ceBox devices) and the agents that come back online.
 *  6. A live view (`live-view.ts`): one line per target, what happens, and the status commits
 *     landing in `origin.git`. Once the rollouts settle (`settle.ts`), a summary and what to
 *     try next (`next-steps.ts`); it keeps running, reacting to pushes, until Ctrl-C.
 *
 *   versiond-demo [--dir DIR] [--once | --keep-running] [--fast] [--timeout SEC] [--no-color]
 *
 * `--once` exits once the rollouts settle (0), or at the timeout (1); `--fast` runs every
 * duration five times faster. A `--dir` that already holds a demo is resumed: the controller
 * and the agents continue from their state.
 */
import { createWriteStream, existsSync, readdirSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { CredentialStore } from '../../controller/credentials/credential-store.ts';
import type { DesiredState } from '../../controller/desired/load-desired-state.ts';
import { createLogger } from '../../controller/observability/logger.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import { startController, type RunningController } from '../../controller/run/controller.ts';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { startDemoPackageServer, type DemoPackageServer } from '../demo-package-server.ts';
import { FleetBehaviour } from '../fleet/behaviour.ts';
import { DesiredFollower } from '../fleet/desired-follower.ts';
import { Fleet } from '../fleet/fleet.ts';
import { planFleet } from '../fleet/fleet-plan.ts';
import { FleetTokens } from '../fleet/fleet-tokens.ts';
import { CommitFeed } from './commit-feed.ts';
import { writeDemoCredentials } from './demo-credentials.ts';
import { createDemoRepos } from './demo-repos.ts';
import { LiveView, type TargetRow } from './live-view.ts';
import { reasonOf, settledSummary, whatToTryNext, type DemoPaths } from './next-steps.ts';
import { writeObservedSnapshot } from './observed-snapshot.ts';
import { SettleWatch } from './settle.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE_REPO = join(ROOT, 'example-repo');
const EXAMPLE_OBSERVED = join(ROOT, 'agent', 'example-observed.json');
const BEHAVIOUR_FILE = fileURLToPath(new URL('./behaviour.yaml', import.meta.url));
const CONSOLE_ID = 'console-hq';

export const USAGE = `usage: versiond-demo [--dir DIR] [--once | --keep-running] [--fast] [--timeout SEC] [--no-color]

Runs versiond on its embedded example, in this one process: a Git repository made from
example-repo/, the controller, and a simulated fleet of agents. Shows the rollouts converging
and the status commits landing, then what to try next. Ctrl-C stops it.

  --dir DIR       where to put the repository, the state and the logs (default: a new
                  temporary directory); a directory holding a demo already is resumed
  --once          exit when the rollouts have settled (exit 0), or at the timeout (exit 1);
                  the default when the output is not a terminal
  --keep-running  keep running until Ctrl-C even when the output is not a terminal
                  (to look at the web view while the output goes to a file)
  --fast          every duration five times shorter (installs, offline periods, people)
  --timeout SEC   give up waiting for the rollouts to settle (default: 300, 120 with --fast)
  --no-color      no colours (also when NO_COLOR is set)
`;

export interface DemoIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

interface Args {
  readonly dir?: string;
  readonly once: boolean;
  readonly fast: boolean;
  readonly timeoutMs: number;
  readonly color: boolean;
}

class UsageError extends Error {}

function parse(argv: readonly string[], io: DemoIo): Args | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        dir: { type: 'string' },
        once: { type: 'boolean' },
        'keep-running': { type: 'boolean' },
        fast: { type: 'boolean' },
        timeout: { type: 'string' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const fast = values.fast === true;
  let timeoutMs = (fast ? 120 : 300) * 1000;
  if (values.timeout !== undefined) {
    const n = Number(values.timeout);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout: ${JSON.stringify(values.timeout)} is not a positive number of seconds`);
    timeoutMs = n * 1000;
  }
  return {
    ...(values.dir !== undefined ? { dir: resolve(values.dir) } : {}),
    // Output to a terminal: a person watches, and tries things while it keeps running. Piped or
    // in CI, nobody can press Ctrl-C: stop once the rollouts settle.
    once: values.once === true || (io.stdout.isTTY !== true && values['keep-running'] !== true),
    fast,
    timeoutMs,
    color: io.stdout.isTTY === true && values['no-color'] !== true && !process.env['NO_COLOR'],
  };
}

/** Runs the demo until Ctrl-C (or `stop` resolves, or `--once` settles); resolves with the exit code. */
export async function runDemo(argv: readonly string[], io: DemoIo, stop?: Promise<unknown>): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(argv, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`versiond-demo: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const t0 = Date.now();
  const elapsed = (): number => Date.now() - t0;
  const out = io.stdout;
  const tty = out.isTTY === true;

  const running: {
    packages?: DemoPackageServer;
    controller?: RunningController;
    fleet?: Fleet;
    follower?: DesiredFollower;
    feed?: CommitFeed;
    logs: WriteStream[];
    timers: NodeJS.Timeout[];
  } = { logs: [], timers: [] };
  const stopAll = async (): Promise<void> => {
    for (const t of running.timers) clearInterval(t);
    await running.fleet?.stop();
    await running.follower?.stop();
    await running.controller?.stop(); // commits the status still waiting for its interval
    await running.feed?.stop();
    await running.packages?.close();
    await Promise.all(running.logs.map((s) => new Promise<void>((r) => s.end(() => r()))));
  };

  let view: LiveView | undefined;
  try {
    // ------------------------------------------------------------ the directory, the repository, the state
    const dir = args.dir ?? (await mkdtemp(join(tmpdir(), 'versiond-demo-')));
    await mkdir(dir, { recursive: true });
    const paths: DemoPaths = {
      dir,
      origin: join(dir, 'origin.git'),
      work: join(dir, 'work'),
      observedFile: join(dir, 'observed.json'),
      credentialsFile: join(dir, 'state', 'controller', 'credentials.yaml'),
      controllerLog: join(dir, 'controller.log'),
      fleetLog: join(dir, 'fleet.log'),
      versiond: join(ROOT, 'controller', 'cli', 'bin.js'),
    };
    const controllerState = join(dir, 'state', 'controller');
    const fleetState = join(dir, 'state', 'fleet');
    const resumed = existsSync(paths.origin);
    if (!resumed && readdirSync(dir).length > 0) throw new UsageError(`--dir ${dir}: not empty and holds no demo; choose a new or empty directory`);
    if (!resumed) await createDemoRepos(dir, EXAMPLE_REPO);
    await mkdir(controllerState, { recursive: true, mode: 0o700 });
    const credentials = resumed && existsSync(paths.credentialsFile) ? undefined : await writeDemoCredentials(controllerState);
    const renewTo = credentials?.renewTo ?? `${new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`;

    // ------------------------------------------------------------ what the fleet is made of
    let latest: DesiredState | undefined;
    running.follower = new DesiredFollower({
      repo: paths.origin,
      onState: async (state) => {
        latest = state;
        await running.fleet?.applyDesired(state.objects);
      },
      onInvalid: (revision, errors) => view?.message(`revision ${revision.slice(0, 7)} is invalid (${errors} errors): the controller keeps acting on the last valid one — see controller.log or run versiond validate`, 'event'),
    });
    await running.follower.start();
    const first = await running.follower.first;
    const snapshot = await readObservedSnapshot(EXAMPLE_OBSERVED);
    if (!snapshot.ok) throw new Error(`${EXAMPLE_OBSERVED} is invalid`);
    const plan = planFleet(first.objects, { observed: snapshot.observed });
    // Registered before the controller starts, so it knows every agent from its first report.
    const tokens = await FleetTokens.open({ fleetStateDir: fleetState, controllerStateDir: controllerState });
    await tokens.ensure(plan.agents.map((a) => a.id));

    // ------------------------------------------------------------ the controller
    running.packages = await startDemoPackageServer();
    const controllerLog = createWriteStream(paths.controllerLog, { flags: 'a' });
    running.logs.push(controllerLog);
    const controller = (running.controller = await startController({
      repo: paths.origin,
      stateDir: controllerState,
      port: 0,
      consoleId: CONSOLE_ID,
      reportIntervalSeconds: args.fast ? 1 : 2,
      coalesceMs: args.fast ? 250 : 2000,
      artifactMirror: running.packages.mirror,
      logger: createLogger({ level: 'info', pretty: false, stream: controllerLog }),
    }));

    // ------------------------------------------------------------ the view, then the fleet
    view = new LiveView(out, { tty, color: args.color, columns: () => out.columns, elapsed });
    const offlineAtStart = plan.agents.filter((a) => a.startsOffline).map((a) => a.id);
    view.text(
      [
        `versiond demo${args.fast ? ' (--fast)' : ''}: a controller, ${plan.agents.length} simulated agents and a Git repository, in this one process.${resumed ? ' Resumed.' : ''}`,
        `  repository  ${paths.origin}   bare: the controller watches it and commits status to it`,
        `  your clone  ${paths.work}   edit, commit, push: see "what to try next" once it settles`,
        `  controller  ${controller.url}   log: ${paths.controllerLog}`,
        `  web view    ${controller.url}/   open it in a browser: rollouts, why members wait, approvals, history`,
        `  agents      ${plan.agents.length}, as agent/example-observed.json reported them${offlineAtStart.length > 0 ? ` (${offlineAtStart.join(', ')} offline)` : ''}   log: ${paths.fleetLog}`,
        `  packages    ${running.packages.mirror}   a mirror serving the example's signed packages`,
        '',
      ].join('\n'),
    );
    const fleetLog = createWriteStream(paths.fleetLog, { flags: 'a' });
    running.logs.push(fleetLog);
    const fleetLogger = pino({ level: 'info' }, fleetLog);
    const behaviour = await FleetBehaviour.read(BEHAVIOUR_FILE);
    running.fleet = await Fleet.start({
      controllerUrl: controller.url,
      stateDir: fleetState,
      plan,
      tokens,
      behaviour: args.fast ? behaviour.scaled(0.2) : behaviour,
      artifactMirror: running.packages.mirror,
      logger: fleetLogger,
      onEvent: (e) => {
        fleetLogger.info({ event: e.kind, agent: e.agent }, e.message);
        view?.message(e.message, 'event');
      },
    });
    if (latest !== undefined && latest !== first) await running.fleet.applyDesired(latest.objects);
    const fleet = running.fleet;

    running.feed = new CommitFeed(paths.origin, 'main', (commits) => {
      for (const c of commits) view?.message(`${c.oid.slice(0, 7)} ${c.subject}`, c.byController ? 'commit' : 'event');
    });
    await running.feed.start();
    const credentialStore = await CredentialStore.open(paths.credentialsFile);
    const snapshotNow = (): void =>
      void writeObservedSnapshot(paths.observedFile, controller.inventory, latest?.objects ?? first.objects, credentialStore).catch(() => undefined);
    snapshotNow();
    running.timers.push(setInterval(snapshotNow, 2000));

    // ------------------------------------------------------------ watch it converge
    const settle = new SettleWatch(args.fast ? 800 : 3000, args.fast ? 2500 : 12_000);
    let announcedOnce = false;
    const stopped = new Promise<string>((resolveStop) => {
      process.once('SIGINT', () => resolveStop('SIGINT'));
      process.once('SIGTERM', () => resolveStop('SIGTERM'));
      void stop?.then(() => resolveStop('stop'));
    });
    let interrupted: string | undefined;
    void stopped.then((why) => (interrupted = why));
    let exitCode = 0;
    for (;;) {
      const statuses = statusesOf(controller);
      view.update(statuses.rows, footerOf(fleet, running.feed.count, elapsed()));
      if (interrupted !== undefined) break;
      const now = Date.now();
      // Progressing means commands are out: something is bound to change. Waiting may be for good (a person must act).
      const ready =
        statuses.all.length === statuses.rows.length && statuses.all.every((s) => s.observedRevision === controller.loop.revision && s.phase !== 'Progressing') && !fleet.busy;
      const final = statuses.all.every((s) => s.phase === 'Converged' || s.phase === 'Blocked' || s.phase === 'Failed');
      const fingerprint = statuses.all.map((s) => `${s.target} ${s.phase} ${s.summary}`).join('\n');
      if (settle.observe({ now, fingerprint, ready, final })) {
        await running.feed.look();
        view.message(settledSummary(statuses.all, elapsed(), running.feed.count));
        if (!announcedOnce) view.text(whatToTryNext(paths, statuses.all, renewTo));
        announcedOnce = true;
        if (args.once) break;
      }
      if (!announcedOnce && elapsed() > args.timeoutMs) {
        view.message(`Not settled after ${(args.timeoutMs / 1000).toFixed(0)}s (--timeout).${settledSummary(statuses.all, elapsed(), running.feed.count)}`);
        view.text(whatToTryNext(paths, statuses.all, renewTo));
        announcedOnce = true;
        if (args.once) {
          exitCode = 1;
          break;
        }
      }
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 250))]);
    }
    view.close();
    out.write(`\nStopping: the agents save their state, the controller commits the status still pending…\n`);
    await stopAll();
    out.write(`Stopped. Everything stays in ${dir} — run again with --dir ${dir} to resume, or remove it.\n`);
    return exitCode;
  } catch (err) {
    view?.close();
    const usage = err instanceof UsageError;
    io.stderr.write(`versiond-demo: ${(err as Error).message}\n`);
    await stopAll().catch(() => undefined);
    return usage ? 2 : 1;
  }
}

/** Every target's status, as rows for the view (targets not reconciled yet show as Pending). */
function statusesOf(controller: RunningController): { rows: TargetRow[]; all: TargetStatus[] } {
  const rows: TargetRow[] = [];
  const all: TargetStatus[] = [];
  for (const target of [...controller.loop.targetIndex.targets].sort()) {
    const s = controller.loop.statusOf(target);
    if (s === undefined) {
      rows.push({ target, summary: 'waiting for its first reconcile (its agents\' first reports)', done: 0, total: controller.loop.targetIndex.agentsOf(target).length });
      continue;
    }
    all.push(s);
    const reason = reasonOf(s);
    rows.push({
      target,
      phase: s.phase,
      summary: s.summary,
      ...(reason !== undefined ? { reason } : {}),
      done: s.members.filter((m) => m.state === 'Updated').length,
      total: s.members.length,
    });
  }
  return { rows, all };
}

function footerOf(fleet: Fleet, commits: number, elapsedMs: number): string {
  return `  ${(elapsedMs / 1000).toFixed(0)}s · ${fleet.online}/${fleet.size} agents online · ${commits} commit${commits === 1 ? '' : 's'} landed · Ctrl-C stops`;
}
