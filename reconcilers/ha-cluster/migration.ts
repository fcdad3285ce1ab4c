/**
 * Steps 8–9 of seed 004, "Den letzten UMS Server aktualisieren": the server updated LAST renews the
 * production schema; all other servers, waiting in update mode, then return to normal mode.
 */
import { attempt } from '../command-id.ts';
import { schemaLevel } from '../../protocol/version.ts';
import { installed, type UmsMember } from './members.ts';
import { agentSays, type HAPass } from './pass.ts';
import { serversInNormalMode, updatedLast } from './preconditions.ts';
import { END_UPDATE_MODE_ACTION } from './servers.ts';

/**
 * 8. Once every server runs the release (running), the server updated last (preconditions.ts,
 * updated-last: the latest `installedAt`, else our apply's `at` — never the update order) migrates
 * the schema: `migrate` to it while it reports update mode (Progressing `MigratingSchema`; failed:
 * Failed `MigrationFailed`, halts). Which one is unknown (no install time) → held, Waiting
 * `ObservationMissing` naming the servers; a tie → Blocked `LastServerAmbiguous`.
 *
 * Migrated = every server runs the release and either every server reports normal mode (each has
 * connected to the production database), or the server updated last reports normal mode (it renewed
 * the schema itself) or our migrate on it succeeded.
 */
export function reconcileSchemaMigration(pass: HAPass): void {
  const { servers, version } = pass;
  if (servers.length === 0) return;
  const level = schemaLevel(version);
  if (!servers.every(installed)) {
    // Listed on the server expected to be updated last; who really is is known once all are done.
    const expected = [...servers].reverse().find((s) => !installed(s)) ?? servers[servers.length - 1]!;
    waitingNotes(pass, undefined, `runs ${version} in update mode on a local copy of the database and keeps serving ` +
      `devices; back to normal mode once the server updated last migrated the schema to ${level}`);
    pass.stepOf(expected, 'migrate', pass.halt ?? pass.block('WaitingForServers', `the server updated last migrates ` +
      `the production schema to ${level} once every server runs ${version} in update mode`));
    return;
  }
  if (servers.every((s) => s.mode === 'normal')) {
    pass.migrated = true;
    return;
  }
  const { answer, last } = updatedLast.last({ servers });
  if (last === undefined) {
    const message = `the server updated last migrates the production schema to ${level}: ` +
      `${answer.status === 'satisfied' ? '' : answer.message}`;
    const reason = answer.status === 'satisfied' ? 'ObservationMissing' : answer.reason;
    const on = servers.find((s) => s.updatedAt === undefined) ?? servers[servers.length - 1]!;
    pass.stepOf(on, 'migrate', pass.halt ?? pass.block(reason, message));
    pass.say(reason, message);
    waitingNotes(pass, undefined, message);
    return;
  }
  const { id, result } = attempt(last.obs, pass.target, last.name, 'migrate', version, pass.input.retryFailed);
  pass.migrated = last.mode === 'normal' || result?.status === 'succeeded';
  if (pass.migrated) return;
  waitingNotes(pass, last, `runs ${version} in update mode on a local copy of the database and keeps serving ` +
    `devices; ` +
    `back to normal mode once ${last.name}, updated last, migrated the schema to ${level}`);
  if (result?.status === 'failed') {
    const message = `migration of the production schema to ${level} failed on server ${last.name}: ` +
      `${agentSays(result)}`;
    pass.stepOf(last, 'migrate', pass.block('MigrationFailed', message));
    pass.noteOf(last, 'Failed', message);
    pass.say('MigrationFailed', message);
    pass.haltWith(pass.block('MigrationFailed', message));
    return;
  }
  const message = `server ${last.name}, updated last (${last.updatedAtFrom} ` +
    `${new Date(last.updatedAt!).toISOString()}), migrates the production database schema to ${level}`;
  if (result?.status === 'running') {
    pass.stepOf(last, 'migrate', pass.halt ?? pass.block('CommandRunning', message));
    pass.noteOf(last, 'Updating', message);
    if (!pass.halt) pass.say('MigratingSchema', message);
  } else if (pass.halt) {
    pass.stepOf(last, 'migrate', pass.halt);
  } else if (last.mode === undefined) {
    const why = `no mode reported by ${last.name}: the server updated last migrates the schema from update mode`;
    pass.stepOf(last, 'migrate', pass.block('ObservationMissing', why));
    pass.noteOf(last, 'Waiting', why);
    pass.say('ObservationMissing', why);
  } else if (!last.online) {
    const why = last.offlineMessage ?? `server ${last.name} offline`;
    pass.stepOf(last, 'migrate', pass.block('MemberOffline', why));
    pass.noteOf(last, 'Waiting', why);
    pass.say('MemberOffline', why);
  } else {
    pass.sendTo(last, 'migrate', id);
    pass.noteOf(last, 'Updating', message);
    pass.say('MigratingSchema', message);
  }
}

