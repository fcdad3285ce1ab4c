import { createHash, createPublicKey, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoArtifactBytes } from '../agent/demo-artifacts.ts';
import { DesiredStateLoader, type DesiredState } from '../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../controller/desired/open-source.ts';
import { locateRepository } from '../controller/git/repository.ts';
import type { Account, DistributionServer, Domain, HACluster, Release } from '../reconcilers/model/desired.ts';
import { EXAMPLE_REPO } from './helpers/git-repo.ts';

/** example-repo/ is what a new user learns from: it must be valid and hold every case the docs promise. */
let state: DesiredState;
beforeAll(async () => {
  state = await new DesiredStateLoader().load(await openDesiredSource(locateRepository(EXAMPLE_REPO)));
});
const all = <T>(kind: string) => state.objects.filter((o) => o.kind === kind) as unknown as T[];

describe('example-repo', () => {
  it('is valid', () => {
    expect(state.diagnostics).toEqual([]);
    expect(state.valid).toBe(true);
  });

  it('has two domains, one of them with mailbox slaves (seed 000)', () => {
    const domains = all<Domain>('Domain');
    expect(domains).toHaveLength(2);
    expect(domains.some((d) => d.spec.slaves.every((s) => s.sync === 'mailbox'))).toBe(true);
    expect(domains.some((d) => d.spec.master.update === 'Manual')).toBe(true);
  });

  it('has a W360 Core and a ceBox account, each with a WRS, devices behind it, remote devices and a test ring (seeds 001, 003)', () => {
    const accounts = all<Account>('Account');
    expect(accounts.map((a) => a.spec.product).sort()).toEqual(['cebox-os', 'w360-core']);
    for (const a of accounts) {
      expect(a.spec.repositoryServers.length).toBeGreaterThan(0);
      expect(a.spec.devices.some((d) => d.repositoryServer !== 'cloud')).toBe(true);
      expect(a.spec.devices.some((d) => d.repositoryServer === 'cloud')).toBe(true);
      expect(a.spec.testRing?.devices?.length).toBeGreaterThan(0);
    }
    expect(accounts.some((a) => a.spec.infrastructure)).toBe(true);
  });

  it('has two distribution servers with a "second Tuesday + 4 days" patch schedule and a daily definitions schedule (seed 002)', () => {
    const servers = all<DistributionServer>('DistributionServer');
    expect(servers).toHaveLength(2);
    for (const ds of servers) {
      expect(ds.spec.syncs).toContainEqual(expect.objectContaining({
        content: 'patches',
        schedule: expect.objectContaining({ frequency: 'monthly', week: 'second', weekday: 'tuesday', delayDays: 4 }),
      }));
      expect(ds.spec.syncs).toContainEqual(expect.objectContaining({ content: 'engines-definitions', schedule: expect.objectContaining({ frequency: 'daily' }) }));
    }
  });

  it('has one UMS HA cluster with 3 servers, 1 load balancer and 2 consoles (seed 004)', () => {
    const [cluster, ...rest] = all<HACluster>('HACluster');
    expect(rest).toEqual([]);
    expect([cluster!.spec.servers.length, cluster!.spec.loadBalancers.length, cluster!.spec.consoles.length]).toEqual([3, 1, 2]);
  });

  it.each(readdirSync(join(EXAMPLE_REPO, 'releases')))('release %s carries the real digest, size and Ed25519 signature of its demo package', (file) => {
    const release = state.objects.find((o) => o.source.path === `releases/${file}`) as Release;
    const bytes = demoArtifactBytes(release.spec.product, release.spec.version);
    const { sha256, size, signature } = release.spec.artifact;
    expect(sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(size).toBe(bytes.length);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(signature.publicKey, 'base64').toString('base64url') }, format: 'jwk' });
    expect(verify(null, bytes, key, Buffer.from(signature.value, 'base64'))).toBe(true);
    expect(verify(null, Buffer.concat([bytes, Buffer.from('tampered')]), key, Buffer.from(signature.value, 'base64'))).toBe(false);
  });

  it('every document names its JSON Schema for editor completion', () => {
    for (const o of state.objects) {
      const first = readFileSync(join(EXAMPLE_REPO, o.source.path), 'utf8').split('\n', 1)[0];
      expect(first).toBe(`# yaml-language-server: $schema=../../schemas/${o.kind.toLowerCase()}.schema.json`);
    }
  });
});
