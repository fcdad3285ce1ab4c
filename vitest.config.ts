import { defineConfig } from 'vitest/config';

/**
 * The files that keep both cores busy on their own (Chromium with a demo behind it; tsc, npm
 * pack and npm install): they run after the rest, so that the suite's timing-sensitive tests
 * never share the machine with them.
 */
const HEAVY = ['test/web/browser.test.ts', 'test/install/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two files at once (vitest's default is one on two cores): most tests wait on processes,
    // Git and timers rather than compute, so the suite takes about a fifth less time.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: HEAVY, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'heavy', include: HEAVY, sequence: { groupOrder: 1 } } },
    ],
  },
});
