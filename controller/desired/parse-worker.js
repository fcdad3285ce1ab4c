// Entry point of a parse worker thread. Workers do not inherit the main thread's loader
// hooks on every Node version we support, so this registers tsx before loading the
// TypeScript implementation.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker-main.ts');
