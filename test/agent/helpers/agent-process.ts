/** The agent as a real child process (`agent/reference/bin.js`), with its JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../agent/reference/bin.js', import.meta.url));

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  /** stderr, for diagnostics. */
  readonly stderr: () => string;
  waitForLine(test: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal). */
  readonly exited: Promise<number | NodeJS.Signals>;
}

export function startAgentProcess(args: readonly string[]): AgentProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) if (p.trim() !== '') lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal!)));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    async waitForLine(test, what, timeoutMs = 8_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(test);
        if (found) return found;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`agent process: no log line ${what} within ${timeoutMs} ms (exit ${child.exitCode}); stderr: ${err}; lines: ${lines.map((l) => l['msg']).join(' | ')}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
