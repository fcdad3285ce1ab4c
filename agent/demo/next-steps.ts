/**
 * What the demo prints once its rollouts settled: a summary of where every target ended, and
 * "what to try next" with the exact commands for this demo's own paths — change a version in
 * the work clone and push it, plan it first, read a target's audit trail, fix what is blocked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetStatus } from '../../reconcilers/contract.ts';

export interface DemoPaths {
  readonly dir: string;
  readonly origin: string;
  readonly work: string;
  readonly observedFile: string;
  readonly credentialsFile: string;
  readonly controllerLog: string;
  readonly fleetLog: string;
  /** `controller/cli/bin.js`, absolute. */
  readonly versiond: string;
}

/** Ready's message when it says more than the summary: what the target waits for (without the summary it repeats). */
export function reasonOf(status: TargetStatus): string | undefined {
  let message = status.conditions.find((c) => c.type === 'Ready')?.message ?? '';
  if (message.endsWith(`; ${status.summary}`)) message = message.slice(0, -(status.summary.length + 2));
  return message !== '' && message !== status.summary ? message : undefined;
}

export function settledSummary(statuses: readonly TargetStatus[], elapsedMs: number, statusCommits: number): string {
  const converged = statuses.filter((s) => s.phase === 'Converged');
  const others = statuses.filter((s) => s.phase !== 'Converged');
  const lines = [
    '',
    `Settled after ${(elapsedMs / 1000).toFixed(1)}s: ${converged.length} of ${statuses.length} targets Converged, ${statusCommits} status commit${statusCommits === 1 ? '' : 's'}.`,
  ];
  if (others.length > 0) {
    lines.push('Not converged — a person must act:');
    for (const s of others) lines.push(`  ${s.target}  ${s.phase}: ${reasonOf(s) ?? s.summary}`);
  }
  return lines.join('\n');
}

export function whatToTryNext(paths: DemoPaths, statuses: readonly TargetStatus[], renewTo: string): string {
  const q = shellQuote;
  const v = `node ${q(paths.versiond)}`;
  const domainFile = join(paths.work, 'domains', 'print-paris.yaml');
  const current = existsSync(domainFile) && readFileSync(domainFile, 'utf8').includes('watchdoc-6.1.3') ? 'watchdoc-6.1.3' : 'watchdoc-6.1.4';
  const next = current === 'watchdoc-6.1.4' ? 'watchdoc-6.1.3' : 'watchdoc-6.1.4';
  const out = [
    '',
    'What to try next (the controller and the fleet keep running until Ctrl-C):',
    '',
    `  1. Change a version in the work clone — print-paris from ${current} to ${next}:`,
    `       cd ${q(paths.work)}`,
    `       sed -i.bak 's/release: ${current}/release: ${next}/' domains/print-paris.yaml && rm domains/print-paris.yaml.bak`,
    `       git commit -qam "print-paris: ${next}"`,
    '     see what it will do, against what the agents report now:',
    `       ${v} plan --repo ${q(paths.work)} --base HEAD~1 --observed ${q(paths.observedFile)} --console-id console-hq`,
    '     then push it and watch the controller react here (the demo plays the operator who updates the Manual master):',
    '       git pull -q --rebase && git push -q',
    '',
    '  2. Read a target\'s history — the desired changes and the status commits that followed:',
    `       ${v} audit --repo ${q(paths.origin)} --target hacluster/ums-prod`,
    `       git --git-dir ${q(paths.origin)} log --oneline`,
  ];
  let step = 3;
  for (const s of statuses) {
    if (s.phase === 'Converged') continue;
    const reason = s.conditions.find((c) => c.type === 'Ready')?.reason;
    if (reason === 'CredentialUnavailable') {
      out.push('', `  ${step++}. Unblock ${s.target}: its credential expired. Renew it in the controller's credential store (outside Git);`);
      out.push(`     the controller re-reads the file within 5 s and runs the sync that waited:`);
      out.push(`       edit ${q(paths.credentialsFile)}   (expires: ${renewTo} for the expired entry)`);
    } else if (reason === 'WaitingForRepositoryServer') {
      const waiting = s.members.filter((m) => m.state === 'Waiting' && m.message !== undefined && /does not serve/.test(m.message));
      out.push('', `  ${step++}. ${s.target} waits: ${waiting.map((m) => `${m.name} (${m.desired}): ${m.message}`).join('; ') || (reasonOf(s) ?? s.summary)}.`);
      out.push('     A device gets only what its repository server (WRS) serves, and a WRS in the test ring serves the test version:');
      out.push(`     move the device to another WRS, or into the test ring — edit accounts/${s.target.split('/')[1]}.yaml in the work clone, commit, push.`);
    }
  }
  out.push('', `  Logs: ${paths.controllerLog} (the controller), ${paths.fleetLog} (the agents). Everything is in ${paths.dir}.`, '');
  return out.join('\n');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
