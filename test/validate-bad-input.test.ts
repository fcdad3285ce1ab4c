import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { lines, loadRevision } from './helpers/load.ts';
import { TempRepo } from './helpers/git-repo.ts';

/**
 * Every kind of bad input gets a precise error at `path:line:column: kind/name: field`, and
 * the loader keeps going: the rest of the repository still loads. Each case edits a real
 * Git repository made from example-repo/, commits, and loads that commit.
 */
interface Case {
  readonly name: string;
  readonly change: (repo: TempRepo) => void;
  readonly expected: readonly string[];
  /** Targets that must still load despite the error. */
  readonly stillLoads?: readonly string[];
}

const TOTAL_DOCUMENTS = 18;
const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));

async function run(c: Case) {
  const repo = TempRepo.create();
  repos.push(repo);
  c.change(repo);
  repo.commitAll(c.name);
  const state = await loadRevision(repo.dir);
  expect(lines(state)).toEqual(c.expected);
  expect(state.valid).toBe(false);
  for (const id of c.stillLoads ?? ['hacluster/ums-prod', 'account/globex-cebox']) expect(state.byId.has(id as never), id).toBe(true);
  return state;
}

const cases: Case[] = [
  {
    name: 'malformed YAML',
    change: (r) => r.edit('domains/print-paris.yaml', '  release: watchdoc-6.1.4', '  release: [watchdoc-6.1.4'),
    expected: [
      'domains/print-paris.yaml:15:3: -: -: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'two documents in one file',
    change: (r) => r.write('releases/pair.yaml', `${r.read('releases/watchdoc-6.1.3.yaml')}---\n${r.read('releases/watchdoc-6.1.4.yaml')}`),
    expected: [
      'releases/pair.yaml:18:1: -: -: 2 YAML documents in one file; versiond reads one document per file (split them into separate files)',
    ],
    stillLoads: ['release/watchdoc-6.1.3', 'release/watchdoc-6.1.4'],
  },
  {
    name: 'unknown kind',
    change: (r) => r.write('releases/printer.yaml', 'apiVersion: versiond/v1\nkind: Printer\nmetadata:\n  name: hp-4\nspec: {}\n'),
    expected: ['releases/printer.yaml:2:7: -: kind: unknown kind "Printer"; known kinds are Release, Domain, Account, DistributionServer, HACluster'],
  },
  {
    name: 'a document in the folder of another kind',
    change: (r) => r.write('domains/ums-copy.yaml', r.read('ha-clusters/ums-prod.yaml').replace('name: ums-prod', 'name: ums-copy')),
    expected: ['domains/ums-copy.yaml:7:7: hacluster/ums-copy: kind: a HACluster belongs in ha-clusters/, not domains/'],
  },
  {
    name: 'missing required field',
    change: (r) => r.edit('ha-clusters/ums-prod.yaml', '  release: igel-ums-12.08.110\n', ''),
    expected: ['ha-clusters/ums-prod.yaml:11:3: hacluster/ums-prod: spec.release: missing required field "release"'],
    stillLoads: ['account/globex-cebox', 'domain/print-paris'],
  },
  {
    name: 'unknown field, with a suggestion',
    change: (r) => r.edit('accounts/acme-w360.yaml', '  restartPolicy: Immediate', '  restartPolicy: Immediate\n  autoUpdates: true'),
    expected: ['accounts/acme-w360.yaml:15:3: account/acme-w360: spec.autoUpdates: unknown field "autoUpdates" (did you mean "autoUpdate"?)'],
  },
  {
    name: 'wrong type: a version YAML reads as a number',
    change: (r) => r.edit('releases/watchdoc-6.1.3.yaml', 'version: "6.1.3"', 'version: 6.10'),
    expected: ['releases/watchdoc-6.1.3.yaml:9:12: release/watchdoc-6.1.3: spec.version: must be a string, not a decimal number (quote it: "6.10" — YAML reads 6.10 as the number 6.1)'],
  },
  {
    name: 'wrong type: a list where a mapping belongs',
    change: (r) => r.edit('ha-clusters/ums-prod.yaml', /  preflight:\n(    .*\n)+/, '  preflight: [backup]\n'),
    expected: ['ha-clusters/ums-prod.yaml:22:14: hacluster/ums-prod: spec.preflight: must be a mapping, not a list'],
    stillLoads: ['account/globex-cebox'],
  },
  {
    name: 'wrong enum value',
    change: (r) => r.edit('domains/print-branches.yaml', '      sync: mailbox\n    - name: wd-nantes', '      sync: pull\n    - name: wd-nantes'),
    expected: ['domains/print-branches.yaml:18:13: domain/print-branches: spec.slaves[0].sync: must be one of "bidirectional", "mailbox", not "pull"'],
  },
  {
    name: 'name with a trailing space (seed 000)',
    change: (r) => r.edit('releases/watchdoc-6.1.4.yaml', 'name: watchdoc-6.1.4', 'name: "watchdoc-6.1.4 "'),
    expected: [
      // The release declares "watchdoc-6.1.4 ", so "watchdoc-6.1.4" really is not declared.
      'domains/print-branches.yaml:12:12: domain/print-branches: spec.release: Release "watchdoc-6.1.4" is not declared',
      'domains/print-paris.yaml:14:12: domain/print-paris: spec.release: Release "watchdoc-6.1.4" is not declared',
      'releases/watchdoc-6.1.4.yaml:6:9: release/"watchdoc-6.1.4 ": metadata.name: "watchdoc-6.1.4 " has leading or trailing white space, which breaks an update (seed 000); remove it',
    ],
  },
  {
    name: 'member name with a leading space',
    change: (r) => r.edit('ha-clusters/ums-prod.yaml', '    - name: ums-3', '    - name: " ums-3"'),
    expected: [
      'ha-clusters/ums-prod.yaml:15:13: hacluster/ums-prod: spec.servers[2].name: " ums-3" has leading or trailing white space, which breaks an update (seed 000); remove it',
    ],
    stillLoads: ['account/globex-cebox', 'release/igel-ums-12.08.110'],
  },
  {
    name: 'duplicate names across files',
    change: (r) => r.write('domains/print-paris-2.yaml', r.read('domains/print-paris.yaml')),
    expected: ['domains/print-paris.yaml:8:9: domain/print-paris: metadata.name: Domain "print-paris" is already declared in domains/print-paris-2.yaml; names are unique per kind'],
  },
  {
    name: 'dangling release reference',
    change: (r) => r.edit('ha-clusters/ums-prod.yaml', 'release: igel-ums-12.08.110', 'release: igel-ums-12.09.100'),
    expected: ['ha-clusters/ums-prod.yaml:11:12: hacluster/ums-prod: spec.release: Release "igel-ums-12.09.100" is not declared'],
    stillLoads: ['account/globex-cebox'],
  },
  {
    name: 'a device whose WRS is not in its account',
    change: (r) => r.edit('accounts/acme-w360.yaml', '{ name: acme-ws-103, repositoryServer: acme-wrs-lyon }', '{ name: acme-ws-103, repositoryServer: globex-wrs-1 }'),
    expected: [
      'accounts/acme-w360.yaml:26:46: account/acme-w360: spec.devices[6].repositoryServer: repository server (WRS) "globex-wrs-1" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
    ],
  },
  {
    name: 'a test device that does not exist',
    change: (r) => r.edit('accounts/acme-w360.yaml', 'devices: [acme-ws-001, acme-ws-002]', 'devices: [acme-ws-001, acme-ws-022]'),
    expected: ['accounts/acme-w360.yaml:32:28: account/acme-w360: spec.testRing.devices[1]: device "acme-ws-022" is not declared in account acme-w360'],
  },
  {
    name: 'a test device behind a WRS outside the test ring (seed 001)',
    change: (r) => r.edit('accounts/acme-w360.yaml', 'devices: [acme-ws-001, acme-ws-002]', 'devices: [acme-ws-001, acme-ws-101]'),
    expected: [
      'accounts/acme-w360.yaml:32:28: account/acme-w360: spec.testRing.devices[1]: test device "acme-ws-101" is behind WRS "acme-wrs-lyon", which is not in the test ring; devices take their WRS\'s version (seeds 001, 003), so it could never get the test tag — add "acme-wrs-lyon" to testRing.repositoryServers',
    ],
  },
  {
    name: 'a WRS named cloud',
    change: (r) => r.edit('accounts/acme-w360.yaml', '    - name: acme-wrs-lyon', '    - name: cloud'),
    expected: [
      'accounts/acme-w360.yaml:18:13: account/acme-w360: spec.repositoryServers[1].name: "cloud" is reserved: it marks remote devices that fetch from the vendor cloud',
      'accounts/acme-w360.yaml:24:46: account/acme-w360: spec.devices[4].repositoryServer: repository server (WRS) "acme-wrs-lyon" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
      'accounts/acme-w360.yaml:25:46: account/acme-w360: spec.devices[5].repositoryServer: repository server (WRS) "acme-wrs-lyon" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
      'accounts/acme-w360.yaml:26:46: account/acme-w360: spec.devices[6].repositoryServer: repository server (WRS) "acme-wrs-lyon" is not declared in account acme-w360 (declare it under spec.repositoryServers, or use "cloud" for a remote device)',
    ],
  },
  {
    name: 'an account tag that resolves to no release',
    change: (r) => r.edit('accounts/globex-cebox.yaml', 'tag: "3.0-test"', 'tag: "3.1-test"'),
    expected: ['accounts/globex-cebox.yaml:26:10: account/globex-cebox: spec.testRing.tag: tag "3.1-test" does not resolve to any cebox-os Release (no Release of that product lists it in spec.tags or has it as spec.version)'],
    stillLoads: ['hacluster/ums-prod', 'account/acme-w360'],
  },
  {
    name: 'a tag on two releases of one product',
    change: (r) => r.edit('releases/cebox-os-2.8.4.yaml', 'tags: ["previous"]', 'tags: ["previous", "stable"]'),
    expected: [
      'accounts/globex-cebox.yaml:13:15: account/globex-cebox: spec.defaultTag: tag "stable" points at more than one cebox-os Release ("cebox-os-2.8.4", "cebox-os-2.9.0"); a tag names exactly one release of a product',
      'releases/cebox-os-2.9.0.yaml:18:10: release/cebox-os-2.9.0: spec.tags[0]: tag "stable" points at more than one cebox-os Release ("cebox-os-2.8.4", "cebox-os-2.9.0"); a tag names exactly one release of a product',
    ],
    stillLoads: ['hacluster/ums-prod', 'account/acme-w360'],
  },
  {
    name: 'a malformed sha256',
    change: (r) => r.edit('releases/igel-ums-12.08.110.yaml', /sha256: [0-9a-f]{64}/, 'sha256: 9F86D081884C7D659A2FEAA0C55AD015'),
    expected: [
      'ha-clusters/ums-prod.yaml:11:12: hacluster/ums-prod: spec.release: warning: Release "igel-ums-12.08.110" is declared in releases/igel-ums-12.08.110.yaml but is invalid; this target waits until it is fixed',
      'releases/igel-ums-12.08.110.yaml:12:13: release/igel-ums-12.08.110: spec.artifact.sha256: must be 64 lower-case hexadecimal digits (a SHA-256 digest)',
    ],
    stillLoads: ['account/globex-cebox', 'hacluster/ums-prod'],
  },
  {
    name: 'a malformed signature',
    change: (r) => r.edit('releases/igel-ums-12.08.110.yaml', /value: (\S+)==/, 'value: bm90IGEgc2lnbmF0dXJl'),
    expected: [
      'ha-clusters/ums-prod.yaml:11:12: hacluster/ums-prod: spec.release: warning: Release "igel-ums-12.08.110" is declared in releases/igel-ums-12.08.110.yaml but is invalid; this target waits until it is fixed',
      "releases/igel-ums-12.08.110.yaml:17:14: release/igel-ums-12.08.110: spec.artifact.signature.value: must be an Ed25519 signature: 64 bytes in base64 (88 characters ending in '==')",
    ],
    stillLoads: ['account/globex-cebox', 'hacluster/ums-prod'],
  },
  {
    name: 'an invalid version string',
    change: (r) => r.edit('releases/igel-ums-12.07.100.yaml', 'version: "12.07.100"', 'version: "12.x.100"'),
    expected: ['releases/igel-ums-12.07.100.yaml:9:12: release/igel-ums-12.07.100: spec.version: invalid version: "12.x.100": part 2 "x" is not a number'],
  },
  {
    name: 'a monthly delay over 31 days (seed 002)',
    change: (r) => r.edit('distribution-servers/ds-paris.yaml', 'delayDays: 4', 'delayDays: 40'),
    expected: ['distribution-servers/ds-paris.yaml:21:20: distributionserver/ds-paris: spec.syncs[0].schedule.delayDays: must be at most 31'],
  },
  {
    name: 'a delay on a daily schedule',
    change: (r) => r.edit('distribution-servers/ds-paris.yaml', '        frequency: daily', '        frequency: daily\n        delayDays: 2'),
    expected: ['distribution-servers/ds-paris.yaml:29:9: distributionserver/ds-paris: spec.syncs[1].schedule.delayDays: is only used by monthly schedules'],
  },
  {
    name: 'an unknown time zone',
    change: (r) => r.edit('distribution-servers/ds-paris.yaml', 'timeZone: Europe/Paris\n    - name: daily', 'timeZone: Europe/Pariss\n    - name: daily'),
    expected: ['distribution-servers/ds-paris.yaml:23:19: distributionserver/ds-paris: spec.syncs[0].schedule.timeZone: unknown time zone "Europe/Pariss" (use an IANA name such as "Europe/Paris" or "UTC")'],
  },
  {
    name: 'two consoles syncing engines/definitions to one server (seed 002)',
    change: (r) => r.write('distribution-servers/ds-paris.yaml', `${r.read('distribution-servers/ds-paris.yaml')}    - name: branch-definitions\n      content: all\n      console: console-branch\n      schedule: { frequency: daily, at: "05:00", timeZone: UTC }\n`),
    expected: ['distribution-servers/ds-paris.yaml:33:16: distributionserver/ds-paris: spec.syncs[2].console: more than one console syncs engines/definitions to this server ("console-hq", "console-branch"); only one console may (seed 002)'],
  },
  {
    name: 'a console syncing to its own download source (seed 002)',
    change: (r) => r.edit('distribution-servers/ds-berlin.yaml', 'downloadSourceFor: [console-berlin]', 'downloadSourceFor: [console-hq]'),
    expected: [
      'distribution-servers/ds-berlin.yaml:16:16: distributionserver/ds-berlin: spec.syncs[0].console: this server is the download source of console "console-hq", so it cannot be that console\'s sync destination (seed 002)',
      'distribution-servers/ds-berlin.yaml:27:16: distributionserver/ds-berlin: spec.syncs[1].console: this server is the download source of console "console-hq", so it cannot be that console\'s sync destination (seed 002)',
    ],
  },
  {
    name: 'one agent told two versions of the same product',
    change: (r) => r.edit('domains/print-branches.yaml', '    - name: wd-bordeaux\n', '    - name: wd-bordeaux\n      agent: wd-paris-s1\n'),
    // Path order decides which claim is first: print-branches.yaml sorts before print-paris.yaml.
    expected: ['domains/print-paris.yaml:19:13: domain/print-paris: spec.slaves[0].name: agent "wd-paris-s1" already runs watchdoc for domain/print-branches; one agent cannot be told two versions of the same product'],
  },
  {
    name: 'a cluster update order naming a machine outside the cluster',
    change: (r) => r.edit('ha-clusters/ums-prod.yaml', 'updateOrder: [ums-2, ums-1, ums-3]', 'updateOrder: [ums-2, ums-lb-1]'),
    expected: ['ha-clusters/ums-prod.yaml:21:24: hacluster/ums-prod: spec.updateOrder[1]: server "ums-lb-1" is not declared among the servers of cluster ums-prod'],
    stillLoads: ['account/globex-cebox'],
  },
  {
    name: 'a file of 10 MB',
    change: (r) => r.write('accounts/huge.yaml', `# ${'x'.repeat(10 * 1024 * 1024)}\n`),
    expected: ['accounts/huge.yaml:1:1: -: -: file is 10.0 MiB, over the 8.0 MiB limit for a desired-state document; not read'],
  },
  {
    name: 'a file that is not UTF-8',
    change: (r) => r.write('releases/latin1.yaml', Buffer.concat([Buffer.from('apiVersion: versiond/v1\nkind: Release\nmetadata:\n  name: caf'), Buffer.from([0xe9]), Buffer.from('\n')])),
    expected: ['releases/latin1.yaml:4:12: -: -: file is not valid UTF-8 (first bad byte at offset 59); save it as UTF-8'],
  },
  {
    name: 'a symlink pointing outside the repository',
    change: (r) => r.symlink('releases/passwd.yaml', '../../../etc/passwd'),
    expected: ['releases/passwd.yaml:1:1: -: -: symbolic link to "../../../etc/passwd" points outside the repository; not followed'],
  },
  {
    name: 'a symlink inside the repository',
    change: (r) => r.symlink('releases/alias.yaml', 'watchdoc-6.1.4.yaml'),
    expected: ['releases/alias.yaml:1:1: -: -: symbolic link to "watchdoc-6.1.4.yaml" is not followed; put the document in the file itself'],
  },
];

describe('bad input gets a precise error and the loader keeps going', () => {
  it.each(cases)('$name', async (c) => {
    await run(c);
  });

  it('a tree entry named ".." (crafted; git refuses to check it out) is reported, not followed', async () => {
    const repo = TempRepo.create();
    repos.push(repo);
    const blob = repo.git('hash-object', '-w', 'releases/watchdoc-6.1.4.yaml');
    const releases = repo.git('rev-parse', 'HEAD:releases');
    const listing = repo.git('ls-tree', releases);
    const tree = execMktree(repo, `${listing}\n100644 blob ${blob}\t..\n`);
    const rootListing = repo.git('ls-tree', 'HEAD').replace(releases, tree);
    const root = execMktree(repo, `${rootListing}\n`);
    const commit = repo.git('commit-tree', root, '-p', 'HEAD', '-m', 'hostile tree');
    const state = await loadRevision(repo.dir, commit);
    expect(lines(state)).toEqual(['releases/"..":1:1: -: -: unsafe path entry ".." in the repository tree; not read']);
    expect(state.objects).toHaveLength(TOTAL_DOCUMENTS);
  });

  it('reports every problem at once, across files', async () => {
    const repo = TempRepo.create();
    repos.push(repo);
    for (const c of [cases[0]!, cases[5]!, cases[12]!, cases[30]!]) c.change(repo);
    repo.commitAll('several problems');
    const state = await loadRevision(repo.dir);
    expect(lines(state)).toEqual([...cases[5]!.expected, cases[0]!.expected[0], ...cases[12]!.expected, ...cases[30]!.expected].sort());
    expect(state.byId.has('account/globex-cebox')).toBe(true);
  });
});

function execMktree(repo: TempRepo, input: string): string {
  return execFileSync('git', ['mktree'], { cwd: repo.dir, input, encoding: 'utf8' }).trim();
}
