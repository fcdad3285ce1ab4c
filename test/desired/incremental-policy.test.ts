/**
 * The incremental cross-file rules (controller/desired/policy/incremental.ts) against the
 * rules run whole: over series of random edits — documents added, removed, renamed, copied,
 * names duplicated, references broken and mended, tags and versions colliding, agents shared,
 * products switched, documents made invalid or unreadable, files reverted — a long-lived
 * loader must give, after every edit, exactly what a fresh loader gives.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DirectorySource } from '../../controller/desired/directory-source.ts';
import { DesiredStateLoader } from '../../controller/desired/load-desired-state.ts';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import type { Finding } from '../../reconcilers/model/finding.ts';
import { at, policyContext, type PolicyRule } from '../../controller/desired/policy/context.ts';
import { releaseCatalogue } from '../../controller/desired/policy/release-catalogue.ts';
import { writeDesiredFiles } from '../../bench/generate-repo.ts';
import { desiredView } from '../helpers/desired-view.ts';
import { prng } from '../helpers/prng.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));


function yamlFiles(dir: string, under = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, under), { withFileTypes: true })) {
    const rel = under === '' ? e.name : `${under}/${e.name}`;
    if (e.isDirectory()) out.push(...yamlFiles(dir, rel));
    else if (rel.endsWith('.yaml')) out.push(rel);
  }
  return out.sort();
}

/** One random edit of the repository in `dir`; returns what it did, for the failure message. */
function edit(dir: string, random: () => number, step: number, history: Map<string, string[]>): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const files = yamlFiles(dir);
  const of = (folder: string) => files.filter((f) => f.startsWith(`${folder}/`));
  const read = (f: string): Record<string, any> | undefined => {
    try {
      const v = parse(readFileSync(join(dir, f), 'utf8'));
      return v && typeof v === 'object' && v.spec && typeof v.spec === 'object' ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const write = (f: string, text: string) => {
    const list = history.get(f) ?? [];
    if (existsSync(join(dir, f))) list.push(readFileSync(join(dir, f), 'utf8'));
    history.set(f, list);
    writeFileSync(join(dir, f), text);
  };
  const change = (folder: string, fn: (doc: Record<string, any>) => string | undefined): string => {
    const candidates = of(folder);
    if (candidates.length === 0) return 'nothing';
    const f = pick(candidates);
    const doc = read(f);
    if (!doc) return `${f}: unreadable, left`;
    const what = fn(doc);
    if (what === undefined) return `${f}: unchanged`;
    write(f, stringify(doc));
    return `${f}: ${what}`;
  };
  const names = (folder: string) =>
    of(folder).map((f) => read(f)?.metadata?.name).filter((n): n is string => typeof n === 'string');
  const releases = of('releases').map(read).filter((d) => d !== undefined);
  const tags = [...new Set(releases.flatMap((r) => [...(r.spec.tags ?? []), r.spec.version]))];
  const agents = files.flatMap((f) => {
    const s = read(f)?.spec ?? {};
    const all = [...(s.devices ?? []), ...(s.slaves ?? []), ...(s.servers ?? []), s.master];
    return all.filter(Boolean).map((m: any) => m.agent ?? m.name);
  });
  const folders = ['releases', 'domains', 'accounts', 'distribution-servers', 'ha-clusters'];
  const members = (s: any): any[] =>
    [...(s.devices ?? []), ...(s.slaves ?? []), ...(s.servers ?? []), ...(s.loadBalancers ?? [])];

  switch (Math.floor(random() * 17)) {
    case 0: {
      const f = pick(files);
      unlinkSync(join(dir, f));
      return `removed ${f}`;
    }
    case 1: {
      const f = pick(files);
      const to = `${f.split('/')[0]}/${random() < 0.5 ? 'aa' : 'zz'}-copy-${step}.yaml`;
      cpSync(join(dir, f), join(dir, to));
      return `copied ${f} to ${to}`;
    }
    case 2: {
      const f = pick(files);
      const to = `${f.split('/')[0]}/${random() < 0.5 ? '0' : 'zz'}-moved-${step}.yaml`;
      cpSync(join(dir, f), join(dir, to));
      unlinkSync(join(dir, f));
      return `renamed ${f} to ${to}`;
    }
    case 3: {
      const folder = pick(folders);
      const taken = names(folder);
      return change(folder, (d) => {
        d.metadata.name = random() < 0.7 && taken.length > 0 ? pick(taken) : `renamed-${step}`;
        return `name ${d.metadata.name}`;
      });
    }
    case 4:
      return change(pick(['domains', 'ha-clusters']), (d) => {
        const rel = names('releases');
        d.spec.release = random() < 0.75 && rel.length > 0 ? pick(rel) : `missing-${step % 3}`;
        return `release ${d.spec.release}`;
      });
    case 5:
      return change('accounts', (d) => {
        const tag = random() < 0.85 && tags.length > 0 ? pick(tags) : 'no-such-tag';
        if (random() < 0.6) d.spec.defaultTag = tag;
        else d.spec.testRing = { ...(d.spec.testRing ?? {}), tag };
        if (random() < 0.3) d.spec.infrastructure = { release: pick([...names('releases'), 'missing-0']) };
        if (random() < 0.2) {
          d.spec.promotion = { override: { version: pick(tags.length > 0 ? tags : ['1.0.0']), reason: 'test' } };
        }
        return `tags ${JSON.stringify([d.spec.defaultTag, d.spec.testRing?.tag, d.spec.infrastructure])}`;
      });
    case 6:
      return change('releases', (d) => {
        const other = releases.length > 0 ? pick(releases) : undefined;
        const r = random();
        if (r < 0.4) d.spec.tags = [...(d.spec.tags ?? []), pick(tags.length > 0 ? tags : ['stable'])];
        else if (r < 0.6 && other) d.spec.version = other.spec.version;
        else if (r < 0.8 && other) d.spec.product = other.spec.product;
        else d.spec.tags = [];
        return `catalogue ${JSON.stringify([d.spec.product, d.spec.version, d.spec.tags])}`;
      });
    case 7:
      return change(pick(['accounts', 'domains', 'ha-clusters']), (d) => {
        const list = members(d.spec);
        if (list.length === 0 || agents.length === 0) return undefined;
        const m = pick(list);
        if (random() < 0.5) m.agent = pick(agents.slice(0, 12));
        else m.name = pick(list).name;
        return `member ${JSON.stringify(m)}`;
      });
    case 8:
      return change(pick(folders), (d) => {
        if (random() < 0.5) d.spec.product = 42;
        else d.spec = { nonsense: true };
        return 'made invalid';
      });
    case 9: {
      const f = pick(files);
      write(f, 'kind: [\n');
      return `broke the syntax of ${f}`;
    }
    case 10: {
      const withHistory = [...history].filter(([, list]) => list.length > 0);
      if (withHistory.length === 0) return 'nothing to revert';
      const [f, list] = pick(withHistory);
      writeFileSync(join(dir, f), list.pop()!);
      return `reverted ${f}`;
    }
    case 11:
      return change('accounts', (d) => {
        d.spec.product = pick(['w360-core', 'w360-kiosk', 'cebox-os', 'nobody']);
        return `product ${d.spec.product}`;
      });
    case 12: {
      // A new document from an existing one, under a fresh name (a new target).
      const f = pick(files);
      const doc = read(f);
      if (!doc) return 'nothing';
      doc.metadata = { ...doc.metadata, name: `new-${step}` };
      const to = `${f.split('/')[0]}/new-${step}.yaml`;
      write(to, stringify(doc));
      return `added ${to}`;
    }
    case 13:
      return change('ha-clusters', (d) => {
        d.spec.updateOrder = [pick(members(d.spec))?.name ?? 'x', 'not-a-server'];
        if (random() < 0.5) d.spec.databaseRestore = { version: pick(tags.length > 0 ? tags : ['1.0']) };
        return 'cluster order';
      });
    case 14:
      return change(pick(['accounts', 'domains']), (d) => {
        d.spec.rollout = { waves: { steps: [5, 1, '0%'], maxUnavailable: 0, approvalRequired: [9] } };
        return 'bad waves';
      });
    case 15: {
      // A release changes under a target that names it: the target's product follows.
      const target = [...of('domains'), ...of('ha-clusters')].map(read).filter((d) => d !== undefined);
      if (target.length === 0) return 'nothing';
      const wanted = pick(target).spec.release;
      const products = [...new Set(releases.map((r) => r.spec.product)), 'w360-core'];
      return change('releases', (d) => {
        d.metadata.name = wanted;
        d.spec.product = pick(products);
        return `release ${wanted} now of ${d.spec.product}`;
      });
    }
    default: {
      // Several edits in one revision.
      return [0, 1, 2].map(() => edit(dir, random, step * 10 + 7, history)).join('; ');
    }
  }
}

describe('the incremental policy gives what a full run gives', () => {
  for (const seed of [1, 2, 3]) {
    it(`over 50 random edits of a generated repository (seed ${seed})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'versiond-incremental-'));
      dirs.push(dir);
      writeDesiredFiles(dir, { files: 70, seed });
      const random = prng(seed * 7919);
      const history = new Map<string, string[]>();
      const incremental = new DesiredStateLoader({ workers: 'off' });
      const done: string[] = [];
      let sawErrors = 0;
      for (let step = 0; step < 50; step++) {
        if (step > 0) done.push(edit(dir, random, step, history));
        const state = await incremental.load(new DirectorySource(dir));
        const reference = new DesiredStateLoader({ workers: 'off', incrementalPolicy: false });
        const fresh = await reference.load(new DirectorySource(dir));
        if (state.diagnostics.length > 0) sawErrors++;
        const what = `after: ${done.slice(-5).join(' | ')} (files: ${relative(tmpdir(), dir)})`;
        expect(desiredView(state), what).toEqual(desiredView(fresh));
      }
      // The series must have exercised the rules, not only valid revisions.
      expect(sawErrors).toBeGreaterThan(15);
    }, 120_000);
  }
});

/** releaseCatalogue as it was before it judged each release on its own: a walk in path order. */
const walkingCatalogue: PolicyRule = ({ releases, releaseIndex }) => {
  const out: Finding[] = [];
  const tags = new Map<string, string[]>();
  for (const r of releases) {
    const { product, version } = r.spec;
    const first = releaseIndex.withVersion(product, version)[0];
    if (first && first !== r) {
      const data = { product, version, other: first.metadata.name };
      out.push({ code: 'DUPLICATE_RELEASE_VERSION', data, ...at(r, ['spec', 'version']) });
    }
    (r.spec.tags ?? []).forEach((tag, i) => {
      const key = `${product}\0${tag}`;
      const holders = tags.get(key) ?? [];
      if (holders.length > 0) {
        const data = { tag, product, releases: [...holders, r.metadata.name] };
        out.push({ code: 'AMBIGUOUS_TAG', data, ...at(r, ['spec', 'tags', i]) });
      }
      holders.push(r.metadata.name);
      tags.set(key, holders);
    });
  }
  return out;
};

describe('releaseCatalogue, judging each release on its own', () => {
  it('finds what a walk over the releases in path order finds', () => {
    const random = prng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let round = 0; round < 300; round++) {
      const releases = Array.from({ length: 1 + Math.floor(random() * 12) }, (_, i) => ({
        apiVersion: 'versiond/v1',
        kind: 'Release',
        metadata: { name: pick(['a', 'b', 'c', `r${i}`]) },
        spec: {
          product: pick(['p', 'q']),
          version: pick(['1.0.0', '1.0', '2.0.0', '2.0.1']),
          tags: Array.from({ length: Math.floor(random() * 4) }, () => pick(['stable', 'beta', '1.0.0', 'lts'])),
        },
        source: { path: `releases/r${String(i).padStart(2, '0')}.yaml`, blob: String(i) },
      })) as unknown as AnyDesiredObject[];
      const ctx = policyContext(releases);
      expect(releaseCatalogue(ctx)).toEqual(walkingCatalogue(ctx));
    }
  });
});
