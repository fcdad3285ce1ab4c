/**
 * Web view benchmark (issue 15).
 *
 *   node --import tsx bench/web-view.bench.ts [--targets 1000] [--members 100] [--streams 100]
 *        [--idle-seconds 20] [--json]
 *
 * A fleet of --targets targets with --members members each (statuses and plans shaped like
 * an account's: a few members updated, the rest held by waves), served by the real read side
 * (webRoutes on a node:http server, as controller/run/controller.ts wires it):
 *   1. the overview page rendered server-side (fleetView + renderOverview): time and bytes;
 *   2. `GET /v1/targets` over HTTP on 127.0.0.1: latency of the whole answer;
 *   3. --streams open `GET /v1/events` streams left idle for --idle-seconds: the CPU the
 *      process spends meanwhile, as a share of one core (clients included: an upper bound).
 * Goals: overview ≤ 100 ms and ≤ 200 KB; /v1/targets ≤ 50 ms; 100 idle streams ≤ 5 % of a core.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MemberStatus, PlanStep, TargetStatus } from '../reconcilers/contract.ts';
import type { AnyDesiredObject } from '../reconcilers/model/desired.ts';
import type { TargetId } from '../reconcilers/model/identity.ts';
import type { DesiredState } from '../controller/desired/load-desired-state.ts';
import { fleetView, targetRow } from '../controller/web/build-view.ts';
import type { HistoryReader } from '../controller/web/history-reader.ts';
import { renderOverview } from '../controller/web/pages/overview-page.ts';
import type { RefPlanner } from '../controller/web/ref-planner.ts';
import { StatusEvents } from '../controller/web/status-events.ts';
import { webRoutes } from '../controller/web/web-routes.ts';
import { runIfMain } from './run-main.ts';
import { round, summarize, table } from './stats.ts';

interface Args {
  targets: number;
  members: number;
  streams: number;
  idleSeconds: number;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  return {
    targets: value('--targets', 1000),
    members: value('--members', 100),
    streams: value('--streams', 100),
    idleSeconds: value('--idle-seconds', 20),
    json: argv.includes('--json'),
  };
}

/** A synthetic fleet: accounts whose first members are updated and the rest wait for their wave. */
function syntheticFleet(targets: number, members: number) {
  const objects: AnyDesiredObject[] = [];
  const statuses = new Map<TargetId, TargetStatus>();
  const plans = new Map<TargetId, PlanStep[]>();
  const at = '2026-12-06T10:00:00Z';
  for (let t = 0; t < targets; t++) {
    const name = `account-${String(t).padStart(4, '0')}`;
    const target = `account/${name}` as TargetId;
    objects.push({
      apiVersion: 'versiond/v1', kind: 'Account', metadata: { name }, spec: {},
      source: { path: `accounts/${name}.yaml`, blob: '0'.repeat(40) },
    } as unknown as AnyDesiredObject);
    const done = t % 4 === 0 ? members : Math.floor(members / 3);
    const list: MemberStatus[] = [];
    for (let m = 0; m < members; m++) {
      list.push({
        name: `${name}-ws-${m}`, agent: `${name}-ws-${m}`, role: 'device', desired: '4.3.0',
        ...(m < done
          ? { observed: '4.3.0', state: 'Updated' as const }
          : { observed: '4.2.1', state: 'Waiting' as const }),
      });
    }
    const waiting = done < members;
    statuses.set(target, {
      target, phase: waiting ? 'Waiting' : 'Converged', observedRevision: 'a'.repeat(40),
      summary: `${done}/${members} devices updated`, members: list,
      conditions: [
        {
          type: 'Ready', status: waiting ? 'False' : 'True', reason: waiting ? 'WaitingForWave' : 'Converged',
          message: waiting ? 'wave 2 of 3 waits' : 'done', lastTransitionTime: at,
        },
        {
          type: 'Reconciling', status: waiting ? 'True' : 'False', reason: waiting ? 'WaitingForWave' : 'Converged',
          message: waiting ? 'wave 2 of 3 waits for wave 1' : 'done', lastTransitionTime: at,
        },
      ],
    });
    plans.set(target, list.filter((m) => m.state !== 'Updated').map((m) => ({
      target, member: m.name, action: 'apply' as const, version: '4.3.0', runnable: false,
      blockedBy: { category: 'waiting' as const, reason: 'WaitingForWave', message: 'wave 2 of 3 waits for wave 1' },
    })));
  }
  const state = {
    revision: 'a'.repeat(40), source: 'bench', objects,
    diagnostics: [], unusable: new Map(), brokenFiles: [], valid: true,
    byId: new Map(objects.map((o) => [`account/${o.metadata.name}` as TargetId, o])),
    stats: { files: objects.length, parsed: objects.length, reused: 0 },
  } as unknown as DesiredState;
  return { state, statuses, plans };
}

