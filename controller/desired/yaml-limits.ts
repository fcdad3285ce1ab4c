import { isAlias, isMap, isPair, isSeq, type CST, type Document, type Node } from 'yaml';
import type { ErrorData } from '../../reconcilers/model/errors.ts';

/**
 * Limits on YAML structure that keep one hostile file from crashing or stalling the loader
 * (issue 14, item 11). The `yaml` library composes nodes recursively, so nesting a few
 * thousand levels deep (`[[[[…`, or lines indented one more space each) overflows the stack;
 * and alias resolution costs time quadratic in the number of anchors and aliases, while
 * aliases of aliases expand exponentially ("billion laughs"). So the CST, which the library
 * builds without recursion, is measured before composing, and aliases are measured on the
 * document before it becomes plain data. Both walks use an explicit stack.
 */

/** Levels of collections in a document, far beyond any real one (the deepest schema path is about 8). */
export const MAX_NESTING = 64;
/** Aliases in one file. */
export const MAX_ALIASES = 1000;
/** Values aliases may add to a document, once expanded. */
export const MAX_ALIAS_VALUES = 100_000;

/** A limit crossed, at an offset in the text. */
export type LimitFinding =
  | { readonly code: 'NESTING_TOO_DEEP'; readonly offset: number; readonly data: ErrorData<'NESTING_TOO_DEEP'> }
  | { readonly code: 'ALIAS_LIMIT'; readonly offset: number; readonly data: ErrorData<'ALIAS_LIMIT'> };

/**
 * The first collection nested deeper than MAX_NESTING, in document order, from the CST;
 * also whether the text holds any alias at all (most files do not, and skip `checkAliases`).
 */
export function checkCstNesting(
  tokens: readonly CST.Token[],
): { readonly tooDeep?: LimitFinding; readonly aliases: boolean } {
  let aliases = false;
  // Pushed in reverse so they come off in document order.
  const stack: { token: CST.Token; depth: number }[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) stack.push({ token: tokens[i]!, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type === 'alias') aliases = true;
    let children: (CST.Token | null | undefined)[] = [];
    let level = depth;
    if (token.type === 'document') children = [token.value];
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      level = depth + 1;
      if (level > MAX_NESTING) {
        return { tooDeep: { code: 'NESTING_TOO_DEEP', offset: token.offset, data: { limit: MAX_NESTING } }, aliases };
      }
      for (const item of token.items) children.push((item as { key?: CST.Token | null }).key, item.value);
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const c = children[i];
      if (c) stack.push({ token: c, depth: level });
    }
  }
  return { aliases };
}

interface Measure {
  /** Levels of collections in the node once aliases are expanded. */
  height: number;
  /** Values (scalars and collections) in the node once aliases are expanded. */
  size: number;
}

/**
 * Checks a composed document's aliases: how many there are, how deep and how large they make
 * it once expanded, and aliases inside the node they name (which would expand forever).
 * Anchors no alias refers to are dropped from the document: the library scans every anchor
 * for each alias it resolves, and a file may hold a million of them.
 */
export function checkAliases(doc: Document.Parsed): LimitFinding | undefined {
  const anchors = new Map<string, Node>();
  const measured = new Map<Node, Measure>();
  const used = new Set<Node>();
  let aliases = 0;
  let added = 0;
  type Frame = { node: Node; level: number; m: Measure; children: Node[]; next: number };
  const root = doc.contents as Node | null;
  if (!root) return undefined;
  const frames: Frame[] = [];
  const open = (node: Node, level: number): void => {
    frames.push({ node, level, m: { height: 0, size: 1 }, children: childrenOf(node), next: 0 });
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node);
  };
  open(root, 0);
  while (frames.length > 0) {
    const top = frames[frames.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next++]!;
      const level = top.level + (isMap(top.node) || isSeq(top.node) ? 1 : 0);
      if (!isAlias(child)) {
        open(child, level);
        continue;
      }
      const at = child.range?.[0] ?? 0;
      if (++aliases > MAX_ALIASES) {
        return { code: 'ALIAS_LIMIT', offset: at, data: { limit: MAX_ALIASES, alias: child.source, what: 'aliases' } };
      }
      const target = anchors.get(child.source);
      if (!target) continue; // the composer reports an unknown anchor
      used.add(target);
      const m = measured.get(target);
      if (!m) {
        // Named by an anchor but not measured yet: the alias is inside it.
        return { code: 'NESTING_TOO_DEEP', offset: at, data: { limit: MAX_NESTING, alias: child.source, cycle: true } };
      }
      if (level + m.height > MAX_NESTING) {
        return { code: 'NESTING_TOO_DEEP', offset: at, data: { limit: MAX_NESTING, alias: child.source } };
      }
      added += m.size;
      if (added > MAX_ALIAS_VALUES) {
        const data = { limit: MAX_ALIAS_VALUES, alias: child.source, what: 'values' } as const;
        return { code: 'ALIAS_LIMIT', offset: at, data };
      }
      top.m.height = Math.max(top.m.height, m.height);
      top.m.size += m.size;
      continue;
    }
    frames.pop();
    if (isMap(top.node) || isSeq(top.node)) top.m.height += 1;
    if ((top.node as { anchor?: string }).anchor) measured.set(top.node, top.m);
    const parent = frames[frames.length - 1];
    if (parent) {
      parent.m.height = Math.max(parent.m.height, top.m.height);
      parent.m.size += isPair(top.node) ? top.m.size - 1 : top.m.size;
    }
  }
  for (const node of measured.keys()) if (!used.has(node)) (node as { anchor?: string }).anchor = undefined;
  return undefined;
}

/** Items of a collection (pairs of a map), or the key and value of a pair. */
function childrenOf(node: Node): Node[] {
  if (isMap(node) || isSeq(node)) return node.items as Node[];
  if (isPair(node)) return [node.key, node.value].filter((x): x is Node => x !== null && typeof x === 'object');
  return [];
}
