import { readFileSync } from 'node:fs';

/** The environment variable the CLI reads the Git token from when no `--git-token-file` is given. */
export const GIT_TOKEN_ENV = 'VERSIOND_GIT_TOKEN';

export class GitTokenError extends Error {}

/**
 * The token for a remote desired-state repository: from the file named by `--git-token-file`
 * when given (it wins: an explicit flag beats an ambient variable), else from
 * `VERSIOND_GIT_TOKEN`, else `undefined` (anonymous). Surrounding white space and the final
 * newline of a file are dropped. Never from the repository itself. Error messages name the
 * file, never its content.
 */
export function readGitToken(env: Readonly<Record<string, string | undefined>>, file?: string): string | undefined {
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new GitTokenError(`cannot read the Git token file ${file}: ${code}`);
    }
    const token = text.trim();
    if (token === '') throw new GitTokenError(`the Git token file ${file} is empty`);
    if (/\s/.test(token)) throw new GitTokenError(`the Git token file ${file} holds more than one word`);
    return token;
  }
  const token = env[GIT_TOKEN_ENV]?.trim();
  return token ? token : undefined;
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;

/**
 * A URL fit for logs: userinfo is masked (`https://user:***@host/x`; a lone user part is
 * masked whole, `https://***@host/x`, since `https://<token>@host` is the usual way to put a
 * token in a URL). URLs without userinfo come back unchanged.
 */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo)}@`);
}

function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon > 0 ? `${userinfo.slice(0, colon)}:***` : '***';
}

/**
 * Any text (an error message, a response body) fit for logs: userinfo in every URL in it is
 * masked, and every occurrence of the given secrets (as such or URL-encoded) is replaced by `***`.
 */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = redactUrl(text);
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of secretForms(secret)) out = out.split(form).join('***');
  }
  return out;
}

function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** Splits `https://user:pass@host/x` into the URL without userinfo and the credentials it held. */
export function splitUrlCredentials(url: string): { url: string; username?: string; password?: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url);
  if (!m) return { url };
  const userinfo = m[2] ?? '';
  const clean = url.slice(0, (m[1] ?? '').length) + url.slice(m[0].length);
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (colon < 0) return { url: clean, username: decode(userinfo) };
  return { url: clean, username: decode(userinfo.slice(0, colon)), password: decode(userinfo.slice(colon + 1)) };
}

/** How to reach a remote repository: the URL without credentials, what to log, how to authenticate, what to redact. */
export interface RemoteAccess {
  /** The URL with any userinfo removed: credentials travel through `onAuth`, never in `.git/config`. */
  readonly url: string;
  /** The URL as logs and errors show it (`https://robot:***@host/…`). */
  readonly displayUrl: string;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  /** Every secret that must never appear in a log line or an error message. */
  readonly secrets: readonly string[];
}

/**
 * Resolves a remote's URL and credentials the same way for fetching and pushing. A token
 * (from the environment or a file) wins over credentials written in the URL; with no
 * username it is sent as `token:x-oauth-basic` (GitHub, Gitea), with one as
 * `username:token` (GitLab).
 */
export function remoteAccess(rawUrl: string, credentials?: { readonly token?: string; readonly username?: string }): RemoteAccess {
  const trimmed = rawUrl.trim();
  const { url, username, password } = splitUrlCredentials(trimmed);
  if (!/^https?:\/\//i.test(url)) throw new Error(`remote repository URL must be http(s): ${redactUrl(trimmed)}`);
  const token = credentials?.token;
  let auth: RemoteAccess['auth'];
  if (token) {
    auth = credentials?.username ? { username: credentials.username, password: token } : { username: token, password: 'x-oauth-basic' };
  } else if (username || password) {
    auth = { username: username ?? '', password: password ?? '' };
  }
  const secrets = [token, password, username && !password ? username : undefined].filter(
    (s): s is string => typeof s === 'string' && s.length > 0 && s !== 'x-oauth-basic',
  );
  return { url, displayUrl: redactUrl(trimmed), auth, secrets };
}
