/**
 * Version policy (issue 8, item 6), applied by `governed()` after the real reconcilers: no
 * member skips a mandatory release on its way up, and an HA cluster never goes below the
 * version its production schema was migrated to — even within major.minor — unless the file
 * declares the database was restored for that version.
 */
import { describe, expect, it } from 'vitest';
import { commandId } from '../../reconcilers/command-id.ts';
import type { ReconcileResult, TargetStatus } from '../../reconcilers/contract.ts';
import { reconcileAccount } from '../../reconcilers/account/reconcile.ts';
import { reconcileDomain } from '../../reconcilers/domain/reconcile.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { versionPolicy } from '../../reconcilers/governance/version-policy.ts';
import { reconcileHACluster } from '../../reconcilers/ha-cluster/reconcile.ts';
import type { HAClusterSpec, Release } from '../../reconcilers/model/desired.ts';
import type { AgentSpec } from '../helpers/observed.ts';
import { NOW, desired, input, observed, release, running } from '../helpers/observed.ts';

const sent = (r: ReconcileResult): string[] => r.commands.map((c) => `${c.action} ${c.member}`);
const planOf = (r: ReconcileResult): string[] => r.plan.map((s) => `${s.action} ${s.member}${s.runnable ? '' : ` [${s.blockedBy?.reason}]`}`);
const stalled = (r: ReconcileResult) => r.status.conditions.find((c) => c.type === 'Stalled');
const policyDetails = (r: ReconcileResult) => (r.status.details?.['rollout'] as Record<string, Record<string, unknown>> | undefined)?.['version-policy'];
const mandatory = (r: Release): Release => ({ ...r, spec: { ...r.spec, mandatory: true } });

// ------------------------------------------------------------------ (a) mandatory versions

const WD = 'watchdoc';
const domainReconciler = governed('Domain', reconcileDomain, [versionPolicy]);
function domain(releaseName: string, releases: readonly Release[]) {
  return input(desired('Domain', 'print-paris', { release: releaseName, master: { name: 'wd-master', update: 'Manual' }, slaves: [{ name: 'wd-lille', sync: 'mailbox' }, { name: 'wd-nantes', sync: 'mailbox' }] }), releases);
}
const verified = (releases: readonly Release[]) => Object.fromEntries(releases.map((r) => [r.metadata.name, 'verified' as const]));
const servers = (master: string, lille: string, nantes: string) => ({
  'wd-master': { components: [running(WD, master)] },
  'wd-lille': { components: [running(WD, lille)] },
  'wd-nantes': { components: [running(WD, nantes)] },
});

