/**
 * Memory per registered agent, in a process of its own started with --expose-gc (fork of
 * bench/agent-ingest.bench.ts): `memory.ts <stateDir> <agents>`.
 *
 * Measures the heap kept, after a forced collection, by
 *   1. the credentials: AgentCredentials.open on an agents.json of N agents, then
 *   2. the inventory: each agent's first report, a typical one (report-bodies.ts), taken
 *      through the route's own steps — the agent id decoded from the request path (a string
 *      of its own, as in the server), parseReport (JSON + schema) and ObservedInventory.record.
 * Everything the process needs before (modules, the compiled schema) is in the baseline.
 * Sends `{type: 'memory', result: MemoryResult}` over IPC.
 */
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { parseReport } from '../../controller/agents/agent-report.ts';
import { ObservedInventory } from '../../controller/agents/inventory.ts';
import { writeFleetCredentials } from './fleet.ts';
import { typicalReport } from './report-bodies.ts';

export interface MemoryResult {
  readonly agents: number;
  readonly credentialsBytesPerAgent: number;
  readonly inventoryBytesPerAgent: number;
  readonly totalBytesPerAgent: number;
  readonly reportBytesMean: number;
  readonly heapUsedMiB: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** heapUsed after full collections; several, so weak references and finalisers settle. */
function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

async function measure(stateDir: string, count: number): Promise<MemoryResult> {
  if (!gc) throw new Error('memory.ts must run with --expose-gc');
  writeFleetCredentials(stateDir, count); // the tokens are not kept: the controller never has them
  const sentAt = new Date().toISOString();
  // Compiles the report schema (and warms the code) before the baseline: process cost, not per agent.
  if (!parseReport(Buffer.from(typicalReport(0, sentAt).body)).ok) throw new Error('a typical report does not validate');

  const base = settledHeap();
  const credentials = await AgentCredentials.open(stateDir);
  if (credentials.size !== count) throw new Error(`agents.json holds ${credentials.size} agents, expected ${count}`);
  const afterCredentials = settledHeap();

  const inventory = new ObservedInventory(30_000);
  let reportBytes = 0;
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const { agent, body } = typicalReport(i, sentAt);
    // As http-server.ts: the id is decoded from the path, a new string per request.
    const id = decodeURIComponent(`/v1/agents/${encodeURIComponent(agent)}/report`.split('/')[3]!);
    const buffer = Buffer.from(body);
    reportBytes += buffer.length;
    const parsed = parseReport(buffer);
    if (!parsed.ok) throw new Error(`report of ${agent}: ${parsed.message}`);
    // Reports arrive over a few seconds: every lastSeen is its own date.
    const recorded = inventory.record(id, parsed.report, started + i);
    if (recorded.kind !== 'recorded') throw new Error(`report of ${agent} was not recorded`);
  }
  const afterInventory = settledHeap();
  if (inventory.size !== count) throw new Error(`inventory holds ${inventory.size} agents, expected ${count}`);

  const perAgent = (bytes: number) => Math.round(bytes / count);
  const result: MemoryResult = {
    // Read after the last measurement, so both structures are alive when the heap is measured.
    agents: Math.min(credentials.size, inventory.size),
    credentialsBytesPerAgent: perAgent(afterCredentials - base),
    inventoryBytesPerAgent: perAgent(afterInventory - afterCredentials),
    totalBytesPerAgent: perAgent(afterInventory - base),
    reportBytesMean: Math.round(reportBytes / count),
    heapUsedMiB: Math.round((afterInventory / (1024 * 1024)) * 10) / 10,
  };
  return result;
}

const [stateDir, agents] = process.argv.slice(2);
if (stateDir === undefined || !(Number(agents) > 0)) throw new Error('usage: memory.ts <stateDir> <agents>');
measure(stateDir, Number(agents)).then(
  (result) => process.send?.({ type: 'memory', result }, () => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`agent-ingest memory: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
