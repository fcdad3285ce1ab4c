import type { Kind } from './desired.ts';

/**
 * Work, status and logs are keyed by a target's identity, `kind/name` with the kind in
 * lower case (`hacluster/ums-prod`), like controller-runtime's namespaced names. Status
 * files live at `status/<kind>/<name>.yaml` under the same spelling.
 */
export type TargetId = `${Lowercase<Kind>}/${string}`;

export function targetId(kind: Kind, name: string): TargetId {
  return `${kind.toLowerCase() as Lowercase<Kind>}/${name}`;
}

/**
 * The folder each kind lives in. The loader reads only these folders (recursively) and
 * refuses a document filed in another kind's folder, so a reviewer always knows where to
 * look and `status/` (written by the controller) is never read as desired state.
 */
export const KIND_FOLDERS: Readonly<Record<Kind, string>> = {
  Release: 'releases',
  Domain: 'domains',
  Account: 'accounts',
  DistributionServer: 'distribution-servers',
  HACluster: 'ha-clusters',
};

export const DESIRED_FOLDERS: readonly string[] = Object.values(KIND_FOLDERS);

export function kindOfFolder(path: string): Kind | undefined {
  const top = path.split('/', 1)[0];
  for (const [kind, folder] of Object.entries(KIND_FOLDERS)) if (folder === top) return kind as Kind;
  return undefined;
}