describe('(a) a mandatory release cannot be skipped on the way up', () => {
  it.each([
    { name: 'below a mandatory release below the desired one: held', lille: '6.1.2', marks: ['6.1.3'], held: 'watchdoc-6.1.3' },
    { name: 'two mandatory releases on the way: the lowest comes first', lille: '6.1.1', marks: ['6.1.2', '6.1.3'], held: 'watchdoc-6.1.2' },
    { name: 'already at the mandatory release: goes on', lille: '6.1.3', marks: ['6.1.3'], held: undefined },
    { name: 'the desired release is the mandatory one: goes on', lille: '6.1.2', marks: ['6.1.4'], held: undefined },
    { name: 'a mandatory release above the desired one: goes on', lille: '6.1.2', marks: ['6.1.5'], held: undefined },
    { name: 'a downgrade never skips anything: goes on', lille: '6.1.5', marks: ['6.1.3'], held: undefined },
    { name: 'leading zeros compare numerically (6.01.2 is 6.1.2): held', lille: '6.01.2', marks: ['6.1.3'], held: 'watchdoc-6.1.3' },
  ])('$name', ({ lille, marks, held }) => {
    const releases = ['6.1.1', '6.1.2', '6.1.3', '6.1.4', '6.1.5'].map((v) => {
      const r = release(`watchdoc-${v}`, WD, v);
      return marks.includes(v) ? mandatory(r) : r;
    });
    const r = domainReconciler(domain('watchdoc-6.1.4', releases), observed(servers('6.1.4', lille, '6.1.3'), verified(releases)), undefined, NOW);
    // wd-nantes (6.1.3) is never held: each member is judged by what it runs.
    expect(sent(r)).toContain('stage wd-nantes');
    if (held === undefined) {
      expect(planOf(r).filter((s) => s.includes('MandatoryVersionSkipped'))).toEqual([]);
      expect(policyDetails(r)).toBeUndefined();
      return;
    }
    const version = held.replace('watchdoc-', '');
    expect(sent(r)).not.toContain('stage wd-lille');
    expect(r.status.phase).toBe('Blocked');
    expect(stalled(r)).toMatchObject({
      status: 'True',
      reason: 'MandatoryVersionSkipped',
      message: `wd-lille: runs ${lille}: ${version} (release "${held}") is mandatory and must be installed before 6.1.4; point this target at "${held}" first`,
    });
    expect(planOf(r)).toContain('stage wd-lille [MandatoryVersionSkipped]');
    expect(policyDetails(r)).toEqual({ mandatory: { count: 1, members: [{ member: 'wd-lille', observed: lille, desired: '6.1.4', release: held, version }] } });
  });

  it('pointing the target at the mandatory release first, then at the later one, goes through', () => {
    const releases = [release('watchdoc-6.1.2', WD, '6.1.2'), mandatory(release('watchdoc-6.1.3', WD, '6.1.3')), release('watchdoc-6.1.4', WD, '6.1.4')];
    const first = domainReconciler(domain('watchdoc-6.1.3', releases), observed(servers('6.1.3', '6.1.2', '6.1.2'), verified(releases)), undefined, NOW);
    expect(first.status.phase).not.toBe('Blocked');
    expect(sent(first)).toEqual(['stage wd-lille', 'stage wd-nantes']);
    const then = domainReconciler(domain('watchdoc-6.1.4', releases), observed(servers('6.1.4', '6.1.3', '6.1.3'), verified(releases)), undefined, NOW);
    expect(sent(then)).toEqual(['stage wd-lille', 'stage wd-nantes']);
  });

  it('an account: the device below the mandatory release waits, the others go on; the infrastructure is judged by its own product', () => {
    const P = 'w360-core';
    const releases = [release('w360-core-4.1.0', P, '4.1.0'), mandatory(release('w360-core-4.2.0', P, '4.2.0')), release('w360-core-4.3.0', P, '4.3.0', ['stable']), release('cloud-1', 'cebox-cloud', '4.1.5'), release('cloud-2', 'cebox-cloud', '4.5.0')];
    const d = input(
      desired('Account', 'acme', {
        product: P, defaultTag: 'stable', restartPolicy: 'Immediate', autoUpdate: false,
        repositoryServers: [], devices: [{ name: 'laptop-1', repositoryServer: 'cloud' }, { name: 'laptop-2', repositoryServer: 'cloud' }],
        infrastructure: { release: 'cloud-2', agent: 'acme-cloud' },
      }),
      releases,
    );
    const agents: Record<string, AgentSpec> = { 'laptop-1': { components: [running(P, '4.1.0')] }, 'laptop-2': { components: [running(P, '4.2.0')] }, // 4.1.5 -> 4.5.0 would cross w360-core's mandatory 4.2.0, but the infrastructure runs another product.
    'acme-cloud': { components: [running('cebox-cloud', '4.1.5')] } };
    const r = governed('Account', reconcileAccount, [versionPolicy])(d, observed(agents, verified(releases)), undefined, NOW);
    expect(sent(r).sort()).toEqual(['apply infrastructure', 'apply laptop-2']);
    expect(policyDetails(r)?.['mandatory']).toEqual({ count: 1, members: [{ member: 'laptop-1', observed: '4.1.0', desired: '4.3.0', release: 'w360-core-4.2.0', version: '4.2.0' }] });
  });
});

// ------------------------------------------------------------------ (b) the HA schema fence

const UMS = 'igel-ums';
const UMS_RELEASES = [release('igel-ums-12.08.100', UMS, '12.08.100'), release('igel-ums-12.08.110', UMS, '12.08.110'), release('igel-ums-12.08.120', UMS, '12.08.120'), release('igel-ums-12.09.100', UMS, '12.09.100')];
const UMS_VERIFIED = verified(UMS_RELEASES);
const SERVERS = ['ums-1', 'ums-2'];
const haReconciler = governed('HACluster', reconcileHACluster, [versionPolicy]);
const T = 'hacluster/ums-prod' as const;

