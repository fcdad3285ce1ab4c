import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TargetStatus } from '../../reconcilers/contract.ts';
import type { Release } from '../../reconcilers/model/desired.ts';
import type { TargetId } from '../../reconcilers/model/identity.ts';
import { AgentCredentials } from '../agents/agent-credentials.ts';
import { loadOrCreateControllerKey } from '../agents/controller-key.ts';
import { ObservedInventory } from '../agents/inventory.ts';
import { Mailbox } from '../agents/mailbox.ts';
import { PushDelivery } from '../agents/push-delivery.ts';
import { reportRoute } from '../agents/report-route.ts';
import { ArtifactVerifier } from '../artifacts/artifact-verifier.ts';
import type { DesiredState } from '../desired/load-desired-state.ts';
import { CredentialStore } from '../credentials/credential-store.ts';
import { asMissingObject } from '../git/missing-object.ts';
import { locateRepository } from '../git/repository.ts';
import { ReconcileLoop } from '../loop/reconcile-loop.ts';
import type { TargetIndex } from '../loop/target-index.ts';
import type { Logger } from '../observability/logger.ts';
import { LocalSource } from '../source/local-source.ts';
import { RemoteSource } from '../source/remote-source.ts';
import { RevisionTracker } from '../source/revision-tracker.ts';
import { sourceStatus } from '../source/source-status.ts';
import { webhookHandler } from '../source/webhook.ts';
import { readCommittedStatuses } from '../status/read-statuses.ts';
import { StatusPusher } from '../status/status-pusher.ts';
import { StatusSink } from '../status/status-sink.ts';
import { StatusWriter } from '../status/status-writer.ts';
import { controllerMetrics, type ControllerMetrics } from './controller-metrics.ts';
import { GitHealth } from './git-health.ts';
import type { AllowedSigners } from '../trust/allowed-signers.ts';
import { ApprovalTrustCache, type ApprovalPolicy } from '../trust/approval-trust.ts';
import { sshPublicKeyLine, type SshSigningKey } from '../trust/ssh-signer.ts';
import { createControllerServer } from './http-server.ts';
import type { Server as HttpsServer } from 'node:https';
import { ReloadingTls, type TlsFiles } from '../http/tls.ts';
import type { Observed } from '../../reconcilers/observed.ts';
import { HistoryReader } from '../web/history-reader.ts';
import { readAuthenticator } from '../web/read-auth.ts';
import { RefPlanner } from '../web/ref-planner.ts';
import { StatusEvents } from '../web/status-events.ts';
import { openViewerCredentials } from '../web/viewer-credentials.ts';
import { webRoutes } from '../web/web-routes.ts';

