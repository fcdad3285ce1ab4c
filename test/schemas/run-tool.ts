/**
 * Runs a third-party tool from node_modules/.bin as a child process, for the tests where that
 * tool is the judge (issue 14, items 9 and 10). Offline: Redocly's telemetry and update check
 * are switched off, and nothing else these tools do at lint or compile time uses the network.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/git-repo.ts';

export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for failure messages. */
  readonly command: string;
}

export function runTool(tool: string, args: readonly string[], cwd = ROOT): Promise<ToolRun> {
  const bin = join(ROOT, 'node_modules/.bin', tool);
  const env = {
    ...process.env,
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, command: `${tool} ${args.join(' ')}` }));
  });
}

/** Everything a run said, for an assertion message. */
export function transcript(run: ToolRun): string {
  return `$ ${run.command}\nexit ${String(run.code)}\n${run.stdout}${run.stderr}`;
}