function getOnce(url: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    request(url, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - started, bytes }));
    }).on('error', reject).end();
  });
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const { state, statuses, plans } = syntheticFleet(args.targets, args.members);
  const ctx = { revision: state.revision, viewer: null, commitUrl: null };

  // 1. The overview, rendered as the route renders it: rows from statuses and plans, then HTML.
  const render = () => {
    const rows = state.objects.map((o) => {
      const target = `account/${o.metadata.name}` as TargetId;
      return targetRow({ target, object: o, status: statuses.get(target), plan: plans.get(target) });
    });
    return renderOverview(fleetView(rows, { revision: state.revision, now: Date.now(), online: 0, known: 0 }), ctx);
  };
  for (let i = 0; i < 5; i++) render();
  const renderMs: number[] = [];
  let html = '';
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    html = render();
    renderMs.push(performance.now() - t);
  }
  const overviewBytes = Buffer.byteLength(html);

  // 2 and 3. The read side on a real server.
  const events = new StatusEvents({ bootId: 'bench' });
  const routes = webRoutes({
    state: {
      desired: () => state,
      statusOf: (t) => statuses.get(t),
      planOf: (t) => plans.get(t),
      observed: () => ({ agents: new Map(), artifacts: new Map(), credentials: new Map() }),
    },
    authenticate: () => ({ ok: true, reader: { kind: 'anonymous' } }),
    viewers: { whoHolds: () => undefined },
    history: {} as HistoryReader,
    planner: {} as RefPlanner,
    events,
    now: Date.now,
    secure: false,
  });
  const server: Server = createServer((req, res) => {
    if (!routes(req, res, (req.url ?? '/').split('?', 1)[0]!)) res.writeHead(404).end();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (let i = 0; i < 5; i++) await getOnce(`${base}/v1/targets`);
  const apiMs: number[] = [];
  let apiBytes = 0;
  for (let i = 0; i < 30; i++) {
    const r = await getOnce(`${base}/v1/targets`);
    apiMs.push(r.ms);
    apiBytes = r.bytes;
  }

  const streams = await Promise.all(Array.from({ length: args.streams }, () => new Promise<() => void>((resolve) => {
    const req = request(`${base}/v1/events`, (res) => {
      res.once('data', () => resolve(() => req.destroy()));
      res.resume();
    });
    req.end();
  })));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await new Promise((r) => setTimeout(r, args.idleSeconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const idleCore = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
  const open = events.openStreams;
  for (const close of streams) close();
  events.close();
  server.close();

  const overview = summarize(renderMs);
  const api = summarize(apiMs);
  const result = {
    targets: args.targets,
    members: args.targets * args.members,
    overview: { medianMs: round(overview.median, 1), p95Ms: round(overview.p95, 1), bytes: overviewBytes },
    apiTargets: { medianMs: round(api.median, 1), p95Ms: round(api.p95, 1), bytes: apiBytes },
    idleStreams: { open, seconds: args.idleSeconds, coreShare: round(idleCore * 100, 2) },
    goals: {
      overviewMs: overview.median <= 100, overviewBytes: overviewBytes <= 200_000,
      apiMs: api.median <= 50, idleStreams: idleCore <= 0.05,
    },
  };
  const out = args.json ? process.stderr : process.stdout;
  out.write(`web view, ${args.targets} targets × ${args.members} members\n`);
  out.write(`${table(['measure', 'median', 'p95', 'size', 'goal'], [
    ['overview page (server-side render)', `${result.overview.medianMs} ms`, `${result.overview.p95Ms} ms`,
      `${round(overviewBytes / 1000, 1)} KB`, '≤ 100 ms, ≤ 200 KB'],
    ['GET /v1/targets (HTTP, whole answer)', `${result.apiTargets.medianMs} ms`, `${result.apiTargets.p95Ms} ms`,
      `${round(apiBytes / 1000, 1)} KB`, '≤ 50 ms'],
    [`${open} idle event streams, ${args.idleSeconds} s`, `${result.idleStreams.coreShare} % of a core`,
      '', '', '≤ 5 %'],
  ])}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

runIfMain(import.meta.url, main);
