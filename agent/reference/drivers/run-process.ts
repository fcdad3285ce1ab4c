/**
 * Runs one program for the hooks driver, with the limits an unattended agent needs: a
 * timeout, output kept bounded, and a kill that reaches the whole process tree (a shell
 * script's `sleep` or installer child would otherwise outlive it; see `kill-tree.ts`). The
 * hook's input goes to its stdin; a hook that does not read it is fine.
 */
import { spawn } from 'node:child_process';
import { hookSpawnOptions, killTree, type TreeKill } from './kill-tree.ts';

export interface ProcessOutcome {
  /** Exit code, or null when ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Ended by the timeout. */
  readonly timedOut: boolean;
  /** Ended because `signal` aborted. */
  readonly aborted: boolean;
  /** Could not be started (ENOENT, EACCES, ENOEXEC…): the error message. */
  readonly startError?: string;
  /** stdout went past `maxStdoutBytes` (its beginning is kept). */
  readonly stdoutTruncated: boolean;
}

export interface ProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly input: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** stdout kept (default 1 MiB: an inventory may be long); stderr keeps its last 64 KiB. */
  readonly maxStdoutBytes?: number;
  /** After the request to stop (SIGTERM, taskkill), how long before the forced kill (default 5 s). */
  readonly killGraceMs?: number;
  /** Windows: put `args` on the command line as written (cmd.exe /s /c quotes its own way). */
  readonly verbatimArgs?: boolean;
}

const STDERR_TAIL = 64 * 1024;

export function runProcess(file: string, args: readonly string[], options: ProcessOptions): Promise<ProcessOutcome> {
  const maxStdout = options.maxStdoutBytes ?? 1024 * 1024;
  return new Promise((resolve) => {
    let stdout = '';
    let stdoutBytes = 0;
    let stdoutTruncated = false;
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let tree: TreeKill | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

    let child;
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        ...hookSpawnOptions(),
        windowsVerbatimArguments: options.verbatimArgs ?? false,
      });
    } catch (err) {
      const startError = (err as Error).message;
      const nothing = { stdout: '', stderr: '', timedOut: false, aborted: false, stdoutTruncated: false };
      resolve({ code: null, signal: null, ...nothing, startError });
      return;
    }

    // No pid: it never started, and 'error' settles the outcome.
    const stop = (): void => {
      if (tree !== undefined || child.pid === undefined) return;
      tree = killTree(child.pid, { graceMs: options.killGraceMs ?? 5_000 });
    };
    // Once the hook has exited (its output draining) its outcome stands: nothing to stop, and on
    // Windows its pid may already belong to another process.
    const timer = setTimeout(() => {
      if (exited !== undefined) return;
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => {
      if (exited !== undefined) return;
      aborted = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (code: number | null, signal: NodeJS.Signals | null, startError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      const error = startError !== undefined ? { startError } : {};
      resolve({ code, signal, stdout, stderr, timedOut, aborted, stdoutTruncated, ...error });
    };

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const bytes = Buffer.byteLength(chunk);
      if (stdoutBytes + bytes > maxStdout) {
        stdoutTruncated = true;
        return;
      }
      stdoutBytes += bytes;
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > STDERR_TAIL) stderr = stderr.slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined); // EPIPE: the hook did not read its input, which is allowed
    child.stdin.end(options.input);

    child.on('error', (err) => finish(null, null, err.message));
    // 'close' waits for every holder of the pipes; a hook that starts a daemon hands them on,
    // so after 'exit' the output gets a short moment to drain, not forever.
    child.on('close', (code, signal) => finish(exited?.code ?? code, exited?.signal ?? signal));
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      tree?.leaderExited();
      setTimeout(() => finish(code, signal), 200).unref();
    });
  });
}
