/**
 * The answers of the read API (issue 15) against their JSON Schemas: `GET /v1/targets`
 * (view-fleet.schema.json), `GET /v1/targets/{kind}/{name}` (view-target.schema.json) and
 * `.../history` (view-history.schema.json), built by the real builders from what a real pass
 * of the reconcilers gives on example-repo/ and agent/example-observed.json (what
 * `versiond plan` plans), and from a real Git history. Also `GET /v1/observed`, whose answer is
 * an observed snapshot. The schemas are compiled by the controller's own ajv (strict).
 */
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observedSnapshot } from '../../controller/agents/observed-snapshot.ts';
import type { AuditEvent } from '../../controller/audit/target-history.ts';
import { DirectorySource } from '../../controller/desired/directory-source.ts';
import { DesiredStateLoader, type DesiredState } from '../../controller/desired/load-desired-state.ts';
import { schemaValidator } from '../../controller/desired/schema-validator.ts';
import { readObservedSnapshot } from '../../controller/plan/observed-file.ts';
import { fleetView, targetDetail, targetRow, type TargetSources } from '../../controller/web/build-view.ts';
import { HistoryReader } from '../../controller/web/history-reader.ts';
import type { FleetView, HistoryPage, TargetDetail } from '../../controller/web/view-model.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../reconcilers/model/release-index.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { planTargets } from '../../reconcilers/plan-targets.ts';
import { EXAMPLE_REPO, ROOT, TempRepo } from '../helpers/git-repo.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const REVISION = '3f2c0a1b2c3d4e5f60718293a4b5c6d7e8f90123';