function waitingNotes(pass: HAPass, last: UmsMember | undefined, message: string): void {
  for (const s of pass.servers) {
    if (s !== last && installed(s) && s.mode === 'update') pass.noteOf(s, 'Updating', message);
  }
}

/**
 * 9. After the migration every server returns to normal mode. One still in update mode is STUCK:
 * its message names the action that ends it, and it gets `end-update-mode` once (running:
 * Progressing `EndingUpdateMode`; failed: Failed `EndUpdateModeFailed`; succeeded and still in update
 * mode: Blocked `StuckInUpdateMode`). A server that reports no mode is unknown and holds the load
 * balancers (servers-in-normal-mode).
 */
export function reconcileNormalMode(pass: HAPass): void {
  const { servers, version } = pass;
  if (pass.migrated) {
    for (const s of servers) {
      if (!installed(s)) continue;
      if (s.mode === undefined) {
        pass.noteOf(s, 'Waiting', `no mode reported by ${s.name}: normal mode is not confirmed`);
        continue;
      }
      if (s.mode !== 'update') continue;
      const stuck = `still in update mode after the schema migration: end it with ${END_UPDATE_MODE_ACTION}`;
      const { id, result } = attempt(s.obs, pass.target, s.name, 'end-update-mode', version, pass.input.retryFailed);
      if (result?.status === 'running') {
        const running = `${stuck} (end-update-mode running)`;
        pass.stepOf(s, 'end-update-mode', pass.halt ?? pass.block('CommandRunning', running));
        pass.noteOf(s, 'Updating', `${stuck} (end-update-mode running)`);
        if (!pass.halt) pass.say('EndingUpdateMode', `ending update mode on server ${s.name}`);
      } else if (result?.status === 'failed') {
        const message = `server ${s.name} is ${stuck} (the controller's end-update-mode failed: ${agentSays(result)})`;
        pass.stepOf(s, 'end-update-mode', pass.block('EndUpdateModeFailed', message));
        pass.noteOf(s, 'Failed', message);
        pass.say('EndUpdateModeFailed', message);
      } else if (result !== undefined) {
        const message = `server ${s.name} is ${stuck} (the controller's end-update-mode did not end it)`;
        pass.stepOf(s, 'end-update-mode', pass.block('StuckInUpdateMode', message));
        pass.noteOf(s, 'Waiting', message);
        pass.say('StuckInUpdateMode', message);
      } else if (pass.halt) {
        pass.stepOf(s, 'end-update-mode', pass.halt);
        pass.noteOf(s, 'Waiting', stuck);
      } else if (!s.online) {
        pass.stepOf(s, 'end-update-mode', pass.block('MemberOffline', s.offlineMessage ?? `server ${s.name} offline`));
        pass.noteOf(s, 'Waiting', `${stuck} (${s.offlineMessage})`);
        pass.say('MemberOffline', `server ${s.name} is ${stuck} (${s.offlineMessage})`);
      } else {
        pass.sendTo(s, 'end-update-mode', id);
        pass.noteOf(s, 'Waiting', `${stuck} (end-update-mode sent)`);
        pass.say('EndingUpdateMode', `server ${s.name} is ${stuck} (end-update-mode sent)`);
      }
    }
  }
  const settled = serversInNormalMode.check({ servers, migrated: pass.migrated, version, what: 'load balancers are ' +
    'updated' });
  pass.serversSettled = settled.status === 'satisfied';
  pass.serversGate = settled;
}
