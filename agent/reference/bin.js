#!/usr/bin/env node
// Entry point of the `versiond-agent` command. The agent is TypeScript run through tsx, so
// `npm install` is all a user does: no separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
