/**
 * Steps 5–6 of seed 004, "Die Aktualisierung vorbereiten": the installer on every component, then
 * the four named checks before the first server is updated — installer-distributed, no-orphans,
 * fresh-backup, clock-skew (preconditions.ts). Any check unsatisfied OR unknown holds every server
 * apply (`pass.preflightGate`); the checks are reported in `status.details.preflight`.
 */
import { attempt } from '../command-id.ts';
import type { Answer } from '../engine/index.ts';
import { unsatisfied } from '../engine/index.ts';
import { installed, type UmsMember } from './members.ts';
import { agentSays, label, names, type HAPass } from './pass.ts';
import { clockSkew, installerDistributed, noOrphans, type PreflightName, type Said } from './preconditions.ts';

/**
 * 5. The installer on every component (step 1): `stage` (with the artifact) to every server, load
 * balancer and console that neither runs the release nor holds it staged and verified. A staged
 * package that does not verify: Failed `PackageNotVerified`; a failed stage: Failed `StageFailed`;
 * an offline member: Waiting `MemberOffline`. Allowed before the preflight passed: it installs nothing.
 */
export function reconcileInstaller(pass: HAPass): void {
  const sent: UmsMember[] = [];
  const offline: UmsMember[] = [];
  for (const m of pass.all()) {
    if (m.hasPackage) continue;
    if (m.stagedBad !== undefined && !m.stageRetrying) {
      const message = `the installer ${pass.version} staged on ${label(m)} did not verify: ${m.stagedBad}`;
      pass.stepOf(m, 'stage', pass.block('PackageNotVerified', message));
      pass.noteOf(m, 'Failed', message);
      pass.say('PackageNotVerified', message);
    } else if (m.stageResult?.status === 'failed') {
      const message = `stage of ${pass.version} failed on ${label(m)}: ${agentSays(m.stageResult)}`;
      pass.stepOf(m, 'stage', pass.block('StageFailed', message));
      pass.noteOf(m, 'Failed', message);
      pass.say('StageFailed', message);
    } else if (m.stageResult?.status === 'running') {
      const message = `staging ${pass.version} on ${label(m)}`;
      pass.stepOf(m, 'stage', pass.block('CommandRunning', message));
      pass.noteOf(m, 'Updating', message);
      sent.push(m);
    } else if (pass.halt) {
      pass.stepOf(m, 'stage', pass.halt);
    } else if (!m.online) {
      pass.stepOf(m, 'stage', pass.block('MemberOffline', m.offlineMessage ?? `${label(m)} offline`));
      pass.noteOf(m, 'Waiting', m.offlineMessage);
      offline.push(m);
    } else {
      pass.sendTo(m, 'stage', m.stageId);
      pass.noteOf(m, 'Updating', `staging the installer ${pass.version} (download and verify, nothing installed)`);
      sent.push(m);
    }
  }
  if (sent.length > 0) {
    pass.say('DistributingInstaller', `distributing the installer ${pass.version} to ${names(sent)}`);
  }
  if (offline.length > 0) pass.say('MemberOffline', offline.map((m) => m.offlineMessage).join('; '));
}

/**
 * 6. The preflight, before the first server apply of this rollout: evaluated on every pass until
 * the rollout has visibly started (a server has a result of our apply of the release), so a check
 * that stops holding before then holds again. Once started, the checks of the previous status are
 * shown. With no server left to update there is nothing to prepare.
 */
export function reconcilePreflight(pass: HAPass): void {
  if (pass.input.started) {
    pass.preflight = pass.input.previousPreflight ? [...pass.input.previousPreflight] : undefined;
    return;
  }
  if (pass.servers.every(installed)) return;
  const { spec } = pass.input;
  const { servers, loadBalancers, consoles, version } = pass;
  const members = { servers, loadBalancers, consoles, version };
  const maxSeconds = spec.preflight?.maxClockSkewSeconds ?? 60;
  const declared = new Set([...spec.servers, ...(spec.loadBalancers ?? [])].map((m) => m.name));
  const checks: [PreflightName, Said][] = [
    ['installer-distributed', installerDistributed.check(members)],
    ['no-orphans', noOrphans.check({ ...members, enabled: spec.preflight?.orphanCheck ?? true, declared })],
    ['fresh-backup', freshBackup(pass)],
    ['clock-skew', clockSkew.check({ members: [...servers, ...loadBalancers], maxSeconds })],
  ];
  pass.preflight = checks.map(([name, a]) => ({
    name,
    status: a.status,
    passed: a.status === 'satisfied',
    message: a.message,
  }));
  // The installer and backup steps say what they do themselves; the other checks are said here.
  for (const [name, a] of checks) {
    if (a.status === 'satisfied' || name === 'fresh-backup') continue;
    if (name === 'installer-distributed' && a.status === 'unsatisfied') continue;
    pass.outcome(a.reason, `preflight ${name}: ${a.message}`);
  }
  type Failing = [PreflightName, Exclude<Answer, { status: 'satisfied' }> & Said];
  const failing = checks.filter(([, a]) => a.status !== 'satisfied') as Failing[];
  const first = failing[0];
  if (first === undefined) {
    if (pass.halt === undefined) pass.preflightPassedNow = true;
    return;
  }
  const stalled = failing.find(([, a]) => pass.blocker(a.reason, a.message).category === 'stalled');
  const lead = (stalled ?? first)[1];
  pass.preflightGate = { ...pass.blocker(lead.reason, lead.message), message: `preflight: ` +
    `${failing.map(([name, a]) => `${name}: ${a.message}`).join('; ')}` };
}

