/**
 * Runs every benchmark in bench/ (`*.bench.ts`), each in its own Node process so that
 * memory figures and "first load in the process" are not polluted by another benchmark.
 * Arguments are passed to every benchmark. With --json, prints one JSON object
 * `{ "<name>": <result>, ... }` on stdout (tables go to stderr).
 *
 *   npm run bench [-- --files 10000 --json ...]
 */
import { spawn } from 'node:child_process';
import { runIfMain } from './run-main.ts';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);

function runOne(file: string, args: readonly string[], json: boolean): Promise<{ code: number; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    // --expose-gc lets a benchmark report the heap it retains after a forced collection.
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file, ...args], {
      cwd: ROOT,
      stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 1 : 0), stdout }));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const files = readdirSync(BENCH_DIR).filter((f) => f.endsWith('.bench.ts')).sort();
  if (files.length === 0) {
    process.stderr.write('no *.bench.ts in bench/\n');
    return 1;
  }
  const results: Record<string, unknown> = {};
  let worst = 0;
  for (const f of files) {
    const name = basename(f, '.bench.ts');
    process.stderr.write(`\n== ${name}\n`);
    const { code, stdout } = await runOne(join(BENCH_DIR, f), argv, json);
    worst = Math.max(worst, code);
    if (json) {
      try {
        results[name] = JSON.parse(stdout);
      } catch {
        results[name] = { error: `exit code ${code}, no JSON result` };
      }
    }
    if (code !== 0) process.stderr.write(`== ${name}: exit code ${code}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return worst;
}

runIfMain(import.meta.url, main);
