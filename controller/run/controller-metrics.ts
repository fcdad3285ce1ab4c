import { Registry, type Counter, type Gauge, type Histogram } from '../observability/metrics.ts';

/** What the loop, the agents and Git expose on `/metrics` (names are the public contract: see README). */
export interface ControllerMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'kind' | 'outcome'>;
  readonly reconcileSeconds: Histogram<'kind'>;
  readonly reports: Counter<'outcome'>;
  readonly revisions: Counter<'outcome'>;
  readonly statusCommits: Counter;
  readonly statusPushes: Counter<'outcome'>;
  readonly statusPushRetries: Counter;
  readonly commandPushes: Counter<'outcome'>;
  readonly lastApplied: Gauge<'revision'>;
  readonly gitRepairs: Counter<'outcome'>;
}

export interface MetricSources {
  queueDepth(): number;
  activeReconciles(): number;
  agents(): { online: number; offline: number; registered: number };
  commandsPending(): number;
  /** Per side (desired, status, clone): 1 while an object it needs is missing. */
  gitObjectsMissing?(): Record<string, number>;
}

export function controllerMetrics(sources: MetricSources): ControllerMetrics {
  const registry = new Registry();
  const m: ControllerMetrics = {
    registry,
    reconciles: registry.counter({ name: 'versiond_reconciles_total', help: 'Reconciles by kind and outcome (ok, error, deferred, no-reconciler).', labelNames: ['kind', 'outcome'] }),
    reconcileSeconds: registry.histogram({ name: 'versiond_reconcile_duration_seconds', help: 'Time a reconcile takes, by kind.', labelNames: ['kind'] }),
    reports: registry.counter({ name: 'versiond_agent_reports_total', help: 'Agent reports by outcome (accepted, or the error code).', labelNames: ['outcome'] }),
    revisions: registry.counter({ name: 'versiond_revisions_total', help: 'Revisions of the watched branch considered, by outcome (applied, invalid, unchanged).', labelNames: ['outcome'] }),
    statusCommits: registry.counter({ name: 'versiond_status_commits_total', help: 'Status commits written.' }),
    statusPushes: registry.counter({ name: 'versiond_status_pushes_total', help: 'Pushes of status commits to the remote, by outcome.', labelNames: ['outcome'] }),
    statusPushRetries: registry.counter({ name: 'versiond_status_push_retries_total', help: 'Status pushes retried after a failure or a rejected (non-fast-forward) push.' }),
    commandPushes: registry.counter({ name: 'versiond_command_pushes_total', help: 'Commands pushed to bidirectional agents, by outcome (delivered, failed: left in the mailbox).', labelNames: ['outcome'] }),
    lastApplied: registry.gauge({ name: 'versiond_last_applied_revision_timestamp_seconds', help: 'When the revision the controller acts on was applied; the label names it.', labelNames: ['revision'] }),
    gitRepairs: registry.counter({
      name: 'versiond_git_repairs_total',
      help: 'Repairs after a lost Git object: recloned (the remote clone), status-rebuilt, status-rewritten.',
      labelNames: ['outcome'],
    }),
  };
  registry.gauge({ name: 'versiond_queue_depth', help: 'Targets waiting to be reconciled.', collect: (g) => g.set(sources.queueDepth()) });
  registry.gauge({ name: 'versiond_reconciles_in_flight', help: 'Reconciles running now.', collect: (g) => g.set(sources.activeReconciles()) });
  registry.gauge({
    name: 'versiond_agents',
    help: 'Agents by state: online (reported within the heartbeat timeout), offline, registered (holding a token).',
    labelNames: ['state'],
    collect: (g) => {
      const a = sources.agents();
      g.set(a.online, { state: 'online' });
      g.set(a.offline, { state: 'offline' });
      g.set(a.registered, { state: 'registered' });
    },
  });
  registry.gauge({
    name: 'versiond_git_objects_missing',
    help: 'Sides of the Git store (desired, status, clone) that need an object that is missing: 1, else 0.',
    labelNames: ['side'],
    collect: (g) => {
      for (const [side, n] of Object.entries(sources.gitObjectsMissing?.() ?? {})) g.set(n, { side });
    },
  });
  registry.gauge({ name: 'versiond_commands_pending', help: 'Commands waiting in agents\' mailboxes.', collect: (g) => g.set(sources.commandsPending()) });
  // The process, under the names Prometheus' client libraries use, so stock dashboards and alerts apply.
  registry.gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', collect: (g) => g.set(process.memoryUsage.rss()) });
  registry.gauge({
    name: 'nodejs_heap_size_used_bytes', help: 'JavaScript heap in use, in bytes (live objects and garbage not yet collected).',
    collect: (g) => g.set(process.memoryUsage().heapUsed),
  });
  registry.gauge({
    name: 'nodejs_heap_size_total_bytes', help: 'JavaScript heap reserved, in bytes.', collect: (g) => g.set(process.memoryUsage().heapTotal),
  });
  return m;
}
