/**
 * The content side of seed 002: which files of a content set a distribution server is missing
 * or holds outdated, compared with what a console downloaded ("Rapport d'état du fichier").
 */
import type { ContentSet } from '../model/desired.ts';
import type { ContentFile, ContentInventory } from '../../protocol/content.ts';
import type { AgentObservation } from '../observed.ts';

/** The inventory keys, in the order they are always reported. */
export const CONTENT_SETS = ['engines-definitions', 'patches'] as const;
export type InventorySet = (typeof CONTENT_SETS)[number];

/** The inventory sets a sync's `content` copies: `all` is both. */
export function setsOf(content: ContentSet): readonly InventorySet[] {
  return content === 'all' ? CONTENT_SETS : [content];
}

/** A file the server is missing (`found: null`) or holds with another digest. */
export interface FileGap {
  readonly path: string;
  readonly expected: string;
  readonly found: string | null;
}

/** An agent's reported inventory, or undefined when it never reported one. */
export function inventoryOf(obs: AgentObservation | undefined): ContentInventory | undefined {
  return obs?.facts?.content;
}

/**
 * Files of `set` the console holds that the server lacks or holds with another sha256, sorted
 * by path (code-point order, not locale-dependent). Files only on the server are not reported:
 * seed 002 copies, it never deletes. A set absent from a reported inventory is held empty.
 */
export function gapsOf(consoleInv: ContentInventory, serverInv: ContentInventory, set: InventorySet): FileGap[] {
  const held = new Map<string, string>();
  for (const f of serverInv[set] ?? []) held.set(f.path, f.sha256.toLowerCase());
  const wanted = new Map<string, ContentFile>();
  for (const f of consoleInv[set] ?? []) wanted.set(f.path, f); // a duplicate path: the last report wins
  const gaps: FileGap[] = [];
  for (const f of wanted.values()) {
    const found = held.get(f.path);
    if (found !== f.sha256.toLowerCase()) gaps.push({ path: f.path, expected: f.sha256, found: found ?? null });
  }
  return gaps.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
