import type { AnyDesiredObject, CountOrPercent, RolloutPolicy } from '../../../reconcilers/model/desired.ts';
import { maxWaveCount, percentOf } from '../../../reconcilers/governance/wave-plan.ts';
import type { Finding } from '../diagnostics.ts';
import { at, perDocument } from './context.ts';

/**
 * `spec.rollout.waves` and `spec.rollout.approvals` (issue 8, items 1, 2) make sense:
 *
 * - errors (the revision is refused, so a reviewer sees them in the pull request):
 *   - a step of 0 (or 0%): a wave of nobody;
 *   - a step smaller than an earlier step of the same form (counts with counts, shares with
 *     shares: `[10, 5%]` depends on the fleet's size and is allowed — sizes are made
 *     non-decreasing at run time): steps are cumulative, so the file says something else
 *     than what will happen;
 *   - `maxUnavailable` 0: nothing would ever be updated;
 *   - an `approvalRequired` wave the steps can never make (the implied last wave counts):
 *     a gate a reviewer relies on that would never apply;
 *   - waves on an HACluster: it has no wave members — its servers go one at a time in the
 *     vendor's order (seed 004), load balancers and consoles after — so a strategy, and above
 *     all an approval gate, would silently do nothing while reviewers believe it protects the
 *     rollout. Refusing it is safer than ignoring it (pause and windows do apply there).
 * - warnings (the revision is still applied; the approval has no effect, so no gate opens):
 *   - an approval naming a wave that does not exist (past the waves the steps can make, or
 *     on a target without waves — an HACluster has none): said so, not "requires none";
 *   - an approval for a wave that exists and requires none (a typo, or a stale approval left
 *     after a gate was removed).
 *   The waves step says the same at run time (`status.details.rollout.waves.unusedApprovals`).
 */
export const rolloutWaves = perDocument((ctx) => [...ctx.domains, ...ctx.accounts, ...ctx.clusters], function rolloutWaves(obj: AnyDesiredObject): Finding[] {
  const rollout = (obj.spec as { rollout?: RolloutPolicy }).rollout;
  if (rollout === undefined) return [];
  const out: Finding[] = [];
  const waves = rollout.waves;
  if (waves !== undefined && obj.kind === 'HACluster') {
    out.push({
      code: 'WAVES_WITHOUT_MEMBERS',
      data: { kind: obj.kind, why: 'its servers are updated one at a time in the vendor\'s order, then load balancers and consoles (seed 004)' },
      ...at(obj, ['spec', 'rollout', 'waves'], true),
    });
  } else if (waves !== undefined) {
    const lastOfForm: { count?: CountOrPercent; percent?: CountOrPercent } = {};
    waves.steps.forEach((step, i) => {
      const field = ['spec', 'rollout', 'waves', 'steps', i];
      const value = percentOf(step) ?? (step as number);
      if (value === 0) {
        out.push({ code: 'WAVE_STEP_EMPTY', data: { step: String(step) }, ...at(obj, field) });
        return;
      }
      const form = percentOf(step) === undefined ? 'count' : 'percent';
      const previous = lastOfForm[form];
      if (previous !== undefined && value < (percentOf(previous) ?? (previous as number))) {
        out.push({ code: 'WAVE_STEP_DECREASING', data: { step: String(step), previous: String(previous) }, ...at(obj, field) });
      }
      lastOfForm[form] = step;
    });
    if (waves.maxUnavailable !== undefined && (percentOf(waves.maxUnavailable) ?? waves.maxUnavailable) === 0) {
      out.push({ code: 'WAVE_MAX_UNAVAILABLE_ZERO', data: { value: String(waves.maxUnavailable) }, ...at(obj, ['spec', 'rollout', 'waves', 'maxUnavailable']) });
    }
    const most = maxWaveCount(waves.steps);
    (waves.approvalRequired ?? []).forEach((wave, i) => {
      if (wave > most) out.push({ code: 'APPROVAL_WAVE_UNKNOWN', data: { wave, waves: most }, ...at(obj, ['spec', 'rollout', 'waves', 'approvalRequired', i]) });
    });
  }
  const required = obj.kind === 'HACluster' ? [] : [...(waves?.approvalRequired ?? [])];
  const existing = obj.kind === 'HACluster' || waves === undefined ? 0 : maxWaveCount(waves.steps);
  const why = obj.kind === 'HACluster' ? `a ${obj.kind} has no waves (its servers go one at a time, seed 004)` : undefined;
  (rollout.approvals ?? []).forEach((a, i) => {
    const field = at(obj, ['spec', 'rollout', 'approvals', i, 'wave']);
    if (a.wave < 1 || a.wave > existing) {
      out.push({ code: 'APPROVAL_NO_SUCH_WAVE', data: { wave: a.wave, waves: existing, ...(why !== undefined ? { why } : {}) }, severity: 'warning', ...field });
    } else if (!required.includes(a.wave)) {
      out.push({ code: 'APPROVAL_NOT_REQUIRED', data: { wave: a.wave, required }, severity: 'warning', ...field });
    }
  });
  return out;
});
