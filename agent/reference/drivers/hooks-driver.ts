/**
 * The hooks driver: a directory of executables, one per action, that a real installation
 * fills in (shell scripts, PowerShell wrappers, anything executable):
 *
 *   inventory        prints `{"components": [...], "facts": {...}}` on stdout: what the
 *                    machine runs, in the shapes of `schemas/agent-report.schema.json`
 *                    (`components` items and `facts`). Called before every report.
 *   stage            optional: the agent has already downloaded and verified the package
 *                    into its store ($VERSIOND_PACKAGE); a hook may copy it somewhere.
 *   apply            install $VERSIOND_PACKAGE (verified just before the call).
 *   restart, backup, sync, migrate, end-update-mode
 *                    the other actions of `schemas/agent-command.schema.json`.
 *
 * Each hook runs in the hooks directory with these variables (empty when not applicable):
 * VERSIOND_COMMAND_ID, VERSIOND_ACTION, VERSIOND_TARGET, VERSIOND_MEMBER, VERSIOND_PRODUCT,
 * VERSIOND_VERSION, VERSIOND_PACKAGE, and the command's JSON on stdin (its `params`, e.g. the
 * files of a `sync`). Exit 0 is success; the last line the hook printed (stdout on success,
 * stderr first on failure) is the message reported to the controller. A hook running longer
 * than its timeout (30 min by default) is killed with its whole process group. An action
 * without a hook fails with "no hook for <action>".
 *
 * Hooks MUST BE IDEMPOTENT. If the agent is killed while a hook runs, the command is resumed
 * at restart: an `apply` whose version `inventory` already reports (or an `end-update-mode`
 * whose server reports normal mode) is taken as done, anything else is run again. Hooks run
 * in their own process group, so a hook outlives a SIGKILL of the agent: a long hook should
 * take a lock (`flock`) so that the resumed run waits for the orphaned one.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AgentCommand } from '../protocol.ts';
import { REPORT_SCHEMA } from '../protocol.ts';
import { schemaProblem } from '../protocol-validation.ts';
import { abortError, type Driver, type Inventory, type RunContext, type RunOutcome } from './driver.ts';
import { runProcess, type ProcessOutcome } from './run-process.ts';

export interface HooksDriverOptions {
  /** Per hook, default 30 min. */
  readonly timeoutMs?: number;
  /** For `inventory`, called before every report: default 60 s. */
  readonly inventoryTimeoutMs?: number;
  /** After SIGTERM, how long a killed hook has before SIGKILL (default 5 s). */
  readonly killGraceMs?: number;
}

const HOOK_NAMES = ['inventory', 'stage', 'apply', 'restart', 'backup', 'sync', 'migrate', 'end-update-mode'] as const;

export class HooksDriver implements Driver {
  readonly description: string;
  readonly dir: string;
  private readonly timeoutMs: number;
  private readonly inventoryTimeoutMs: number;
  private readonly killGraceMs: number;

  constructor(dir: string, options: HooksDriverOptions = {}) {
    this.dir = resolve(dir);
    this.description = `hooks:${this.dir}`;
    this.timeoutMs = options.timeoutMs ?? 30 * 60_000;
    this.inventoryTimeoutMs = options.inventoryTimeoutMs ?? 60_000;
    this.killGraceMs = options.killGraceMs ?? 5_000;
  }

  /** The hooks present and executable, for the start-up log. */
  async presentHooks(): Promise<string[]> {
    const present: string[] = [];
    for (const name of HOOK_NAMES) if ((await this.hookState(name)) === 'ok') present.push(name);
    return present;
  }

