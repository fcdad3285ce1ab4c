/**
 * Every precondition of a sync (seed 002), on the engine's three answers. Unknown is never
 * yes: a fact nobody reported holds the sync like a failed check, and the answer says what
 * is missing and from whom. Each doc comment names what the check reads and what it does
 * when that is absent; the README lists the same.
 */
import type { DistributionServerSpec, ScheduledSync } from '../model/desired.ts';
import { SATISFIED, unknown, unsatisfied } from '../engine/precondition.ts';
import type { Answer, Missing, Precondition } from '../engine/precondition.ts';
import type { AgentObservation, Observed } from '../observed.ts';
import { scheduleProblem } from './schedule.ts';

/** What the target-wide preconditions read. */
export interface ServerContext {
  readonly name: string;
  readonly serverAgent: string;
  readonly spec: DistributionServerSpec;
  /** `--console-id`: the console this controller is. */
  readonly consoleId: string | undefined;
  readonly observed: Observed;
}

/** What the per-sync preconditions read. */
export interface SyncContext {
  readonly sync: ScheduledSync;
  readonly consoleId: string | undefined;
}

const STORE = 'the controller credential store';
const NO_ID = 'this controller has no console identity (--console-id)';
const NO_IDENTITY: Missing = { member: 'this controller', observation: 'console identity (--console-id)' };

/**
 * credential-usable: the console authenticates to the server with the credential
 * `spec.credentialRef` names (kept outside Git). Reads `observed.credentials[ref]`.
 * Absent map or entry: unknown (`CredentialUnknown`), never "usable". Present and not
 * usable: not satisfied (`CredentialUnavailable`, with the store's reason).
 */
export const credentialUsable: Precondition<ServerContext> = {
  name: 'credential-usable',
  reads: ['observed.credentials[spec.credentialRef] (the credential store, outside Git)'],
  check({ name, spec, observed }) {
    const ref = spec.credentialRef;
    const check = observed.credentials?.get(ref);
    if (check === undefined) {
      const missing = [{ member: STORE, observation: `credential ${JSON.stringify(ref)}` }];
      return unknown('CredentialUnknown', missing, `credential for ${name} not known usable`);
    }
    if (check.usable === true) return SATISFIED;
    const why = check.reason ?? 'not usable';
    return unsatisfied('CredentialUnavailable', `credential ${JSON.stringify(ref)} for ${name} cannot be used: ${why}`);
  },
};

/**
 * console-identity: this controller runs only the syncs of the console it is. Reads
 * `--console-id` (DesiredInput.consoleId). Absent: unknown (`NoConsoleIdentity`), no sync runs.
 */
export const consoleIdentity: Precondition<ServerContext> = {
  name: 'console-identity',
  reads: ['--console-id of this controller'],
  check({ name, spec, consoleId }) {
    if (consoleId !== undefined) return SATISFIED;
    const n = spec.syncs.length;
    const syncs = `${n} sync${n === 1 ? '' : 's'}`;
    return {
      status: 'unknown',
      reason: 'NoConsoleIdentity',
      message: `${NO_ID}: it runs none of the ${syncs} of ${name}, only reports them`,
      missing: [NO_IDENTITY],
    };
  },
};

/**
 * not-download-source: a server that is the console's own download source cannot be its sync
 * destination (seed 002: "Ajouter une synchro. planifiée" is greyed out). Reads
 * `spec.downloadSourceFor` (Git) and `--console-id`. No console id: unknown. A list that is
 * not there (the loader defaults it to `[]`; anything else is malformed): unknown.
 */
export const notDownloadSource: Precondition<ServerContext> = {
  name: 'not-download-source',
  reads: ['spec.downloadSourceFor (Git)', '--console-id of this controller'],
  check({ name, spec, consoleId }) {
    if (consoleId === undefined) return unknown('NoConsoleIdentity', [NO_IDENTITY]);
    if (!Array.isArray(spec.downloadSourceFor)) {
      const missing = [{ member: name, observation: 'downloadSourceFor' }];
      return unknown('DownloadSourceDestination', missing, 'the desired state is malformed');
    }
    if (!spec.downloadSourceFor.includes(consoleId)) return SATISFIED;
    const message =
      `${name} is the download source of console ${consoleId}: ` + 'it cannot be a sync destination of that console';
    return unsatisfied('DownloadSourceDestination', message);
  },
};

/**
 * console-ready: the owning console can copy now. Reads `observed.agents[console]`: `online`,
 * `facts.content` (what it downloaded) and `facts.downloading`.
 *  - never reported: unknown (`ConsoleNotReporting`), content and download state missing;
 *  - offline: not satisfied (`ConsoleNotReporting`): nobody is there to copy;
 *  - `downloading: true`: not satisfied (`WaitingForDownload`): the sync is queued behind
 *    the download (seed 002: "mis en file d'attente et exécuté une fois le téléchargement terminé");
 *  - no `facts.content` or no `facts.downloading`: unknown (`ObservationMissing`), "no download
 *    state reported by console-hq" — a console that does not say it is idle is not idle.
 */
