import type { Finding } from '../model/finding.ts';
import type { DistributionServer } from '../model/desired.ts';
import { at, perDocument } from '../model/policy-context.ts';

/**
 * Seed 002 (Ivanti distribution servers): only one console may sync the main
 * engines/definitions to a given server; a server that is a console's own download source
 * cannot be that console's sync destination; sync names are unique on a server.
 */
export const distributionConsoles = perDocument((ctx) => ctx.distributionServers, function distributionConsoles(ds: DistributionServer): Finding[] {
  const out: Finding[] = [];
  const sources = new Set(ds.spec.downloadSourceFor);
  const names = new Map<string, number>();
  let enginesOwner: string | undefined;
  ds.spec.syncs.forEach((s, i) => {
    const firstIndex = names.get(s.name);
    if (firstIndex !== undefined) {
      out.push({ code: 'DUPLICATE_MEMBER', data: { name: s.name, firstField: `spec.syncs[${firstIndex}]` }, ...at(ds, ['spec', 'syncs', i, 'name']) });
    } else names.set(s.name, i);
    if (sources.has(s.console)) {
      out.push({ code: 'DOWNLOAD_SOURCE_DESTINATION', data: { console: s.console }, ...at(ds, ['spec', 'syncs', i, 'console']) });
    }
    if (s.content === 'engines-definitions' || s.content === 'all') {
      if (enginesOwner === undefined) enginesOwner = s.console;
      else if (enginesOwner !== s.console) {
        out.push({ code: 'CONSOLE_CONFLICT', data: { consoles: [enginesOwner, s.console] }, ...at(ds, ['spec', 'syncs', i, 'console']) });
      }
    }
  });
  return out;
});
