/**
 * Who may read the fleet view and the read API (issue 15): the holder of a viewer token
 * (`versiond viewers add NAME`), sent as a bearer token or, from a browser, as the cookie the
 * sign-in page sets; anyone at all only when the controller listens on loopback. An agent
 * token reads nothing here: an agent sees its own commands, never other agents' data.
 */
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../agents/agent-credentials.ts';

/** Who holds a token, checked against the file on every call (a revoked token fails at once). */
export interface TokenHolders {
  whoHolds(token: string): string | undefined;
}

export type Reader = { readonly kind: 'viewer'; readonly name: string } | { readonly kind: 'anonymous' };

export type ReadVerdict =
  | { readonly ok: true; readonly reader: Reader }
  | { readonly ok: false; readonly status: 401 | 403; readonly error: string; readonly message: string };

export const VIEWER_COOKIE = 'versiond_viewer';

export interface ReadAuthOptions {
  readonly viewers: TokenHolders;
  readonly agents: TokenHolders;
  /** The controller listens on loopback only: reads need no token. */
  readonly anonymousAllowed: boolean;
}

export function readAuthenticator(options: ReadAuthOptions): (req: IncomingMessage) => ReadVerdict {
  return (req) => {
    const token = headerToken(req) ?? cookieToken(req);
    if (token === undefined) {
      if (options.anonymousAllowed) return { ok: true, reader: { kind: 'anonymous' } };
      return {
        ok: false, status: 401, error: 'UNAUTHENTICATED',
        message: 'reading needs a viewer token (versiond viewers add NAME): Authorization: Bearer TOKEN',
      };
    }
    const viewer = options.viewers.whoHolds(token);
    if (viewer !== undefined) return { ok: true, reader: { kind: 'viewer', name: viewer } };
    if (options.agents.whoHolds(token) !== undefined) {
      return {
        ok: false, status: 403, error: 'AGENT_TOKEN',
        message: 'an agent token reads only its own commands; '
          + 'people and scripts use a viewer token (versiond viewers add NAME)',
      };
    }
    // A wrong token is an error even on loopback: silently reading as anonymous would hide it.
    return { ok: false, status: 401, error: 'UNAUTHENTICATED', message: 'unknown or revoked viewer token' };
  };
}

/** A malformed Authorization header is a wrong token (''), never no token at all. */
function headerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header === undefined ? undefined : (bearerToken(header) ?? '');
}

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === VIEWER_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return '';
      }
    }
  }
  return undefined;
}
