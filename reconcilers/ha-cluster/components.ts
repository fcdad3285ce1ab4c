/**
 * Steps 10–12 of seed 004, "Weitere Komponenten aktualisieren" and "Überprüfen der Installation":
 * load balancers, then consoles, only once every server runs the release in normal mode; then the
 * check that every server and load balancer is updated, running and in normal mode.
 */
import type { Blocker } from '../contract.ts';
import { compareVersions, isValidVersion } from '../../protocol/version.ts';
import { HELD_BACK_MESSAGE } from './config.ts';
import { ROLE_LABEL, settledServer, updatedComponent, type UmsMember } from './members.ts';
import { agentSays, label, names, type HAPass } from './pass.ts';

type ComponentStep = 'updated' | 'sent' | 'running' | 'failed' | 'offline' | 'blocked' | 'ahead';

/** Newer than the release and Git did not move the release down from there: left alone. */
function ahead(pass: HAPass, m: UmsMember): boolean {
  const v = m.observedVersion;
  if (v === undefined || !isValidVersion(v) || compareVersions(v, pass.version) <= 0) return false;
  const from = pass.input.rollbackFrom;
  return from === undefined || compareVersions(v, from) > 0;
}

/** The `apply` of one load balancer or console, behind `gate`. */
function applyComponent(pass: HAPass, m: UmsMember, gate: Blocker | undefined): ComponentStep {
  if (updatedComponent(m)) return 'updated';
  if (ahead(pass, m)) {
    const message = `${label(m)} runs ${m.observedVersion}, newer than ${pass.version}, and Git did not move the ` +
      `release down: left alone`;
    pass.stepOf(m, 'apply', pass.block('MemberAhead', message));
    pass.noteOf(m, 'Ahead', message);
    pass.say('MemberAhead', message);
    return 'ahead';
  }
  if (m.observedVersion === undefined && m.applyResult === undefined) {
    // Its version could be newer (MemberAhead) or of another major.minor: never applied blind.
    const message = `no version reported by ${m.name}: the ${ROLE_LABEL[m.role]} is not updated until it reports the ` +
      `version it runs`;
    pass.stepOf(m, 'apply', pass.halt ?? pass.block('ObservationMissing', message));
    pass.noteOf(m, 'Waiting', message);
    if (!pass.halt) pass.say('ObservationMissing', message);
    return m.online ? 'blocked' : 'offline';
  }
  if (m.applyResult?.status === 'failed') {
    const reason = m.role === 'console' ? 'ConsoleFailed' : 'LoadBalancerFailed';
    const message = `apply of ${pass.version} failed on ${label(m)}: ${agentSays(m.applyResult)}`;
    pass.stepOf(m, 'apply', pass.block(reason, message));
    pass.noteOf(m, 'Failed', message);
    pass.say(reason, message);
    return 'failed';
  }
  if (m.applyResult?.status === 'running' || m.state === 'installing') {
    const message = `updating ${label(m)} to ${pass.version}`;
    pass.stepOf(m, 'apply', pass.halt ?? pass.block('CommandRunning', message));
    pass.noteOf(m, 'Updating', message);
    return 'running';
  }
  if (gate) {
    pass.stepOf(m, 'apply', gate);
    pass.noteOf(m, m.stagedOk ? 'Staged' : 'Pending', gate.message);
    return 'blocked';
  }
  if (!m.online) {
    pass.stepOf(m, 'apply', pass.block('MemberOffline', m.offlineMessage ?? `${label(m)} offline`));
    pass.noteOf(m, 'Waiting', m.offlineMessage);
    pass.say('MemberOffline', m.offlineMessage ?? `${label(m)} offline`);
    return 'offline';
  }
  if (m.runsDesired) {
    const message = `${label(m)} runs ${pass.version} but is ${m.state ?? 'not reporting its state'}`;
    pass.stepOf(m, 'apply', pass.block('MemberNotRunning', message));
    pass.noteOf(m, 'Waiting', message);
    pass.say('MemberNotRunning', message);
    return 'offline';
  }
  if (!m.hasPackage) {
    const message = `waiting for the installer ${pass.version} to be staged and verified on ${label(m)}`;
    pass.stepOf(m, 'apply', pass.block('WaitingForInstaller', message));
    pass.noteOf(m, 'Pending', message);
    return 'blocked';
  }
  pass.sendTo(m, 'apply', m.applyId);
  pass.noteOf(m, 'Updating', `updating ${label(m)} to ${pass.version}`);
  return 'sent';
}

