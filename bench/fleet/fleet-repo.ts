/**
 * The repository of the fleet benchmark: a valid desired state whose members add up to the
 * number of agents asked for — about 90% W360 Core workstations in accounts of ~500 devices
 * behind 5 repository servers (a tenth of them remote, fetching from the cloud), and 10% in
 * Watchdoc domains of 10 servers whose master the controller updates (one domain in ten with
 * bidirectional slaves, which get their commands pushed). The releases are the
 * example's (`example-repo/releases/`), whose packages the demo package server serves signed:
 * agents and controller download and verify real bytes.
 *
 * It is a bare `origin.git` (the controller watches it and commits status to it) plus a work
 * clone where the version change is committed and pushed, as a person would. Only the
 * benchmark uses this; it drives the real `git` CLI (the product itself never does).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../generate-repo.ts';

export interface FleetRepo {
  readonly origin: string;
  readonly work: string;
  readonly agents: readonly string[];
  readonly accounts: number;
  readonly domains: number;
  /** Domains whose slaves are `sync: bidirectional` (the controller pushes to them), by target id. */
  readonly pushDomains: readonly string[];
  readonly targets: number;
}

export interface FleetRepoOptions {
  /** How many domains have bidirectional slaves (default: one in ten, at least one). */
  readonly pushDomains?: number;
}

const ACCOUNT_SIZE = 505; // 5 WRS + 500 devices
const DOMAIN_SIZE = 10; // a master and 9 slaves
const RELEASES = ['w360-core-4.2.1', 'w360-core-4.3.0', 'watchdoc-6.1.3', 'watchdoc-6.1.4'];

export function createFleetRepo(dir: string, agentCount: number, exampleRepo: string, options: FleetRepoOptions = {}): FleetRepo {
  const work = join(dir, 'work');
  const origin = join(dir, 'origin.git');
  mkdirSync(join(work, 'releases'), { recursive: true });
  mkdirSync(join(work, 'accounts'), { recursive: true });
  mkdirSync(join(work, 'domains'), { recursive: true });
  for (const r of RELEASES) copyFileSync(join(exampleRepo, 'releases', `${r}.yaml`), join(work, 'releases', `${r}.yaml`));

  const domains = Math.max(1, Math.round((agentCount * 0.1) / DOMAIN_SIZE));
  const pushCount = Math.min(domains, options.pushDomains ?? Math.max(1, Math.round(domains / 10)));
  const pushDomains: string[] = [];
  const accountAgents = Math.max(6, agentCount - domains * DOMAIN_SIZE);
  const accounts = Math.max(1, Math.ceil(accountAgents / ACCOUNT_SIZE));
  const agents: string[] = [];
  let left = accountAgents;
  for (let a = 1; a <= accounts; a++) {
    const size = Math.ceil(left / (accounts - a + 1));
    left -= size;
    const wrsCount = Math.min(5, Math.max(1, Math.floor(size / 100)));
    const p = `a${String(a).padStart(3, '0')}`;
    const wrs = Array.from({ length: wrsCount }, (_, i) => `${p}-wrs-${i + 1}`);
    const devices = Array.from({ length: size - wrsCount }, (_, i) => {
      const remote = i % 10 === 9;
      return { name: `${p}-${remote ? 'lt' : 'ws'}-${String(i + 1).padStart(4, '0')}`, repositoryServer: remote ? 'cloud' : wrs[i % wrsCount]! };
    });
    agents.push(...wrs, ...devices.map((d) => d.name));
    writeFileSync(
      join(work, 'accounts', `bench-account-${p}.yaml`),
      [
        'apiVersion: versiond/v1',
        'kind: Account',
        'metadata:',
        `  name: bench-account-${p}`,
        'spec:',
        '  product: w360-core',
        '  defaultTag: stable',
        '  restartPolicy: Immediate',
        '  autoUpdate: false',
        '  repositoryServers:',
        ...wrs.map((w) => `    - name: ${w}`),
        '  devices:',
        ...devices.map((d) => `    - { name: ${d.name}, repositoryServer: ${d.repositoryServer} }`),
        '',
      ].join('\n'),
    );
  }
  for (let d = 1; d <= domains; d++) {
    const p = `d${String(d).padStart(3, '0')}`;
    const push = d <= pushCount;
    if (push) pushDomains.push(`domain/bench-domain-${p}`);
    const slaves = Array.from({ length: DOMAIN_SIZE - 1 }, (_, i) => `${p}-s${String(i + 1).padStart(2, '0')}`);
    agents.push(`${p}-master`, ...slaves);
    writeFileSync(
      join(work, 'domains', `bench-domain-${p}.yaml`),
      [
        'apiVersion: versiond/v1',
        'kind: Domain',
        'metadata:',
        `  name: bench-domain-${p}`,
        'spec:',
        '  release: watchdoc-6.1.3',
        '  master:',
        `    name: ${p}-master`,
        '    update: Controller',
        '  slaves:',
        ...slaves.map((s) => `    - { name: ${s}, sync: ${push ? 'bidirectional' : 'mailbox'} }`),
        '',
      ].join('\n'),
    );
  }
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `Fleet benchmark: ${agents.length} agents`);
  git(dir, 'clone', '-q', '--bare', work, origin);
  git(work, 'remote', 'add', 'origin', origin);
  git(work, 'fetch', '-q', 'origin');
  git(work, 'branch', '-q', '--set-upstream-to=origin/main', 'main');
  return { origin, work, agents, accounts, domains, pushDomains, targets: accounts + domains };
}

