/**
 * Generates a large, realistic and VALID desired-state repository for benchmarks: every kind
 * in its folder, spread over a few sub-folders, every reference resolving, every member
 * agent unique per product. Deterministic for a given seed.
 *
 * Only the benchmark uses this; it drives the real `git` CLI (the product itself never does).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { prng } from '../test/helpers/prng.ts';

export interface GenerateOptions {
  /** Total number of desired-state files (approximate for very small values: each product needs a few releases). */
  readonly files: number;
  readonly seed?: number;
}

export interface GeneratedAccount {
  readonly path: string;
  readonly name: string;
  readonly product: string;
  /** Tags of the account's product that resolve to exactly one release (usable as `defaultTag`). */
  readonly validTags: readonly string[];
}

export interface GeneratedRepo {
  readonly dir: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly files: number;
  readonly bytes: number;
  readonly accounts: readonly GeneratedAccount[];
}

// ------------------------------------------------------------------ helpers

/** Small deterministic PRNG (mulberry32), shared with the property tests. */
export const rng = prng;

const hash = (algo: 'sha256' | 'sha512', s: string) => createHash(algo).update(s).digest();
const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Bench Bot',
      GIT_AUTHOR_EMAIL: 'bench@example.com',
      GIT_COMMITTER_NAME: 'Bench Bot',
      GIT_COMMITTER_EMAIL: 'bench@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
    maxBuffer: 256 * 1024 * 1024,
  }).trim();
}

// ------------------------------------------------------------------ products and releases

interface ProductSpec {
  readonly product: string;
  /** Share of the releases. */
  readonly weight: number;
  readonly host: string;
  /** k-th release -> version string; unique (numerically) per product. */
  readonly version: (k: number) => string;
}

const semverish = (k: number) => {
  const base = `${1 + Math.floor(k / 100)}.${Math.floor(k / 10) % 10}.${k % 10}`;
  return k % 25 === 24 ? `${base}-rc.1` : base;
};

const PRODUCTS: readonly ProductSpec[] = [
  { product: 'watchdoc', weight: 0.2, host: 'downloads.doxense.example', version: (k) => `${5 + Math.floor(k / 100)}.${Math.floor(k / 10) % 10}.${k % 10}` },
  // IGEL-style: leading zeros in the minor part.
  { product: 'igel-ums', weight: 0.15, host: 'download.igel.example', version: (k) => `${10 + Math.floor(k / 50)}.${pad(Math.floor(k / 5) % 10, 2)}.${100 + (k % 5) * 10}` },
  { product: 'w360-core', weight: 0.2, host: 'releases.wisper.example', version: semverish },
  { product: 'w360-kiosk', weight: 0.15, host: 'releases.wisper.example', version: semverish },
  { product: 'cebox-os', weight: 0.2, host: 'releases.wisper.example', version: semverish },
  // Year-based versions.
  { product: 'cebox-cloud', weight: 0.1, host: 'releases.wisper.example', version: (k) => `${2020 + Math.floor(k / 120)}.${1 + (Math.floor(k / 10) % 12)}.${k % 10}` },
];

const ACCOUNT_PRODUCTS = ['w360-core', 'w360-kiosk', 'cebox-os'] as const;

/** Named tags carried by the newest releases of each product (each names exactly one release). */
const NAMED_TAGS = ['beta', 'stable', 'previous', 'lts'] as const;

interface ReleaseInfo {
  readonly name: string;
  readonly version: string;
  readonly tags: readonly string[];
}

