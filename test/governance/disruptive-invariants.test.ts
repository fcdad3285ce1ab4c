/**
 * Invariants of the window, freeze and pause (issue 12, row "governance"), with fast-check on
 * governed() over synthetic reconciler results: any set of commands a kind's reconciler may
 * send, any observations of a UMS cluster (each server's version and mode present, absent, or
 * the agent missing altogether), any control, at any time of a week.
 *
 *   - outside an open window no disruptive command of any kind is ever sent: only downloads,
 *     and the steps of a UMS cluster observed mid-update (a server in update mode, or two
 *     versions among its servers) — an oracle written here, apart from disruptive.ts;
 *   - in a freeze or while paused only those cluster steps are sent, not even downloads;
 *   - governance never invents a command; every command held is in the plan, not runnable,
 *     with a catalogued reason; holding everything never leaves a target Progressing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../protocol/action.ts';
import { reasonDef } from '../../reconcilers/engine/reasons.ts';
import { governed } from '../../reconcilers/governance/governed.ts';
import { GOVERNANCE_CATALOGUE } from '../../reconcilers/governance/reasons.ts';
import { GOVERNANCE_STEPS } from '../../reconcilers/governance/steps.ts';
import { windowsAt } from '../../reconcilers/governance/time-windows.ts';
import type { RolloutPolicy, TimeWindow } from '../../reconcilers/model/desired.ts';
import type { AgentSpec } from '../helpers/observed.ts';
import { NOW, observed } from '../helpers/observed.ts';
import { ACTIONS, fakeReconciler, MEMBERS, target, UMS, UMS_NEW, UMS_OLD, type GovKind, type SynthWork } from './synthetic.ts';

const WEEKNIGHTS: TimeWindow = { name: 'weeknights', schedule: '0 22 * * 1-5', duration: '4h', timeZone: 'Europe/Paris' };
const SATURDAY: TimeWindow = { name: 'saturday', schedule: '0 8 * * 6', duration: '6h', timeZone: 'UTC' };
const PAST: TimeWindow = { from: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' };
const FREEZE: TimeWindow = { name: 'audit', schedule: '0 9 * * 3', duration: '1d', timeZone: 'Europe/Paris' };
const WEEK = 7 * 86_400_000;

const SERVERS = ['ums-1', 'ums-2', 'ums-3'];
const FINISHING_ACTIONS: readonly Action[] = ['stage', 'apply', 'migrate', 'end-update-mode'];

type ServerObs = { readonly agent: false } | { readonly agent: true; readonly version?: string; readonly mode?: 'normal' | 'update' };

const serverObs: fc.Arbitrary<ServerObs> = fc.oneof(
  fc.constant({ agent: false } as const),
  fc.record(
    { agent: fc.constant(true as const), version: fc.constantFrom(UMS_OLD, UMS_NEW, 'garbage'), mode: fc.constantFrom('normal' as const, 'update' as const) },
    { requiredKeys: ['agent'] },
  ),
);

/** The oracle: the cluster is mid-update by what its servers report (seed 004). */
function midUpdate(obs: readonly ServerObs[]): boolean {
  const reported = obs.filter((o): o is Extract<ServerObs, { agent: true }> => o.agent);
  if (reported.some((o) => o.mode === 'update')) return true;
  const versions = reported.map((o) => o.version).filter((v): v is string => v !== undefined);
  return versions.includes(UMS_NEW) && versions.some((v) => v !== UMS_NEW);
}

function finishes(kind: GovKind, w: SynthWork, obs: readonly ServerObs[]): boolean {
  return kind === 'HACluster' && SERVERS.includes(w.member) && FINISHING_ACTIONS.includes(w.action) && midUpdate(obs);
}

const policy: fc.Arbitrary<RolloutPolicy> = fc.record(
  {
    windows: fc.subarray([WEEKNIGHTS, SATURDAY, PAST], { minLength: 1 }),
    freezes: fc.constant([FREEZE]),
    paused: fc.boolean(),
  },
  { requiredKeys: [] },
);

const scenario = fc
  .constantFrom<GovKind>('Account', 'Domain', 'HACluster')
  .chain((kind) =>
    fc.record({
      kind: fc.constant(kind),
      work: fc.uniqueArray(
        fc.record({ member: fc.constantFrom(...MEMBERS[kind].map((m) => m.name)), action: fc.constantFrom(...ACTIONS[kind]) }),
        { selector: (w) => `${w.member} ${w.action}`, maxLength: 8 },
      ),
      servers: fc.tuple(serverObs, serverObs, serverObs),
      policy,
      now: fc.integer({ min: NOW, max: NOW + WEEK }),
    }),
  );

function observedOf(servers: readonly ServerObs[]) {
  const agents: Record<string, AgentSpec> = {};
  servers.forEach((o, i) => {
    if (!o.agent) return;
    agents[SERVERS[i]!] = { components: [{ product: UMS, ...(o.version ? { version: o.version } : {}), ...(o.mode ? { mode: o.mode } : {}) }] };
  });
  return observed(agents);
}

describe('outside an open window no disruptive action is ever sent; in a freeze or a pause only a mid-update cluster finishes', () => {
  it('holds for any commands, observations, controls and time', () => {
    fc.assert(
      fc.property(scenario, ({ kind, work, servers, policy: p, now }) => {
        const inner = fakeReconciler(kind, work);
        const r = governed(kind, inner, GOVERNANCE_STEPS)(target(kind, p), observedOf(servers), undefined, now);
        const wanted = inner(target(kind, p), observedOf(servers), undefined, now).commands;
        const byId = new Map(wanted.map((c) => [c.id, c]));

        // Governance never invents a command.
        for (const c of r.commands) expect(byId.has(c.id)).toBe(true);

        const windowOpen = (p.windows ?? []).length === 0 || windowsAt(p.windows!, now).open;
        const frozen = (p.freezes ?? []).length > 0 && windowsAt(p.freezes!, now).open;
        for (const c of r.commands) {
          const w = { member: c.member, action: c.action };
          if (!windowOpen) expect(c.action === 'stage' || finishes(kind, w, servers), `${c.action} ${c.member} outside a window`).toBe(true);
          if (frozen || p.paused === true) expect(finishes(kind, w, servers), `${c.action} ${c.member} in a freeze or pause`).toBe(true);
        }

        // Every held command is in the plan, not runnable, with a catalogued reason.
        const sentIds = new Set(r.commands.map((c) => c.id));
        for (const c of wanted) {
          if (sentIds.has(c.id)) continue;
          const step = r.plan.find((s) => s.member === c.member && s.action === c.action);
          expect(step?.runnable).toBe(false);
          expect(() => reasonDef(GOVERNANCE_CATALOGUE, step!.blockedBy!.reason)).not.toThrow();
        }
        if (wanted.length > 0 && r.commands.length === 0) expect(['Progressing', 'Converged']).not.toContain(r.status.phase);
      }),
      { numRuns: 600 },
    );
  });

  it('inside an open window, with no freeze and no pause, nothing is held', () => {
    const ALWAYS: TimeWindow = { from: '2026-01-01T00:00:00Z', until: '2028-01-01T00:00:00Z' };
    fc.assert(
      fc.property(scenario, ({ kind, work, servers, now }) => {
        const r = governed(kind, fakeReconciler(kind, work), GOVERNANCE_STEPS)(target(kind, { windows: [ALWAYS] }), observedOf(servers), undefined, now);
        expect(r.commands.length).toBe(work.length);
      }),
      { numRuns: 200 },
    );
  });
});
