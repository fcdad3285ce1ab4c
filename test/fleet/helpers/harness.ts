/**
 * A controller running in-process on a real repository, with a real package mirror and a
 * temporary state dir, for a simulated fleet to talk to over real HTTP — and a fleet state dir
 * next to it. Timings are short (1 s report interval) so rollouts take seconds.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { controllerLoggerInto } from '../../helpers/memory-logger.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoPackageServer, type DemoPackageServer } from '../../../agent/demo-package-server.ts';
import { startController, type ControllerOptions, type RunningController } from '../../../controller/run/controller.ts';
import type { TargetStatus } from '../../../reconcilers/contract.ts';
import type { TargetId } from '../../../reconcilers/model/identity.ts';
import type { TempRepo } from '../../helpers/git-repo.ts';

export interface Harness {
  readonly repo: TempRepo;
  readonly controller: RunningController;
  readonly packages: DemoPackageServer;
  readonly controllerState: string;
  readonly fleetState: string;
  readonly logs: string[];
  status(target: string): TargetStatus | undefined;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** ds-paris's credential usable, ds-berlin's expired, as in the demo. */
export const EXAMPLE_CREDENTIALS = `credentials:
  - ref: ivanti-ds-paris
    secretFile: secrets/ds
  - ref: ivanti-ds-berlin
    secretFile: secrets/ds
    expires: 2026-01-15T00:00:00Z
`;

export async function startHarness(repo: TempRepo, options: { credentials?: string; controller?: Partial<ControllerOptions> } = {}): Promise<Harness> {
  const controllerState = mkdtempSync(join(tmpdir(), 'versiond-fleet-controller-'));
  const fleetState = mkdtempSync(join(tmpdir(), 'versiond-fleet-agents-'));
  if (options.credentials !== undefined) {
    mkdirSync(join(controllerState, 'secrets'));
    writeFileSync(join(controllerState, 'secrets', 'ds'), 'not a real secret\n');
    writeFileSync(join(controllerState, 'credentials.yaml'), options.credentials);
  }
  const packages = await startDemoPackageServer();
  const logs: string[] = [];
  const logger = controllerLoggerInto(logs, 'info');
  const controller = await startController({
    repo: repo.dir,
    stateDir: controllerState,
    port: 0,
    reportIntervalSeconds: 1,
    coalesceMs: 100,
    artifactMirror: packages.mirror,
    logger,
    ...options.controller,
  });
  await controller.ready();
  return {
    repo,
    controller,
    packages,
    controllerState,
    fleetState,
    logs,
    status: (target) => controller.loop.statusOf(target as TargetId),
    metrics: async () => (await fetch(`${controller.url}/metrics`)).text(),
    async close() {
      await controller.stop();
      await packages.close();
      rmSync(controllerState, { recursive: true, force: true });
      rmSync(fleetState, { recursive: true, force: true });
      repo.dispose();
    },
  };
}
