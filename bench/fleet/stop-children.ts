/**
 * Stops the benchmark's child processes (fleet, controller) in order: SIGTERM, then SIGKILL if
 * one has not exited within a minute, so a wedged child never outlives the benchmark.
 */
import type { ChildProcess } from 'node:child_process';

export async function stopChildren(children: readonly (ChildProcess | undefined)[]): Promise<void> {
  for (const child of children) {
    if (child === undefined || child.exitCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise<void>((r) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, 60_000);
      child.once('exit', () => {
        clearTimeout(timer);
        r();
      });
    });
  }
}
