/**
 * The version of versiond, as `versiond --version` prints it: read at run time from the
 * package.json next to the code (two levels up from this module), so a release bumps one
 * place and nothing is hard-coded.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function versiondVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  cached ??= (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  return cached;
}
