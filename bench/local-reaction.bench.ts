/**
 * Benchmark: how soon a commit to a local repository is noticed (issue 3). Commits with the
 * real git CLI to a repository made from example-repo/ and times until LocalSource reports
 * the new head. Goal: p95 <= 1 s (Flux's default interval is 60 s, Argo CD's 180 s).
 *
 *   node --import tsx bench/local-reaction.bench.ts [--commits 40] [--json]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LocalSource } from '../controller/source/local-source.ts';
import { TempRepo } from '../test/helpers/git-repo.ts';
import { round, summarize, table } from './stats.ts';

const { values } = parseArgs({ options: { commits: { type: 'string', default: '40' }, json: { type: 'boolean', default: false } } });
const commits = Number(values.commits);
const repo = TempRepo.create();
const seen: { head: string; at: number }[] = [];
const source = new LocalSource({ gitdir: repo.path('.git'), onRevision: (head) => seen.push({ head, at: performance.now() }) });
await source.start();
const latencies: number[] = [];
try {
  for (let i = 0; i < commits; i++) {
    repo.write(`accounts/bench-${i}.yaml`, `apiVersion: versiond/v1\nkind: Account\nmetadata:\n  name: bench-${i}\nspec:\n  product: w360-core\n  defaultTag: stable\n`);
    repo.git('add', '-A');
    const start = performance.now();
    repo.git('commit', '-q', '-m', `bench ${i}`);
    const head = repo.head();
    const deadline = start + 5000;
    while (!seen.some((s) => s.head === head) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const hit = seen.find((s) => s.head === head);
    if (!hit) throw new Error(`commit ${i} was not noticed within 5 s`);
    latencies.push(hit.at - start);
    await new Promise((r) => setTimeout(r, 50));
  }
} finally {
  await source.stop();
  repo.dispose();
}
const s = summarize(latencies);
process.stderr.write(`versiond local commit-to-reaction benchmark\nmachine: ${os.cpus().length} cpus, node ${process.version}\n\n`);
process.stderr.write(`${table(['commits', 'p50 ms', 'p95 ms', 'max ms', 'goal p95 ms', 'verdict'], [[commits, round(s.median), round(s.p95), round(s.max), 1000, s.p95 <= 1000 ? 'ok' : 'MISSED']])}\n`);
if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
