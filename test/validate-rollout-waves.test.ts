import { afterAll, describe, expect, it } from 'vitest';
import { TempRepo } from './helpers/git-repo.ts';
import { lines, loadRevision } from './helpers/load.ts';

/**
 * `validate` checks waves and approval gates (issue 8, items 1, 2, 7): each finding at the
 * `path:line:column` of the field, so a reviewer reads it next to the line in the pull request.
 * Every case gives a document of a copy of example-repo/ its own `rollout` block, commits it,
 * and loads that commit as `versiond validate` does.
 */

const ACCOUNT = 'accounts/acme-w360.yaml';
const CLUSTER = 'ha-clusters/ums-prod.yaml';
const DOMAIN = 'domains/print-paris.yaml';

const repos: TempRepo[] = [];
afterAll(() => repos.forEach((r) => r.dispose()));

/** A document's text without its own `spec.rollout` block, if the example has one. */
function withoutRollout(text: string): string {
  return text.replace(/^  rollout:\n(?:(?: {4}.*)?\n)*/m, '');
}

/** example-repo/ with `yaml` (indented under `spec:`) as the `rollout` of `path`, committed and loaded. */
async function validate(path: string, yaml: string) {
  const repo = TempRepo.create();
  repos.push(repo);
  repo.write(path, `${withoutRollout(repo.read(path)).trimEnd()}\n${yaml}`);
  repo.commitAll('rollout');
  const state = await loadRevision(repo.dir);
  /** `path:line:column` of the line holding `needle` (after `after`, if given), at the needle. */
  const where = (needle: string, after?: string): string => {
    const text = repo.read(path).split('\n');
    const from = after === undefined ? 0 : text.findIndex((l) => l.includes(after));
    const i = text.findIndex((l, n) => n >= from && l.includes(needle));
    if (i < 0) throw new Error(`${needle} not in ${path}`);
    return `${path}:${i + 1}:${text[i]!.indexOf(needle) + 1}`;
  };
  return { state, lines: lines(state), where };
}

const target = { [ACCOUNT]: 'account/acme-w360', [CLUSTER]: 'hacluster/ums-prod', [DOMAIN]: 'domain/print-paris' } as Record<string, string>;

