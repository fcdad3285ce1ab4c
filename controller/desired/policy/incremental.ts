/**
 * The cross-file rules, kept up to date across reloads instead of re-run over the whole
 * repository (issue 16: with 10,000 documents and 75,000 members, re-running every rule made
 * a one-file reload cost ~50 ms). A reload re-checks only what the changed documents can
 * affect and reuses every other finding; the answer is exactly that of a full run, which a
 * property test checks (test/desired/incremental-policy.test.ts).
 *
 * How each rule is kept:
 *  - Rules that judge each document on its own, apart from lookups (POLICY_SUBJECTS in
 *    index.ts), run on a context narrowed to that one document. The lookups it makes (the
 *    release index, the invalid documents, the lists of other kinds) are recorded, so the
 *    document is checked again when a document it looked up changes, and only then.
 *  - Unique names and agent ownership compare documents with each other: they keep groups
 *    (documents of one name; targets running one product on one agent) and re-judge the
 *    groups a change touches.
 *  - Any other rule runs over the whole revision on every load (correct, only slower); so
 *    does a listed rule that ever reports on a document other than the one it was given.
 *
 * Documents are frozen and reused while their blob is unchanged (load-desired-state.ts), so
 * a document's identity stands for its content, and the same document keeps its path: the
 * relative order of documents present in two revisions never changes.
 */
import { KINDS, type AnyDesiredObject, type Kind, type Release } from '../../../reconcilers/model/desired.ts';
import type { TargetId } from '../../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../../reconcilers/model/release-index.ts';
import { isValidVersion, versionKey } from '../../../protocol/version.ts';
import type { Diagnostic, Finding } from '../diagnostics.ts';
import type { PolicyContext, PolicyRule } from './context.ts';
import { agentConflict, agentOwnership, membersOf, ownerName, productOf } from './members.ts';
import { duplicateName, nameKey, uniqueNames } from './unique-names.ts';
import { dependOn, releaseBad, releasesDependedOn, unusableByDiagnostics } from './unusable.ts';

type Obj = AnyDesiredObject;
const NONE: readonly never[] = Object.freeze([]);
const LISTS: Readonly<Record<Kind, keyof PolicyContext>> = {
  Release: 'releases',
  Domain: 'domains',
  Account: 'accounts',
  DistributionServer: 'distributionServers',
  HACluster: 'clusters',
};

/** What each document's check looked up, and the documents that looked each thing up. */
class Lookups {
  private readonly deps = new Map<Obj, readonly string[]>();
  private readonly dependents = new Map<string, Set<Obj>>();

  forget(obj: Obj): void {
    for (const key of this.deps.get(obj) ?? NONE) this.dependents.get(key)?.delete(obj);
    this.deps.delete(obj);
  }

  record(obj: Obj, deps: ReadonlySet<string>): void {
    this.forget(obj);
    if (deps.size === 0) return;
    this.deps.set(obj, [...deps]);
    for (const key of deps) {
      let set = this.dependents.get(key);
      if (!set) this.dependents.set(key, (set = new Set()));
      set.add(obj);
    }
  }

  /** Documents whose checks looked up something that changed. */
  affected(changed: ReadonlySet<string>, into: Set<Obj>): void {
    for (const key of changed) for (const obj of this.dependents.get(key) ?? NONE) into.add(obj);
  }
}

/** Findings of one rule per document (most documents have none: they are not stored). */
class PerDocumentRule {
  readonly findings = new Map<Obj, readonly Finding[]>();
  readonly lookups = new Lookups();
  /** The document being checked, and what its check looked up. */
  private focus: { obj: Obj; one: readonly Obj[] } | undefined;
  private readonly deps = new Set<string>();
  private revision: Revision | undefined;
  private ctx: PolicyContext | undefined;

  constructor(readonly rule: PolicyRule, readonly subjects: ReadonlySet<Kind>) {}

  forget(obj: Obj): void {
    this.findings.delete(obj);
    this.lookups.forget(obj);
  }