function cluster(version: string, databaseRestore?: HAClusterSpec['databaseRestore']) {
  const spec: HAClusterSpec = {
    release: `igel-ums-${version}`,
    servers: SERVERS.map((name) => ({ name })),
    loadBalancers: [],
    consoles: [{ name: 'ums-console' }],
    preflight: { maxClockSkewSeconds: 60, backup: 'External', orphanCheck: false },
    ...(databaseRestore ? { databaseRestore } : {}),
  };
  return input(desired('HACluster', 'ums-prod', spec), UMS_RELEASES);
}

/** Every component running `version` in normal mode (a converged cluster), servers with `extra`. */
function ums(version: string, extra: Partial<Record<string, AgentSpec['results']>> = {}) {
  const comp = (server: boolean) => ({ product: UMS, version, state: 'running' as const, ...(server ? { mode: 'normal' as const } : {}) });
  return observed(
    {
      ...Object.fromEntries(SERVERS.map((s) => [s, { components: [comp(true)], results: extra[s] ?? [], facts: { clock: new Date(NOW).toISOString(), lastBackup: new Date(NOW).toISOString() } }])),
      'ums-console': { components: [comp(false)] },
    },
    UMS_VERIFIED,
  );
}

/** The status of a cluster that converged on `version`. */
const convergedOn = (version: string, previous?: TargetStatus): TargetStatus => {
  const r = haReconciler(cluster(version), ums(version), previous, NOW - 3_600_000);
  expect(r.status.phase).toBe('Converged');
  return r.status;
};

