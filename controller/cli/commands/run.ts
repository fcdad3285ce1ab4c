import { readFileSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../../observability/logger.ts';
import { printable } from '../../observability/printable.ts';
import { startController } from '../../run/controller.ts';
import type { TlsFiles } from '../../http/tls.ts';
import { GitTokenError, readGitToken } from '../../source/git-credentials.ts';
import { APPROVAL_FLAG_HELP, APPROVAL_FLAG_OPTIONS, approvalPolicy, readAllowedSigners } from '../approval-flags.ts';
import { resolveStateDir } from '../state-dir.ts';
import { EXIT, oneOf, parseFlags, UsageError, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond run [--repo DIR|URL] [--branch B] [--listen HOST:PORT] [--state-dir DIR] [flags]

Runs the controller: watches the branch, reconciles every target against what the agents
report, answers agents with their commands (and pushes them to bidirectional members), and
commits status back to the repository. Stop it with SIGTERM or Ctrl-C: reconciles in
flight finish and pending status is committed (and pushed) before it exits.

Agents authenticate with their own tokens: create them with \`versiond agents add <id>\`
(the controller picks up new agents without a restart).

Flags:
  --repo DIR|URL           Git repository: a local work tree or bare repository (watched),
                           or an http(s) URL (cloned into the state dir, fetched every
                           --poll-interval and on the webhook, status pushed back) (default: .)
  --branch B               branch holding the desired state (default: main)
  --status-branch B        commit status to this branch instead of --branch
  --listen HOST:PORT       HTTP address for agents, webhook, /metrics, /healthz, /readyz,
                           the web view (/) and the read API (/v1/targets …)
                           (default: 127.0.0.1:8080; port 0 picks a free one). On loopback
                           anyone may read; elsewhere readers need a viewer token
                           (versiond viewers add NAME)
  --commit-url TEMPLATE    link commit ids on the web pages to a repository web view, e.g.
                           https://git.example.com/fleet/commit/{commit}
  --tls-cert FILE          serve HTTPS with this PEM certificate (chain), re-read when it
                           changes: a renewal needs no restart
  --tls-key FILE           its PEM private key
  --tls-client-ca FILE     agents may authenticate with a client certificate from this CA:
                           its CN or a SAN must be the agent id (a token is then optional);
                           also trusted for agents' own https endpoints
  --insecure-listen        allow plain HTTP on an address other than loopback
  --state-dir DIR          agent token hashes, the controller key, package cache, clones
                           (default: $VERSIOND_STATE_DIR, else $XDG_STATE_HOME/versiond,
                           else ~/.local/state/versiond) — never inside the Git repository
  --console-id ID          the console this controller is, for distribution-server syncs
  --report-interval SEC    how often agents are asked to report (default: 10)
  --report-follow-up SEC   after a report in which the machine progressed (a command finished),
                           how soon the agent is asked back for its next step (default: 2)
  --heartbeat-timeout SEC  silent longer than this: offline (default: 3 report intervals)
  --warm-up SEC            after a start, how long a target waits for its agents' first
                           reports before it is reconciled anyway (default: heartbeat timeout)
  --concurrency N          targets reconciled at once (default: 4)
  --coalesce SEC           at most one status commit per target per interval (default: 5)
  --resync SEC             reconcile every target at least this often (default: 300)
  --webhook-secret-file F  enable POST /v1/hooks/git, HMAC-verified with this secret
                           (GitHub, Gitea), or this X-Gitlab-Token (GitLab)
  --git-token-file F       token for an https repository (default: $VERSIOND_GIT_TOKEN)
  --git-username U         user name sent with the token (GitLab: oauth2)
  --poll-interval SEC      fetch interval of a remote repository (default: 15)
  --artifact-mirror URL    fetch release packages from this mirror (\`<URL>/<host>/<path>\`)
  --max-report-bytes N     largest agent report accepted (default: 1048576)
${APPROVAL_FLAG_HELP}
  --verify-commits FILE    act only on desired revisions whose commit is signed by a key in
                           this allowed_signers file; others are refused like invalid ones
  --log-level LEVEL        trace, debug, info (default), warn, error, silent
  --log-format FORMAT      json, or pretty (default: pretty on a terminal, json otherwise);
                           pretty is coloured only on a terminal and without $NO_COLOR
                           ($FORCE_COLOR=1 forces colour, 0 turns it off)
  -h, --help               this help

Exit codes: 0 stopped cleanly, 1 could not start (repository, state dir, port) or could not
commit pending status when stopping, 2 usage error.
`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the controller: watch Git, talk to agents, commit status',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { values } = parseFlags(argv, {
      repo: { type: 'string', default: '.' },
      branch: { type: 'string', default: 'main' },
      'status-branch': { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:8080' },
      'state-dir': { type: 'string' },
      'console-id': { type: 'string' },
      'report-interval': { type: 'string' },
      'report-follow-up': { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'warm-up': { type: 'string' },
      concurrency: { type: 'string' },
      coalesce: { type: 'string' },
      resync: { type: 'string' },
      'webhook-secret-file': { type: 'string' },
      'git-token-file': { type: 'string' },
      'git-username': { type: 'string' },
      'poll-interval': { type: 'string' },
      'artifact-mirror': { type: 'string' },
      'max-report-bytes': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      ...APPROVAL_FLAG_OPTIONS,
      'verify-commits': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      'insecure-listen': { type: 'boolean', default: false },
      'commit-url': { type: 'string' },
    });
    const tls = tlsFiles(values['tls-cert'], values['tls-key'], values['tls-client-ca']);
    const approvals = approvalPolicy(values);
    const verifyFile = values['verify-commits'];
    const verifyCommits = verifyFile === undefined ? undefined : readAllowedSigners('--verify-commits', verifyFile);
    const { host, port } = parseListen(values.listen ?? '127.0.0.1:8080');
    const level = oneOf('log-level', values['log-level'], ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const, 'info') as LevelWithSilent;
    const format = values['log-format'] === undefined ? undefined : oneOf('log-format', values['log-format'], ['json', 'pretty'] as const, 'json');
    const stateDir = resolveStateDir(values['state-dir']);
    const seconds = (flag: string, fallback?: number) => {
      const v = values[flag as keyof typeof values] as string | undefined;
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number of seconds, not ${JSON.stringify(v)}`);
      return n;
    };
    /** Sent to agents as `reportAfterSeconds`, which the protocol has as a whole number ≥ 1. */
    const wholeSeconds = (flag: string, fallback?: number) => {
      const n = seconds(flag, fallback);
      if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${flag} must be a whole number of seconds, not ${n}`);
      return n;
    };
    const integer = (flag: string) => {
      const v = values[flag as keyof typeof values] as string | undefined;
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, not ${JSON.stringify(v)}`);
      return n;
    };
    let webhookSecret: string | undefined;
    let gitToken: string | undefined;
    try {
      webhookSecret = values['webhook-secret-file'] === undefined ? undefined : readSecret(values['webhook-secret-file']);
      gitToken = readGitToken(process.env, values['git-token-file']);
    } catch (err) {
      if (err instanceof GitTokenError || err instanceof SecretFileError) {
        io.stderr.write(`versiond run: ${printable(err.message)}\n`);
        return EXIT.findings;
      }
      throw err;
    }

    const logger = createLogger({ level, ...(format !== undefined ? { pretty: format === 'pretty' } : {}) });
    const reportInterval = wholeSeconds('report-interval', 10)!;
    const followUp = wholeSeconds('report-follow-up');
    const heartbeat = seconds('heartbeat-timeout');
    const warmUp = seconds('warm-up');
    const coalesce = seconds('coalesce');
    const resync = seconds('resync');
    const poll = seconds('poll-interval');
    const concurrency = integer('concurrency');
    const maxReportBytes = integer('max-report-bytes');

    let controller;
    try {
      controller = await startController({
        repo: values.repo ?? '.',
        branch: values.branch ?? 'main',
        ...(values['status-branch'] !== undefined ? { statusBranch: values['status-branch'] } : {}),
        host,
        port,
        stateDir,
        ...(values['console-id'] !== undefined ? { consoleId: values['console-id'] } : {}),
        reportIntervalSeconds: reportInterval,
        ...(followUp !== undefined ? { reportFollowUpSeconds: followUp } : {}),
        ...(heartbeat !== undefined ? { heartbeatTimeoutMs: heartbeat * 1000 } : {}),
        ...(warmUp !== undefined ? { warmUpMs: warmUp * 1000 } : {}),
        ...(coalesce !== undefined ? { coalesceMs: coalesce * 1000 } : {}),
        ...(resync !== undefined ? { resyncMs: resync * 1000 } : {}),
        ...(poll !== undefined ? { pollMs: poll * 1000 } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(maxReportBytes !== undefined ? { maxReportBytes } : {}),
        ...(webhookSecret !== undefined ? { webhookSecret } : {}),
        ...(gitToken !== undefined ? { gitToken } : {}),
        ...(values['git-username'] !== undefined ? { gitUsername: values['git-username'] } : {}),
        ...(values['artifact-mirror'] !== undefined ? { artifactMirror: values['artifact-mirror'] } : {}),
        approvals,
        ...(verifyCommits !== undefined ? { verifyCommits } : {}),
        ...(tls !== undefined ? { tls } : {}),
        insecureListen: values['insecure-listen'] ?? false,
        ...(values['commit-url'] !== undefined ? { commitUrl: commitUrl(values['commit-url']) } : {}),
        logger,
      });
    } catch (err) {
      logger.fatal({ err: (err as Error).message }, 'could not start');
      io.stderr.write(`versiond run: ${printable((err as Error).message)}\n`);
      return EXIT.findings;
    }
    // Machine-readable for scripts and tests that start us on port 0.
    io.stdout.write(`listening on ${controller.url}\n`);
    io.stdout.write(`web view: ${controller.url}/\n`);

    const clean = await new Promise<boolean>((resolve) => {
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting without waiting');
          process.exit(130);
        }
        logger.info({ signal }, 'stopping: finishing reconciles in flight and committing pending status');
        void controller.stop().then(resolve, (err: unknown) => {
          logger.error({ err: (err as Error).message }, 'error while stopping');
          resolve(false);
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    // Stopped, but status that should be in Git is not: say so to the supervisor.
    return clean ? EXIT.ok : EXIT.findings;
  },
};

class SecretFileError extends Error {}

/** Only an http(s) URL naming `{commit}`: the template becomes a link on every page. */
function commitUrl(template: string): string {
  let url: URL;
  try {
    url = new URL(template.replaceAll('{commit}', '0'));
  } catch {
    throw new UsageError(`--commit-url must be an http(s) URL, not ${JSON.stringify(template)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--commit-url must be an http(s) URL');
  if (!template.includes('{commit}')) throw new UsageError('--commit-url must contain {commit}, replaced by the commit id');
  return template;
}

function readSecret(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SecretFileError(`cannot read the webhook secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (text === '') throw new SecretFileError(`the webhook secret file ${file} is empty`);
  return text;
}

function tlsFiles(cert: string | undefined, key: string | undefined, clientCa: string | undefined): TlsFiles | undefined {
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  return { certFile: cert, keyFile: key, ...(clientCa !== undefined ? { clientCaFile: clientCa } : {}) };
}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen must be HOST:PORT (e.g. 127.0.0.1:8080), not ${JSON.stringify(value)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
