import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentCommand } from '../../protocol/command.ts';
import { parseStatusFile } from '../../controller/status/render-status.ts';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import { approvalDigest } from '../../reconcilers/governance/approval-digest.ts';
import { planWaves } from '../../reconcilers/governance/wave-plan.ts';
import type { WavesDetails } from '../../reconcilers/governance/waves.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import { NOTHING_OBSERVED } from '../../reconcilers/observed.ts';
import { planTargets } from '../../reconcilers/plan-targets.ts';
import { eventually, FakeAgent, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { EXAMPLE_REPO, TempRepo } from '../helpers/git-repo.ts';
import { loadRevision } from '../helpers/load.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';
import { parseAllowedSigners } from '../../controller/trust/allowed-signers.ts';

/**
 * End to end (issue 8, items 1 and 2): a controller running in-process on a real Git
 * repository, agents over real HTTP, every decision a person makes committed to Git.
 *
 * An account of four devices rolls 4.2.1 -> 4.3.0 in waves [1, 50%, 100%] — d1, then d2,
 * then d3 and d4 — with failureThreshold 0 and a gate on wave 2:
 *   1. d1 fails its install: wave 1 halts the rollout; status (in the status branch) names
 *      d1 and why; nobody else is touched.
 *   2. the disk is freed and a commit bumps spec.rollout.retryFailed: only d1 is retried, it
 *      succeeds, and the rollout stops at the gate of wave 2, with the digest to approve —
 *      the digest `versiond plan` computes from the same revision.
 *   3. a commit records the approval of that digest: waves 2 and 3 roll out, the account
 *      converges.
 *   4. a commit adds d5, which joins wave 2 (50% of 5 is 3): the approval no longer matches,
 *      status says a new one is needed, and d5 is not updated.
 */

const STATUS_BRANCH = 'versiond/status';
const TARGET = 'account/acme';
const STATUS_FILE = 'status/account/acme.yaml';
const STEPS = [1, '50%', '100%'] as const;

function accountYaml(devices: readonly string[], rollout: { retryFailed?: string; approvals?: string } = {}): string {
  return `apiVersion: versiond/v1
kind: Account
metadata:
  name: acme
spec:
  product: w360-core
  defaultTag: stable
  restartPolicy: Immediate
  autoUpdate: false
  devices:
${devices.map((d) => `    - { name: ${d}, repositoryServer: cloud }`).join('\n')}
  installMedia:
    generatedFor: "4.3.0"
  rollout:
    waves:
      steps: [1, "50%", "100%"]
      failureThreshold: 0
      approvalRequired: [2]
${rollout.retryFailed ? `    retryFailed: "${rollout.retryFailed}"\n` : ''}${rollout.approvals ? `    approvals:\n${rollout.approvals}` : ''}`;
}

/** The two W360 Core releases of the example, 4.3.0 now the account tag `stable`. */
function accountRepo(): TempRepo {
  const repo = TempRepo.create({ fromExample: false, commit: false });
  mkdirSync(repo.path('releases'), { recursive: true });
  for (const r of ['w360-core-4.2.1', 'w360-core-4.3.0']) cpSync(join(EXAMPLE_REPO, 'releases', `${r}.yaml`), repo.path(`releases/${r}.yaml`));
  repo.edit('releases/w360-core-4.2.1.yaml', 'tags: ["stable"]', 'tags: ["previous"]');
  repo.edit('releases/w360-core-4.3.0.yaml', 'tags: ["4.3-test"]', 'tags: ["stable"]');
  repo.write('accounts/acme.yaml', accountYaml(['d1', 'd2', 'd3', 'd4']));
  repo.commitAll('acme: 4.3.0 in three waves, wave 2 gated');
  return repo;
}

/** An agent whose installs fail while `failing` (a full disk), and succeed once it is fixed. */
class FullDiskAgent extends FakeAgent {
  failing = true;
  override run(commands: readonly AgentCommand[]): void {
    for (const c of commands) {
      if (!this.failing || c.action !== 'apply' || this.results.some((r) => r.id === c.id)) continue;
      this.ran.push(c);
      this.results.push({ id: c.id, status: 'failed', message: 'disk full', at: new Date().toISOString() });
    }
    super.run(commands);
  }
}

const w360 = (version: string) => [{ product: 'w360-core', version, state: 'running' as const }];

describe('a wave rollout governed from Git: halt, retry, approval gate, changed plan', () => {
  let f: Fixture;
  let keys: string;
  let bob: SshKey;
  let d1: FullDiskAgent;
  const others: FakeAgent[] = [];

  beforeAll(async () => {
    keys = mkdtempSync(join(tmpdir(), 'versiond-keys-'));
    bob = makeSshKey(keys, 'bob');
    const approvers = parseAllowedSigners(allowedSigners([['bob@example.com', bob]]), join(keys, 'approvers'));
    f = await startFixture({ repo: accountRepo(), agents: ['d1', 'd2', 'd3', 'd4', 'd5'],
      controller: { statusBranch: STATUS_BRANCH, approvals: { mode: 'verify', approvers } } });
    d1 = new FullDiskAgent(f.controller.url, 'd1', f.tokens.get('d1')!, w360('4.2.1'));
    for (const id of ['d2', 'd3', 'd4']) others.push(f.agent(id, w360('4.2.1')));
    d1.follow(50);
    for (const a of others) a.follow(50);
  });
  afterAll(async () => {
    d1?.stop();
    await f?.close();
    rmSync(keys, { recursive: true, force: true });
  });

  const live = (): TargetStatus | undefined => f.controller.loop.statusOf(TARGET);
  /** The reason that speaks for the phase: Stalled or Reconciling when true, else Ready's. */
  const reason = (s: TargetStatus | undefined): string | undefined =>
    (s?.conditions.find((c) => c.status === 'True' && c.type !== 'Ready') ?? s?.conditions.find((c) => c.type === 'Ready'))?.reason;
  /** The status file as committed to the status branch. */
  const committed = (at = STATUS_BRANCH): TargetStatus | undefined => {
    try {
      f.repo.git('rev-parse', '--verify', '--quiet', at); // quiet until the first status commit made the branch
      return parseStatusFile(f.repo.git('show', `${at}:${STATUS_FILE}`)).status;
    } catch {
      return undefined;
    }
  };
  const wavesOf = (s: TargetStatus): WavesDetails => (s.details?.rollout as { waves: WavesDetails }).waves;
  const applies = (a: FakeAgent): number => a.ran.filter((c) => c.action === 'apply').length;

  it('1. wave 1 fails on d1: the rollout halts and the status branch says which member failed and why', async () => {
    const halted = await eventually(() => {
      const s = committed();
      return s?.phase === 'Failed' && reason(s) === 'WaveFailed' ? s : undefined;
    }, 25_000, 'a halted status in the status branch');
    const stalled = halted.conditions.find((c) => c.type === 'Stalled')!;
    expect(stalled.message).toContain('wave 1 of 3 (1 device → 4.3.0) failed: 1 failed, 0 tolerated (failureThreshold 0) — d1: apply 4.3.0 failed: disk full');
    expect(wavesOf(halted)).toMatchObject({ state: 'halted', current: 1 });
    expect(wavesOf(halted).waves[0]!.failed).toEqual([{ member: 'd1', message: 'apply 4.3.0 failed: disk full' }]);
    expect(halted.members.find((m) => m.name === 'd1')).toMatchObject({ state: 'Failed', message: 'apply 4.3.0 failed: disk full' });
    // a halt sends nothing more: the other devices were never asked to install
    await new Promise((r) => setTimeout(r, 300));
    for (const a of others) expect(applies(a), a.id).toBe(0);
    expect(applies(d1)).toBe(1);
  });

  let digest = '';

  it('2. the disk is freed and a commit bumps retryFailed: d1 alone is retried, and the rollout stops at the gate of wave 2', async () => {
    d1.failing = false;
    f.repo.write('accounts/acme.yaml', accountYaml(['d1', 'd2', 'd3', 'd4'], { retryFailed: new Date(Date.now() + 1000).toISOString() }));
    const revision = f.repo.commitAll('acme: retry the failed devices (disk freed on d1)');

    const gated = await eventually(() => {
      const s = committed();
      return s?.observedRevision === revision && reason(s) === 'AwaitingApproval' ? s : undefined;
    }, 25_000, 'the gate of wave 2 in the status branch');
    expect(gated.phase).toBe('Waiting');
    expect(gated.members.find((m) => m.name === 'd1')?.state).toBe('Updated');
    expect(applies(d1)).toBe(2); // the failed install and its retry, under a new id
    expect(new Set(d1.ran.map((c) => c.id)).size).toBe(2);
    for (const a of others) expect(applies(a), a.id).toBe(0);

    const waves = wavesOf(gated);
    expect(waves).toMatchObject({ state: 'awaiting-approval', current: 2 });
    digest = waves.waves[1]!.approval!.digest;
    expect(gated.conditions.find((c) => c.type === 'Reconciling')!.message).toBe(
      `wave 2 of 3 (1 device → 4.3.0) awaits approval: add {wave: 2, digest: ${digest}, by: …} to spec.rollout.approvals`,
    );

    // the same digest, computed as the controller does, from the status file alone …
    const devices = gated.members.filter((m) => m.role === 'device');
    const wave2 = planWaves(STEPS as never, devices.length)[1]!;
    expect(approvalDigest({ target: TARGET, wave: 2, product: 'w360-core', members: devices.slice(wave2.start, wave2.end) })).toBe(digest);
    // … and as `versiond plan` shows it for that revision, without the controller's status or any observation
    const state = await loadRevision(f.repo.dir, revision);
    const [planned] = planTargets({
      objects: state.objects,
      releases: new ReleaseIndex(state.objects.filter((o): o is Release => o.kind === 'Release')),
      revision: state.revision,
      observed: NOTHING_OBSERVED,
      previous: new Map(),
      unusable: state.unusable,
      now: Date.now(),
    }).filter((p) => p.target === TARGET);
    expect(planned?.outcome).toBe('planned');
    if (planned?.outcome !== 'planned') return;
    expect(wavesOf(planned.result.status).waves[1]!.approval!.digest).toBe(digest);
  });

  it('3. an approval anyone could have typed holds the gate; the reviewer\'s signed approval opens it', async () => {
    const retry = /retryFailed: "([^"]+)"/.exec(f.repo.read('accounts/acme.yaml'))![1]!;
    const approve = (reason: string) => accountYaml(['d1', 'd2', 'd3', 'd4'], { retryFailed: retry,
      approvals: `      - { wave: 2, digest: "${digest}", by: bob@example.com, reason: ${reason} }\n` });
    f.repo.write('accounts/acme.yaml', approve('typed by someone'));
    const typed = f.repo.commitAll('acme: approve wave 2 (unsigned)');
    const held = await eventually(() => {
      const s = committed();
      return s?.observedRevision === typed && reason(s) === 'ApprovalUnverified' ? s : undefined;
    }, 25_000, 'the unsigned approval to be refused');
    expect(held.conditions.find((c) => c.type === 'Reconciling')!.message)
      .toContain(`the commit adding it (${typed.slice(0, 7)}) is not signed`);
    for (const a of others) expect(applies(a), a.id).toBe(0);

    f.repo.write('accounts/acme.yaml', approve('d1 fine for a day'));
    const revision = signedCommit(f.repo, bob, 'acme: approve wave 2', 'bob@example.com');

    const converged = await eventually(() => {
      const s = committed();
      return s?.observedRevision === revision && s.phase === 'Converged' ? s : undefined;
    }, 20_000, 'the account to converge');
    expect(converged.summary).toBe('4/4 devices at 4.3.0');
    expect(wavesOf(converged)).toMatchObject({ state: 'done', current: null });
    expect(wavesOf(converged).waves[1]!.approval).toEqual({ required: true, digest, approved: true, by: 'bob@example.com', verified: true });
    for (const a of others) expect(applies(a), a.id).toBe(1);
    // the status branch is the audit trail: halted, then waiting for approval, then converged
    const commits = f.repo.git('log', '--reverse', '--format=%H', STATUS_BRANCH, '--', STATUS_FILE).split('\n');
    const story = commits.map((c) => committed(c)).map((st) => `${st?.phase}/${reason(st) ?? '-'}`);
    const first = (step: string): number => story.indexOf(step);
    expect(first('Failed/WaveFailed')).toBeGreaterThanOrEqual(0);
    expect(first('Failed/WaveFailed')).toBeLessThan(first('Waiting/AwaitingApproval'));
    expect(first('Waiting/AwaitingApproval')).toBeLessThan(first('Converged/Converged'));
  });

  it('4. a commit adds d5 to wave 2: the approval no longer counts, status asks for a new one, and d5 waits', async () => {
    const d5 = f.agent('d5', w360('4.2.1'));
    d5.follow(50);
    f.repo.edit('accounts/acme.yaml', '    - { name: d4, repositoryServer: cloud }\n', '    - { name: d4, repositoryServer: cloud }\n    - { name: d5, repositoryServer: cloud }\n');
    const revision = f.repo.commitAll('acme: add d5');

    const outdated = await eventually(() => {
      const s = committed();
      return s?.observedRevision === revision && reason(s) === 'ApprovalOutdated' ? s : undefined;
    }, 25_000, 'the outdated approval in the status branch');
    const waves = wavesOf(outdated);
    const fresh = waves.waves[1]!.approval!.digest;
    expect(fresh).not.toBe(digest);
    expect(waves.waves[1]).toMatchObject({ members: ['d2', 'd3'], approval: { approved: false, outdated: true, approvedDigest: digest } });
    expect(outdated.phase).toBe('Waiting');
    expect(outdated.conditions.find((c) => c.type === 'Reconciling')!.message).toContain(
      `the approval of wave 2 of 3 by bob@example.com (${digest}) no longer matches its plan — wave 2 of 3 (2 devices → 4.3.0): its members or version changed; a new approval is needed: add {wave: 2, digest: ${fresh}, by: …}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(applies(d5)).toBe(0);
    expect(live()?.phase).toBe('Waiting');
  });
});
