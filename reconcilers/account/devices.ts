/**
 * Step 6, `reconcileDevices` — devices after their WRS (seeds 001, 003): a device behind a
 * WRS gets `apply` of V only when its WRS runs V, restarted, and serves it
 * (`wrs-serves-version`); remote (`cloud`) devices fetch from the vendor's cloud and never
 * wait for a WRS. Offline devices wait (`member-online`, DeviceOffline). `apply`, then
 * `restart` when the device reports V installed with a restart pending and `restartPolicy:
 * Immediate`; `LeaveToUser` → no restart command, state `PendingRestart`. `autoUpdate: true` →
 * no device command at all: device steps are `performedBy: 'device'`, never runnable, and
 * progress is only observed. Production devices wait with production (`production-admitted`).
 * Restarts are listed after every apply.
 */
import type { Blocker } from '../contract.ts';
import { CLOUD, type Device } from '../model/desired.ts';
import { appendLater, blocker, laterPass, listStep, listWithheldStep, type Ctx, type Desire } from './context.ts';
import {
  findComponent,
  progress,
  runStep,
  settle,
  stageOf,
  unreadableBlocker,
  withheldMember,
} from './member-progress.ts';
import { checkOnline } from './preconditions.ts';
import { wrsGate } from './repository-servers.ts';

export function reconcileDevices(ctx: Ctx): void {
  const { spec, tally, pass } = ctx;
  const agents = ctx.observed.agents;
  const ring = new Set(spec.testRing?.devices);
  const selfUpdating = spec.autoUpdate === true;
  const userRestarts = spec.restartPolicy === 'LeaveToUser';
  const deviceRestarts = selfUpdating || userRestarts ? ('device' as const) : undefined;
  const unknownWrs = new Map<string, Blocker>();
  const later = laterPass(ctx);
  const prod = ctx.prod!;
  const test = ctx.test;
  const prodHold = ctx.hold;
  // Wave members are the devices outside the test ring, in file order (governance/waves.ts).
  const { waveHold, withheld } = ctx;
  let wave = -1;
  for (const d of spec.devices) {
    if (!ring.has(d.name)) wave++;
    const inRing = test !== undefined && ring.has(d.name);
    const desire = inRing ? test : prod;
    const hold = inRing ? undefined : prodHold;
    desire.used = true;
    tally.devices++;
    const agent = d.agent ?? d.name;
    const obs = agents.get(agent);
    const comp = findComponent(obs, spec.product);
    const stage = stageOf(ctx, d.name, obs, comp, desire, false, true);
    if (stage === 'updated' || stage === 'ahead') {
      settle(ctx, d.name, agent, 'device', desire, comp, stage);
      continue;
    }
    const offline =
      obs?.online === true ? undefined : pass.blockerOf(checkOnline(`device ${d.name}`, 'DeviceOffline', obs));
    let b: Blocker | undefined;
    if (stage !== 'restart') {
      const gate =
        stage === 'unreadable'
          ? unreadableBlocker(d.name, comp)
          : d.repositoryServer === CLOUD
            ? undefined
            : deviceWrsGate(ctx, d, desire, unknownWrs);
      if (selfUpdating) {
        b = hold ?? desire.gate ?? gate ?? offline ?? desire.selfUpdate;
        listStep(pass, d.name, 'apply', desire.version, b, 'device');
      } else {
        const laterWave = waveHold !== undefined && wave >= waveHold.from && !ring.has(d.name);
        const waits = laterWave ? waveHold.blockerAt(wave) : undefined;
        b = runStep(ctx, pass, d.name, agent, 'mailbox', obs, 'apply', desire, hold, gate, offline, waits);
        if (b !== undefined && b === waits) {
          listWithheldStep(later, d.name, 'restart', desire.version, waits, deviceRestarts);
          withheld!.flags[wave] = 1;
          withheld!.count++;
          withheld!.first ??= waits;
          withheldMember(ctx, d.name, agent, 'device', desire, comp, waits);
          continue;
        }
      }
      listStep(later, d.name, 'restart', desire.version, desire.awaitInstall, deviceRestarts);
    } else if (deviceRestarts) {
      b = desire.pendingRestart;
      listStep(later, d.name, 'restart', desire.version, b, deviceRestarts);
    } else {
      b = runStep(ctx, later, d.name, agent, 'mailbox', obs, 'restart', desire, hold, undefined, offline);
    }
    progress(ctx, d.name, agent, 'device', desire, comp, b);
  }
  appendLater(ctx, later);
}

function deviceWrsGate(ctx: Ctx, d: Device, desire: Desire, unknown: Map<string, Blocker>): Blocker | undefined {
  const w = ctx.wrs.get(d.repositoryServer);
  if (w) return wrsGate(ctx, w, desire) ?? undefined;
  let b = unknown.get(d.repositoryServer);
  if (!b) {
    b = blocker('UnknownRepositoryServer', `WRS ${d.repositoryServer} is not declared in account ${ctx.name}`);
    unknown.set(d.repositoryServer, b);
  }
  return b;
}