/** Errors as one readable string, for a failing assertion. */
function why(validate: ValidateFunction): string {
  return JSON.stringify(
    validate.errors?.map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`),
  );
}

function valid(file: string, value: unknown): boolean {
  const validate = schemaValidator(file);
  const ok = validate(structuredClone(value));
  if (!ok) expect.soft(ok, `${file}: ${why(validate)}`).toBe(true);
  return ok;
}

function rejects(file: string, value: unknown): boolean {
  return !schemaValidator(file)(structuredClone(value));
}

/** A JSON round trip: what a client of the API parses (no undefined, no prototypes). */
const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

let state: DesiredState;
let observed: Observed;
let sources: TargetSources[];

beforeAll(async () => {
  state = await new DesiredStateLoader().load(new DirectorySource(EXAMPLE_REPO));
  expect(state.valid).toBe(true);
  const snapshot = await readObservedSnapshot(join(ROOT, 'agent/example-observed.json'));
  if (!snapshot.ok) throw new Error(`agent/example-observed.json: ${JSON.stringify(snapshot.diagnostics)}`);
  observed = snapshot.observed;
  // What `versiond plan --observed agent/example-observed.json --console-id console-hq` plans.
  const plans = planTargets({
    objects: state.objects,
    releases: new ReleaseIndex(state.objects.filter((o) => o.kind === 'Release') as never),
    revision: state.revision,
    observed,
    previous: new Map(),
    unusable: state.unusable,
    now: NOW,
    consoleId: 'console-hq',
  });
  sources = plans.map((p) => {
    const object = state.byId.get(p.target)!;
    if (p.outcome !== 'planned') return { target: p.target, object, status: undefined, plan: undefined };
    return { target: p.target, object, status: p.result.status, plan: p.result.plan };
  });
});

describe('GET /v1/targets: view-fleet.schema.json', () => {
  let fleet: FleetView;
  beforeAll(() => {
    let online = 0;
    for (const a of observed.agents.values()) if (a.online) online++;
    fleet = wire(fleetView(sources.map(targetRow), {
      revision: REVISION, now: NOW, online, known: observed.agents.size,
    }));
  });

  it('the fleet of example-repo conforms, every kind and a person-first order', () => {
    expect(fleet.targets.map((t) => t.kind).sort()).toEqual(
      ['Account', 'Account', 'DistributionServer', 'DistributionServer', 'Domain', 'Domain', 'HACluster'],
    );
    expect(fleet.targets[0]!.attention).toBe('person');
    expect(fleet.targets.some((t) => t.blockedBy !== null)).toBe(true);
    expect(fleet.targets.some((t) => t.blockedBy === null)).toBe(true);
    expect(valid('view-fleet.schema.json', fleet)).toBe(true);
  });

  it('a controller that has read its desired state from a folder, with a target not reconciled yet, conforms', () => {
    const [first, ...rest] = sources;
    const pending = targetRow({ ...first!, status: undefined, plan: undefined });
    expect(pending.phase).toBe('Pending');
    const view = wire(fleetView([pending, ...rest.map(targetRow)], { revision: null, now: NOW, online: 0, known: 0 }));
    expect(valid('view-fleet.schema.json', view)).toBe(true);
  });

  it('rejects a wrong phase, a missing field, an absent null, a stray field and a bad revision', () => {
    const row = fleet.targets[0]!;
    const withRow = (r: unknown) => ({ ...fleet, targets: [r] });
    expect(rejects('view-fleet.schema.json', withRow({ ...row, phase: 'Done' }))).toBe(true);
    const { summary: _summary, ...noSummary } = row;
    expect(rejects('view-fleet.schema.json', withRow(noSummary))).toBe(true);
    const { blockedBy: _blockedBy, ...noBlockedBy } = row;
    expect(rejects('view-fleet.schema.json', withRow(noBlockedBy))).toBe(true);
    expect(rejects('view-fleet.schema.json', withRow({ ...row, attention: 'nobody' }))).toBe(true);
    expect(rejects('view-fleet.schema.json', withRow({ ...row, target: 'release/x' }))).toBe(true);
    expect(rejects('view-fleet.schema.json', withRow({ ...row, conditions: [] }))).toBe(true);
    expect(rejects('view-fleet.schema.json', { ...fleet, revision: 'main' })).toBe(true);
    expect(rejects('view-fleet.schema.json', { ...fleet, generatedAt: 'now' })).toBe(true);
    // The same document, untouched, passes: the rejections above are about what was changed.
    expect(valid('view-fleet.schema.json', withRow(row))).toBe(true);
  });
});

describe('GET /v1/targets/{kind}/{name}: view-target.schema.json', () => {
  const detailOf = (target: string): TargetDetail => {
    const s = sources.find((x) => x.target === target);
    if (s === undefined) throw new Error(`no ${target} in example-repo`);
    return wire(targetDetail(s, observed.agents));
  };

  it('every target of example-repo conforms', () => {
    const details = sources.map((s) => wire(targetDetail(s, observed.agents)));
    expect(details).toHaveLength(7);
    for (const d of details) expect(valid('view-target.schema.json', d), d.target).toBe(true);
    // What the answers exercise: members in several states, steps read every way, details of every kind.
    const states = new Set(details.flatMap((d) => d.steps.map((s) => s.state)));
    expect([...states].sort()).toEqual(expect.arrayContaining(['by hand', 'now', 'waiting']));
    expect(new Set(details.flatMap((d) => d.members.map((m) => m.state))).size).toBeGreaterThan(1);
    expect(details.some((d) => d.members.some((m) => m.online !== null && m.lastReport !== null))).toBe(true);
    expect(details.some((d) => Object.keys(d.details).length > 0)).toBe(true);
  });

  it('account/acme-w360: its waves, with the approval snippet of its gated wave, conform', () => {
    const acme = detailOf('account/acme-w360');
    expect(acme.waves).not.toBeNull();
    const gated = acme.waves!.waves.find((w) => w.approval !== null);
    expect(gated?.number).toBe(2);
    expect(gated!.approval!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(gated!.approval!.snippet).toContain(`{ wave: 2, digest: "${gated!.approval!.digest}", by: `);
    expect(acme.waves!.waves.filter((w) => w.approval === null)).not.toHaveLength(0);
    expect(valid('view-target.schema.json', acme)).toBe(true);
  });

  it('a target not reconciled yet, and one whose status came from Git before its first plan, conform', () => {
    const s = sources.find((x) => x.target === 'hacluster/ums-prod')!;
    const pending = wire(targetDetail({ ...s, status: undefined, plan: undefined }, new Map()));
    expect(pending).toMatchObject({ phase: 'Pending', members: [], steps: [], waves: null, details: {}, since: null });
    expect(valid('view-target.schema.json', pending)).toBe(true);
    const restarted = wire(targetDetail({ ...s, plan: undefined }, new Map()));
    expect(restarted.steps).toEqual([]);
    expect(restarted.members.every((m) => m.online === null && m.lastReport === null)).toBe(true);
    expect(valid('view-target.schema.json', restarted)).toBe(true);
  });

  it('rejects a wrong phase, a missing field, unknown states, a bad digest and a stray field', () => {
    const acme = detailOf('account/acme-w360');
    const file = 'view-target.schema.json';
    expect(rejects(file, { ...acme, phase: 'Done' })).toBe(true);
    const { waves: _waves, ...noWaves } = acme;
    expect(rejects(file, noWaves)).toBe(true);
    const { attention: _attention, ...noAttention } = acme; // a field of the fleet row, required here too
    expect(rejects(file, noAttention)).toBe(true);
    expect(rejects(file, { ...acme, extra: true })).toBe(true);
    expect(rejects(file, { ...acme, members: [{ ...acme.members[0]!, state: 'Done' }] })).toBe(true);
    expect(rejects(file, { ...acme, members: [{ ...acme.members[0]!, observed: undefined }] })).toBe(true);
    expect(rejects(file, { ...acme, steps: [{ ...acme.steps[0]!, state: 'later' }] })).toBe(true);
    expect(rejects(file, { ...acme, steps: [{ ...acme.steps[0]!, action: 'reboot' }] })).toBe(true);
    expect(rejects(file, {
      ...acme, conditions: [{ ...acme.conditions[0]!, lastTransitionTime: 'yesterday' }],
    })).toBe(true);
    const waves = acme.waves!;
    const badDigest = waves.waves.map((w) => (
      w.approval === null ? w : { ...w, approval: { ...w.approval, digest: 'sha256:abc' } }
    ));
    expect(rejects(file, { ...acme, waves: { ...waves, waves: badDigest } })).toBe(true);
    expect(valid(file, acme)).toBe(true);
  });
});

describe('GET /v1/targets/{kind}/{name}/history: view-history.schema.json', () => {
  let g: TempRepo;
  const target: TargetId = 'account/acme-w360';
  const pages: HistoryPage[] = [];

  beforeAll(async () => {
    g = TempRepo.create(); // the initial commit adds every target
    g.edit('accounts/acme-w360.yaml', 'generatedFor: "4.2.1"', 'generatedFor: "4.3.0"')
      .edit(
        'accounts/acme-w360.yaml',
        '{ name: acme-ws-004, repositoryServer: acme-wrs-paris }',
        '{ name: acme-ws-004, repositoryServer: acme-wrs-lyon }',
      );
    const change = g.commitAll('Regenerate acme install media, move ws-004 to Lyon (#57)');
    g.write('status/account/acme-w360.yaml',
      'target: account/acme-w360\nphase: Progressing\nsummary: "7 of 9 devices at 4.2.1"\n');
    g.git('add', '-A');
    g.git('commit', '-q', '-m', 'status(account/acme-w360): 7 of 9 devices at 4.2.1', '-m',
      `Versiond-Target: ${target}\nVersiond-Phase: ${target}=Progressing\nVersiond-Revision: ${change}`);
    g.git('mv', 'accounts/acme-w360.yaml', 'accounts/eu-acme-w360.yaml');
    g.commitAll('Rename the acme file');
    const reader = new HistoryReader(join(g.dir, '.git'), 'main');
    for (let cursor: string | undefined, n = 0; n < 10; n++) {
      const page = wire(await reader.page(target, cursor, 2));
      pages.push(page);
      if (page.next === null) break;
      cursor = page.next;
    }
  });
  afterAll(() => g?.dispose());

  it('every page of a real history conforms: added, changed, moved and a status commit', () => {
    expect(pages.length).toBeGreaterThan(1);
    const events = pages.flatMap((p) => p.events);
    expect(events).toHaveLength(pages[0]!.total);
    expect(events.map((e) => (e.type === 'desired' ? e.changes.map((c) => c.change).join() : 'status'))).toEqual(
      ['moved', 'status', 'changed', 'added'],
    );
    for (const page of pages) expect(valid('view-history.schema.json', page)).toBe(true);
  });

  it('a target whose status branch does not exist yet conforms', () => {
    const empty: HistoryPage = { target, head: null, events: [], next: null, total: 0 };
    expect(valid('view-history.schema.json', empty)).toBe(true);
  });

  it('hand-built events of every shape conform, and wrong ones do not', () => {
    const person = { name: 'Ada Admin', email: 'ada@example.com' };
    const commit = 'a'.repeat(40);
    const events: AuditEvent[] = [
      {
        type: 'desired', commit, date: '2026-11-20T09:40:00Z', author: person, authorDate: '2026-11-20T09:25:00Z',
        committer: person, subject: 'Merge pull request #57 from carol/acme-media', references: ['PR #57'], merge: true,
        signature: 'signed by ada@example.com (SHA256:abc)',
        changes: [
          {
            target, change: 'changed', path: 'accounts/acme-w360.yaml', fields: [
              { field: 'spec.installMedia.generatedFor', from: '4.2.1', to: '4.3.0' },
              { field: 'spec.devices[acme-ws-005]', to: { name: 'acme-ws-005' } },
            ],
          },
          {
            target: null, change: 'unreadable', path: 'accounts/broken.yaml', fields: [], problem: 'YAML_SYNTAX at 3:7',
          },
          {
            target, change: 'moved', path: 'accounts/eu-acme-w360.yaml', previousPath: 'accounts/acme-w360.yaml',
            fields: [],
          },
        ],
      },
      {
        type: 'status', commit: 'b'.repeat(40), date: '2026-11-20T09:50:00Z',
        author: { name: 'versiond', email: 'versiond@localhost' },
        subject: 'status(account/acme-w360): 9 of 9 devices at 4.2.1', revision: null,
        targets: [{ target, phase: null, summary: '9 of 9 devices at 4.2.1' }],
      },
    ];
    const page: HistoryPage = { target, head: commit, events, next: 'b'.repeat(40), total: 7 };
    const file = 'view-history.schema.json';
    expect(valid(file, page)).toBe(true);
    const [desired, status] = events as [AuditEvent & { type: 'desired' }, AuditEvent & { type: 'status' }];
    expect(rejects(file, { ...page, events: [{ ...status, type: 'statuz' }] })).toBe(true);
    const { authorDate: _authorDate, ...noAuthorDate } = desired;
    expect(rejects(file, { ...page, events: [noAuthorDate] })).toBe(true);
    expect(rejects(file, {
      ...page, events: [{ ...desired, changes: [{ ...desired.changes[0]!, change: 'renamed' }] }],
    })).toBe(true);
    expect(rejects(file, { ...page, events: [{ ...status, date: '20 Nov 2026' }] })).toBe(true);
    expect(rejects(file, { ...page, next: 'HEAD~2' })).toBe(true);
    expect(rejects(file, { ...page, total: -1 })).toBe(true);
  });
});

describe('GET /v1/observed: observed-snapshot.schema.json', () => {
  it('the snapshot of what the controller observes conforms', () => {
    const snapshot = wire(observedSnapshot(observed));
    expect(snapshot.agents.length).toBe(observed.agents.size);
    expect(valid('observed-snapshot.schema.json', snapshot)).toBe(true);
  });
});
