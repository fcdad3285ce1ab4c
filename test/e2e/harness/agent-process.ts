import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulatedBehaviour } from '../../../agent/reference/drivers/simulated-driver.ts';
import type { StateFile } from '../../../agent/reference/agent-state.ts';
import type { ComponentReport, Facts } from '../../../agent/reference/protocol.ts';
import { ROOT } from '../../helpers/git-repo.ts';
import { JsonLog, type LogLine } from './json-log.ts';
import { waitFor } from './wait.ts';

const BIN = join(ROOT, 'agent/reference/bin.js');

/** What the simulated machine runs at first and how it behaves: the `--driver simulated:FILE` JSON. */
export interface SimulatedSetup {
  readonly components: readonly ComponentReport[];
  readonly facts?: Facts;
  readonly behaviour?: SimulatedBehaviour;
}

/** What an agent's log says happened to one command. */
export type CommandEventKind = 'started' | 'succeeded' | 'failed' | 'interrupted' | 'resumed' | 'already-done';

export interface CommandEvent {
  readonly agent: string;
  /** Which run of the agent process (1 = first start). */
  readonly run: number;
  /** Epoch ms, from the log line. */
  readonly time: number;
  readonly kind: CommandEventKind;
  readonly command: { readonly id: string; readonly action: string; readonly target: string; readonly member: string; readonly version?: string };
  readonly msg: string;
}

const EVENTS: ReadonlyArray<readonly [string, CommandEventKind]> = [
  ['command started:', 'started'],
  ['command succeeded:', 'succeeded'],
  ['command failed:', 'failed'],
  ['command interrupted', 'interrupted'],
  ['resuming a command journaled', 'resumed'],
  ['command journaled before a restart was already done', 'already-done'],
];

interface AgentRun {
  readonly child: ChildProcess;
  readonly log: JsonLog;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * One reference agent as a real process (`node agent/reference/bin.js`, simulated driver), in
 * its own folder: `token`, `machine.json` (the driver's setup) and `state/` (its state dir).
 * A test starts, SIGKILLs and restarts it; the logs of every run are kept, and the command
 * history is read back from them — the agent's own account of what it executed.
 */
export class AgentProcess {
  readonly runs: AgentRun[] = [];
  readonly stateDir: string;
  private readonly tokenFile: string;
  private readonly driverFile: string;

  constructor(
    readonly id: string,
    readonly dir: string,
    private readonly options: { readonly controllerUrl: string; readonly token: string; readonly setup: SimulatedSetup; readonly artifactMirror: string },
  ) {
    mkdirSync(dir, { recursive: true });
    this.stateDir = join(dir, 'state');
    this.tokenFile = join(dir, 'token');
    this.driverFile = join(dir, 'machine.json');
    writeFileSync(this.tokenFile, `${options.token}\n`, { mode: 0o600 });
    writeFileSync(this.driverFile, `${JSON.stringify(options.setup, null, 2)}\n`);
  }

  get current(): AgentRun | undefined {
    const last = this.runs.at(-1);
    return last !== undefined && last.child.exitCode === null && last.child.signalCode === null ? last : undefined;
  }

  /** Spawns the agent; resolves once it logged that it started (its state dir is locked and loaded). */
  async start(): Promise<void> {
    if (this.current !== undefined) throw new Error(`agent ${this.id} is already running`);
    const o = this.options;
    const child = spawn(
      process.execPath,
      [BIN, '--controller', o.controllerUrl, '--id', this.id, '--token-file', this.tokenFile, '--state-dir', this.stateDir, '--driver', `simulated:${this.driverFile}`, '--artifact-mirror', o.artifactMirror],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (stderr += d));
    const log = new JsonLog(child.stdout!);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.runs.push({ child, log, stderr: () => stderr, exited });
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`agent ${this.id} exited ${child.exitCode} while starting: ${stderr}\n    ${log.tail()}`);
        return log.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(`agent ${this.id} started`));
      },
      { what: `agent ${this.id} to start`, timeoutMs: 20_000, intervalMs: 25, explain: () => `${stderr}\n    ${log.tail()}` },
    );
  }

  async kill(): Promise<void> {
    const run = this.current;
    if (run === undefined) return;
    run.child.kill('SIGKILL');
    await run.exited;
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const run = this.current;
    if (run === undefined) return null;
    run.child.kill('SIGTERM');
    return (await run.exited).code;
  }

  /** Every log line of every run. */
  get lines(): LogLine[] {
    return this.runs.flatMap((r) => r.log.lines);
  }

  /** The commands this agent executed, from its own log lines, in order. */
  commandEvents(): CommandEvent[] {
    const out: CommandEvent[] = [];
    this.runs.forEach((r, i) => {
      for (const l of r.log.lines) {
        const msg = typeof l.msg === 'string' ? l.msg : '';
        const kind = EVENTS.find(([prefix]) => msg.startsWith(prefix))?.[1];
        const command = l['command'] as CommandEvent['command'] | undefined;
        if (kind === undefined || command === undefined) continue;
        out.push({ agent: this.id, run: i + 1, time: Number(l.time), kind, command, msg });
      }
    });
    return out;
  }

  /** The agent's state file as it is on disk now (its sequence, results, journal and simulated machine). */
  state(): (StateFile & { driver?: { components: ComponentReport[]; facts: Facts } }) | undefined {
    try {
      return JSON.parse(readFileSync(join(this.stateDir, 'state.json'), 'utf8')) as StateFile & { driver?: { components: ComponentReport[]; facts: Facts } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** What the simulated machine runs, per the state file. */
  component(product: string): ComponentReport | undefined {
    return this.state()?.driver?.components.find((c) => c.product === product);
  }

  tail(n?: number): string {
    return this.runs.at(-1)?.log.tail(n) ?? '(never started)';
  }
}
