import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../helpers/git-repo.ts';
import { JsonLog, type LogLine } from './json-log.ts';
import { waitFor } from './wait.ts';

const BIN = join(ROOT, 'controller/cli/bin.js');

export interface ControllerProcessOptions {
  /** The bare repository the controller watches and commits status to. */
  readonly repo: string;
  readonly stateDir: string;
  /** Fixed across restarts, so agents find the controller again at the URL they were given. */
  readonly port: number;
  readonly artifactMirror: string;
  readonly consoleId?: string;
  /** More `versiond run` flags (they come last, so they override the defaults below). */
  readonly args?: readonly string[];
}

/** One run of the controller process, from spawn to exit. */
export interface ControllerRun {
  readonly child: ChildProcess;
  /** JSON log lines (stderr). */
  readonly log: JsonLog;
  /** stdout: `listening on URL`. */
  readonly stdout: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `versiond run` as a real process (`node controller/cli/bin.js run …`) that a test starts,
 * SIGKILLs and starts again on the same port, state dir and repository. Every run's log is
 * kept: the invariants of a crash test are checked against what ALL runs said they did.
 */
export class ControllerProcess {
  readonly url: string;
  readonly runs: ControllerRun[] = [];

  constructor(private readonly options: ControllerProcessOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  get current(): ControllerRun | undefined {
    const last = this.runs.at(-1);
    return last !== undefined && last.child.exitCode === null && last.child.signalCode === null ? last : undefined;
  }

  /** Starts a run and resolves once it listens. */
  async start(): Promise<ControllerRun> {
    if (this.current !== undefined) throw new Error('the controller is already running');
    const o = this.options;
    const args = [
      BIN,
      'run',
      '--repo', o.repo,
      '--listen', `127.0.0.1:${o.port}`,
      '--state-dir', o.stateDir,
      '--artifact-mirror', o.artifactMirror,
      '--report-interval', '1',
      '--heartbeat-timeout', '6',
      // Longer than an agent's back-off after a few seconds without a controller (1, 2, 4, 8 s,
      // jittered): a target waits for its agents' first reports, and ends the warm-up as soon as
      // all reported. Shorter, a restarted controller commits members it has not heard from yet
      // as not updated — right (unknown is not yes), but not the story these tests check.
      '--warm-up', '20',
      '--coalesce', '0.2',
      '--log-format', 'json',
      ...(o.consoleId !== undefined ? ['--console-id', o.consoleId] : []),
      ...(o.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (stdout += d));
    const log = new JsonLog(child.stderr!);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const run: ControllerRun = { child, log, stdout: () => stdout, exited };
    this.runs.push(run);
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(() => (gone ? Promise.reject(new Error(`the controller exited while starting:\n    ${log.tail()}`)) : /listening on http/.test(stdout)), {
      what: `the controller (run ${this.runs.length}) to listen on ${this.url}`,
      timeoutMs: 20_000,
      intervalMs: 25,
      explain: () => log.tail(),
    });
    return run;
  }

  /** SIGKILL: no chance to flush anything, as in a power cut of the process. */
  async kill(): Promise<void> {
    const run = this.current;
    if (run === undefined) return;
    run.child.kill('SIGKILL');
    await run.exited;
  }

  /** SIGTERM, and the exit code of the graceful stop. */
  async stop(): Promise<number | null> {
    const run = this.current;
    if (run === undefined) return null;
    run.child.kill('SIGTERM');
    return (await run.exited).code;
  }

  /** Every log line of every run, in order. */
  get lines(): LogLine[] {
    return this.runs.flatMap((r) => r.log.lines);
  }

  /** The commit of every "status committed" line of every run: what the controller said it committed. */
  statusCommits(): string[] {
    return this.lines.filter((l) => l.msg === 'status committed').map((l) => String(l['commit']));
  }

  /** Log lines at error level or above (pino: 50), of every run. */
  errors(): LogLine[] {
    return this.lines.filter((l) => typeof l['level'] === 'number' && l['level'] >= 50);
  }

  tail(n?: number): string {
    return this.runs.at(-1)?.log.tail(n) ?? '(never started)';
  }
}
