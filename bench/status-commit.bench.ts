/**
 * Status commit benchmark (issue 3, item 3).
 *
 *   node --import tsx bench/status-commit.bench.ts [--files 10000] [--commits 50] [--members 10] [--seed 42]
 *        [--json] [--keep]
 *
 * Generates a valid Git repository of N desired-state files, then times, in the same run,
 * one status commit of one target (a changed `status/account/<name>.yaml`):
 *   - `git`: the real CLI the way a person or a script would do it (write the file,
 *     `git add`, `git commit`): two processes and a 10,000-entry index each time;
 *   - `writer`: `StatusWriter.write()` (isomorphic-git: read the current file, render, write
 *     blob, trees and commit, swap the ref), with the writer kept across commits as the
 *     controller keeps it. Its first commit (cold: JIT, first reads) is reported on its own.
 * Both series run on loose objects (the fresh repository), then again after `git gc`
 * (packed objects and refs, what a long-lived clone looks like).
 * The target has --members devices, one more of them updated at each commit: with 500 (an
 * account of the fleet benchmark, a 60 KB file) the writer's cost must grow with the members
 * that changed, not with the account (issue 16).
 * Goal: writer p95 <= 50 ms, and writer p50 no slower than the CLI's.
 * With --json the JSON result goes to stdout and the table to stderr.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { statusPath } from '../controller/status/format.ts';
import { renderStatus } from '../controller/status/render-status.ts';
import { StatusWriter } from '../controller/status/status-writer.ts';
import { conditionsFor } from '../reconcilers/conditions.ts';
import type { TargetStatus } from '../reconcilers/contract.ts';
import { targetId } from '../reconcilers/model/identity.ts';
import { generateGitRepo, git } from './generate-repo.ts';
import { round, summarize, table, type Summary } from './stats.ts';

export const GOALS = { writerP95Ms: 50 } as const;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    files: { type: 'string', default: '10000' },
    commits: { type: 'string', default: '50' },
    members: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
  strict: false, // bench/run.ts passes every benchmark's flags to every benchmark
});
const FILES = Number(values.files);
const COMMITS = Number(values.commits);
const MEMBERS = Number(values.members);
const SEED = Number(values.seed);
const out = values.json ? process.stderr : process.stdout;

function status(target: ReturnType<typeof targetId>, i: number, revision: string): TargetStatus {
  const updated = i % (MEMBERS + 1);
  const summary = `${updated}/${MEMBERS} devices at 4.3.${Math.floor(i / (MEMBERS + 1))}`;
  return {
    target,
    phase: 'Progressing',
    conditions: conditionsFor('Progressing', 'Rollout', summary, undefined, Date.UTC(2026, 10, 20)),
    observedRevision: revision,
    summary,
    members: Array.from({ length: MEMBERS }, (_, d) => ({
      name: `dev-${d}`,
      agent: `agent-${d}`,
      role: 'device',
      desired: '4.3.0',
      observed: d < updated ? '4.3.0' : '4.2.1',
      state: d < updated ? ('Updated' as const) : ('Pending' as const),
    })),
  };
}

interface Series {
  readonly name: string;
  readonly summary: Summary;
  readonly first?: number;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'versiond-bench-status-'));
  try {
    const t0 = performance.now();
    const repo = generateGitRepo(dir, { files: FILES, seed: SEED });
    out.write(`generated ${repo.files} files in ${round((performance.now() - t0) / 1000, 1)} s (${dir})\n`);
    const account = repo.accounts[0];
    if (!account) throw new Error('the generated repository has no account');
    const target = targetId('Account', account.name);
    const path = statusPath(target);
    const revision = git(dir, 'rev-parse', 'HEAD');
    let n = 0; // every commit, CLI or writer, gets a status no earlier one had

    const cli = (label: string): Series => {
      const samples: number[] = [];
      let previous: string | null = null;
      for (let i = 0; i < COMMITS; i++) {
        const text = renderStatus(status(target, n++, revision), previous, Date.now());
        previous = text;
        const t = performance.now();
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
        git(dir, 'add', '--', path);
        git(dir, 'commit', '-q', '-m', `status(${target}): ${i}`);
        samples.push(performance.now() - t);
      }
      return { name: `git CLI (${label})`, summary: summarize(samples) };
    };

    const writer = async (label: string): Promise<Series> => {
      const w = new StatusWriter({ gitdir: join(dir, '.git'), coalesceMs: 0 });
      let t = performance.now();
      if (!(await w.write([{ status: status(target, n++, revision) }]))) throw new Error('no commit');
      const first = performance.now() - t;
      const samples: number[] = [];
      for (let i = 0; i < COMMITS; i++) {
        t = performance.now();
        const sha = await w.write([{ status: status(target, n++, revision) }]);
        samples.push(performance.now() - t);
        if (!sha) throw new Error('the writer made no commit for a changed status');
      }
      return { name: `StatusWriter (${label})`, summary: summarize(samples), first };
    };

    const series: Series[] = [];
    series.push(cli('loose objects'));
    series.push(await writer('loose objects'));
    git(dir, 'gc', '-q');
    git(dir, 'reset', '-q'); // the writer's commits moved HEAD, not the index: resync it for the CLI
    series.push(cli('packed'));
    series.push(await writer('packed'));

    const check = git(dir, 'fsck', '--no-dangling', '--no-progress');
    const count = Number(git(dir, 'rev-list', '--count', `${revision}..HEAD`));
    if (count !== 4 * COMMITS + 2) throw new Error(`expected ${4 * COMMITS + 2} commits, found ${count}`);

    const rows = series.map((s) => [s.name, s.summary.runs, s.summary.median, s.summary.p95, s.summary.max, s.first === undefined ? '-' : round(s.first, 1)]);
    out.write(`\nOne status commit of ${target} (${MEMBERS} members) in a ${repo.files}-file repository, `
      + `${os.cpus().length} CPU(s), Node ${process.version}\n`);
    out.write(`${table(['series', 'runs', 'p50 ms', 'p95 ms', 'max ms', 'first ms'], rows)}\n\n`);
    const verdicts = [0, 2].map((i) => {
      const c = series[i]!.summary;
      const w = series[i + 1]!.summary;
      const ok = w.p95 <= GOALS.writerP95Ms && w.median <= c.median;
      out.write(
        `${ok ? 'MET   ' : 'MISSED'} ${series[i + 1]!.name}: p95 ${w.p95} ms (goal <= ${GOALS.writerP95Ms}), p50 ${w.median} ms vs git CLI ${c.median} ms (${round(c.median / w.median, 1)}x)\n`,
      );
      return ok;
    });
    out.write(`git fsck: ${check === '' ? 'clean' : check}\n`);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ files: repo.files, commits: COMMITS, goals: GOALS, series, met: verdicts.every(Boolean) }, null, 2)}\n`);
    }
    return 0;
  } finally {
    if (values.keep) out.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