describe('validate: spec.rollout.waves and approvals', () => {
  it('a sound strategy with a gate and its approval passes', async () => {
    const { state, lines: found } = await validate(
      ACCOUNT,
      `  rollout:
    waves:
      steps: [1, "5%", "25%", "100%"]
      maxUnavailable: "10%"
      failureThreshold: 2
      stragglerAfter: 2d
      approvalRequired: [2, 3]
    approvals:
      - { wave: 2, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", by: ada@example.com, reason: canary looked fine }
`,
    );
    expect(found).toEqual([]);
    expect(state.valid).toBe(true);
  });

  it.each([
    {
      name: 'a step of 0 is a wave of nobody',
      steps: ['1', '0', '"100%"'],
      needle: '0',
      message: 'wave step 0 names no member; a step is a cumulative size of at least 1 (a count, or a share such as 5%)',
      field: 'spec.rollout.waves.steps[1]',
    },
    {
      name: 'a step of 0% is a wave of nobody',
      steps: ['"0%"', '"100%"'],
      needle: '"0%"',
      message: 'wave step 0% names no member; a step is a cumulative size of at least 1 (a count, or a share such as 5%)',
      field: 'spec.rollout.waves.steps[0]',
    },
    {
      name: 'shares going down',
      steps: ['1', '"50%"', '"25%"', '"100%"'],
      needle: '"25%"',
      message: 'wave step 25% is smaller than the step before it (50%); steps are cumulative sizes (1, then 5%, then 25%, …), so each is at least the one before',
      field: 'spec.rollout.waves.steps[2]',
    },
    {
      name: 'counts going down, a share between them',
      steps: ['10', '"5%"', '3'],
      needle: '3',
      message: 'wave step 3 is smaller than the step before it (10); steps are cumulative sizes (1, then 5%, then 25%, …), so each is at least the one before',
      field: 'spec.rollout.waves.steps[2]',
    },
  ])('an error at the step: $name', async ({ steps, needle, message, field }) => {
    const { state, lines: found, where } = await validate(ACCOUNT, `  rollout:\n    waves:\n      steps:\n${steps.map((s) => `        - ${s}`).join('\n')}\n`);
    expect(found).toEqual([`${where(needle, 'steps:')}: ${target[ACCOUNT]}: ${field}: ${message}`]);
    expect(state.valid).toBe(false);
  });

  it('a count followed by a smaller share is allowed: which is bigger depends on the fleet, and sizes never go down at run time', async () => {
    const { lines: found } = await validate(ACCOUNT, `  rollout:\n    waves:\n      steps: [10, "5%", "100%"]\n`);
    expect(found).toEqual([]);
  });

  it.each(['0', '"0%"'])('maxUnavailable %s would never update anything', async (value) => {
    const { lines: found, where } = await validate(ACCOUNT, `  rollout:\n    waves:\n      steps: [1, "100%"]\n      maxUnavailable: ${value}\n`);
    expect(found).toEqual([`${where(value, 'maxUnavailable')}: account/acme-w360: spec.rollout.waves.maxUnavailable: maxUnavailable ${value.replace(/"/g, '')} lets no member be updated; use at least 1`]);
  });

  it.each([
    { steps: '[1, "50%"]', gates: '[3]', unknown: undefined, why: 'the implied third wave covers the rest' },
    { steps: '[1, "50%"]', gates: '[4]', unknown: { wave: 4, waves: 3, index: 0 } },
    { steps: '[1, "100%"]', gates: '[2, 3]', unknown: { wave: 3, waves: 2, index: 1 }, why: 'nothing is left after 100%' },
    { steps: '[5]', gates: '[2]', unknown: undefined },
  ])('approvalRequired $gates with steps $steps', async ({ steps, gates, unknown }) => {
    const { lines: found, where } = await validate(DOMAIN, `  rollout:\n    waves:\n      steps: ${steps}\n      approvalRequired: ${gates}\n`);
    if (unknown === undefined) {
      expect(found).toEqual([]);
      return;
    }
    const line = where('approvalRequired');
    const [file, row] = line.split(':');
    const column = `      approvalRequired: ${gates}`.indexOf(String(unknown.wave), '      approvalRequired: ['.length) + 1;
    expect(found).toEqual([
      `${file}:${row}:${column}: domain/print-paris: spec.rollout.waves.approvalRequired[${unknown.index}]: wave ${unknown.wave} does not exist: spec.rollout.waves.steps make at most ${unknown.waves} waves (counting the one implied after a last step below 100%)`,
    ]);
  });

  it('an approval with a short digest (the 16-digit display form) is refused: only the whole SHA-256 counts', async () => {
    const { state, lines: found } = await validate(
      ACCOUNT,
      `  rollout:
    waves:
      steps: [1, "100%"]
      approvalRequired: [2]
    approvals:
      - { wave: 2, digest: "sha256:0123456789abcdef", by: ada@example.com }
`,
    );
    expect(state.valid).toBe(false);
    expect(found.join('\n')).toContain('spec.rollout.approvals[0].digest: must be the whole plan digest, sha256: and 64 hex digits');
  });

  it('an approval of a wave that requires none is a warning: it has no effect, and the revision is still applied', async () => {
    const { state, lines: found, where } = await validate(
      ACCOUNT,
      `  rollout:
    waves:
      steps: [1, "100%"]
      approvalRequired: [2]
    approvals:
      - wave: 1
        digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        by: ada@example.com
`,
    );
    expect(found).toEqual([`${where('1', '- wave:')}: account/acme-w360: spec.rollout.approvals[0].wave: warning: wave 1 does not require approval (spec.rollout.waves.approvalRequired is [2]); this approval has no effect`]);
    expect(state.valid).toBe(true);
    expect(state.unusable.size).toBe(0);
  });

  it('an approval naming a wave that does not exist says so (not "does not require approval"): a warning, no gate opens', async () => {
    const { state, lines: found, where } = await validate(
      ACCOUNT,
      `  rollout:
    waves:
      steps: [1, "100%"]
      approvalRequired: [2]
    approvals:
      - wave: 7
        digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        by: ada@example.com
`,
    );
    expect(found).toEqual([
      `${where('7', '- wave:')}: account/acme-w360: spec.rollout.approvals[0].wave: warning: wave 7 does not exist: spec.rollout.waves.steps make at most 2 waves (counting the one implied after a last step below 100%); this approval has no effect`,
    ]);
    expect(state.valid).toBe(true);
  });

  it('an approval on a target without waves: no wave exists', async () => {
    const { lines: found, where } = await validate(ACCOUNT, `  rollout:\n    approvals:\n      - { wave: 1, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", by: ada@example.com }\n`);
    expect(found).toEqual([
      `${where('1', '- { wave:')}: account/acme-w360: spec.rollout.approvals[0].wave: warning: wave 1 does not exist: no waves are declared (spec.rollout.waves); this approval has no effect`,
    ]);
  });

  it('an approval on an HACluster: it has no waves', async () => {
    const { lines: found, where } = await validate(CLUSTER, `  rollout:\n    approvals:\n      - { wave: 2, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", by: ada@example.com }\n`);
    expect(found).toEqual([
      `${where('2', '- { wave:')}: hacluster/ums-prod: spec.rollout.approvals[0].wave: warning: wave 2 does not exist: a HACluster has no waves (its servers go one at a time, seed 004); this approval has no effect`,
    ]);
  });

  it('waves on an HACluster are refused: it has no wave members, so a gate there would silently do nothing', async () => {
    const { state, lines: found, where } = await validate(CLUSTER, `  rollout:\n    waves:\n      steps: [1, "100%"]\n      approvalRequired: [2]\n`);
    expect(found).toEqual([
      `${where('waves:')}: hacluster/ums-prod: spec.rollout.waves: a HACluster has no wave members: its servers are updated one at a time in the vendor's order, then load balancers and consoles (seed 004); waves and approval gates declared here would do nothing — remove spec.rollout.waves`,
    ]);
    expect(state.valid).toBe(false);
    expect(state.unusable.has('hacluster/ums-prod')).toBe(true);
  });

  it('an HACluster may still be paused: rollout without waves passes', async () => {
    const { lines: found } = await validate(CLUSTER, `  rollout:\n    paused: true\n`);
    expect(found).toEqual([]);
  });
});