  /** Checks `obj`, a document of this revision; false when the rule reported on another document. */
  check(obj: Obj, rev: Revision): boolean {
    this.forget(obj);
    if (!this.subjects.has(obj.kind)) return true;
    this.focus = { obj, one: [obj] };
    this.deps.clear();
    const found = this.rule(this.context(rev));
    this.focus = undefined;
    for (const f of found) if (f.path !== obj.source.path) return false;
    if (found.length > 0) this.findings.set(obj, found);
    this.lookups.record(obj, this.deps);
    return true;
  }

  /**
   * The context the rule sees while checking the focused document: the rule's own kinds hold
   * just that document; everything else is the whole revision, and each read of it is
   * recorded. One object per revision, reading the focus (checks allocate next to nothing).
   */
  private context(rev: Revision): PolicyContext {
    if (this.revision === rev && this.ctx) return this.ctx;
    const focus = () => this.focus!;
    const deps = this.deps;
    const ctx = {
      get objects() {
        return focus().one;
      },
      releaseIndex: trackedIndex(rev.index, deps),
      invalid: trackedMap(rev.invalid, deps),
    };
    for (const kind of KINDS) {
      const subject = this.subjects.has(kind);
      Object.defineProperty(ctx, LISTS[kind], {
        get: () => {
          if (focus().obj.kind === kind) return focus().one;
          if (subject) return NONE;
          deps.add(`kind:${kind}`);
          return rev.list(kind);
        },
      });
    }
    this.revision = rev;
    this.ctx = ctx as unknown as PolicyContext;
    return this.ctx;
  }
}

/** Documents grouped by a key, each group in path order; a document may be in several groups. */
class Groups {
  private readonly groups = new Map<string, Obj | Obj[]>();

  first(key: string): Obj | undefined {
    const g = this.groups.get(key);
    return Array.isArray(g) ? g[0] : g;
  }

  members(key: string): readonly Obj[] {
    const g = this.groups.get(key);
    return g === undefined ? NONE : Array.isArray(g) ? g : [g];
  }

  add(key: string, obj: Obj): void {
    const g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, obj);
    else if (Array.isArray(g)) g.push(obj);
    else this.groups.set(key, [g, obj]);
  }

  remove(key: string, obj: Obj): void {
    const g = this.groups.get(key);
    if (g === obj) this.groups.delete(key);
    else if (Array.isArray(g)) {
      const i = g.indexOf(obj);
      if (i >= 0) g.splice(i, 1);
      if (g.length === 1) this.groups.set(key, g[0]!);
    }
  }

  /** Puts a group touched by additions back in path order. */
  sort(key: string, position: (obj: Obj) => number): void {
    const g = this.groups.get(key);
    if (Array.isArray(g)) g.sort((a, b) => position(a) - position(b));
  }
}

/** One revision's documents, with the lists and lookups rules read, built when first read. */
class Revision {
  private lists = new Map<Kind, readonly Obj[]>();
  private positions: Map<Obj, number> | undefined;

  constructor(
    readonly objects: readonly Obj[],
    readonly releases: readonly Release[],
    readonly index: ReleaseIndex,
    readonly invalid: ReadonlyMap<string, string>,
  ) {}

  list(kind: Kind): readonly Obj[] {
    if (kind === 'Release') return this.releases;
    let list = this.lists.get(kind);
    if (!list) this.lists.set(kind, (list = this.objects.filter((o) => o.kind === kind)));
    return list;
  }

  position(obj: Obj): number {
    if (!this.positions) {
      this.positions = new Map();
      this.objects.forEach((o, i) => this.positions!.set(o, i));
    }
    return this.positions.get(obj) ?? -1;
  }

  /** The whole context, as policyContext builds it. */
  full(): PolicyContext {
    return {
      objects: this.objects,
      releases: this.releases,
      domains: this.list('Domain') as PolicyContext['domains'],
      accounts: this.list('Account') as PolicyContext['accounts'],
      distributionServers: this.list('DistributionServer') as PolicyContext['distributionServers'],
      clusters: this.list('HACluster') as PolicyContext['clusters'],
      releaseIndex: this.index,
      invalid: this.invalid,
    };
  }

}

function versionDep(product: string, version: string): string {
  try {
    return `ver:${product}\0${versionKey(version)}`;
  } catch {
    return 'kind:Release'; // the index throws too; depend on every release to be safe
  }
}