export interface ControllerOptions {
  /** A local Git repository (work tree or bare), or an http(s) URL to clone and push to. */
  readonly repo: string;
  readonly branch?: string;
  /** Commit status to this branch instead of the watched one. */
  readonly statusBranch?: string;
  readonly host?: string;
  readonly port?: number;
  /** Tokens, the controller key, the package cache, the clone of a remote repository: never in Git. */
  readonly stateDir: string;
  /** The console this controller is (seed 002 schedules). */
  readonly consoleId?: string;
  /** How often agents are asked to report (default 10 s). */
  readonly reportIntervalSeconds?: number;
  /** How soon an agent whose machine progressed is asked back (default 2 s, at most the interval: report-route.ts). */
  readonly reportFollowUpSeconds?: number;
  /** Silent longer than this: offline (default 3 report intervals). */
  readonly heartbeatTimeoutMs?: number;
  /** After a start, how long targets wait for their agents' first reports (default: the heartbeat timeout). */
  readonly warmUpMs?: number;
  readonly concurrency?: number;
  readonly resyncMs?: number;
  /** Status commit coalescing per target (default 5 s). */
  readonly coalesceMs?: number;
  readonly webhookSecret?: string;
  readonly gitToken?: string;
  readonly gitUsername?: string;
  /** Poll interval of a remote repository (default 15 s). */
  readonly pollMs?: number;
  readonly artifactMirror?: string;
  readonly maxReportBytes?: number;
  /** First retry after a revision could not be read for a lost Git object; doubles up to 5 min (default 1 s). */
  readonly gitRetryMs?: number;
  /** How approvals are judged (issue 13): against `--approvers`, as written (insecure), or none counts (default). */
  readonly approvals?: ApprovalPolicy;
  /** Act only on desired revisions signed by a key in this list (`--verify-commits`, issue 13). */
  readonly verifyCommits?: AllowedSigners;
  /** Serve HTTPS with these files, re-read when they change; `clientCaFile` lets agents use certificates. */
  readonly tls?: TlsFiles;
  /** Plain HTTP on an address other than loopback (tokens then cross the network in clear). */
  readonly insecureListen?: boolean;
  /** Commit ids on the web pages link here, `{commit}` replaced (`--commit-url`). */
  readonly commitUrl?: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface RunningController {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  readonly metrics: ControllerMetrics;
  readonly loop: ReconcileLoop;
  readonly inventory: ObservedInventory;
  readonly mailbox: Mailbox;
  /** Resolves when a revision was applied and agents had their warm-up. */
  ready(): Promise<void>;
  /** Graceful stop: no new work, in-flight reconciles finish, pending status is committed (and pushed). False when status could not be committed. */
  stop(): Promise<boolean>;
}

/**
 * `versiond run` as a library: wires the Git source, the revision tracker, the reconcile
 * loop, the agent API and the status writer, and serves HTTP. Everything it keeps in memory
 * is derived — from Git (desired state, previous status) or from the agents' next reports
 * (inventory, mailbox) — so it can be killed at any moment and started again.
 */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const log = options.logger;
  const now = options.now ?? Date.now;
  const branch = options.branch ?? 'main';
  const reportAfterSeconds = options.reportIntervalSeconds ?? 10;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? reportAfterSeconds * 3000;
  const host = options.host ?? '127.0.0.1';
  // TLS first: a bad certificate file stops the start before anything else happens.
  const tls = options.tls === undefined ? undefined : new ReloadingTls(options.tls);
  if (tls !== undefined) {
    log.info({ cert: options.tls!.certFile, validUntil: tls.notAfter, clientCa: options.tls!.clientCaFile ?? null },
      'serving HTTPS');
  } else if (!isLoopback(host) && !options.insecureListen) {
    throw new Error(`refusing plain HTTP on ${host}: agent tokens would cross the network in clear; `
      + 'give --tls-cert and --tls-key, or --insecure-listen to accept that');
  } else if (!isLoopback(host)) {
    log.warn({ host }, 'serving plain HTTP beyond loopback (--insecure-listen): tokens cross the network in clear');
  } else log.info({ host }, 'serving plain HTTP on loopback only (no --tls-cert)');
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });

  // ---------------------------------------------------------------- state outside Git
  const credentials = await AgentCredentials.open(options.stateDir, {
    onRefreshError: (err) => log.error({ err: err.message }, 'agents file is invalid; keeping the agents read before'),
  });
  const viewers = await openViewerCredentials(options.stateDir, {
    onRefreshError: (err) => log.error({ err: err.message }, 'viewers file is invalid; keeping the viewers read before'),
  });
  const controllerKey = await loadOrCreateControllerKey(options.stateDir);
  const credentialStore = await CredentialStore.open(join(options.stateDir, 'credentials.yaml'));

  // ---------------------------------------------------------------- where desired state comes from
  const remote = /^https?:\/\//i.test(options.repo);
  let gitdir: string;
  let remoteSource: RemoteSource | undefined;
  let onRevision: (commit: string) => void = () => {};
  let onRecloned: () => void = () => {};
  if (remote) {
    const cacheDir = join(options.stateDir, 'repos', createHash('sha256').update(options.repo).digest('hex').slice(0, 16));
    remoteSource = new RemoteSource({
      url: options.repo,
      branch,
      cacheDir,
      ...(options.pollMs !== undefined ? { intervalMs: options.pollMs } : {}),
      ...(options.gitToken !== undefined ? { credentials: { token: options.gitToken, ...(options.gitUsername ? { username: options.gitUsername } : {}) } } : {}),
      onRevision: (commit) => onRevision(commit),
      onRecloned: () => onRecloned(),
      logger: { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m) },
    });
    gitdir = remoteSource.gitdir;
  } else {
    const location = locateRepository(options.repo);
    if (location.type !== 'git') throw new Error(`${options.repo}: not a Git repository; versiond run needs Git to read revisions and to commit status`);
    gitdir = location.gitdir;
    if (!location.bare && options.statusBranch === undefined) {
      log.warn(
        { repo: options.repo, branch },
        'status is committed to the branch of a work tree: its index will not follow (git status shows status/ changes). Prefer a bare repository, a clone of its own, or --status-branch',
      );
    }
  }

  // ---------------------------------------------------------------- the loop and its parts
  const inventory = new ObservedInventory(heartbeatTimeoutMs);
  const mailbox = new Mailbox();
  let loop!: ReconcileLoop;
  const metrics = controllerMetrics({
    queueDepth: () => loop.queueDepth,
    activeReconciles: () => loop.activeReconciles,
    agents: () => {
      const online = inventory.online();
      return { online, offline: inventory.size - online, registered: credentials.size };
    },
    commandsPending: () => mailbox.pending,
    gitObjectsMissing: () => health.counts(),
  });
  // Lost Git objects (issue 14, item 5): reported once per change, repaired where the controller can.
  const health = new GitHealth(log);
  /** True when `err` was a lost object: recorded, and the clone of a remote repository cloned again. */
  const lostObject = (err: unknown, side: 'desired' | 'status', what: string): boolean => {
    const missing = asMissingObject(err, gitdir, remote ? 'clone' : side);
    if (!missing) return false;
    health.set(missing, what);
    void remoteSource?.repair(missing.data.oid);
    return true;
  };
  const push = new PushDelivery({
    sign: (body) => controllerKey.sign(body),
    commandsFor: (agent) => mailbox.commandsFor(agent),
    now,
    logger: log,
    onOutcome: (_agent, outcome) => metrics.commandPushes.inc({ outcome }),
    ...(options.tls?.clientCaFile !== undefined ? { ca: readFileSync(options.tls.clientCaFile) } : {}),
  });
  const retrying = new Set<string>();
  const artifacts = new ArtifactVerifier({
    cacheDir: join(options.stateDir, 'artifacts'),
    ...(options.artifactMirror !== undefined ? { mirror: options.artifactMirror } : {}),
    onChange: (release) => {
      const check = artifacts.checks.get(release);
      if (check?.status !== 'pending') retrying.delete(release);
      log.info({ release, check }, 'package check changed');
      loop.enqueueAll();
    },
    // A vendor site that is down makes one warning per release, not one per retry.
    logger: {
      info: (o, m) => log.info(o, m),
      warn: (o, m) => {
        const release = (o as { release?: string }).release;
        if (release !== undefined && retrying.has(release)) return log.debug(o, m);
        if (release !== undefined) retrying.add(release);
        log.warn(o, m);
      },
    },
  });

  // With --verify-commits, status commits are signed too, so a mirror can verify the whole branch.
  const signingKey: SshSigningKey | undefined = options.verifyCommits === undefined ? undefined
    : { publicRaw: Buffer.from(controllerKey.publicKeyBase64, 'base64'), signRaw: (d) => controllerKey.signRaw(d) };
  const writer = new StatusWriter({
    ...(signingKey !== undefined ? { signingKey } : {}),
    onStaleLock: (path, ageMs) => log.warn({ path, ageSeconds: Math.round(ageMs / 1000) }, 'removed a stale ref lock left by a killed process'),
    gitdir,
    branch,
    ...(options.statusBranch !== undefined ? { statusBranch: options.statusBranch } : {}),
    ...(options.coalesceMs !== undefined ? { coalesceMs: options.coalesceMs } : {}),
    now,
    onRepaired: ({ lost, commit, rebuiltFrom }) => {
      metrics.gitRepairs.inc({ outcome: rebuiltFrom ? 'status-rebuilt' : 'status-rewritten' });
      const how = rebuiltFrom ? `rebuilt from ${branch} at ${rebuiltFrom.slice(0, 7)}` : 'status/ written again';
      log.warn({ lost, commit, rebuiltFrom }, `status commit made around a lost Git object: ${how}`);
    },
  });
  const pusher = remote
    ? new StatusPusher({
        ...(signingKey !== undefined ? { signingKey } : {}),
        gitdir,
        url: options.repo,
        branch: writer.targetBranch,
        ...(options.gitToken !== undefined ? { credentials: { token: options.gitToken, ...(options.gitUsername ? { username: options.gitUsername } : {}) } } : {}),
        logger: { info: (o, m) => log.info(o, m), warn: (o, m) => { metrics.statusPushRetries.inc(); log.warn(o, m); } },
      })
    : undefined;
  const pushStatus = () => {
    if (!pusher) return;
    pusher.push().then(
      (outcome) => metrics.statusPushes.inc({ outcome }),
      (err: unknown) => {
        metrics.statusPushes.inc({ outcome: 'failed' });
        if (lostObject(err, 'status', 'pushing status')) return;
        log.error({ err: (err as Error).message }, 'status push failed; the commits stay local and go with the next push');
      },
    );
  };
  const sink = new StatusSink({
    writer,
    onCommit: (oid) => {
      metrics.statusCommits.inc();
      if (!remote) health.clear('status', 'status committed');
      log.info({ commit: oid }, 'status committed');
      pushStatus();
    },
    onError: (err) => {
      if (lostObject(err, 'status', 'committing status; retried with the next status')) return;
      log.error({ err: (err as Error).message }, 'status commit failed; retried with the next status');
    },
  });

  // Live updates of the web view: one event per change of a target's status.
  const events = new StatusEvents({ bootId: `${now().toString(36)}${randomBytes(3).toString('hex')}` });
  const previous = await readCommittedStatuses(gitdir, writer.targetBranch).catch(() => new Map<TargetId, TargetStatus>());
  loop = new ReconcileLoop({
    inventory,
    mailbox,
    previous,
    onCommandsChanged: (agents, index) => pushTo(agents, index),
    onStatus: (status) => sink.offer(status),
    onStatusChanged: (target, status) => events.publish(target, status),
    artifacts: () => artifacts.checks,
    credentials: (t) => credentialStore.checks(t),
    ...(options.consoleId !== undefined ? { consoleId: options.consoleId } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    warmUpMs: options.warmUpMs ?? heartbeatTimeoutMs,
    resyncMs: options.resyncMs ?? 5 * 60_000,
    now,
    logger: log,
    observer: {
      reconciled: (_target, kind, outcome, seconds) => {
        metrics.reconciles.inc({ kind, outcome });
        if (outcome === 'ok' || outcome === 'error') metrics.reconcileSeconds.observe(seconds, { kind });
      },
    },
  });

  function pushTo(agents: readonly string[], index: TargetIndex): void {
    for (const agent of agents) {
      if (!mailbox.wantsPush(agent)) continue;
      // The address an agent advertises is where it listens now; the one in Git is the fallback.
      const endpoint = inventory.endpointOf(agent) ?? index.declaredEndpoint(agent);
      if (endpoint !== undefined) push.push(agent, endpoint);
    }
  }

  // ---------------------------------------------------------------- revisions
  // Parsed files are cached in the state directory, so a restart does not parse an unchanged
  // repository again (issue 16); a damaged cache is only a warning, and is rebuilt.
  const tracker = new RevisionTracker(gitdir, options.verifyCommits, {
    parseCache: {
      file: join(options.stateDir, 'desired-parse-cache'),
      warn: (message, details) => log.warn(details, message),
    },
  });
  const sourceTarget = `source/${branch}` as TargetId;
  let sourceStatusPrevious = previous.get(sourceTarget);
  let applied = false;
  let restoreTried = false;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  let considering: Promise<void> = Promise.resolve();
  const approvalTrust = new ApprovalTrustCache(options.approvals ?? { mode: 'none' });
  const observedNow = (): Observed => ({
    agents: inventory.observations, artifacts: artifacts.checks, credentials: credentialStore.checks(now()),
  });
  const act = async (state: DesiredState) => {
    // Read before the state is applied, so no pass ever sees the revision without its trust.
    const trust = await approvalTrust.forRevision(state.objects, gitdir, state.revision);
    metrics.lastApplied.reset();
    metrics.lastApplied.set(now() / 1000, { revision: state.revision ?? '' });
    artifacts.want(state.objects.filter((o): o is Release => o.kind === 'Release'));
    loop.applyDesired(state, trust);
    if (!applied) {
      applied = true;
      readyResolve();
    }
  };
  // Started on an invalid head: act on the revision the last run acted on, as a long-running
  // controller would still do, instead of on nothing. Only from status written to Git.
  const restore = async (head: string) => {
    restoreTried = true;
    const recorded = sourceStatusPrevious?.details?.['lastAppliedRevision'];
    if (typeof recorded !== 'string') {
      const file = `status/${sourceTarget}.yaml`;
      log.warn({ revision: head }, `no valid revision recorded in ${file}: acting on none until a valid one`);
      return;
    }
    const restored = await tracker.restore(recorded, head);
    if (restored.kind === 'refused') {
      const { reason } = restored;
      log.warn({ revision: head, recorded, reason }, 'cannot act on the last valid revision recorded in Git');
      return;
    }
    log.info(
      { revision: recorded, invalid: head, files: restored.state.stats.files },
      `acting on the last valid revision, recorded in status/${sourceTarget}.yaml`,
    );
    await act(restored.state);
  };
  onRecloned = () => {
    metrics.gitRepairs.inc({ outcome: 'recloned' });
    tracker.forgetObjects();
    health.clear('clone', 'cloned again');
  };
  // A revision that needs a lost object is read again, with backoff, until it can be.
  const gitRetryMs = Math.max(1, options.gitRetryMs ?? 1000);
  let latestHead: string | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retries = 0;
  const retryLater = () => {
    clearTimeout(retryTimer);
    const delay = Math.min(5 * 60_000, gitRetryMs * 2 ** Math.min(retries++, 20));
    retryTimer = setTimeout(() => {
      if (latestHead !== undefined && !stopping) onRevision(latestHead);
    }, delay);
    retryTimer.unref();
  };
  onRevision = (commit: string) => {
    latestHead = commit;
    // One revision at a time, in order; each one re-read from Git by its id.
    considering = considering.then(async () => {
      try {
        const outcome = await tracker.consider(commit);
        retries = 0;
        clearTimeout(retryTimer);
        health.clear(remote ? 'clone' : 'desired', `revision ${commit.slice(0, 7)} read`);
        metrics.revisions.inc({ outcome: outcome.kind });
        if (outcome.kind === 'unchanged') return;
        if (outcome.kind === 'invalid') {
          const errors = outcome.diagnostics.filter((d) => d.severity === 'error').length;
          const first = outcome.diagnostics.find((d) => d.severity === 'error');
          log.warn({ revision: commit, errors, first: first?.message }, 'revision is invalid; still acting on the last valid one');
          if (!applied && !restoreTried) await restore(commit);
        } else {
          log.info({ revision: commit, files: outcome.state.stats.files, parsed: outcome.state.stats.parsed }, 'revision applied');
          await act(outcome.state);
        }
        const status = sourceStatus(branch, tracker, sourceStatusPrevious, now());
        sourceStatusPrevious = status;
        sink.offer(status);
      } catch (err) {
        const what = `revision ${commit.slice(0, 7)}; still acting on the last valid one, retrying`;
        if (!lostObject(err, 'desired', what)) {
          log.error({ revision: commit, err: (err as Error).message }, 'could not read revision');
          return;
        }
        tracker.forgetObjects();
        if (remote) return; // cloned again, then the tip is reported again
        if (!applied && !restoreTried) await restore(commit);
        const error = health.get('desired');
        if (error) {
          const missing = { error, attempted: commit };
          sourceStatusPrevious = sourceStatus(branch, tracker, sourceStatusPrevious, now(), missing);
          sink.offer(sourceStatusPrevious);
        }
        retryLater();
      }
    });
  };

  // ---------------------------------------------------------------- HTTP
  let stopping = false;
  const server = createControllerServer({
    report: reportRoute({
      credentials,
      inventory,
      mailbox,
      now,
      reportAfterSeconds,
      followUpSeconds: options.reportFollowUpSeconds ?? 2,
      ...(options.maxReportBytes !== undefined ? { maxBytes: options.maxReportBytes } : {}),
      stopping: () => stopping,
      onOutcome: (outcome) => metrics.reports.inc({ outcome }),
      onReport: (agent, _report, changed) => loop.agentReported(agent, changed),
    }),
    ...(options.webhookSecret !== undefined
      ? { webhook: webhookHandler(options.webhookSecret, () => void remoteSource?.trigger(), { branch }) }
      : {}),
    controllerKey: () => controllerKey.publicKeyBase64,
    metrics: () => metrics.registry.render(),
    notReady: () => {
      if (stopping) return 'stopping';
      const lost = health.notReady();
      const actingOn = loop.revision ? `acting on ${loop.revision}` : 'acting on no revision';
      if (lost !== undefined) return `${lost}; ${actingOn}`;
      return !applied ? 'no valid revision applied yet' : undefined;
    },
    web: webRoutes({
      state: {
        desired: () => loop.desiredState,
        statusOf: (t) => loop.statusOf(t),
        planOf: (t) => loop.planOf(t),
        observed: observedNow,
      },
      authenticate: readAuthenticator({ viewers, agents: credentials, anonymousAllowed: isLoopback(host) }),
      viewers,
      history: new HistoryReader(gitdir, writer.targetBranch, options.verifyCommits),
      planner: new RefPlanner({
        gitdir, statusBranch: writer.targetBranch, approvals: approvalTrust,
        ...(options.consoleId !== undefined ? { consoleId: options.consoleId } : {}),
      }),
      events,
      now,
      ...(options.commitUrl !== undefined ? { commitUrl: options.commitUrl } : {}),
      secure: tls !== undefined,
    }),
  }, tls);
  tls?.watch(server as HttpsServer, (level, msg) => log[level]({}, msg));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  // ---------------------------------------------------------------- timers
  const sweep = setInterval(() => {
    const gone = inventory.sweep(now());
    if (gone.length > 0) {
      log.info({ agents: gone.length === 1 ? gone[0] : gone.length }, 'agent(s) offline: no report within the heartbeat timeout');
      loop.agentsChanged(gone);
    }
  }, Math.max(250, Math.min(5000, heartbeatTimeoutMs / 4)));
  sweep.unref();
  let credentialsCheckedAt = now();
  const credentialWatch = setInterval(() => {
    void credentialStore.refreshIfChanged().then((changed) => {
      const t = now();
      // A credential that expired since the last look changes what distribution servers may do.
      const expiry = credentialStore.nextExpiryAfter(credentialsCheckedAt);
      credentialsCheckedAt = t;
      if (credentialStore.lastError !== null && changed) log.error({ file: credentialStore.path, err: credentialStore.lastError }, 'credential store is invalid; keeping what was read before');
      if (changed || (expiry !== undefined && expiry <= t)) loop.enqueueAll();
    });
  }, 5000);
  credentialWatch.unref();

  // ---------------------------------------------------------------- start watching
  let localSource: LocalSource | undefined;
  if (remoteSource) await remoteSource.start();
  else {
    localSource = new LocalSource({ gitdir, branch, onRevision: (c) => onRevision(c), onError: (err) => log.warn({ err: err.message }, 'watching the repository failed') });
    await localSource.start();
  }
  log.info({ url, repo: remote ? remoteSource!.url : options.repo, branch, statusBranch: writer.targetBranch, stateDir: options.stateDir }, 'versiond is running');
  const approvals = options.approvals ?? { mode: 'none' };
  if (approvals.mode === 'verify') {
    log.info({ approvers: approvals.approvers.file, keys: approvals.approvers.signers.length }, 'approvals are verified');
  } else if (approvals.mode === 'as-written') {
    log.warn({}, 'approvals count as written, unverified (--insecure-unverified-approvals)');
  } else log.info({}, 'no --approvers: approvals of gated waves do not count');
  if (options.verifyCommits) {
    log.info({ file: options.verifyCommits.file, statusSignedBy: sshPublicKeyLine(signingKey!) },
      'acting only on desired revisions signed by a listed key; status commits are signed with the controller key');
  }

  let stopped: Promise<boolean> | undefined;
  return {
    url,
    metrics,
    loop,
    inventory,
    mailbox,
    ready: () => readyPromise,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        clearTimeout(retryTimer);
        clearInterval(sweep);
        clearInterval(credentialWatch);
        await Promise.all([localSource?.stop(), remoteSource?.stop()]);
        await considering;
        await loop.shutdown();
        const committed = await sink.flush();
        if (!committed) log.error({ pending: writer.pendingTargets() }, 'pending status could not be committed before stopping');
        if (pusher) await pusher.push().catch((err: unknown) => log.error({ err: (err as Error).message }, 'final status push failed'));
        await Promise.all([push.stop(), artifacts.stop()]);
        events.close();
        await new Promise<void>((resolve) => {
          tls?.close();
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        log.info({}, 'versiond stopped');
        return committed;
      })()),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '[::1]';
}
