#!/usr/bin/env node
// Entry point of the embedded demo (`npm start`). TypeScript run through tsx, like `versiond`:
// no build step.
import { register } from 'tsx/esm/api';

register();
const { runDemo } = await import('./demo.ts');
process.exitCode = await runDemo(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