function releaseDoc(product: ProductSpec, r: ReleaseInfo, size: number): string {
  const pub = hash('sha256', `vendor-key:${product.product}`).toString('base64'); // 32 bytes: 44 chars, ends '='
  const sig = hash('sha512', `signature:${r.name}`).toString('base64'); // 64 bytes: 88 chars, ends '=='
  const sha = hash('sha256', `package:${r.name}`).toString('hex');
  return [
    '# yaml-language-server: $schema=../../../schemas/release.schema.json',
    `# ${product.product} ${r.version}, published by the vendor.`,
    'apiVersion: versiond/v1',
    'kind: Release',
    'metadata:',
    `  name: ${r.name}`,
    'spec:',
    `  product: ${product.product}`,
    `  version: "${r.version}"`,
    '  artifact:',
    `    url: https://${product.host}/${product.product}/${r.version}/${r.name}.pkg`,
    `    sha256: ${sha}`,
    `    size: ${size}`,
    '    signature:',
    '      algorithm: ed25519',
    `      publicKey: ${pub}`,
    `      value: ${sig}`,
    ...(r.tags.length > 0 ? [`  tags: [${r.tags.map((t) => JSON.stringify(t)).join(', ')}]`] : []),
    ...(r.tags.includes('stable') ? [`  releaseNotes: https://${product.host}/${product.product}/${r.version}/notes.html`] : []),
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ generation

const REGIONS = ['eu', 'us', 'apac', 'latam'] as const;
const TIME_ZONES = ['Europe/Paris', 'Europe/Berlin', 'Europe/London', 'America/New_York', 'America/Chicago', 'Asia/Tokyo', 'Asia/Singapore', 'UTC'];
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const WEEKS = ['first', 'second', 'third', 'fourth', 'last'];

/**
 * Writes the files of a valid desired-state repository of about `files` documents into
 * `dir` (which must exist), without touching Git. Shares: 20% Release, 20% Domain,
 * 30% Account, 20% DistributionServer, 10% HACluster.
 */
export function writeDesiredFiles(dir: string, options: GenerateOptions): GeneratedRepo {
  const random = rng(options.seed ?? 42);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const chance = (p: number) => random() < p;

  const total = Math.max(options.files, 1);
  const nReleasesWanted = Math.round(total * 0.2);
  const nDomains = Math.round(total * 0.2);
  const nDistribution = Math.round(total * 0.2);
  const nClusters = Math.round(total * 0.1);

  let bytes = 0;
  let files = 0;
  const write = (rel: string, text: string) => {
    const abs = join(dir, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    bytes += Buffer.byteLength(text);
    files++;
  };

  // Releases: per product, versions 0..n-1; the newest carry the named tags, every 10th
  // one a "<version>-test" style tag, so tags are unique per product.
  const releases = new Map<string, ReleaseInfo[]>();
  let nReleases = 0;
  for (const p of PRODUCTS) {
    const n = Math.max(NAMED_TAGS.length + 1, Math.round(nReleasesWanted * p.weight));
    const list: ReleaseInfo[] = [];
    for (let k = 0; k < n; k++) {
      const version = p.version(k);
      const tags: string[] = [];
      const fromNewest = n - 1 - k;
      if (fromNewest < NAMED_TAGS.length) tags.push(NAMED_TAGS[fromNewest]!);
      if (k % 10 === 7) tags.push(`r${k}-test`);
      list.push({ name: `${p.product}-${version}`, version, tags });
    }
    releases.set(p.product, list);
    list.forEach((r, k) => {
      // Sub-folders per product and major line: releases/<product>/<major>/<name>.yaml
      const major = r.version.split('.', 1)[0]!;
      write(`releases/${p.product}/${major}/${r.name}.yaml`, releaseDoc(p, r, 1_000_000 + k * 1_337));
    });
    nReleases += n;
  }
  const releasesOf = (product: string) => releases.get(product)!;
  /** A recent release of a product (the newest quarter), as targets usually run. */
  const recentRelease = (product: string) => {
    const list = releasesOf(product);
    return list[list.length - 1 - Math.floor(random() * Math.max(1, Math.floor(list.length / 4)))]!;
  };

  // Domains (Watchdoc): a master and 1-6 slaves each.
  for (let i = 0; i < nDomains; i++) {
    const region = REGIONS[i % REGIONS.length]!;
    const name = `print-${region}-${pad(i, 5)}`;
    const slaves = int(1, 6);
    const mailbox = chance(0.3);
    const lines = [
      '# yaml-language-server: $schema=../../../schemas/domain.schema.json',
      `# Watchdoc domain ${name}.`,
      'apiVersion: versiond/v1',
      'kind: Domain',
      'metadata:',
      `  name: ${name}`,
      '  labels:',
      `    site: ${region}-site-${i % 50}`,
      ...(chance(0.3) ? ['  annotations:', `    owner: it-print-${region}@example.com`] : []),
      'spec:',
      `  release: ${recentRelease('watchdoc').name}`,
      '  master:',
      `    name: ${name}-master`,
      `    update: ${chance(0.5) ? 'Manual' : 'Controller'}`,
      '  slaves:',
    ];
    for (let s = 1; s <= slaves; s++) {
      lines.push(`    - name: ${name}-s${s}`);
      if (mailbox) lines.push('      sync: mailbox');
      else lines.push('      sync: bidirectional', `      endpoint: https://${name}-s${s}.corp.example:8443`);
    }
    write(`domains/${region}/${name}.yaml`, lines.join('\n') + '\n');
  }

  // Accounts: 2-3 WRS, 10-30 devices (some remote, "cloud"), often a test ring.
  const nAccounts = Math.max(1, total - nReleases - nDomains - nDistribution - nClusters);
  const accounts: GeneratedAccount[] = [];
  for (let i = 0; i < nAccounts; i++) {
    const region = REGIONS[i % REGIONS.length]!;
    const product = ACCOUNT_PRODUCTS[i % ACCOUNT_PRODUCTS.length]!;
    const name = `acct-${region}-${pad(i, 5)}-${product.split('-')[0]}`;
    const list = releasesOf(product);
    // Usually a vendor tag; sometimes a pinned version (resolves by version equality).
    const validTags = ['stable', 'previous', 'lts'];
    const defaultTag = chance(0.1) ? list[list.length - 1 - int(0, Math.min(20, list.length - 1))]!.version : pick(validTags);
    const wrs = Array.from({ length: int(2, 3) }, (_, w) => `${name}-wrs-${w + 1}`);
    const devices: { name: string; wrs: string }[] = [];
    const nDevices = int(10, 30);
    for (let d = 1; d <= nDevices; d++) {
      devices.push({ name: `${name}-ws-${pad(d, 3)}`, wrs: chance(0.15) ? 'cloud' : wrs[d % wrs.length]! });
    }
    const lines = [
      '# yaml-language-server: $schema=../../../schemas/account.schema.json',
      `# Customer account ${name} (${product}).`,
      'apiVersion: versiond/v1',
      'kind: Account',
      'metadata:',
      `  name: ${name}`,
      ...(chance(0.4) ? ['  annotations:', `    vendor-contact: support-${region}@wisper.example`] : []),
      'spec:',
      `  product: ${product}`,
      `  defaultTag: "${defaultTag}"`,
      `  restartPolicy: ${chance(0.5) ? 'Immediate' : 'LeaveToUser'}`,
      `  autoUpdate: ${chance(0.3)}`,
      '  repositoryServers:',
      ...wrs.map((w) => `    - name: ${w}`),
      '  devices:',
      ...devices.map((d) => `    - { name: ${d.name}, repositoryServer: ${d.wrs} }`),
    ];
    if (chance(0.4)) {
      // Test ring: the first WRS and some of its devices, plus maybe a remote device.
      const ringDevices = devices.filter((d) => d.wrs === wrs[0] || d.wrs === 'cloud').slice(0, int(1, 3)).map((d) => d.name);
      const testTags = list.flatMap((r) => r.tags.filter((t) => t.endsWith('-test')));
      const testTag = testTags.length === 0 || chance(0.5) ? 'beta' : pick(testTags);
      lines.push('  testRing:', `    tag: "${testTag}"`, `    repositoryServers: [${wrs[0]}]`, `    devices: [${ringDevices.join(', ')}]`);
    }
    if (product === 'cebox-os') lines.push('  infrastructure:', `    release: ${recentRelease('cebox-cloud').name}`);
    if (chance(0.5)) lines.push('  installMedia:', `    generatedFor: "${list[list.length - 1 - int(0, Math.min(10, list.length - 1))]!.version}"`);
    const sub = i % 3 === 0 ? `${region}/enterprise` : region;
    const path = `accounts/${sub}/${name}.yaml`;
    write(path, lines.join('\n') + '\n');
    accounts.push({ path, name, product, validTags });
  }

  // Distribution servers (Ivanti): one console owns engines/definitions; some serve as a
  // console's own download source.
  for (let i = 0; i < nDistribution; i++) {
    const region = REGIONS[i % REGIONS.length]!;
    const name = `ds-${region}-${pad(i, 5)}`;
    const owner = `console-${region}-${i % 7}`;
    const sourceFor = chance(0.3) ? [`console-${region}-branch-${i % 11}`] : [];
    const tz = pick(TIME_ZONES);
    const lines = [
      '# yaml-language-server: $schema=../../../schemas/distributionserver.schema.json',
      `# Ivanti Security Controls distribution server ${name}.`,
      'apiVersion: versiond/v1',
      'kind: DistributionServer',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      `  address: '\\\\${name}.corp.example\\SecurityControls'`,
      `  credentialRef: ivanti-${name}`,
      ...(sourceFor.length > 0 ? [`  downloadSourceFor: [${sourceFor.join(', ')}]`] : []),
      '  syncs:',
      '    - name: monthly-patches',
      '      content: patches',
      `      console: ${owner}`,
      '      schedule:',
      '        frequency: monthly',
      `        week: ${pick(WEEKS)}`,
      `        weekday: ${pick(WEEKDAYS)}`,
      `        delayDays: ${int(0, 7)}`,
      `        at: "${pad(int(0, 5), 2)}:${pad(int(0, 3) * 15, 2)}"`,
      `        timeZone: ${tz}`,
      ...(chance(0.1) ? [`      runNow: "2026-11-${pad(int(1, 28), 2)}T09:15:00Z"`] : []),
      '    - name: daily-definitions',
      '      content: engines-definitions',
      `      console: ${owner}`,
      '      schedule:',
      '        frequency: daily',
      `        at: "${pad(int(0, 23), 2)}:${pad(int(0, 3) * 15, 2)}"`,
      `        timeZone: ${tz}`,
    ];
    if (chance(0.3)) {
      lines.push(
        '    - name: weekly-all',
        '      content: all',
        `      console: ${owner}`,
        '      schedule:',
        '        frequency: weekly',
        `        weekday: ${pick(WEEKDAYS)}`,
        `        at: "${pad(int(0, 23), 2)}:00"`,
        `        timeZone: ${tz}`,
      );
    }
    write(`distribution-servers/${region}/${name}.yaml`, lines.join('\n') + '\n');
  }

  // HA clusters (IGEL UMS): 2-4 servers, 0-2 load balancers, 1-3 consoles.
  for (let i = 0; i < nClusters; i++) {
    const region = REGIONS[i % REGIONS.length]!;
    const name = `ums-${region}-${pad(i, 5)}`;
    const servers = Array.from({ length: int(2, 4) }, (_, s) => `${name}-srv-${s + 1}`);
    const lbs = Array.from({ length: int(0, 2) }, (_, s) => `${name}-lb-${s + 1}`);
    const consoles = Array.from({ length: int(1, 3) }, (_, s) => `${name}-console-${s + 1}`);
    const order = [...servers].sort(() => random() - 0.5);
    const lines = [
      '# yaml-language-server: $schema=../../../schemas/hacluster.schema.json',
      `# IGEL UMS HA network ${name}.`,
      'apiVersion: versiond/v1',
      'kind: HACluster',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      `  release: ${recentRelease('igel-ums').name}`,
      '  servers:',
      ...servers.map((s) => `    - name: ${s}`),
      ...(lbs.length > 0 ? ['  loadBalancers:', ...lbs.map((s) => `    - name: ${s}`)] : []),
      '  consoles:',
      ...consoles.map((s) => `    - name: ${s}`),
      `  updateOrder: [${order.join(', ')}]`,
      '  preflight:',
      `    maxClockSkewSeconds: ${pick([30, 60, 120])}`,
      `    backup: ${chance(0.7) ? 'Command' : 'External'}`,
      `    orphanCheck: ${chance(0.8)}`,
    ];
    write(`ha-clusters/${region}/${name}.yaml`, lines.join('\n') + '\n');
  }

  // Files outside the desired-state folders, as a real repository has.
  writeFileSync(join(dir, 'README.md'), '# Desired state (generated for benchmarks)\n');

  return {
    dir,
    counts: { Release: nReleases, Domain: nDomains, Account: nAccounts, DistributionServer: nDistribution, HACluster: nClusters },
    files,
    bytes,
    accounts,
  };
}

/** `git init`, write the files, `git add -A` and one commit. Returns the generated repo and timings. */
export function generateGitRepo(dir: string, options: GenerateOptions): GeneratedRepo & { writeMs: number; commitMs: number } {
  git(dir, 'init', '-q', '-b', 'main');
  // Keep loose objects loose until the benchmark packs them itself.
  git(dir, 'config', 'gc.auto', '0');
  git(dir, 'config', 'commit.gpgsign', 'false');
  let t = performance.now();
  const repo = writeDesiredFiles(dir, options);
  const writeMs = performance.now() - t;
  t = performance.now();
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', `desired state: ${repo.files} documents`);
  const commitMs = performance.now() - t;
  return { ...repo, writeMs, commitMs };
}
