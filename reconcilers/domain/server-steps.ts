/**
 * The `stage` and `apply` of one server, shared by the master (update: Controller) and the
 * slaves. A command the agent reported failed is never sent again (until `retryFailed`
 * retries it under a new id), nor one reported running; anything else is sent, or listed
 * held by the pass's halt or by the server's own gate.
 */
import type { Blocker, MemberState } from '../contract.ts';
import type { DomainPass } from './pass.ts';
import type { Server } from './servers.ts';

export type StepResult = 'sent' | 'running' | 'held' | 'failed';

/** Halts met before anything was done to a server: it is still Pending, not Waiting. */
const BEFORE_START: ReadonlySet<string> = new Set([
  'VerifyingPackage',
  'PackageNotSecure',
  'ReleaseNotPropagatable',
  'ServerUnreachable',
]);

type Failure = 'PackageNotVerified' | 'StageFailed' | 'ApplyFailed' | 'ReportContradictsResult';

/** The failure that stops a server, read from its reports; undefined when none. */
export function failureOf(s: Server): Failure | undefined {
  if (s.stagedBad !== undefined && !s.stageRetrying) return 'PackageNotVerified';
  if (s.stageResult?.status === 'failed') return 'StageFailed';
  if (s.applyResult?.status === 'failed') return 'ApplyFailed';
  const settled = s.state !== undefined && s.state !== 'installing';
  if (s.applyResult?.status === 'succeeded' && !s.runsDesired && settled) return 'ReportContradictsResult';
  return undefined;
}

function fail(pass: DomainPass, s: Server, action: 'stage' | 'apply', reason: string, message: string): 'failed' {
  pass.step(s.name, action, { version: pass.version, blockedBy: pass.blocker(reason, message) });
  pass.note(s.name, 'Failed', message);
  pass.outcome(reason, message);
  return 'failed';
}

function running(pass: DomainPass, s: Server, action: 'stage' | 'apply', message: string): 'running' {
  pass.step(s.name, action, { version: pass.version, blockedBy: pass.blocker('CommandRunning', message) });
  pass.note(s.name, 'Updating', message);
  return 'running';
}

/** Sends the command unless the pass halted or `gate` holds it; the member's note says which. */
function dispatch(pass: DomainPass, s: Server, action: 'stage' | 'apply', gate: Blocker | undefined): 'sent' | 'held' {
  if (pass.send(pass.command(s, action), gate)) {
    const v = pass.version;
    const doing = action === 'stage' ? `staging ${v} (download and verify, nothing installed)` : `applying ${v}`;
    pass.note(s.name, 'Updating', doing);
    return 'sent';
  }
  // The server's own gate says more about it than a domain-wide halt.
  const shown = gate ?? pass.halt!;
  const state: MemberState = s.stagedOk ? 'Staged' : BEFORE_START.has(shown.reason) ? 'Pending' : 'Waiting';
  pass.note(s.name, state, shown.message);
  return 'held';
}

/** The `stage` of one server that does not hold the package yet. */
export function stageServer(pass: DomainPass, s: Server, gate: Blocker | undefined): StepResult {
  const { version } = pass;
  if (s.stagedBad !== undefined && !s.stageRetrying) {
    const message = `package ${version} staged on ${s.name} did not verify: ${s.stagedBad}`;
    return fail(pass, s, 'stage', 'PackageNotVerified', message);
  }
  if (s.stageResult?.status === 'failed') {
    const message = `stage of ${version} failed on ${s.name}: ${s.stageResult.message ?? 'no message from the agent'}`;
    return fail(pass, s, 'stage', 'StageFailed', message);
  }
  if (s.stageResult?.status === 'running') return running(pass, s, 'stage', `stage of ${version} running on ${s.name}`);
  return dispatch(pass, s, 'stage', gate);
}

/** The `apply` of one server that does not run the release yet. */
export function applyServer(pass: DomainPass, s: Server, gate: Blocker | undefined): StepResult {
  const { version } = pass;
  const result = s.applyResult;
  if (result?.status === 'failed') {
    const message = `apply of ${version} failed on ${s.name}: ${result.message ?? 'no message from the agent'}`;
    return fail(pass, s, 'apply', 'ApplyFailed', message);
  }
  if (result?.status === 'running') return running(pass, s, 'apply', `apply of ${version} running on ${s.name}`);
  if (result?.status === 'succeeded') {
    // The agent ran this id: sending it again would do nothing. Its reports must now show the version.
    const reported = s.observedVersion === undefined ? 'no version' : s.observedVersion;
    if (s.state === 'installing') return running(pass, s, 'apply', `${s.name} is finishing the install of ${version}`);
    if (s.state === undefined) {
      // Installing, or an install that did not take: unknown until the agent says.
      const message =
        `apply of ${version} succeeded on ${s.name}, which reports ${reported}: ` + `no state reported by ${s.name}`;
      pass.step(s.name, 'apply', { version, blockedBy: pass.blocker('ObservationMissing', message) });
      pass.note(s.name, 'Waiting', message);
      pass.outcome('ObservationMissing', message);
      return 'held';
    }
    // An agent that misreports, or an install rolled back by hand: a person must look.
    return fail(
      pass,
      s,
      'apply',
      'ReportContradictsResult',
      `apply of ${version} succeeded on ${s.name}, yet it reports ${reported}: ` +
        'its reports contradict its command results; check the server',
    );
  }
  return dispatch(pass, s, 'apply', gate);
}
