/**
 * The hooks driver: a directory of hooks, one per action, that a real installation fills in
 * (shell scripts, PowerShell scripts, .cmd files, executables):
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
 * How an action's hook is found and run (hooks.json, then `apply`, `apply.ps1`, `apply.cmd`…)
 * is `hook-command.ts`; it is looked up again at each run, so a hook can be replaced without a
 * restart. Each hook runs in the hooks directory with these variables (empty when not
 * applicable): VERSIOND_COMMAND_ID, VERSIOND_ACTION, VERSIOND_TARGET, VERSIOND_MEMBER,
 * VERSIOND_PRODUCT, VERSIOND_VERSION, VERSIOND_PACKAGE, and the command's JSON on stdin (its
 * `params`, e.g. the files of a `sync`). Exit 0 is success; the last line the hook printed
 * (stdout on success, stderr first on failure) is the message reported to the controller. A
 * hook running longer than its timeout (30 min by default, or its `timeout` in hooks.json) is
 * ended with its process tree (`kill-tree.ts`). An action without a hook fails with
 * "no hook for <action>".
 *
 * Hooks MUST BE IDEMPOTENT. If the agent is killed while a hook runs, the command is resumed
 * at restart: an `apply` whose version `inventory` already reports (or an `end-update-mode`
 * whose server reports normal mode) is taken as done, anything else is run again. A hook
 * outlives a SIGKILL of the agent (on POSIX it has its own process group; Windows does not end
 * children with their parent): a long hook should take a lock so that the resumed run waits
 * for the orphaned one.
 */
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AgentCommand } from '../protocol.ts';
import { REPORT_SCHEMA } from '../protocol.ts';
import { schemaProblem } from '../protocol-validation.ts';
import { abortError, type Driver, type Inventory, type RunContext, type RunOutcome } from './driver.ts';
import {
  HOOK_NAMES, HOOKS_JSON, parseHooksConfig, resolveHook,
  type HookCheck, type HookName, type HookResolution, type HooksConfig,
} from './hook-command.ts';
import { runProcess, type ProcessOutcome } from './run-process.ts';

export interface HooksDriverOptions {
  /** Per hook, default 30 min; a hook's `timeout` in hooks.json wins. */
  readonly timeoutMs?: number;
  /** For `inventory`, called before every report: default 60 s. */
  readonly inventoryTimeoutMs?: number;
  /** After the request to stop (SIGTERM, taskkill), how long before the hook is forced (default 5 s). */
  readonly killGraceMs?: number;
}

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

  /**
   * The hooks present and runnable, for the start-up log.
   * An invalid hooks.json throws: the agent does not start.
   */
  async presentHooks(): Promise<string[]> {
    const config = await this.readConfig();
    const present: string[] = [];
    for (const name of HOOK_NAMES) if ((await this.locate(name, config)).kind === 'command') present.push(name);
    return present;
  }

  async inventory(): Promise<Inventory> {
    const found = await this.locate('inventory');
    if (found.kind === 'missing') {
      throw new Error(`hook ${found.expected} is missing: the agent cannot tell what this machine runs`);
    }
    if (found.kind === 'invalid') throw new Error(found.message);
    const { command } = found;
    const hook = command.label;
    const timeoutMs = command.timeoutMs ?? this.inventoryTimeoutMs;
    const out = await runProcess(command.file, command.args, {
      cwd: this.dir,
      env: hookEnv({ action: 'inventory' }),
      input: '',
      timeoutMs,
      killGraceMs: this.killGraceMs,
      verbatimArgs: command.verbatimArgs,
    });
    if (out.code !== 0 || out.timedOut) throw new Error(`hook ${hook} ${failureText(out, timeoutMs)}`);
    if (out.stdoutTruncated) throw new Error(`hook ${hook} printed more than 1 MiB`);
    let value: unknown;
    try {
      value = JSON.parse(out.stdout.replace(/^\uFEFF/, '')); // PowerShell may start its output with a BOM
    } catch (err) {
      throw new Error(`hook ${hook} did not print JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`hook ${hook} must print an object {"components": [...], "facts": {...}}`);
    }
    const { components, facts, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      const why = `${extra[0]}: is not a field of an inventory (components, facts)`;
      throw new Error(`hook ${hook} printed an invalid inventory: ${why}`);
    }
    // Checked as the report it becomes: what the controller would refuse is the hook's error, named here.
    const withFacts = facts !== undefined ? { facts } : {};
    const problem = schemaProblem(REPORT_SCHEMA, { sequence: 0, components, ...withFacts });
    if (problem !== undefined) throw new Error(`hook ${hook} printed an invalid inventory: ${problem}`);
    return { components: components as Inventory['components'], ...(withFacts as { facts?: Inventory['facts'] }) };
  }

  async run(command: AgentCommand, ctx: RunContext): Promise<RunOutcome> {
    const found = await this.locate(command.action);
    if (found.kind === 'missing') {
      // The package is already downloaded and verified in the agent's store: that IS staging.
      if (command.action === 'stage') {
        return { ok: true, message: `${command.version ?? 'package'} staged and verified (no stage hook)` };
      }
      return { ok: false, message: `no hook for ${command.action} (${found.expected})` };
    }
    if (found.kind === 'invalid') return { ok: false, message: found.message };
    const hook = found.command;
    const timeoutMs = hook.timeoutMs ?? this.timeoutMs;
    const out = await runProcess(hook.file, hook.args, {
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
      timeoutMs,
      killGraceMs: this.killGraceMs,
      verbatimArgs: hook.verbatimArgs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (out.aborted) throw abortError(`hook ${command.action}`);
    if (out.code === 0 && !out.timedOut) {
      return { ok: true, message: lastLine(out.stdout) ?? lastLine(out.stderr) ?? `hook ${command.action} succeeded` };
    }
    return { ok: false, message: `hook ${command.action} ${failureText(out, timeoutMs)}` };
  }

  /** hooks.json, if the directory has one; throws its problems. */
  private async readConfig(): Promise<HooksConfig | undefined> {
    const file = join(this.dir, HOOKS_JSON);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    return parseHooksConfig(text, { file, dir: this.dir });
  }

  /** The command line of `action`'s hook, checked on disk. */
  private async locate(action: HookName, known?: HooksConfig): Promise<HookResolution> {
    let config = known;
    if (config === undefined) {
      try {
        config = await this.readConfig();
      } catch (err) {
        return { kind: 'invalid', message: (err as Error).message };
      }
    }
    // Directories are not hooks; a missing hooks directory has none.
    const entries = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    const files = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    const found = resolveHook({ dir: this.dir, action, files, ...(config !== undefined ? { config } : {}) });
    if (found.kind !== 'command' || found.command.check === undefined) return found;
    const problem = await checkProblem(found.command.check);
    return problem === undefined ? found : { kind: 'invalid', message: problem };
  }
}

/** Why none of the check's paths can be run, or undefined when one can. */
async function checkProblem(check: HookCheck): Promise<string | undefined> {
  let exists = false;
  for (const path of check.paths) {
    try {
      await access(path, constants.F_OK);
    } catch {
      continue;
    }
    exists = true;
    if (!check.exec) return undefined;
    try {
      await access(path, constants.X_OK);
      return undefined;
    } catch {
      // try the next one
    }
  }
  return exists ? check.notExecutable : check.missing;
}

interface HookVariables {
  readonly id?: string;
  readonly action: string;
  readonly target?: string;
  readonly member?: string;
  readonly product?: string | undefined;
  readonly version?: string | undefined;
  readonly packagePath?: string | undefined;
}

function hookEnv(v: HookVariables): NodeJS.ProcessEnv {
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
