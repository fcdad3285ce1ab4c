import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from './usage.ts';

/** Overrides the default state dir for every command, e.g. in a service unit. */
export const STATE_DIR_ENV = 'VERSIOND_STATE_DIR';

/**
 * Where the controller keeps what is its own and not the fleet's desired state: the hashes
 * of agent tokens (agents.json) and its private signing key (controller-key.pem).
 *
 * It is deliberately outside the Git repository. Everything in the repository is shared,
 * reviewed and kept forever by every clone, so a secret committed there cannot be taken
 * back; and anyone who can merge a pull request must not thereby be able to add an agent
 * or sign commands. Hence the XDG *state* directory of the user running the controller,
 * never the working directory.
 *
 * In order: `--state-dir`, then `$VERSIOND_STATE_DIR`, then `$XDG_STATE_HOME/versiond`, then
 * `~/.local/state/versiond`. Empty variables count as unset, and a relative
 * `$XDG_STATE_HOME` is ignored, as the XDG Base Directory specification says. The result is
 * absolute.
 */
export function resolveStateDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--state-dir must name a directory');
    return resolve(flag);
  }
  const fromEnv = env[STATE_DIR_ENV];
  if (fromEnv) return resolve(fromEnv);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'versiond');
  const home = env.HOME || homedir();
  return join(home, '.local', 'state', 'versiond');
}
