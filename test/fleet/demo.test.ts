/**
 * The embedded demo (`npm start`) as a real process: with `--once --fast` it builds its
 * repository and state, runs the controller and the fleet, lets the rollouts settle, prints
 * what to try next with commands for its own paths, and exits 0 — within a time limit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/git-repo.ts';

const dir = mkdtempSync(join(tmpdir(), 'versiond-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runDemo(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'agent/demo/bin.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } }).trim();

describe('the demo, --once --fast, as a real process', () => {
  it('settles, prints what to try next for its own paths, and exits 0 within 50 s', async () => {
    const demoDir = join(dir, 'demo');
    const run = await runDemo(['--once', '--fast', '--dir', demoDir], 50_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(50_000);
    const out = run.stdout;

    // The story: the people the example waits for, the targets converging, the status commits landing.
    expect(out).toContain('an operator updates wd-paris-master by hand to watchdoc 6.1.4');
    expect(out).toMatch(/wd-bordeaux comes back online/);
    expect(out).toMatch(/hacluster\/ums-prod +Converged +█{10} +6\/6 /);
    expect(out).toMatch(/● [0-9a-f]{7} status\(hacluster\/ums-prod\): Converged: /);
    expect(out).toMatch(/Settled after \d+\.\ds: 5 of 7 targets Converged, \d+ status commits\./);
    expect(out).toContain('distributionserver/ds-berlin  Blocked: credential "ivanti-ds-berlin" for ds-berlin cannot be used: expired since');

    // What to try next, with this demo's real paths.
    expect(out).toContain('What to try next');
    expect(out).toContain(`       cd ${join(demoDir, 'work')}\n`);
    expect(out).toContain("sed -i.bak 's/release: watchdoc-6.1.4/release: watchdoc-6.1.3/' domains/print-paris.yaml");
    expect(out).toContain('git pull -q --rebase && git push -q');
    expect(out).toContain(`node ${join(ROOT, 'controller/cli/bin.js')} plan --repo ${join(demoDir, 'work')} --base HEAD~1 --observed ${join(demoDir, 'observed.json')} --console-id console-hq`);
    expect(out).toContain(`node ${join(ROOT, 'controller/cli/bin.js')} audit --repo ${join(demoDir, 'origin.git')} --target hacluster/ums-prod`);
    expect(out).toContain(`edit ${join(demoDir, 'state/controller/credentials.yaml')}`);

    // The repository it made: status commits on origin's branch, and a clean clone to edit.
    const log = git('--git-dir', join(demoDir, 'origin.git'), 'log', '--format=%s', 'main');
    expect(log.split('\n').at(-1)).toBe("Initial desired state, from versiond's example-repo/");
    expect(log).toMatch(/^status\(hacluster\/ums-prod\): Converged: /m);
    expect(git('-C', join(demoDir, 'work'), 'status', '--porcelain')).toBe('');
    expect(git('-C', join(demoDir, 'work'), 'rev-parse', '--abbrev-ref', '@{upstream}')).toBe('origin/main');

    // The commands it printed work as printed: plan a committed edit against what the agents reported, read the audit trail.
    const work = join(demoDir, 'work');
    writeFileSync(join(work, 'domains/print-paris.yaml'), readFileSync(join(work, 'domains/print-paris.yaml'), 'utf8').replace('release: watchdoc-6.1.4', 'release: watchdoc-6.1.3'));
    git('-C', work, 'commit', '-qam', 'print-paris: watchdoc-6.1.3');
    const versiond = (...args: string[]): string => execFileSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), ...args], { encoding: 'utf8' });
    const plan = versiond('plan', '--repo', work, '--base', 'HEAD~1', '--observed', join(demoDir, 'observed.json'), '--console-id', 'console-hq');
    expect(plan).toContain('spec.release: watchdoc-6.1.4 -> watchdoc-6.1.3');
    expect(plan).toContain(`observed: 35 agents from ${join(demoDir, 'observed.json')}`);
    expect(plan).toMatch(/^hacluster\/ums-prod: Converged/m);
    const audit = versiond('audit', '--repo', join(demoDir, 'origin.git'), '--target', 'hacluster/ums-prod');
    expect(audit).toMatch(/status {2}Converged: 3 of 3 servers updated to 12\.08\.110/);
  }, 60_000);

  it('refuses a directory that is neither new, empty nor a demo: exit 2, saying why', async () => {
    const run = await runDemo(['--once', '--dir', ROOT], 20_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`versiond-demo: --dir ${ROOT.replace(/\/$/, '')}: not empty and holds no demo; choose a new or empty directory\n`);
  });
});
