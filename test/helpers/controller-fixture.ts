import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { controllerLoggerInto } from './memory-logger.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import type { AgentCommand } from '../../protocol/command.ts';
import { startController, type ControllerOptions, type RunningController } from '../../controller/run/controller.ts';
import { startDemoPackageServer, type DemoPackageServer } from '../../agent/demo-package-server.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import { EXAMPLE_REPO, TempRepo } from './git-repo.ts';

/** A small domain (seed 000): a master already at 6.1.4, one bidirectional slave with an endpoint, one mailbox slave. */
export function domainYaml(options: { release?: string; s1Endpoint?: string } = {}): string {
  return `apiVersion: versiond/v1
kind: Domain
metadata:
  name: print-test
spec:
  release: ${options.release ?? 'watchdoc-6.1.4'}
  master:
    name: wd-master
  slaves:
    - name: wd-s1
      sync: bidirectional
${options.s1Endpoint ? `      endpoint: ${options.s1Endpoint}\n` : ''}    - name: wd-s2
      sync: mailbox
`;
}

export const DOMAIN_AGENTS = ['wd-master', 'wd-s1', 'wd-s2'] as const;

/** A repository holding the two Watchdoc releases of the example and the test domain. */
export function domainRepo(options: { s1Endpoint?: string } = {}): TempRepo {
  const repo = TempRepo.create({ fromExample: false, commit: false });
  mkdirSync(repo.path('releases'), { recursive: true });
  mkdirSync(repo.path('domains'), { recursive: true });
  for (const r of ['watchdoc-6.1.3', 'watchdoc-6.1.4']) cpSync(join(EXAMPLE_REPO, 'releases', `${r}.yaml`), repo.path(`releases/${r}.yaml`));
  writeFileSync(repo.path('domains/print-test.yaml'), domainYaml(options));
  repo.commitAll('a test domain');
  return repo;
}

export interface Fixture {
  readonly repo: TempRepo;
  readonly stateDir: string;
  readonly controller: RunningController;
  readonly packages: DemoPackageServer;
  readonly tokens: ReadonlyMap<string, string>;
  readonly logs: string[];
  agent(id: string, components?: ComponentReport[]): FakeAgent;
  close(): Promise<void>;
}

/**
 * A controller running in-process on a real repository, with real tokens in a temporary
 * state dir and a real package mirror — everything `versiond run` has but the process.
 * Timings are shortened so tests run in seconds.
 */
export async function startFixture(options: {
  repo: TempRepo;
  agents: readonly string[];
  controller?: Partial<ControllerOptions>;
}): Promise<Fixture> {
  const stateDir = mkdtempSync(join(tmpdir(), 'versiond-state-'));
  const credentials = await AgentCredentials.open(stateDir);
  const tokens = new Map<string, string>();
  for (const id of options.agents) tokens.set(id, await credentials.add(id));
  const packages = await startDemoPackageServer();
  const logs: string[] = [];
  const logger = controllerLoggerInto(logs, 'debug');
  const controller = await startController({
    repo: options.repo.dir,
    stateDir,
    port: 0,
    reportIntervalSeconds: 1,
    heartbeatTimeoutMs: 1500,
    warmUpMs: 0,
    coalesceMs: 100,
    artifactMirror: packages.mirror,
    logger,
    ...options.controller,
  });
  await controller.ready();
  const agents: FakeAgent[] = [];
  return {
    repo: options.repo,
    stateDir,
    controller,
    packages,
    tokens,
    logs,
    agent(id, components = [{ product: 'watchdoc', version: '6.1.3', state: 'running' }]) {
      const a = new FakeAgent(controller.url, id, tokens.get(id) ?? 'vda_none', components);
      agents.push(a);
      return a;
    },
    async close() {
      for (const a of agents) a.stop();
      await controller.stop();
      await packages.close();
      rmSync(stateDir, { recursive: true, force: true });
      options.repo.dispose();
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly body: { commands?: AgentCommand[]; error?: string; field?: string; lastSequence?: number; message?: string };
}

/**
 * An agent reduced to the protocol: it reports, and when told to `follow`, it carries out
 * the commands of each answer by changing what it reports (stage → staged, apply → version)
 * and reporting the result — enough to drive a rollout without the reference agent.
 */
export class FakeAgent {
  sequence = 0;
  readonly results: CommandResult[] = [];
  readonly received: AgentCommand[][] = [];
  readonly ran: AgentCommand[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: string,
    readonly id: string,
    public token: string,
    public components: ComponentReport[],
  ) {}

  async report(extra: Record<string, unknown> = {}): Promise<Answer> {
    this.sequence++;
    const body = { sequence: this.sequence, sentAt: new Date().toISOString(), components: this.components, results: this.results, ...extra };
    const res = await fetch(`${this.url}/v1/agents/${encodeURIComponent(this.id)}/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = { status: res.status, body: (await res.json()) as Answer['body'] };
    if (answer.status === 200) this.received.push(answer.body.commands ?? []);
    return answer;
  }

  /** Runs the commands of an answer that have no result yet, as a real agent would. */
  run(commands: readonly AgentCommand[]): void {
    for (const c of commands) {
      if (this.results.some((r) => r.id === c.id)) continue;
      this.ran.push(c);
      const component = this.components.find((x) => x.product === c.product);
      if (c.action === 'stage' && component && c.version) Object.assign(component, { staged: { version: c.version, verified: true } });
      if (c.action === 'apply' && component && c.version) {
        Object.assign(component, { version: c.version });
        delete (component as { staged?: unknown }).staged;
      }
      this.results.push({ id: c.id, status: 'succeeded', at: new Date().toISOString() });
    }
  }

  /** Reports every `ms`, running what each answer asks. */
  follow(ms = 100): void {
    const tick = async () => {
      try {
        const answer = await this.report();
        if (answer.status === 200) this.run(answer.body.commands ?? []);
      } catch {
        // the controller may be stopping
      }
      this.timer = setTimeout(() => void tick(), ms);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Polls `check` until it returns a value (not undefined/false) or `timeoutMs` passes. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
