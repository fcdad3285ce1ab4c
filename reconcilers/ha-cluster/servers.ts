/**
 * Steps 4 and 7 of seed 004, "Aktualisierung von UMS Servern": a server that crashed stops the
 * rollout; otherwise servers are updated ONE AT A TIME, in update order, each running in update
 * mode on a local copy of the database until the last one migrates the schema.
 */
import type { Blocker } from '../contract.ts';
import { beingUpdated, crashed, installed } from './members.ts';
import { agentSays, names, type HAPass } from './pass.ts';
import { oneAtATime } from './preconditions.ts';

/** The action that ends update mode by hand (seed 004, "Überprüfen der Installation"). */
export const END_UPDATE_MODE_ACTION = '"End update mode for local UMS Server" in UMS Administrator > Distributed UMS';

/**
 * 4. A server that crashed during its update (our apply failed, or it is stopped/failed in update
 * mode or after our apply) stops the rollout: Failed `ApplyFailed` / `ServerCrashed`, and a halt —
 * nothing further is sent, never the next server.
 */
export function reconcileServerHealth(pass: HAPass): void {
  const down = pass.servers.filter(crashed);
  if (down.length === 0) return;
  for (const s of down) {
    const failedApply = s.applyResult?.status === 'failed';
    const message = failedApply
      ? `apply of ${pass.version} failed on server ${s.name}: ${agentSays(s.applyResult)}; the rollout stops here ` +
        `(no ` +
        `other server is updated)`
      : `server ${s.name} crashed during the update (state ${s.state}, ${s.mode ?? 'unknown'} mode, version ` +
        `${s.observedVersion ?? 'unknown'}); the rollout stops here (no other server is updated)`;
    const reason = failedApply ? 'ApplyFailed' : 'ServerCrashed';
    pass.noteOf(s, 'Failed', message);
    pass.stepOf(s, 'apply', pass.block(reason, message));
    pass.say(reason, message);
  }
  pass.haltWith(pass.block('RolloutStopped', `the rollout stopped: ${names(down)} crashed during the update; a ` +
    `person ` +
    `must repair ${down.length === 1 ? 'it' : 'them'}`));
}

/**
 * 7. Servers one at a time, in update order. `apply` goes to the first server that has not installed
 * the release, only when every gate holds: no halt, the preflight satisfied (before the rollout
 * started), one-at-a-time satisfied (preconditions.ts: another server reporting no mode or state is
 * unknown, and holds), the server online, reporting `state: running` and `mode: normal` (absent: unknown,
 * held), and holding the installer. A server in update mode without an apply of this rollout (by hand,
 * or an earlier release) holds everything: Waiting `ServerInUpdateMode`, naming the action that ends it.
 */
export function reconcileServers(pass: HAPass): void {
  const { version, servers } = pass;
  const next = servers.find((s) => !installed(s) && !crashed(s));
  if (next === undefined) return;
  const progress = `${servers.filter(installed).length} of ${servers.length} servers updated`;
  for (const s of servers) {
    if (installed(s) || crashed(s)) continue;
    if (beingUpdated(s)) {
      // Running in update mode without any apply of ours: an update this rollout did not start.
      const foreign = !s.applyTried && s.state === 'running';
      const message = foreign
        ? `server ${s.name} is in update mode at ${s.observedVersion ?? 'an unknown version'}, not started by this ` +
          `rollout: finish that update or end it with ${END_UPDATE_MODE_ACTION}`
        : `server ${s.name} is being updated to ${version} (${s.mode ?? 'unknown'} mode, ` +
          `${s.state ?? 'state unknown'}, version ${s.observedVersion ?? 'unknown'}); ${progress}`;
      pass.stepOf(s, 'apply', pass.halt ?? pass.block(foreign ? 'ServerInUpdateMode' : 'ServerUpdating', message));
      pass.noteOf(s, foreign ? 'Waiting' : 'Updating', message);
      if (!pass.halt) pass.say(foreign ? 'ServerInUpdateMode' : 'UpdatingServer', message);
      continue;
    }
    if (s !== next) {
      const message = `waiting for server ${next.name} to finish its update: one server at a time`;
      pass.stepOf(s, 'apply', pass.halt ?? pass.block('WaitingForServer', message));
      pass.noteOf(s, s.stagedOk ? 'Staged' : 'Pending', pass.halt?.message ?? message);
      continue;
    }
    const blocker = gateOf(pass, s);
    if (blocker !== undefined) {
      pass.stepOf(s, 'apply', blocker);
      const waits = ['MemberOffline', 'ServerNotRunning', 'ObservationMissing'].includes(blocker.reason);
      pass.noteOf(s, s.stagedOk && !waits ? 'Staged' : waits ? 'Waiting' : 'Pending', blocker.message);
      continue;
    }
    const message = `updating server ${s.name} to ${version}; it runs in update mode on a local copy of the database ` +
      `meanwhile (${progress})`;
    pass.sendTo(s, 'apply', s.applyId);
    pass.noteOf(s, 'Updating', message);
    pass.say('UpdatingServer', message);
  }
}

/** What holds the next server's apply, in order; an outcome for the gates no earlier step reported. */
function gateOf(pass: HAPass, s: HAPass['servers'][number]): Blocker | undefined {
  if (pass.halt) return pass.halt;
  if (pass.preflightGate) return pass.preflightGate;
  const turn = oneAtATime.check({ servers: pass.servers, server: s });
  if (turn.status !== 'satisfied') {
    // another server being updated already says so itself; unknown has no other voice
    if (turn.status === 'unknown') pass.say(turn.reason, turn.message);
    return pass.blockerOf(turn);
  }
  if (!s.online) {
    const message = s.offlineMessage ?? `server ${s.name} offline`;
    pass.say('MemberOffline', message);
    return pass.block('MemberOffline', message);
  }
  if (s.state === undefined || s.mode === undefined) {
    const what = s.state === undefined ? 'state' : 'mode';
    const message = `no ${what} reported by ${s.name}: it must run in normal mode before its update`;
    pass.say('ObservationMissing', message);
    return pass.block('ObservationMissing', message);
  }
  if (s.state !== 'running') {
    const message = `server ${s.name} is ${s.state}: it must be running before its update`;
    pass.say('ServerNotRunning', message);
    return pass.block('ServerNotRunning', message);
  }
  if (!s.hasPackage) return pass.block('WaitingForInstaller', `waiting for the installer ${pass.version} to be ` +
    `staged ` +
    `and verified on server ${s.name}`);
  return undefined;
}
