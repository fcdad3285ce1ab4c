import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoPackageServer, type DemoPackageServer } from '../../../agent/demo-package-server.ts';
import { AgentCredentials } from '../../../controller/agents/agent-credentials.ts';
import { TempRepo } from '../../helpers/git-repo.ts';
import { AgentProcess, type SimulatedSetup } from './agent-process.ts';
import { ControllerProcess } from './controller-process.ts';
import { freePort } from './free-port.ts';
import { StatusRepo } from './status-repo.ts';
import { waitFor } from './wait.ts';

export interface ScenarioOptions {
  /** The desired-state repository: path → YAML text. */
  readonly files: Readonly<Record<string, string>>;
  /** One agent process per entry: its id and its simulated machine. */
  readonly agents: Readonly<Record<string, SimulatedSetup>>;
  /** `--console-id` (distribution-server syncs). */
  readonly consoleId?: string;
  /** Credential refs to store (each with a secret file) in the controller's `credentials.yaml`. */
  readonly credentials?: readonly string[];
  /** Path fragments the AGENTS' package mirror serves altered; the controller's mirror stays clean. */
  readonly tamperedForAgents?: readonly string[];
  /** More `versiond run` flags. */
  readonly controllerArgs?: readonly string[];
}

/**
 * A whole installation in temporary folders, each part a real process or a real server:
 *
 *  - a work repository holding the desired state, cloned BARE: the controller watches the
 *    bare one and commits status to it, as it would to a repository on a Git server;
 *  - the controller (`controller-process.ts`) on a fixed 127.0.0.1 port, with its own state
 *    dir where every agent's token is registered (`AgentCredentials`, what `versiond agents
 *    add` uses);
 *  - one reference agent process per agent, simulated driver (`agent-process.ts`);
 *  - two demo package mirrors (`agent/demo-package-server.ts`), one for the controller and
 *    one for the agents, so a test can tamper with what the agents download while the
 *    controller's own check of the release passes.
 */
export class Scenario {
  readonly status: StatusRepo;
  readonly agents = new Map<string, AgentProcess>();

  private constructor(
    readonly root: string,
    readonly work: TempRepo,
    readonly bare: string,
    readonly stateDir: string,
    readonly controller: ControllerProcess,
    readonly controllerPackages: DemoPackageServer,
    readonly agentPackages: DemoPackageServer,
  ) {
    this.status = new StatusRepo(bare);
  }

  static async create(options: ScenarioOptions): Promise<Scenario> {
    const root = mkdtempSync(join(tmpdir(), 'versiond-e2e-'));
    const work = TempRepo.create({ fromExample: false, commit: false });
    for (const [path, text] of Object.entries(options.files)) work.write(path, text);
    work.commitAll('desired state');
    const bare = join(root, 'fleet.git');
    work.git('clone', '-q', '--bare', work.dir, bare);

    const stateDir = join(root, 'controller-state');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    if (options.credentials !== undefined && options.credentials.length > 0) {
      const secrets = join(root, 'secrets');
      mkdirSync(secrets, { recursive: true, mode: 0o700 });
      const entries = options.credentials.map((ref) => {
        writeFileSync(join(secrets, ref), 'not-a-real-secret\n', { mode: 0o600 });
        return `  - ref: ${ref}\n    secretFile: ${join(secrets, ref)}\n`;
      });
      writeFileSync(join(stateDir, 'credentials.yaml'), `credentials:\n${entries.join('')}`);
    }
    const credentials = await AgentCredentials.open(stateDir);
    const tokens = new Map<string, string>();
    for (const id of Object.keys(options.agents)) tokens.set(id, await credentials.add(id));

    const controllerPackages = await startDemoPackageServer();
    const agentPackages = await startDemoPackageServer();
    for (const fragment of options.tamperedForAgents ?? []) agentPackages.tamper(fragment);

    const controller = new ControllerProcess({
      repo: bare,
      stateDir,
      port: await freePort(),
      artifactMirror: controllerPackages.mirror,
      ...(options.consoleId !== undefined ? { consoleId: options.consoleId } : {}),
      ...(options.controllerArgs !== undefined ? { args: options.controllerArgs } : {}),
    });
    const scenario = new Scenario(root, work, bare, stateDir, controller, controllerPackages, agentPackages);
    for (const [id, setup] of Object.entries(options.agents)) {
      scenario.agents.set(id, new AgentProcess(id, join(root, 'agents', id), { controllerUrl: controller.url, token: tokens.get(id)!, setup, artifactMirror: agentPackages.mirror }));
    }
    return scenario;
  }

  agent(id: string): AgentProcess {
    const a = this.agents.get(id);
    if (a === undefined) throw new Error(`no agent ${id} in this scenario`);
    return a;
  }

  /** Starts the controller, then every agent (in parallel). */
  async start(): Promise<void> {
    await this.controller.start();
    await Promise.all([...this.agents.values()].map((a) => a.start()));
  }

  /** Waits until the target's status at the head of the branch satisfies `test`. */
  async waitForStatus(target: string, test: (s: NonNullable<ReturnType<StatusRepo['status']>>) => boolean, what: string, timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        const s = this.status.status(target);
        return s !== undefined && test(s);
      },
      { what: `${target}: ${what}`, timeoutMs, intervalMs: 250, explain: () => this.explain() },
    );
  }

  /** What every target says and what every process logged last: the message of a timeout. */
  explain(): string {
    const targets = this.status.git('ls-tree', '-r', '--name-only', this.status.branch, 'status/').split('\n').filter(Boolean);
    const statuses = targets.map((path) => {
      const s = this.status.status(path.replace(/^status\//, '').replace(/\.yaml$/, ''));
      return `  ${path}: ${s?.phase} — ${s?.summary}${s?.members ? `\n${s.members.map((m) => `      ${m.name}: ${m.state} ${m.observed ?? ''} ${m.message ?? ''}`).join('\n')}` : ''}`;
    });
    const agents = [...this.agents.values()].map((a) => `  agent ${a.id}:\n    ${a.tail(6)}`);
    return ['statuses:', ...statuses, `controller (run ${this.controller.runs.length}):\n    ${this.controller.tail(20)}`, ...agents].join('\n');
  }

  /** Kills whatever still runs and removes every temporary folder. */
  async dispose(): Promise<void> {
    await Promise.all([this.controller.kill(), ...[...this.agents.values()].map((a) => a.kill())]);
    await Promise.all([this.controllerPackages.close(), this.agentPackages.close()]);
    rmSync(this.root, { recursive: true, force: true });
    this.work.dispose();
  }
}