/**
 * The version change: `stable` moves from w360-core 4.2.1 to 4.3.0 (every account), and every
 * domain goes to watchdoc 6.1.4 — one commit, committed in the work clone (not pushed);
 * `back` undoes it.
 */
export function commitVersionChange(repo: FleetRepo, direction: 'forward' | 'back' = 'forward'): void {
  const edit = (path: string, from: string, to: string): void => {
    const file = join(repo.work, path);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(from)) throw new Error(`${path}: ${from} not found`);
    writeFileSync(file, text.split(from).join(to));
  };
  if (direction === 'forward') {
    edit('releases/w360-core-4.2.1.yaml', 'tags: ["stable"]', 'tags: ["previous"]');
    edit('releases/w360-core-4.3.0.yaml', 'tags: ["4.3-test"]', 'tags: ["4.3-test", "stable"]');
    for (let d = 1; d <= repo.domains; d++) edit(`domains/bench-domain-d${String(d).padStart(3, '0')}.yaml`, 'release: watchdoc-6.1.3', 'release: watchdoc-6.1.4');
    git(repo.work, 'commit', '-q', '-am', 'Roll out w360-core 4.3.0 (stable) and watchdoc 6.1.4');
  } else {
    // The soak's way back: the same two releases, the other way (a rollback is a rollout too).
    edit('releases/w360-core-4.2.1.yaml', 'tags: ["previous"]', 'tags: ["stable"]');
    edit('releases/w360-core-4.3.0.yaml', 'tags: ["4.3-test", "stable"]', 'tags: ["4.3-test"]');
    for (let d = 1; d <= repo.domains; d++) edit(`domains/bench-domain-d${String(d).padStart(3, '0')}.yaml`, 'release: watchdoc-6.1.4', 'release: watchdoc-6.1.3');
    git(repo.work, 'commit', '-q', '-am', 'Roll back to w360-core 4.2.1 (stable) and watchdoc 6.1.3');
  }
}

/**
 * Pushes the work clone's commit to origin, on top of the status commits the controller made
 * meanwhile; returns when the push started (epoch ms) and the pushed commit. Retries if a
 * status commit lands between the rebase and the push.
 */
/**
 * The size of a repository's objects after `git gc` (packed, and loose ones gc keeps because
 * they are recent), KiB: what a clone or a backup of the status history costs.
 */
export function gcSizeKiB(gitdir: string): number {
  git(gitdir, '--git-dir', gitdir, 'gc', '-q');
  const counts = git(gitdir, '--git-dir', gitdir, 'count-objects', '-v');
  const kib = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(counts)?.[1] ?? 0);
  return kib('size-pack') + kib('size');
}

export function pushChange(repo: FleetRepo): { startedAt: number; commit: string } {
  for (let attempt = 1; ; attempt++) {
    git(repo.work, 'fetch', '-q', 'origin');
    git(repo.work, 'rebase', '-q', 'origin/main');
    const startedAt = Date.now();
    try {
      git(repo.work, 'push', '-q', 'origin', 'main');
      return { startedAt, commit: git(repo.work, 'rev-parse', 'HEAD') };
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
