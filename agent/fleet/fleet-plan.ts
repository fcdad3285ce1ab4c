/**
 * Which agents a simulated fleet runs, and what each machine runs when it starts: one agent
 * for every member of every domain, account (its cloud infrastructure included), distribution
 * server (and the consoles that sync to it) and HA cluster of a desired state — exactly the
 * agents the controller expects (`controller/loop/target-index.ts` links the same ones).
 *
 * A machine starts as an observed snapshot says (`schemas/observed-snapshot.schema.json`, e.g.
 * `agent/example-observed.json`: what the example's agents ran), and an agent the snapshot
 * lists offline starts offline. A member the snapshot does not list gets a machine built from
 * its duties: the version the desired state gives it (`start: 'desired'`, a fleet that already
 * converged) or the release of its product just below it (`start: 'previous'`, a fleet about to
 * be updated); UMS servers in normal mode with their cluster registered, repository servers
 * serving their version, consoles and distribution servers holding the same content.
 */
import { createHash } from 'node:crypto';
import type { SimulatedMachine } from '../reference/drivers/simulated-driver.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { ContentInventory } from '../../protocol/content.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { compareVersions } from '../../protocol/version.ts';
import type { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import { dutiesByAgent, releaseIndexOf, type Duty } from './duties.ts';

export type StartVersions = 'desired' | 'previous';

export interface PlannedAgent {
  readonly id: string;
  readonly duties: readonly Duty[];
  /** What the machine runs at the fleet's first start (its agent's state file takes over afterwards). */
  readonly machine: SimulatedMachine;
  /** Serve the push endpoint: a member the controller may push to (a bidirectional slave). */
  readonly push: boolean;
  /** The snapshot lists it offline: it starts offline (until its behaviour brings it back). */
  readonly startsOffline: boolean;
  /** Where its first machine came from. */
  readonly from: 'observed' | 'desired';
}

export interface FleetPlan {
  readonly agents: readonly PlannedAgent[];
}

export interface PlanOptions {
  /** What agents reported (a snapshot): their machines start as reported. */
  readonly observed?: Observed;
  /** Versions of the members the snapshot does not list (default `desired`). */
  readonly start?: StartVersions;
}

export function planFleet(objects: readonly AnyDesiredObject[], options: PlanOptions = {}): FleetPlan {
  const duties = dutiesByAgent(objects);
  const releases = releaseIndexOf(objects);
  const start = options.start ?? 'desired';
  const agents: PlannedAgent[] = [];
  for (const [id, list] of duties) {
    const seen = options.observed?.agents.get(id);
    const push = list.some((d) => d.push === true);
    if (seen !== undefined) {
      // The clock is the agent's own at each report; what the snapshot says of it is history.
      let facts = seen.facts !== undefined ? withoutClock(seen.facts) : undefined;
      // A simulated console reports its download state, idle unless the snapshot says otherwise
      // (seed 002: the controller holds a sync for a console that does not say it is idle).
      if (list.some((d) => d.role === 'content-console') && facts?.downloading === undefined) {
        facts = { ...facts, downloading: false };
      }
      const machine: SimulatedMachine = {
        components: seen.components.map((c) => structuredClone(c) as ComponentReport),
        ...(facts !== undefined ? { facts } : {}),
      };
      agents.push({ id, duties: list, machine, push, startsOffline: !seen.online, from: 'observed' });
    } else {
      agents.push({ id, duties: list, machine: machineFor(list, releases, start), push, startsOffline: false, from: 'desired' });
    }
  }
  return { agents };
}

function withoutClock(facts: NonNullable<SimulatedMachine['facts']>): NonNullable<SimulatedMachine['facts']> {
  const { clock: _clock, ...rest } = structuredClone(facts);
  return rest;
}

/** A machine that plays every duty of an agent, at the starting version. */
function machineFor(duties: readonly Duty[], releases: ReleaseIndex, start: StartVersions): SimulatedMachine {
  const components: ComponentReport[] = [];
  const facts: { registeredMembers?: readonly string[]; content?: ContentInventory; downloading?: boolean } = {};
  for (const d of duties) {
    if (d.role === 'distribution-server') {
      facts.content = demoContent(start === 'desired' ? 'console' : 'previous');
      continue;
    }
    if (d.role === 'content-console') {
      facts.content = demoContent('console');
      facts.downloading = false;
      continue;
    }
    if (d.product === undefined || components.some((c) => c.product === d.product)) continue;
    const version = d.version === undefined ? undefined : start === 'previous' ? (previousVersion(releases, d.product, d.version) ?? d.version) : d.version;
    const c: { -readonly [K in keyof ComponentReport]: ComponentReport[K] } = { product: d.product, state: 'running' };
    if (version !== undefined) c.version = version;
    if (d.role === 'server') {
      c.mode = 'normal';
      facts.registeredMembers = d.registeredMembers ?? [];
    }
    if (d.role === 'repository-server') c.serves = version !== undefined ? [version] : [];
    components.push(c);
  }
  return Object.keys(facts).length > 0 ? { components, facts } : { components };
}

/** The highest release of `product` below `version`, if there is one. */
export function previousVersion(releases: ReleaseIndex, product: string, version: string): string | undefined {
  let best: string | undefined;
  for (const r of releases.ofProduct(product)) {
    const v = r.spec.version;
    if (compareVersions(v, version) < 0 && (best === undefined || compareVersions(v, best) > 0)) best = v;
  }
  return best;
}

/**
 * Content of a console and of a distribution server built from nothing: an engine, the day's
 * definitions and a patch, with digests derived from their names. A server starting
 * `previous` lacks the patch and holds older definitions, so its first sync has work to do.
 */
function demoContent(which: 'console' | 'previous'): ContentInventory {
  const file = (path: string): { path: string; sha256: string } => ({ path, sha256: createHash('sha256').update(`versiond fleet content ${path}`).digest('hex') });
  if (which === 'previous') return { 'engines-definitions': [file('engines/av-engine.dll'), file('definitions/defs-previous.dat')], patches: [] };
  return { 'engines-definitions': [file('engines/av-engine.dll'), file('definitions/defs-current.dat')], patches: [file('patches/monthly-rollup.msu')] };
}