describe('(b) the HA schema fence: never below the version the schema was migrated to', () => {
  it('a converged cluster remembers its schema version in status', () => {
    expect(policyDetails({ ...haReconciler(cluster('12.08.120'), ums('12.08.120'), undefined, NOW), plan: [], commands: [] })).toEqual({ schemaAt: '12.08.120' });
  });

  it('12.08.120 -> 12.08.110 after the migration is refused (SchemaFence), even within 12.8: nothing is sent', () => {
    const before = convergedOn('12.08.120');
    const inner = reconcileHACluster(cluster('12.08.110'), ums('12.08.120'), before, NOW);
    expect(inner.commands.length).toBeGreaterThan(0); // the reconciler alone would go ahead (same major.minor)
    const r = haReconciler(cluster('12.08.110'), ums('12.08.120'), before, NOW);
    expect(r.commands).toEqual([]);
    expect(r.status.phase).toBe('Blocked');
    expect(stalled(r)).toMatchObject({
      status: 'True',
      reason: 'SchemaFence',
      message: 'the production database schema was migrated to 12.08.120; 12.08.110 is older and cannot run on it, even within 12.8: restore a database backup taken before that migration, then declare it in spec.databaseRestore (version 12.08.110, with the reason)',
    });
    for (const s of r.plan) expect(s).toMatchObject({ runnable: false, blockedBy: { category: 'stalled', reason: 'SchemaFence' } });
    expect(policyDetails(r)).toEqual({ schemaAt: '12.08.120', fence: { desired: '12.08.110', schemaAt: '12.08.120', refused: true } });

    // The refusal is kept pass after pass: the fence comes from status, not from what servers report.
    const again = haReconciler(cluster('12.08.110'), ums('12.08.110'), r.status, NOW + 60_000);
    expect(stalled(again)?.reason).toBe('SchemaFence');
  });

  it.each([
    { name: 'a restore declared for another version does not lift it', restored: '12.08.100', refused: true },
    { name: 'a restore declared for exactly the desired version lifts it', restored: '12.08.110', refused: false },
    { name: 'spelt differently, the same version still lifts it', restored: '12.8.110', refused: false },
  ])('$name', ({ restored, refused }) => {
    const before = convergedOn('12.08.120');
    const restore = { version: restored, reason: 'restored the 12.08.110 backup of 2026-11-20 (ticket OPS-42)' };
    const r = haReconciler(cluster('12.08.110', restore), ums('12.08.120'), before, NOW);
    expect(stalled(r)?.reason === 'SchemaFence').toBe(refused);
    expect(r.commands.length > 0).toBe(!refused);
    expect(policyDetails(r)).toEqual({ schemaAt: '12.08.120', fence: { desired: '12.08.110', schemaAt: '12.08.120', refused, restore } });
  });

  it('after a declared restore the cluster converges on the restored version, which becomes the new fence', () => {
    const before = convergedOn('12.08.120');
    const restore = { version: '12.08.110', reason: 'restored the 12.08.110 backup of 2026-11-20 (ticket OPS-42)' };
    const r = haReconciler(cluster('12.08.110', restore), ums('12.08.110'), before, NOW);
    expect(r.status.phase).toBe('Converged');
    expect(policyDetails(r)?.['schemaAt']).toBe('12.08.110');
    // …and 12.08.100 is refused from then on.
    expect(stalled(haReconciler(cluster('12.08.100'), ums('12.08.110'), r.status, NOW + 60_000))?.reason).toBe('SchemaFence');
  });

  it('going up is never fenced, and the fence moves up as soon as our migrate of the new version succeeded', () => {
    const before = convergedOn('12.08.120');
    const up = haReconciler(cluster('12.09.100'), ums('12.08.120'), before, NOW);
    expect(up.status.phase).not.toBe('Blocked');
    expect(policyDetails(up)).toEqual({ schemaAt: '12.08.120' });
    // Mid-rollout: the last server migrated the schema to 12.09.100; the console is not updated yet.
    const migrated = haReconciler(cluster('12.09.100'), ums('12.08.120', { 'ums-2': [{ id: commandId(T, 'ums-2', 'migrate', '12.09.100'), status: 'succeeded', at: new Date(NOW).toISOString() }] }), up.status, NOW + 60_000);
    expect(migrated.status.phase).not.toBe('Converged');
    expect(policyDetails(migrated)).toEqual({ schemaAt: '12.09.100' });
  });

  it('the fence is remembered through a release that cannot be resolved', () => {
    const before = convergedOn('12.08.120');
    const lost = haReconciler(input(desired('HACluster', 'ums-prod', { ...cluster('12.08.120').object.spec, release: 'igel-ums-99.0.0' }), UMS_RELEASES), ums('12.08.120'), before, NOW);
    expect(policyDetails(lost)).toEqual({ schemaAt: '12.08.120' });
    // The servers at 12.08.120 are also MemberAhead to the HACluster reconciler (no Git rollback it can
    // see through the unresolved release); the fence is what refuses the move, whatever reason shows.
    const below = haReconciler(cluster('12.08.110'), ums('12.08.120'), lost.status, NOW + 60_000);
    expect(policyDetails(below)).toMatchObject({ schemaAt: '12.08.120', fence: { refused: true } });
    expect(below.commands).toEqual([]);
  });

  it('a server below a mandatory release holds the whole cluster: it is updated as one', () => {
    const releases = [release('igel-ums-12.07.100', UMS, '12.07.100'), mandatory(release('igel-ums-12.08.100', UMS, '12.08.100')), release('igel-ums-12.08.110', UMS, '12.08.110')];
    const obs = observed(
      {
        'ums-1': { components: [{ product: UMS, version: '12.08.100', state: 'running', mode: 'normal' }] },
        'ums-2': { components: [{ product: UMS, version: '12.07.100', state: 'running', mode: 'normal' }] },
        'ums-console': { components: [{ product: UMS, version: '12.08.100', state: 'running' }] },
      },
      verified(releases),
    );
    const d = input(desired('HACluster', 'ums-prod', { ...cluster('12.08.110').object.spec }), releases);
    expect(reconcileHACluster(d, obs, undefined, NOW).commands.length).toBeGreaterThan(0);
    const r = haReconciler(d, obs, undefined, NOW);
    expect(r.commands).toEqual([]);
    expect(stalled(r)).toMatchObject({ reason: 'MandatoryVersionSkipped', message: 'ums-2: runs 12.07.100: 12.08.100 (release "igel-ums-12.08.100") is mandatory and must be installed before 12.08.110; point this target at "igel-ums-12.08.100" first' });
  });
});
