/**
 * The tokens of read-only viewers of the web view and read API (issue 15). People who only
 * look at the fleet must not hold a token that can report as an agent, so viewers have their
 * own file and prefix; the machinery (hashes only, atomic writes under a lock, a revoked token
 * refused from the next request on) is AgentCredentials', opened with the viewers' kind.
 */
import {
  AgentCredentials,
  type AgentCredentialsOptions,
  type CredentialKind,
} from '../agents/agent-credentials.ts';

/** Next to agents.json in the controller's state dir (never in the Git repository: see cli/state-dir.ts). */
export const VIEWERS_FILE = 'viewers.json';

/** Every viewer token starts with this: a leaked one is recognisable, and never taken for an agent's (`vda_`). */
export const VIEWER_TOKEN_PREFIX = 'vdv_';

export const VIEWER_CREDENTIALS: CredentialKind = {
  file: VIEWERS_FILE,
  tokenPrefix: VIEWER_TOKEN_PREFIX,
  noun: 'viewer',
  idWord: 'name',
};

/** The viewers' credentials are an AgentCredentials of the viewers' kind: `whoHolds(token)` names the viewer. */
export type ViewerCredentials = AgentCredentials;

/** AgentCredentials' options, but not the kind: that is the viewers'. */
export type ViewerCredentialsOptions = Omit<AgentCredentialsOptions, keyof CredentialKind>;

/** Reads `<stateDir>/viewers.json` (absent: no viewers yet); a malformed file is an error naming it. */
export function openViewerCredentials(
  stateDir: string,
  options: ViewerCredentialsOptions = {},
): Promise<ViewerCredentials> {
  return AgentCredentials.open(stateDir, { ...options, ...VIEWER_CREDENTIALS });
}
