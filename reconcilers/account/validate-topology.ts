import { CLOUD, type Account } from '../model/desired.ts';
import type { Finding } from '../model/finding.ts';
import { at, perDocument } from '../model/policy-context.ts';

/**
 * The shape of an account (seeds 001, 003): a device fetches from a WRS of its own account
 * or from the cloud; `cloud` is therefore not a WRS name; the test ring names members of
 * the account; and a test device behind a WRS needs that WRS in the test ring too, because
 * "devices always take the version of their WRS" — otherwise it could never get the test tag.
 */
export const accountTopology = perDocument((ctx) => ctx.accounts, function accountTopology(a: Account): Finding[] {
  const out: Finding[] = [];
  const wrs = new Set(a.spec.repositoryServers.map((w) => w.name));
  a.spec.repositoryServers.forEach((w, i) => {
    if (w.name === CLOUD) {
      out.push({ code: 'RESERVED_NAME', data: { name: CLOUD, reason: 'it marks remote devices that fetch from the vendor cloud' }, ...at(a, ['spec', 'repositoryServers', i, 'name']) });
    }
  });
  const deviceWrs = new Map<string, string>();
  a.spec.devices.forEach((d, i) => {
    deviceWrs.set(d.name, d.repositoryServer);
    if (d.repositoryServer !== CLOUD && !wrs.has(d.repositoryServer)) {
      out.push({
        code: 'DANGLING_REFERENCE',
        data: { refKind: 'repository server (WRS)', name: d.repositoryServer, scope: `in account ${a.metadata.name} (declare it under spec.repositoryServers, or use "cloud" for a remote device)` },
        ...at(a, ['spec', 'devices', i, 'repositoryServer']),
      });
    }
  });
  const ring = a.spec.testRing;
  if (!ring) return out;
  const ringWrs = new Set(ring.repositoryServers ?? []);
  (ring.repositoryServers ?? []).forEach((name, i) => {
    if (!wrs.has(name)) {
      out.push({ code: 'DANGLING_REFERENCE', data: { refKind: 'repository server (WRS)', name, scope: `in account ${a.metadata.name}` }, ...at(a, ['spec', 'testRing', 'repositoryServers', i]) });
    }
  });
  (ring.devices ?? []).forEach((name, i) => {
    const behind = deviceWrs.get(name);
    if (behind === undefined) {
      out.push({ code: 'DANGLING_REFERENCE', data: { refKind: 'device', name, scope: `in account ${a.metadata.name}` }, ...at(a, ['spec', 'testRing', 'devices', i]) });
    } else if (behind !== CLOUD && wrs.has(behind) && !ringWrs.has(behind)) {
      out.push({
        code: 'TEST_DEVICE_BEHIND_PRODUCTION_WRS',
        data: { device: name, wrs: behind },
        ...at(a, ['spec', 'testRing', 'devices', i]),
      });
    }
  });
  return out;
});
