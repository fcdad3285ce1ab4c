import { existsSync } from 'node:fs';
import type { TargetStatus } from '../../../reconcilers/contract.ts';
import type { TargetId } from '../../../reconcilers/model/identity.ts';
import { ReleaseIndex } from '../../../reconcilers/model/release-index.ts';
import { NOTHING_OBSERVED, type Observed } from '../../../reconcilers/observed.ts';
import { planTargets } from '../../../reconcilers/plan-targets.ts';
import { formatDiagnostic } from '../../desired/diagnostics.ts';
import { diffDesired } from '../../plan/desired-diff.ts';
import { readObservedSnapshot } from '../../plan/observed-file.ts';
import { targetReport, type PlanReport } from '../../plan/plan-report.ts';
import { renderMarkdown } from '../../plan/render-markdown.ts';
import { renderText } from '../../plan/render-text.ts';
import { loadRevisions, REVISION_FLAG_HELP, REVISION_FLAG_OPTIONS } from '../load-revisions.ts';
import { EXIT, oneOf, parseFlags, UsageError, type Command, type Io } from '../usage.ts';
import { toText as validationText } from './validate.ts';

const HELP = `Usage: versiond plan [--repo DIR] [--rev REV] [--base REV] [--observed FILE] [--now ISO] [--console-id ID] [--format text|markdown|json]

What the controller would do with a revision, against an observed snapshot: every step
each target's rollout still needs, in order, which run at once, and why the others wait
(the vendor procedures' ordering rules). With --base, also what the revision changes in
the desired state: post --format markdown as a pull-request comment.

Flags:
${REVISION_FLAG_HELP}
  --observed FILE  snapshot of agent reports (schemas/observed-snapshot.schema.json);
                   without it, the plan is made against nothing observed and says so
  --now ISO        the instant to plan for (default: now), e.g. 2026-11-22T10:00:00Z
  --console-id ID  plan as this console (controller instance): it runs only the
                   distribution-server schedules it owns (seed 002)
  --format FORMAT  text (default), markdown or json (schemas/plan.schema.json)
  -h, --help       this help

Exit codes: 0 planned, 1 the revision or the snapshot is invalid, 2 usage error.
`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'show what a revision would do against an observed snapshot (text, Markdown for a PR, JSON)',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, {
      ...REVISION_FLAG_OPTIONS,
      observed: { type: 'string' },
      now: { type: 'string' },
      'console-id': { type: 'string' },
      format: { type: 'string' },
    });
    const format = oneOf('format', values.format, ['text', 'markdown', 'json'] as const, 'text');
    const now = values.now === undefined ? Date.now() : Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now must be an ISO-8601 time such as 2026-11-22T10:00:00Z, not ${JSON.stringify(values.now)}`);
    if (values.observed !== undefined && !existsSync(values.observed)) throw new UsageError(`--observed ${values.observed}: no such file`);

    const { state, base } = await loadRevisions('plan', values);
    if (!state.valid) {
      io.stderr.write(`${validationText(state, values.repo ?? '.', base)}the controller does not act on an invalid revision: nothing planned\n`);
      return EXIT.findings;
    }
    let observed: Observed = NOTHING_OBSERVED;
    let agents = 0;
    if (values.observed !== undefined) {
      const snapshot = await readObservedSnapshot(values.observed);
      if (!snapshot.ok) {
        io.stderr.write(`${snapshot.diagnostics.map(formatDiagnostic).join('\n')}\ninvalid observed snapshot: nothing planned\n`);
        return EXIT.findings;
      }
      observed = snapshot.observed;
      agents = snapshot.agents;
    }

    const releases = new ReleaseIndex(state.objects.filter((o) => o.kind === 'Release') as never);
    const plans = planTargets({
      objects: state.objects,
      releases,
      revision: state.revision,
      observed,
      previous: new Map<TargetId, TargetStatus>(),
      unusable: state.unusable,
      now,
      ...(values['console-id'] !== undefined ? { consoleId: values['console-id'] } : {}),
    });
    const report: PlanReport = {
      revision: state.revision,
      base: base?.revision ?? null,
      source: state.source,
      now: new Date(now).toISOString().replace('.000Z', 'Z'),
      observed: { source: values.observed ?? null, agents },
      changes: base ? diffDesired(base.objects, state.objects) : [],
      targets: plans.map(targetReport),
    };
    if (format === 'json') io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (format === 'markdown') io.stdout.write(renderMarkdown(report));
    else io.stdout.write(renderText(report));
    return EXIT.ok;
  },
};
