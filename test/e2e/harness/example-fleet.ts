import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { demoArtifact } from '../../../agent/demo-artifacts.ts';
import type { ComponentReport, Facts } from '../../../agent/reference/protocol.ts';
import { EXAMPLE_REPO, ROOT } from '../../helpers/git-repo.ts';
import type { SimulatedSetup } from './agent-process.ts';

interface ObservedAgent {
  readonly agent: string;
  readonly components: readonly ComponentReport[];
  readonly facts?: Facts;
}

const OBSERVED = JSON.parse(readFileSync(join(ROOT, 'agent/example-observed.json'), 'utf8')) as { agents: ObservedAgent[] };

/**
 * What agent `id` of the example runs, as `agent/example-observed.json` says: the starting
 * point of a simulated machine. A package the snapshot shows staged is dropped: an agent
 * holds a package only once it downloaded and verified it itself, so a rollout from here
 * distributes the installer for real. `facts.clock` is dropped: the agent reports its own clock.
 */
export function exampleMachine(id: string, options: { behaviour?: SimulatedSetup['behaviour'] } = {}): SimulatedSetup {
  const found = OBSERVED.agents.find((a) => a.agent === id);
  if (found === undefined) throw new Error(`agent/example-observed.json: no agent ${JSON.stringify(id)}`);
  const components = found.components.map(({ staged: _staged, ...rest }) => structuredClone(rest));
  const { clock: _clock, ...facts } = found.facts ?? {};
  return {
    components,
    ...(Object.keys(facts).length > 0 ? { facts: structuredClone(facts) } : {}),
    ...(options.behaviour !== undefined ? { behaviour: options.behaviour } : {}),
  };
}

/** A file of `example-repo/`, as text. */
export function exampleFile(path: string): string {
  return readFileSync(join(EXAMPLE_REPO, path), 'utf8');
}

/**
 * A Release of one of the demo packages (`agent/demo-artifacts.ts`), served by the demo
 * package mirror. `badSignature`: the digest is right but the signature is of other bytes —
 * a package someone re-signed, or whose signature was swapped.
 */
export function demoReleaseYaml(product: string, version: string, options: { tags?: readonly string[]; badSignature?: boolean } = {}): string {
  const artifact = demoArtifact(product, version);
  const signature = options.badSignature ? demoArtifact(product, `${version}-other`).signature.value : artifact.signature.value;
  return `apiVersion: versiond/v1
kind: Release
metadata:
  name: ${product}-${version}
spec:
  product: ${product}
  version: "${version}"
  artifact:
    url: https://downloads.vendor.example/${product}/${version}/${product}-${version}.pkg
    sha256: ${artifact.sha256}
    size: ${artifact.size}
    signature:
      algorithm: ed25519
      publicKey: ${artifact.signature.publicKey}
      value: ${signature}
${options.tags && options.tags.length > 0 ? `  tags: [${options.tags.map((t) => JSON.stringify(t)).join(', ')}]\n` : ''}`;
}

/** A part of the example installation: its desired-state files and its agents' machines. */
export interface ExamplePart {
  readonly target: string;
  readonly files: Readonly<Record<string, string>>;
  readonly agents: Readonly<Record<string, SimulatedSetup>>;
}

type Spec = Record<string, unknown>;

/** An example target file with its spec changed by `edit` (a reduced copy); the result is checked to differ. */
function editedExample(path: string, edit: (spec: Spec) => void): string {
  const doc = parse(exampleFile(path)) as { spec: Spec };
  const before = JSON.stringify(doc.spec);
  edit(doc.spec);
  if (JSON.stringify(doc.spec) === before) throw new Error(`${path}: the edit changed nothing`);
  return stringify(doc);
}

function releases(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [`releases/${n}.yaml`, exampleFile(`releases/${n}.yaml`)]));
}

function machines(ids: readonly string[], behaviour?: SimulatedSetup['behaviour']): Record<string, SimulatedSetup> {
  return Object.fromEntries(ids.map((id) => [id, exampleMachine(id, behaviour !== undefined ? { behaviour } : {})]));
}

/** `ums-prod` as in the example (3 servers, updateOrder ums-2, ums-1, ums-3, 1 load balancer), with one console of the two. */
export function umsProd(behaviour?: SimulatedSetup['behaviour']): ExamplePart {
  return {
    target: 'hacluster/ums-prod',
    files: {
      ...releases('igel-ums-12.07.100', 'igel-ums-12.08.110'),
      'ha-clusters/ums-prod.yaml': editedExample('ha-clusters/ums-prod.yaml', (spec) => {
        spec['consoles'] = [{ name: 'ums-console-admin' }];
      }),
    },
    agents: machines(['ums-1', 'ums-2', 'ums-3', 'ums-lb-1', 'ums-console-admin'], behaviour),
  };
}

/**
 * `acme-w360` reduced to its Paris WRS and three workstations behind it; the test ring (the
 * WRS and two workstations) moves to 4.3.0 on the "4.3-test" tag, the third stays on stable.
 */
export function acmeW360(behaviour?: SimulatedSetup['behaviour']): ExamplePart {
  return {
    target: 'account/acme-w360',
    files: {
      ...releases('w360-core-4.2.1', 'w360-core-4.3.0'),
      'accounts/acme-w360.yaml': editedExample('accounts/acme-w360.yaml', (spec) => {
        spec['repositoryServers'] = [{ name: 'acme-wrs-paris' }];
        spec['devices'] = ['acme-ws-001', 'acme-ws-002', 'acme-ws-003'].map((name) => ({ name, repositoryServer: 'acme-wrs-paris' }));
        spec['testRing'] = { tag: '4.3-test', repositoryServers: ['acme-wrs-paris'], devices: ['acme-ws-001', 'acme-ws-002'] };
      }),
    },
    agents: machines(['acme-wrs-paris', 'acme-ws-001', 'acme-ws-002', 'acme-ws-003'], behaviour),
  };
}

/** `print-branches` (master managed by the controller, mailbox slaves) without wd-bordeaux, which the example shows offline. */
export function printBranches(behaviour?: SimulatedSetup['behaviour']): ExamplePart {
  return {
    target: 'domain/print-branches',
    files: {
      ...releases('watchdoc-6.1.3', 'watchdoc-6.1.4'),
      'domains/print-branches.yaml': editedExample('domains/print-branches.yaml', (spec) => {
        spec['slaves'] = (spec['slaves'] as Array<{ name: string }>).filter((s) => s.name !== 'wd-bordeaux');
      }),
    },
    agents: machines(['wd-branches-master', 'wd-lille', 'wd-nantes'], behaviour),
  };
}

/** `ds-paris` with an on-demand run of its monthly patches (`runNow`, as the README shows it); console-hq owns both syncs. */
export function dsParis(): ExamplePart {
  return {
    target: 'distributionserver/ds-paris',
    files: {
      'distribution-servers/ds-paris.yaml': editedExample('distribution-servers/ds-paris.yaml', (spec) => {
        (spec['syncs'] as Spec[])[0]!['runNow'] = '2026-11-20T09:15:00Z';
      }),
    },
    agents: machines(['console-hq', 'ds-paris']),
  };
}
