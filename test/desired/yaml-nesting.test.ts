import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DesiredStateLoader, type DesiredState, type LoaderOptions,
} from '../../controller/desired/load-desired-state.ts';
import { openDesiredSource } from '../../controller/desired/open-source.ts';
import { locateRepository } from '../../controller/git/repository.ts';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { lines } from '../helpers/load.ts';

/**
 * Issue 14, item 11: YAML nested too deep (flow, block, or through aliases) used to surface
 * as `Maximum call stack size exceeded`, and alias bombs as a vague message or a long hang.
 * Each is now a clear finding at the line where the limit is crossed, from both sources,
 * in process and in the parse workers, while the rest of the revision is still reported.
 */
const LIMIT = 64;
const DEEP = `nesting deeper than ${LIMIT} levels`;

const times = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i));
const blockLines = (n: number, line: (i: number) => string) => times(n, line).join('\n') + '\n';
const chain = ['a0: &a0 [x]', ...times(80, (i) => `a${i + 1}: &a${i + 1} [*a${i}]`)].join('\n') + '\n';
const laughs = ['a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]',
  ...times(9, (i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(',')}]`)].join('\n') + '\n';
const manyAliases = 'l:\n' + Array.from({ length: 3000 }, (_, i) => `- &a${i} x\n- *a${i}\n`).join('');
const bigAccount = 'apiVersion: versiond/v1\nkind: Account\nmetadata:\n  name: big\nspec:\n  product: w360-core\n'
  + '  defaultTag: stable\n  devices:\n'
  + Array.from({ length: 5000 }, (_, i) => `    - { name: big-dev-${i}, repositoryServer: cloud }\n`).join('');
/** A release with anchors and aliases, used sensibly: it stays valid. */
const anchored = (text: string) => text
  .replace('product: watchdoc', 'product: *p')
  .replace('url: https://downloads.doxense.example/watchdoc/6.1.4/watchdoc-6.1.4.pkg', 'url: *u')
  .replace('metadata:\n  name: watchdoc-6.1.4', 'metadata:\n  name: watchdoc-6.1.4\n  annotations:\n'
    + '    product: &p watchdoc\n'
    + '    url: &u https://downloads.doxense.example/watchdoc/6.1.4/watchdoc-6.1.4.pkg');

/** File -> the line it must produce (a prefix: the message goes on). */
const EXPECTED: Record<string, string> = {
  'accounts/flow-seq.yaml': `accounts/flow-seq.yaml:1:70: -: -: ${DEEP}`,
  'accounts/flow-map.yaml': `accounts/flow-map.yaml:1:259: -: -: ${DEEP}`,
  'domains/block-map.yaml': `domains/block-map.yaml:65:65: -: -: ${DEEP}`,
  'domains/block-seq.yaml': `domains/block-seq.yaml:65:65: -: -: ${DEEP}`,
  'releases/compact-seq.yml': `releases/compact-seq.yml:1:129: -: -: ${DEEP}`,
  'releases/alias-chain.yaml': `releases/alias-chain.yaml:64:12: -: -: ${DEEP} once alias *a62 is expanded`,
  'releases/alias-cycle.yaml': `releases/alias-cycle.yaml:1:8: -: -: ${DEEP}`,
  'releases/alias-deep.yaml': `releases/alias-deep.yaml:2:14: -: -: ${DEEP} once alias *d is expanded`,
  'releases/laughs.yaml': 'releases/laughs.yaml:6:10: -: -: alias *a4 expands the document past 100000 values',
  'releases/many-aliases.yaml': 'releases/many-aliases.yaml:2003:3: -: -: more than 1000 YAML aliases in one file',
};

let repo: TempRepo;
beforeAll(() => {
  repo = TempRepo.create();
  repo
    .write('accounts/flow-seq.yaml', `deep: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
    .write('accounts/flow-map.yaml', `deep: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`)
    .write('accounts/exactly-64.yaml', `deep: ${'['.repeat(LIMIT - 1)}${']'.repeat(LIMIT - 1)}\n`)
    .write('domains/block-map.yaml', blockLines(1200, (i) => `${' '.repeat(i)}k:`))
    .write('domains/block-seq.yaml', blockLines(1200, (i) => `${' '.repeat(i)}-${i === 1199 ? ' x' : ''}`))
    .write('releases/compact-seq.yml', `${'- '.repeat(5000)}x\n`)
    .write('releases/alias-chain.yaml', chain)
    .write('releases/alias-cycle.yaml', 'a: &x [*x]\n')
    .write('releases/alias-deep.yaml', `d: &d ${'['.repeat(60)}${']'.repeat(60)}\n`
      + `u: ${'['.repeat(10)}*d${']'.repeat(10)}\n`)
    .write('releases/laughs.yaml', laughs)
    .write('releases/many-aliases.yaml', manyAliases)
    .write('releases/watchdoc-6.1.4.yaml', anchored(repo.read('releases/watchdoc-6.1.4.yaml')))
    .write('accounts/big.yaml', bigAccount)
    .edit('ha-clusters/ums-prod.yaml', '    backup: Command', '    backup: Nightly')
    .commitAll('deep, aliased and large documents');
});
afterAll(() => repo.dispose());

