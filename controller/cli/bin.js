#!/usr/bin/env node
// Entry point of the `versiond` command. The product is TypeScript run through tsx, so
// `npm install` is all a user does: no separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