  async inventory(): Promise<Inventory> {
    const hook = join(this.dir, 'inventory');
    const state = await this.hookState('inventory');
    if (state !== 'ok') throw new Error(`hook ${hook} ${state === 'missing' ? 'is missing: the agent cannot tell what this machine runs' : 'is not executable'}`);
    const out = await runProcess(hook, {
      cwd: this.dir,
      env: hookEnv({ action: 'inventory' }),
      input: '',
      timeoutMs: this.inventoryTimeoutMs,
      killGraceMs: this.killGraceMs,
    });
    if (out.code !== 0 || out.timedOut) throw new Error(`hook ${hook} ${failureText(out, this.inventoryTimeoutMs)}`);
    if (out.stdoutTruncated) throw new Error(`hook ${hook} printed more than 1 MiB`);
    let value: unknown;
    try {
      value = JSON.parse(out.stdout);
    } catch (err) {
      throw new Error(`hook ${hook} did not print JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`hook ${hook} must print an object {"components": [...], "facts": {...}}`);
    const { components, facts, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new Error(`hook ${hook} printed an invalid inventory: ${extra[0]}: is not a field of an inventory (components, facts)`);
    // Checked as the report it becomes: what the controller would refuse is the hook's error, named here.
    const problem = schemaProblem(REPORT_SCHEMA, { sequence: 0, components, ...(facts !== undefined ? { facts } : {}) });
    if (problem !== undefined) throw new Error(`hook ${hook} printed an invalid inventory: ${problem}`);
    return facts === undefined ? { components: components as Inventory['components'] } : { components: components as Inventory['components'], facts: facts as Inventory['facts'] };
  }

  async run(command: AgentCommand, ctx: RunContext): Promise<RunOutcome> {
    const hook = join(this.dir, command.action);
    const state = await this.hookState(command.action);
    if (state === 'missing') {
      // The package is already downloaded and verified in the agent's store: that IS staging.
      if (command.action === 'stage') return { ok: true, message: `${command.version ?? 'package'} staged and verified (no stage hook)` };
      return { ok: false, message: `no hook for ${command.action} (${hook})` };
    }
    if (state === 'not-executable') return { ok: false, message: `hook ${hook} is not executable` };
    const out = await runProcess(hook, {
      cwd: this.dir,
      env: hookEnv({
        id: command.id,
        action: command.action,
        target: command.target,
        member: command.member,
        product: command.product ?? command.artifact?.product,
        version: command.version ?? command.artifact?.version,
        packagePath: ctx.packagePath,
      }),
      input: `${JSON.stringify(command)}\n`,
      timeoutMs: this.timeoutMs,
      killGraceMs: this.killGraceMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (out.aborted) throw abortError(`hook ${command.action}`);
    if (out.code === 0 && !out.timedOut) return { ok: true, message: lastLine(out.stdout) ?? lastLine(out.stderr) ?? `hook ${command.action} succeeded` };
    return { ok: false, message: `hook ${command.action} ${failureText(out, this.timeoutMs)}` };
  }

  private async hookState(name: string): Promise<'ok' | 'missing' | 'not-executable'> {
    const path = join(this.dir, name);
    try {
      await access(path, constants.F_OK);
    } catch {
      return 'missing';
    }
    try {
      await access(path, constants.X_OK);
      return 'ok';
    } catch {
      return 'not-executable';
    }
  }
}

function hookEnv(v: { id?: string; action: string; target?: string; member?: string; product?: string | undefined; version?: string | undefined; packagePath?: string | undefined }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    VERSIOND_COMMAND_ID: v.id ?? '',
    VERSIOND_ACTION: v.action,
    VERSIOND_TARGET: v.target ?? '',
    VERSIOND_MEMBER: v.member ?? '',
    VERSIOND_PRODUCT: v.product ?? '',
    VERSIOND_VERSION: v.version ?? '',
    VERSIOND_PACKAGE: v.packagePath ?? '',
  };
}

/** `failed (exit 3): disk full`, `timed out after 30 min`, `could not be started: EACCES`. */
function failureText(out: ProcessOutcome, timeoutMs: number): string {
  if (out.startError !== undefined) return `could not be started: ${out.startError}`;
  if (out.timedOut) return `timed out after ${formatDuration(timeoutMs)} and was killed`;
  const how = out.code !== null ? `exit ${out.code}` : `killed by ${out.signal ?? 'a signal'}`;
  const said = lastLine(out.stderr) ?? lastLine(out.stdout);
  return said === undefined ? `failed (${how})` : `failed (${how}): ${said}`;
}

function lastLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1];
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
