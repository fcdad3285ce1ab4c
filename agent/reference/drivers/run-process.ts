/**
 * Runs one executable for the hooks driver, with the limits an unattended agent needs: a
 * timeout, output kept bounded, and a kill that reaches the whole process group (a shell
 * script's `sleep` or installer child would otherwise outlive it). The hook's input goes
 * to its stdin; a hook that does not read it is fine.
 */
import { spawn } from 'node:child_process';

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
  /** After SIGTERM, how long before SIGKILL (default 5 s). */
  readonly killGraceMs?: number;
}

const STDERR_TAIL = 64 * 1024;

export function runProcess(file: string, options: ProcessOptions): Promise<ProcessOutcome> {
  const maxStdout = options.maxStdoutBytes ?? 1024 * 1024;
  const ownGroup = process.platform !== 'win32';
  return new Promise((resolve) => {
    let stdout = '';
    let stdoutBytes = 0;
    let stdoutTruncated = false;
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;

    let child;
    try {
      child = spawn(file, [], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: ownGroup });
    } catch (err) {
      resolve({ code: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: false, startError: (err as Error).message, stdoutTruncated: false });
      return;
    }

    const kill = (sig: NodeJS.Signals): void => {
      try {
        if (ownGroup && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    const stop = (): void => {
      kill('SIGTERM');
      killTimer ??= setTimeout(() => kill('SIGKILL'), options.killGraceMs ?? 5_000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (code: number | null, signal: NodeJS.Signals | null, startError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, signal, stdout, stderr, timedOut, aborted, stdoutTruncated, ...(startError !== undefined ? { startError } : {}) });
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
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('close', (code, signal) => finish(exited?.code ?? code, exited?.signal ?? signal));
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      setTimeout(() => finish(code, signal), 200).unref();
    });
  });
}
