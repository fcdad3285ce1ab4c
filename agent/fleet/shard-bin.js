#!/usr/bin/env node
// Entry point of one shard of a sharded `versiond-fleet` (see shard.ts): started by its
// coordinator (sharded-fleet.ts) with an IPC channel, never by hand. TypeScript through tsx,
// as bin.js; a larger libuv pool for the same reason (thousands of agents' state files).
process.env.UV_THREADPOOL_SIZE ??= '64';
const { register } = await import('tsx/esm/api');
register();
const { runShard } = await import('./shard.ts');
await runShard();