/** The release index, recording which releases each lookup depended on. */
function trackedIndex(index: ReleaseIndex, deps: Set<string>): ReleaseIndex {
  return new Proxy(index, {
    get(target, prop) {
      switch (prop) {
        case 'get':
          return (name: string) => {
            deps.add(`rel:${name}`);
            return target.get(name);
          };
        case 'withVersion':
          return (product: string, version: string) => {
            deps.add(versionDep(product, version));
            return target.withVersion(product, version);
          };
        case 'resolveTag':
          return (product: string, tag: string) => {
            deps.add(`tag:${product}\0${tag}`);
            if (isValidVersion(tag)) deps.add(versionDep(product, tag));
            return target.resolveTag(product, tag);
          };
        case 'ofProduct':
          return (product: string) => {
            deps.add(`prod:${product}`);
            return target.ofProduct(product);
          };
        default: {
          // Anything else (byName, a method added later) depends on every release.
          deps.add('kind:Release');
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        }
      }
    },
  });
}

/** The invalid documents, recording the keys looked up. */
function trackedMap(map: ReadonlyMap<string, string>, deps: Set<string>): ReadonlyMap<string, string> {
  return new Proxy(map, {
    get(target, prop) {
      if (prop === 'get' || prop === 'has') {
        return (key: string) => {
          deps.add(`inv:${key}`);
          return prop === 'get' ? target.get(key) : target.has(key);
        };
      }
      deps.add('invalid');
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** What a change of these releases changes for lookups in the release index. */
function releaseKeys(r: Release, into: Set<string>): void {
  into.add(`rel:${r.metadata.name}`);
  into.add(`prod:${r.spec.product}`);
  into.add(versionDep(r.spec.product, r.spec.version));
  for (const tag of r.spec.tags ?? []) into.add(`tag:${r.spec.product}\0${tag}`);
}

/** Unique names, kept by groups of one `Kind/name`. */
class UniqueNames {
  readonly findings = new Map<Obj, readonly Finding[]>();
  private readonly groups = new Groups();

  update(removed: readonly Obj[], added: readonly Obj[], rev: Revision): void {
    const touched = new Set<string>();
    for (const o of removed) {
      this.groups.remove(nameKey(o), o);
      this.findings.delete(o);
      touched.add(nameKey(o));
    }
    for (const o of added) {
      this.groups.add(nameKey(o), o);
      touched.add(nameKey(o));
    }
    for (const key of touched) {
      this.groups.sort(key, (o) => rev.position(o));
      const group = this.groups.members(key);
      group.forEach((o, i) => {
        if (i === 0) this.findings.delete(o);
        else this.findings.set(o, [duplicateName(o, group[0]!)]);
      });
    }
  }
}

/** Agent ownership, kept by groups of one product on one agent. */
class AgentOwnership {
  readonly findings = new Map<Obj, readonly Finding[]>();
  private readonly groups = new Groups();
  /** Per document with members: the product it was registered with, and its keys. */
  private readonly registered = new Map<Obj, { product: string | undefined; keys: readonly string[] }>();
  /** Domains and clusters by the release that gives them their product. */
  private readonly byRelease = new Map<string, Set<Obj>>();

  update(removed: readonly Obj[], added: readonly Obj[], changedReleases: ReadonlySet<string>, rev: Revision): void {
    const touched = new Set<string>();
    const unregister = (o: Obj) => {
      const reg = this.registered.get(o);
      if (!reg) return;
      for (const key of reg.keys) {
        this.groups.remove(key, o);
        touched.add(key);
      }
      this.registered.delete(o);
      this.findings.delete(o);
      if (o.kind === 'Domain' || o.kind === 'HACluster') this.byRelease.get(o.spec.release)?.delete(o);
    };
    const register = (o: Obj) => {
      const members = membersOf(o);
      if (members.length === 0) return;
      const product = productOf(o, { releaseIndex: rev.index });
      const keys = product === undefined ? [] : [...new Set(members.map((m) => `${product}\0${m.agent}`))];
      this.registered.set(o, { product, keys });
      if (o.kind === 'Domain' || o.kind === 'HACluster') {
        let set = this.byRelease.get(o.spec.release);
        if (!set) this.byRelease.set(o.spec.release, (set = new Set()));
        set.add(o);
      }
      for (const key of keys) {
        this.groups.add(key, o);
        touched.add(key);
      }
    };
    if (this.registered.size === 0 && removed.length === 0) {
      // The first revision: registered in path order, every group is in order already.
      for (const o of added) register(o);
      for (const o of this.registered.keys()) this.judge(o);
      return;
    }
    for (const o of removed) unregister(o);
    // Domains and clusters still here whose release changed may run another product now.
    const again = new Set<Obj>();
    for (const name of changedReleases) for (const o of this.byRelease.get(name) ?? NONE) again.add(o);
    for (const o of again) unregister(o);
    for (const o of added) register(o);
    for (const o of again) register(o);
    const dirty = new Set<Obj>();
    for (const key of touched) {
      this.groups.sort(key, (o) => rev.position(o));
      for (const o of this.groups.members(key)) dirty.add(o);
    }
    for (const o of dirty) this.judge(o);
  }

  private judge(obj: Obj): void {
    const reg = this.registered.get(obj)!;
    const out: Finding[] = [];
    const self = ownerName(obj);
    if (reg.product !== undefined) {
      for (const m of membersOf(obj)) {
        const owner = ownerName(this.groups.first(`${reg.product}\0${m.agent}`)!);
        if (owner !== self) out.push(agentConflict(obj, m, reg.product, owner));
      }
    }
    if (out.length > 0) this.findings.set(obj, out);
    else this.findings.delete(obj);
  }
}

/**
 * The cross-file rules of successive revisions. `update` takes each revision's documents
 * (in path order) and the invalid documents, and gives every rule's findings.
 */
export class IncrementalPolicy {
  private previous: readonly Obj[] = [];
  private previousInvalid: ReadonlyMap<string, string> = new Map();
  private releases: readonly Release[] = [];
  private index = new ReleaseIndex([]);
  private revision: Revision | undefined;
  private readonly perDocument: PerDocumentRule[] = [];
  private readonly whole: PolicyRule[] = [];
  private readonly unique: UniqueNames | undefined;
  private readonly owners: AgentOwnership | undefined;
  /** The releases each domain, cluster and account depends on (for unusable targets). */
  private readonly depends = new Lookups();
  private readonly dependsOn = new Map<Obj, readonly string[]>();
  private readonly dependents = new Map<string, Set<Obj>>();

  constructor(private readonly rules: readonly PolicyRule[], subjects: ReadonlyMap<PolicyRule, readonly Kind[]>) {
    for (const rule of rules) {
      const kinds = subjects.get(rule);
      if (kinds) this.perDocument.push(new PerDocumentRule(rule, new Set(kinds)));
      else if (rule === uniqueNames) this.unique = new UniqueNames();
      else if (rule === agentOwnership) this.owners = new AgentOwnership();
      else this.whole.push(rule);
    }
  }

  /** The full context of the last revision (for rules against a base revision). */
  context(): PolicyContext {
    return this.revision!.full();
  }

  update(objects: readonly Obj[], invalid: ReadonlyMap<string, string>): Finding[] {
    const { removed, added } = difference(this.previous, objects);
    const changed = new Set<string>();
    const changedReleases = new Set<string>();
    for (const o of [...removed, ...added]) {
      changed.add(`kind:${o.kind}`);
      if (o.kind === 'Release') {
        releaseKeys(o, changed);
        changedReleases.add(o.metadata.name);
      }
    }
    if (changedReleases.size > 0 || this.revision === undefined) {
      this.releases = objects.filter((o): o is Release => o.kind === 'Release');
      this.index = new ReleaseIndex(this.releases);
    }
    let invalidChanged = false;
    for (const [key, path] of invalid) {
      if (this.previousInvalid.get(key) === path) continue;
      invalidChanged = true;
      changed.add(`inv:${key}`);
    }
    for (const key of this.previousInvalid.keys()) {
      if (invalid.has(key)) continue;
      invalidChanged = true;
      changed.add(`inv:${key}`);
    }
    if (invalidChanged) changed.add('invalid');
    const rev = (this.revision = new Revision(objects, this.releases, this.index, invalid));
    this.previous = objects;
    this.previousInvalid = invalid;

    for (const rule of [...this.perDocument]) {
      for (const o of removed) rule.forget(o);
      // Documents whose lookups changed: present before and still here (removed ones were
      // forgotten first), so none is among the added ones.
      const affected = new Set<Obj>();
      rule.lookups.affected(changed, affected);
      let ok = true;
      for (const o of added) if (ok) ok = rule.check(o, rev);
      for (const o of affected) if (ok) ok = rule.check(o, rev);
      if (!ok) {
        // Not a per-document rule after all: from now on it runs whole.
        this.perDocument.splice(this.perDocument.indexOf(rule), 1);
        this.whole.push(rule.rule);
      }
    }
    this.unique?.update(removed, added, rev);
    this.owners?.update(removed, added, changedReleases, rev);
    this.updateDependencies(removed, added, changed, rev);

    const out: Finding[] = [];
    const wholeContext = this.whole.length > 0 ? rev.full() : undefined;
    for (const rule of this.rules) {
      const kept = rule === uniqueNames ? this.unique
        : rule === agentOwnership ? this.owners
        : this.perDocument.find((r) => r.rule === rule);
      if (kept) {
        for (const list of kept.findings.values()) for (const f of list) out.push(f);
      } else for (const f of rule(wholeContext!)) out.push(f);
    }
    return out;
  }

  /** Targets the controller must not act on, as unusableTargets says for the last revision. */
  unusable(diagnostics: readonly Diagnostic[]): Map<TargetId, string[]> {
    const rev = this.revision!;
    const out = unusableByDiagnostics(diagnostics);
    const bad = new Set<string>();
    for (const name of this.dependents.keys()) if (releaseBad(rev.index, out, name)) bad.add(name);
    if (bad.size === 0) return out;
    const hit = new Set<Obj>();
    for (const name of bad) for (const o of this.dependents.get(name) ?? NONE) hit.add(o);
    // In unusableTargets' order: domains, then clusters, then accounts, each in path order.
    const group = (o: Obj) => (o.kind === 'Domain' ? 0 : o.kind === 'HACluster' ? 1 : 2);
    const order = [...hit].sort((a, b) => group(a) - group(b) || rev.position(a) - rev.position(b));
    for (const o of order) dependOn(out, o, this.dependsOn.get(o) ?? NONE, (name) => bad.has(name));
    return out;
  }

  private updateDependencies(
    removed: readonly Obj[],
    added: readonly Obj[],
    changed: ReadonlySet<string>,
    rev: Revision,
  ): void {
    const drop = (o: Obj) => {
      for (const name of this.dependsOn.get(o) ?? NONE) this.dependents.get(name)?.delete(o);
      this.dependsOn.delete(o);
      this.depends.forget(o);
    };
    for (const o of removed) drop(o);
    const dirty = new Set<Obj>(added);
    this.depends.affected(changed, dirty);
    const deps = new Set<string>();
    const index = trackedIndex(rev.index, deps);
    for (const o of dirty) {
      drop(o);
      if (o.kind !== 'Domain' && o.kind !== 'HACluster' && o.kind !== 'Account') continue;
      deps.clear();
      const names = releasesDependedOn(o, index);
      this.depends.record(o, deps);
      this.dependsOn.set(o, names);
      for (const name of names) {
        let set = this.dependents.get(name);
        if (!set) this.dependents.set(name, (set = new Set()));
        set.add(o);
      }
    }
  }
}

/**
 * Documents of `before` missing from `after`, and the reverse. Both are in path order and
 * most documents are the very same objects, so only the stretch between the common prefix
 * and the common suffix is compared.
 */
function difference(before: readonly Obj[], after: readonly Obj[]): { removed: Obj[]; added: Obj[] } {
  const min = Math.min(before.length, after.length);
  let p = 0;
  while (p < min && before[p] === after[p]) p++;
  let s = 0;
  while (s < min - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  const was = before.slice(p, before.length - s);
  const now = after.slice(p, after.length - s);
  if (was.length === 0 || now.length === 0) return { removed: was, added: now };
  const wasSet = new Set(was);
  const nowSet = new Set(now);
  return { removed: was.filter((o) => !nowSet.has(o)), added: now.filter((o) => !wasSet.has(o)) };
}
