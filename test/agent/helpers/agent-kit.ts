/** Small pieces the agent's tests share: commands with real ids, a logger that keeps its lines, temp dirs, polling. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { AgentCommand, Action, ArtifactRef } from '../../../agent/reference/protocol.ts';
import type { Driver, Inventory, RunContext, RunOutcome } from '../../../agent/reference/drivers/driver.ts';
import { commandId } from '../../../reconcilers/command-id.ts';
import type { TargetId } from '../../../reconcilers/model/identity.ts';

/** A command as a reconciler would send it, its id derived from (target, member, action, version). */
export function command(target: TargetId, member: string, action: Action, extra: { product?: string; version?: string; artifact?: ArtifactRef; params?: Record<string, unknown> } = {}): AgentCommand {
  const version = extra.version ?? extra.artifact?.version;
  const product = extra.product ?? extra.artifact?.product;
  return {
    id: commandId(target, member, action, version),
    action,
    target,
    member,
    ...(product !== undefined ? { product } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(extra.artifact !== undefined ? { artifact: extra.artifact } : {}),
    ...(extra.params !== undefined ? { params: extra.params } : {}),
  };
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function memoryLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `versiond-agent-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function waitUntil(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wraps a driver and counts the calls of `run` per command id and action: "runs once" is checked on it. */
export class CountingDriver implements Driver {
  readonly runs: Array<{ id: string; action: Action; packagePath?: string }> = [];
  readonly description: string;
  readonly memory: Driver['memory'];

  constructor(private readonly inner: Driver) {
    this.description = `counting ${inner.description}`;
    this.memory = inner.memory;
  }

  runsOf(id: string): number {
    return this.runs.filter((r) => r.id === id).length;
  }

  inventory(): Promise<Inventory> {
    return this.inner.inventory();
  }

  run(c: AgentCommand, ctx: RunContext): Promise<RunOutcome> {
    this.runs.push({ id: c.id, action: c.action, ...(ctx.packagePath !== undefined ? { packagePath: ctx.packagePath } : {}) });
    return this.inner.run(c, ctx);
  }

  clock(): number {
    return this.inner.clock?.() ?? Date.now();
  }
}

/** Writes an executable shell hook `name` into `dir`. */
export async function writeHook(dir: string, name: string, script: string): Promise<string> {
  const { writeFile, chmod } = await import('node:fs/promises');
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}
