import type { DesiredInput } from '../../reconcilers/contract.ts';
import type { AnyDesiredObject, DesiredObject, Kind, Release } from '../../reconcilers/model/desired.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { CommandResult } from '../../protocol/command-result.ts';
import type { ComponentReport } from '../../protocol/component.ts';
import type { AgentObservation, ArtifactCheck, Observed } from '../../reconcilers/observed.ts';

/** 2026-11-22T10:00:00Z, the fixed "now" of reconciler tests. */
export const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

export interface AgentSpec {
  readonly online?: boolean;
  readonly lastSeen?: string;
  readonly components?: readonly ComponentReport[];
  readonly results?: readonly CommandResult[];
  readonly facts?: AgentObservation['facts'];
}

/**
 * An observed snapshot from a compact description:
 *   observed({ 'wd-master-1': { components: [{ product: 'watchdoc', version: '6.1.4' }] } }, { 'watchdoc-6.1.4': 'verified' })
 * Agents are online unless said otherwise.
 */
export function observed(
  agents: Readonly<Record<string, AgentSpec>>,
  artifacts: Readonly<Record<string, ArtifactCheck['status'] | ArtifactCheck>> = {},
): Observed {
  return {
    agents: new Map(
      Object.entries(agents).map(([agent, a]) => [
        agent,
        {
          agent,
          online: a.online ?? true,
          lastSeen: a.lastSeen ?? new Date(NOW - 5_000).toISOString(),
          components: a.components ?? [],
          results: a.results ?? [],
          ...(a.facts ? { facts: a.facts } : {}),
        },
      ]),
    ),
    artifacts: new Map(
      Object.entries(artifacts).map(([release, c]) => [release, typeof c === 'string' ? { release, status: c } : c]),
    ),
  };
}

/** A component report for `product` at `version`, running. */
export function running(product: string, version: string, extra: Partial<ComponentReport> = {}): ComponentReport {
  return { product, version, state: 'running', ...extra };
}

/** A minimal valid Release for tests (artifact fields are well-formed placeholders). */
export function release(name: string, product: string, version: string, tags: string[] = []): Release {
  return {
    apiVersion: 'versiond/v1',
    kind: 'Release',
    metadata: { name },
    spec: {
      product,
      version,
      artifact: {
        url: `https://vendor.example/${product}/${version}.pkg`,
        sha256: 'a'.repeat(64),
        size: 1024,
        signature: { algorithm: 'ed25519', publicKey: `${'A'.repeat(43)}=`, value: `${'A'.repeat(86)}==` },
      },
      ...(tags.length ? { tags } : {}),
    },
    source: { path: `releases/${name}.yaml`, blob: '0'.repeat(40) },
  };
}

/** A desired document of `kind` for tests, with defaults as the loader would apply them. */
export function desired<K extends Kind>(kind: K, name: string, spec: DesiredObject<K>['spec']): DesiredObject<K> {
  return {
    apiVersion: 'versiond/v1',
    kind,
    metadata: { name },
    spec,
    source: { path: `${kind.toLowerCase()}s/${name}.yaml`, blob: '1'.repeat(40) },
  } as DesiredObject<K>;
}

export function input<K extends Kind>(object: DesiredObject<K>, releases: readonly Release[], revision = 'c0ffee0000000000000000000000000000000000'): DesiredInput<K> {
  return { object, releases: new ReleaseIndex(releases), revision };
}

export type { AnyDesiredObject };
