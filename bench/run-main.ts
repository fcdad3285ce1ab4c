import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs a benchmark's `main` when its file is the one node was started with (not when
 * `bench/run.ts` or another module imports it): exit code from `main`, a crash printed whole.
 */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (process.argv[1] === undefined || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
