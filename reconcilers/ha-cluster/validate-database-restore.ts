import { isValidVersion, tryParseVersion, versionsEqual } from '../../protocol/version.ts';
import type { Finding } from '../model/finding.ts';
import { at, type PolicyContext } from '../model/policy-context.ts';

/**
 * `spec.databaseRestore` of an HACluster (issue 8, the schema fence): the declaration that the
 * UMS database was restored from a backup taken before a schema migration, which alone lets the
 * cluster go back below the version its schema was migrated to
 * (reconcilers/governance/version-policy.ts). It is about one version — the one restored — and
 * must name the version `spec.release` installs: a declaration left in the file after the
 * cluster moved on would otherwise let a later downgrade through without any restore.
 */
export function databaseRestores(ctx: PolicyContext): Finding[] {
  const out: Finding[] = [];
  for (const c of ctx.clusters) {
    const restore = c.spec.databaseRestore;
    if (restore === undefined) continue;
    const field = ['spec', 'databaseRestore', 'version'];
    const parsed = tryParseVersion(restore.version);
    if (!parsed.ok) {
      out.push({ code: 'INVALID_VERSION', data: { value: restore.version, reason: parsed.reason }, ...at(c, field) });
      continue;
    }
    const version = ctx.releaseIndex.get(c.spec.release)?.spec.version;
    if (version === undefined || !isValidVersion(version)) continue; // release-references reports it
    if (!versionsEqual(restore.version, version)) {
      out.push({ code: 'DATABASE_RESTORE_MISMATCH', data: { restored: restore.version, release: c.spec.release, version }, ...at(c, field) });
    }
  }
  return out;
}