const load = async (options: LoaderOptions, worktree: boolean): Promise<DesiredState> =>
  new DesiredStateLoader(options).load(await openDesiredSource(locateRepository(repo.dir), { worktree }));

const modes = [
  ['Git, in process', { workers: 'off' }, false],
  ['Git, parse workers', { workerThreshold: 1 }, false],
  ['folder, in process', { workers: 'off' }, true],
  ['folder, parse workers', { workerThreshold: 1 }, true],
] as const;

describe('deep nesting and alias bombs are reported clearly, never as a stack overflow', () => {
  const results = new Map<string, string[]>();

  it.each(modes)('%s: each file at the line the limit is crossed; the rest still loads', async (
    mode, options, worktree,
  ) => {
    const started = performance.now();
    const state = await load(options, worktree);
    const elapsed = performance.now() - started;
    const out = lines(state);
    results.set(mode, out);
    for (const [path, prefix] of Object.entries(EXPECTED)) {
      const mine = out.filter((l) => l.startsWith(`${path}:`));
      expect(mine, path).toHaveLength(1);
      expect(mine[0]!.startsWith(prefix), `${mine[0]}\n  should start with\n${prefix}`).toBe(true);
    }
    expect(out.join('\n')).not.toMatch(/call stack|Excessive alias count|resource exhaustion/i);
    // 63 levels under the top mapping is within the limit: only its schema is wrong.
    expect(out.filter((l) => l.startsWith('accounts/exactly-64.yaml:')).join('\n')).not.toContain('nesting');
    // The rest of the revision is still read and checked.
    expect(out).toContain('ha-clusters/ums-prod.yaml:24:13: hacluster/ums-prod: spec.preflight.backup: '
      + 'must be one of "Command", "External", not "Nightly"');
    expect(state.byId.has('account/globex-cebox')).toBe(true);
    expect(state.byId.has('release/watchdoc-6.1.4'), 'anchors and aliases used sensibly stay valid').toBe(true);
    const big = state.byId.get('account/big');
    expect(big?.kind === 'Account' && big.spec.devices.length).toBe(5000);
    expect(state.valid).toBe(false);
    for (const d of state.diagnostics.filter((x) => x.path in EXPECTED)) {
      expect(d.code).toMatch(/^(NESTING_TOO_DEEP|ALIAS_LIMIT)$/);
    }
    expect(elapsed).toBeLessThan(20_000);
  });

  it('every source and mode gives the same lines', () => {
    const [first, ...rest] = modes.map(([m]) => results.get(m));
    expect(first).toBeDefined();
    for (const r of rest) expect(r).toEqual(first);
  });

  it('versiond validate prints the nesting line and exits 1', () => {
    const bin = join(ROOT, 'controller/cli/bin.js');
    const r = spawnSync(process.execPath, [bin, 'validate', '--repo', repo.dir], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${EXPECTED['accounts/flow-seq.yaml']}`);
    expect(r.stdout).toContain(`${EXPECTED['domains/block-map.yaml']}`);
    expect(r.stdout).not.toMatch(/call stack/);
    expect(r.status).toBe(1);
  });
});
