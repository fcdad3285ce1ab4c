/**
 * What a V8 heap snapshot holds, without a browser: the self size of every node grouped by
 * constructor (objects) or type (strings, arrays, code…), largest first, and the largest Maps and
 * arrays with the property names that reach them. For the fleet benchmark's `--heap-snapshot`.
 *
 *   node --import tsx bench/heap-summary.ts FILE.heapsnapshot [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true, options: { top: { type: 'string', default: '30' } },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: heap-summary.ts FILE.heapsnapshot [--top N]');
const top = Number(values.top);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { node_fields: nf, node_types: nt, edge_fields: ef, edge_types: et } = snap.snapshot.meta;
const N = nf.length;
const E = ef.length;
const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count']
  .map((f) => nf.indexOf(f)) as [number, number, number, number];
const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
const nodeTypes = nt[0];
const edgeTypes = et[0];
const { nodes, edges, strings } = snap;
const count = nodes.length / N;

const groups = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < count; i++) {
  const type = nodeTypes[nodes[i * N + iType]!]!;
  const size = nodes[i * N + iSize]!;
  total += size;
  const key = type === 'object' || type === 'closure' ? `${type} ${strings[nodes[i * N + iName]!]}` : type;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
}
const mib = (n: number): string => (n / 1048576).toFixed(1);
process.stdout.write(`${file}: ${count} nodes, ${mib(total)} MiB self size\n\nlargest groups (self size):\n`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  process.stdout.write(`  ${mib(g.size).padStart(8)} MiB  ${String(g.count).padStart(9)}  ${k}\n`);
}

// Property names that hold the most self size one level down: which field of which object keeps what.
const firstEdge = new Uint32Array(count + 1);
for (let i = 0, e = 0; i < count; i++) {
  firstEdge[i] = e;
  e += nodes[i * N + iEdges]! * E;
  firstEdge[i + 1] = e;
}
const byField = new Map<string, { size: number; count: number }>();
for (let i = 0; i < count; i++) {
  const owner = strings[nodes[i * N + iName]!]!;
  const ownerType = nodeTypes[nodes[i * N + iType]!]!;
  if (ownerType !== 'object') continue;
  for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += E) {
    const kind = edgeTypes[edges[e + eType]!]!;
    if (kind !== 'property' && kind !== 'internal') continue;
    const to = edges[e + eTo]! / N;
    const size = nodes[to * N + iSize]!;
    if (size < 1024) continue;
    const field = kind === 'property' ? strings[edges[e + eName]!] : `<${strings[edges[e + eName]!] ?? edges[e + eName]}>`;
    const child = `${nodeTypes[nodes[to * N + iType]!]} ${strings[nodes[to * N + iName]!]?.slice(0, 40)}`;
    const key = `${owner}.${field} → ${child}`;
    const g = byField.get(key) ?? { size: 0, count: 0 };
    g.size += size;
    g.count++;
    byField.set(key, g);
  }
}
process.stdout.write(`\nlargest single children (≥ 1 KiB) by owner and field:\n`);
for (const [k, g] of [...byField].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  process.stdout.write(`  ${mib(g.size).padStart(8)} MiB  ${String(g.count).padStart(7)}  ${k}\n`);
}
