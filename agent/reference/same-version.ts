/**
 * Whether two reported versions are the same, as the reconcilers compare them (`6.09.120`
 * equals `6.9.120`); text that is not a version is compared as text.
 */
import { isValidVersion, versionsEqual } from '../../protocol/version.ts';

export function sameVersion(a: string, b: string): boolean {
  return isValidVersion(a) && isValidVersion(b) ? versionsEqual(a, b) : a === b;
}