/**
 * fresh-backup (step 3, "Erstellen Sie ein Backup Ihrer Datenbank"): a backup at or after the rollout
 * start. Reads `facts.lastBackup` of every server (a value that does not read as a time is not a
 * backup, and is named) and, with `backup: Command`, the result of our backup command on the first
 * server in update order. None fresh → `Command`: one `backup`, tracked by its id (Progressing
 * `TakingBackup`, Failed `BackupFailed`, Blocked `BackupStale` when it ran before the rollout start);
 * `External`: Waiting `WaitingForBackup`.
 */
function freshBackup(pass: HAPass): Said {
  const start = pass.input.rolloutStart;
  const since = new Date(start).toISOString();
  const { latest, unreadable } = latestBackup(pass.servers);
  if (latest !== undefined && latest.at >= start) return { status: 'satisfied', message: `database backup of ` +
    `${latest.iso}, taken after the rollout started (${since})` };
  const bad = unreadable.map((s) => `${s.name} reports ${JSON.stringify(s.obs?.facts?.lastBackup)}, not a time`);
  const noted = bad.length > 0 ? ` (${bad.join('; ')})` : '';
  const last =
    latest === undefined
      ? 'no database backup reported'
      : `the last database backup (${latest.iso}) is older than the rollout start (${since})`;
  const was = `${last}${noted}`;
  const first = pass.servers[0];
  type Why = 'WaitingForBackup' | 'BackupStale' | 'BackupFailed' | 'TakingBackup';
  const fail = (reason: Why, message: string): Said => ({ ...unsatisfied(reason, message), message });
  if ((pass.input.spec.preflight?.backup ?? 'Command') === 'External' || first === undefined) {
    const message = `${was}; waiting for a backup made with the DBMS's own method (preflight.backup: External) to be ` +
      `reported`;
    if (first !== undefined) {
      pass.stepOf(first, 'backup', pass.halt ?? pass.block('WaitingForBackup', message), 'operator');
    }
    pass.say('WaitingForBackup', message);
    return fail('WaitingForBackup', message);
  }
  const { id, result } = attempt(first.obs, pass.target, first.name, 'backup', pass.version, pass.input.retryFailed);
  if (result?.status === 'succeeded') {
    const at = Date.parse(result.at);
    if (!Number.isNaN(at) && at >= start) return { status: 'satisfied', message: `database backup taken by server ` +
      `${first.name} at ${result.at}` };
    const message = `${was}; the backup command on server ${first.name} ran at ${result.at}, before the rollout ` +
      `started: take a backup by other means and report it`;
    pass.say('BackupStale', message);
    return fail('BackupStale', message);
  }
  if (result?.status === 'failed') {
    const message = `${was}; the backup on server ${first.name} failed: ${agentSays(result)}`;
    pass.stepOf(first, 'backup', pass.block('BackupFailed', message));
    pass.say('BackupFailed', message);
    return fail('BackupFailed', message);
  }
  const message = `${was}; taking a database backup on server ${first.name}`;
  if (result?.status === 'running') {
    pass.stepOf(first, 'backup', pass.block('CommandRunning', message));
    pass.say('TakingBackup', message);
  } else if (pass.halt) {
    pass.stepOf(first, 'backup', pass.halt);
  } else if (!first.online) {
    pass.stepOf(first, 'backup', pass.block('MemberOffline', first.offlineMessage ?? `server ${first.name} offline`));
    pass.say('MemberOffline', `${was}; the backup waits for ${first.offlineMessage ?? `server ${first.name}`}`);
  } else {
    pass.sendTo(first, 'backup', id);
    pass.say('TakingBackup', message);
  }
  return fail('TakingBackup', message);
}

/** The newest readable `facts.lastBackup` any server reports, and the servers whose value does not read. */
export function latestBackup(servers: readonly UmsMember[]): {
  latest: { at: number; iso: string } | undefined;
  unreadable: UmsMember[];
} {
  let latest: { at: number; iso: string } | undefined;
  const unreadable: UmsMember[] = [];
  for (const s of servers) {
    const iso = s.obs?.facts?.lastBackup;
    if (iso === undefined) continue;
    const at = Date.parse(iso);
    if (Number.isNaN(at)) {
      unreadable.push(s);
      continue;
    }
    if (latest === undefined || at > latest.at) latest = { at, iso };
  }
  return { latest, unreadable };
}