export const consoleReady: Precondition<ServerContext> = {
  name: 'console-ready',
  reads: [
    'observed.agents[console].online',
    'observed.agents[console].facts.content',
    'observed.agents[console].facts.downloading',
  ],
  check({ consoleId, observed }) {
    if (consoleId === undefined) return unknown('NoConsoleIdentity', [NO_IDENTITY]);
    return consoleAnswer(consoleId, observed.agents.get(consoleId));
  },
};

export function consoleAnswer(consoleId: string, console: AgentObservation | undefined): Answer {
  if (console === undefined) {
    return {
      status: 'unknown',
      reason: 'ConsoleNotReporting',
      message: `console ${consoleId} has never reported`,
      missing: [
        { member: consoleId, observation: 'content' },
        { member: consoleId, observation: 'download state' },
      ],
    };
  }
  if (!console.online) return unsatisfied('ConsoleNotReporting', `console ${consoleId} is offline`);
  const facts = console.facts;
  if (facts?.downloading === true) {
    const message = `console ${consoleId} is downloading new content; the sync runs once the download is done`;
    return unsatisfied('WaitingForDownload', message);
  }
  const missing: Missing[] = [];
  if (facts?.content === undefined) missing.push({ member: consoleId, observation: 'content' });
  if (typeof facts?.downloading !== 'boolean') missing.push({ member: consoleId, observation: 'download state' });
  return missing.length > 0 ? unknown('ObservationMissing', missing) : SATISFIED;
}

/**
 * server-reported: what the server holds is known, so a sync copies exactly what it lacks.
 * Reads `observed.agents[spec.agent ?? name]`: `online` and `facts.content`. Never reported or
 * offline (its last inventory may be stale): unknown (`ServerNotReporting`). Online with no
 * `facts.content`: unknown (`ObservationMissing`). A content set absent from a reported
 * inventory is an empty set (the server holds none of it), not an unknown one.
 */
export const serverReported: Precondition<ServerContext> = {
  name: 'server-reported',
  reads: ['observed.agents[server agent].online', 'observed.agents[server agent].facts.content'],
  check({ name, serverAgent, observed }) {
    const server = observed.agents.get(serverAgent);
    const missing: Missing[] = [{ member: serverAgent, observation: 'content' }];
    const who = `server ${name} (agent ${serverAgent})`;
    const notReporting = (why: string): Answer => ({
      status: 'unknown',
      reason: 'ServerNotReporting',
      message: `${who} ${why}: its content is not known`,
      missing,
    });
    if (server === undefined) return notReporting('has never reported');
    if (!server.online) return notReporting('is offline');
    return server.facts?.content === undefined ? unknown('ObservationMissing', missing) : SATISFIED;
  },
};

/** The target-wide preconditions, in the order they are checked and reported. */
export const SERVER_PRECONDITIONS: readonly Precondition<ServerContext>[] = [
  credentialUsable,
  consoleIdentity,
  notDownloadSource,
  consoleReady,
  serverReported,
];

/**
 * owns-schedule: only the console that owns a schedule runs or changes it; the others may only
 * delete it (seed 002). Reads `spec.syncs[].console` (Git) and `--console-id`. No console id:
 * unknown, nothing runs. Another owner: not satisfied (`NotOwned`: reported, never run).
 */
export const ownsSchedule: Precondition<SyncContext> = {
  name: 'owns-schedule',
  reads: ['spec.syncs[].console (Git)', '--console-id of this controller'],
  check({ sync, consoleId }) {
    if (consoleId === undefined) {
      return {
        status: 'unknown',
        reason: 'NoConsoleIdentity',
        message: `owned by console ${sync.console}; ${NO_ID} and runs no sync`,
        missing: [NO_IDENTITY],
      };
    }
    if (sync.console === consoleId) return SATISFIED;
    const onlyOwner = 'run only by its owner (another console may only delete it)';
    const message = `owned by console ${sync.console}: reported here, ${onlyOwner}`;
    return unsatisfied('NotOwned', message);
  },
};

/**
 * schedule-valid: the schedule can be computed (daily, weekly, or monthly "Nth weekday + up to
 * 31 days", an `at` time and an IANA time zone). Reads `spec.syncs[].schedule` (Git). A schedule
 * or a field of it that is absent is invalid (a missing time zone is never the host's own).
 */
export const scheduleValid: Precondition<SyncContext> = {
  name: 'schedule-valid',
  reads: ['spec.syncs[].schedule (Git)'],
  check({ sync }) {
    const problem = scheduleProblem(sync.schedule);
    if (problem === undefined) return SATISFIED;
    return unsatisfied('InvalidSchedule', `sync ${sync.name} has an invalid schedule: ${problem}`);
  },
};