/** The gate of servers-in-normal-mode (step 9) as a blocker; unknown is said once, here. */
function serversGate(
  pass: HAPass,
  message: (reason: string, text: string) => string,
  sayUnknown: boolean,
): Blocker | undefined {
  if (pass.halt) return pass.halt;
  const a = pass.serversGate;
  if (a === undefined || a.status === 'satisfied') return undefined;
  if (a.status === 'unknown' && sayUnknown) pass.say(a.reason, a.message);
  return pass.blocker(a.reason, message(a.reason, a.message));
}

/**
 * 10. Load balancers, all together, once every server runs the release in normal mode (servers-in-
 * normal-mode: a server reporting no mode → unknown, held). A load balancer left at another version
 * (offline, failed) is reported in `reminders`: it works with newer servers but should match.
 */
export function reconcileLoadBalancers(pass: HAPass): void {
  const { version } = pass;
  const gate = serversGate(pass, (_r, text) => text, true);
  const busy: UmsMember[] = [];
  const stuck: UmsMember[] = [];
  for (const lb of pass.loadBalancers) {
    const r = applyComponent(pass, lb, gate);
    if (r === 'sent' || r === 'running') busy.push(lb);
    if (r === 'blocked' && gate === undefined) busy.push(lb);
    if ((r === 'failed' || r === 'offline' || r === 'ahead') && pass.serversSettled) stuck.push(lb);
  }
  if (busy.length > 0 && gate === undefined) pass.say('UpdatingLoadBalancers', `updating load balancers ` +
    `${names(busy)} to ${version}`);
  for (const lb of stuck) {
    pass.reminders.push(`load balancer ${lb.name} runs ${lb.observedVersion ?? 'an unknown version'} while the ` +
      `servers run ${version}: it works with newer servers but should run the same version`);
  }
  pass.loadBalancersSettled =
    busy.length === 0 && pass.loadBalancers.every((lb) => updatedComponent(lb) || stuck.includes(lb));
}

/**
 * 11. Consoles last: never before every server runs the release in normal mode (an older console
 * cannot connect to a newer server; a newer one is not used before the servers are done), and after
 * the load balancers in progress are done.
 */
export function reconcileConsoles(pass: HAPass): void {
  const { version } = pass;
  const why = 'an older console cannot connect to a newer server, and a newer console is not used before the servers ' +
    'are done';
  const gate =
    serversGate(pass, (reason, text) => (reason === 'WaitingForServers' ? `consoles are updated after every server ` +
      `runs ${version} in normal mode: ${why}` : `consoles wait: ${text}`), false) ??
    (!pass.loadBalancersSettled ? pass.block('WaitingForLoadBalancers', `consoles are updated after the load ` +
      `balancers (${names(pass.loadBalancers.filter((lb) => !updatedComponent(lb)))})`) : undefined);
  const busy: UmsMember[] = [];
  for (const c of pass.consoles) {
    const r = applyComponent(pass, c, gate);
    if (r === 'sent' || r === 'running') busy.push(c);
  }
  if (busy.length > 0) pass.say('UpdatingConsoles', `updating consoles ${names(busy)} to ${version}`);
}

/**
 * 12. Done when every server and load balancer runs the release, running (servers in normal mode),
 * and every console runs it.
 */
export function reconcileVerification(pass: HAPass): void {
  for (const m of pass.input.added) {
    const message = `added to the file during the rollout: held back until the rollout finishes (${HELD_BACK_MESSAGE})`;
    pass.stepOf(m, 'apply', pass.block('HeldBack', message));
    pass.noteOf(m, 'Waiting', message);
  }
  const converged =
    pass.input.added.length === 0 &&
    pass.servers.length > 0 &&
    pass.servers.every(settledServer) &&
    pass.loadBalancers.every(updatedComponent) &&
    pass.consoles.every((c) => c.runsDesired);
  if (converged) {
    pass.say('Converged', `all ${pass.servers.length} servers and ${pass.loadBalancers.length} load balancers run ` +
      `${pass.version} in normal mode; ${pass.consoles.length} consoles updated`);
  } else if (pass.outcomes.length === 0) {
    const message = `waiting for every server and load balancer to report ${pass.version} running in normal mode`;
    pass.say('Verifying', message);
  }
}

