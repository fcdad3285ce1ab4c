#!/usr/bin/env node
// Entry point of the `versiond-fleet` command (a simulated fleet). TypeScript run through
// tsx, like `versiond` and `versiond-agent`: no build step.
//
// Thousands of agents save their state files (when a command runs, when a machine changes, and
// once per block of reserved sequence numbers): bursts of file operations, which libuv runs on a
// thread pool of 4 by default — a queue in which every agent of the process waits, all at once.
// A larger pool, set before any file is touched (hence no static import above this line), keeps
// them flowing.
process.env.UV_THREADPOOL_SIZE ??= '64';
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
