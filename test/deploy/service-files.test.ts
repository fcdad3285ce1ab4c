/**
 * Issue 17: the service files under deploy/ are checked by the tools that will read them, as
 * far as this machine has them.
 *
 * systemd units: `systemd-analyze verify`. It checks that ExecStart's program exists, and
 * /usr/bin/versiond is not installed here. Of the ways around that, `--root=DIR` works with
 * systemd 252 (Debian 12) and verifies the files byte for byte as shipped: DIR holds the units
 * in etc/systemd/system, executable stubs at usr/bin/versiond and usr/bin/versiond-agent, and a
 * copy of the host's own units (sysinit.target, network-online.target …: without them every
 * unit fails with "Unit sysinit.target not found"). Rewriting ExecStart to a stub in a copy
 * works too, but would verify another file than the one shipped.
 *
 * verify exits 0 on an unknown key (`ProtectSytem=strict`) or an unparsable value
 * (`RestartSec=5x`): it only prints "…/versiond.service:74: Unknown key 'ProtectSytem' in
 * section [Service], ignoring.". So a unit fails here on ANY output line naming it, as well as
 * on a non-zero exit; the output is printed either way, and a canary proves the typo is caught.
 *
 * `systemd-analyze security --offline=yes` scores the controller's sandbox: printed, never a
 * failure. `systemd-sysusers --root=DIR` creates the user from deploy/systemd/versiond.sysusers.
 *
 * No container runtime here: the Containerfile is parsed for the instructions it must have,
 * and its HEALTHCHECK command (Node alone, no curl in the slim image) is run against a local
 * HTTPS server whose certificate names another host, as the controller's does.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/git-repo.ts';
import { TestCa } from '../helpers/tls-certs.ts';

const execFileP = promisify(execFile);
const DEPLOY = join(ROOT, 'deploy');
const UNITS = ['versiond.service', 'versiond-agent.service'] as const;

function findTool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}
const SYSTEMD_ANALYZE = findTool('systemd-analyze');
const SYSTEMD_SYSUSERS = findTool('systemd-sysusers');
/** The host's own units, which a --root needs to resolve the default dependencies. */
const HOST_UNIT_DIR = ['/usr/lib/systemd/system', '/lib/systemd/system']
  .find((d) => existsSync(join(d, 'sysinit.target')));

interface Run {
  readonly code: number;
  readonly output: string;
}

async function run(file: string, args: readonly string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP(file, [...args], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' },
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A root for `--root`: the units (as given, or as shipped), stub programs, the host's units. */
function makeRoot(units: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'versiond-units-'));
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync(HOST_UNIT_DIR!, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  for (const [name, text] of Object.entries(units)) writeFileSync(join(root, 'etc/systemd/system', name), text);
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  for (const bin of ['versiond', 'versiond-agent']) {
    writeFileSync(join(root, 'usr/bin', bin), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'usr/bin', bin), 0o755);
  }
  return root;
}

function shipped(name: string): string {
  return readFileSync(join(DEPLOY, 'systemd', name), 'utf8');
}

/** `systemd-analyze verify`, and the lines of its output that name one of `names`. */
async function verify(root: string, names: readonly string[]): Promise<Run & { readonly problems: readonly string[] }> {
  const result = await run(SYSTEMD_ANALYZE!, ['verify', `--root=${root}`, ...names]);
  const problems = result.output.split('\n').filter((line) => names.some((n) => line.includes(n)));
  return { ...result, problems };
}

/** `Key=value` lines of a unit, by section; a key given twice keeps every value. */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = `${section}.${line.slice(0, eq).trim()}`;
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return settings;
}

const skipWhy = SYSTEMD_ANALYZE === undefined
  ? ' [skipped: systemd-analyze is not installed here (Debian: apt-get install systemd)]'
  : HOST_UNIT_DIR === undefined
    ? ' [skipped: no systemd unit directory with sysinit.target (/usr/lib/systemd/system) to build a --root from]'
    : '';

describe.skipIf(skipWhy !== '')(`deploy/systemd: systemd-analyze verify${skipWhy}`, () => {
  let root = '';
  beforeAll(() => {
    root = makeRoot(Object.fromEntries(UNITS.map((n) => [n, shipped(n)])));
  });
  afterAll(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('both units verify without a single line about them', async () => {
    const result = await verify(root, UNITS);
    console.log(`$ systemd-analyze verify --root=<tmp> ${UNITS.join(' ')}\nexit ${result.code}\n` +
      `${result.output || '(no output)'}`);
    expect(result.problems, result.output).toEqual([]);
    expect(result.code, result.output).toBe(0);
  });

  it('a misspelt key or a bad value fails the check (canary)', async () => {
    const bad = shipped('versiond.service')
      .replace(/^ProtectSystem=strict$/m, 'ProtectSytem=strict')
      .replace(/^RestartSec=5s$/m, 'RestartSec=5x');
    const canary = makeRoot({ 'versiond.service': bad });
    try {
      const result = await verify(canary, ['versiond.service']);
      console.log(`canary (ProtectSytem=strict, RestartSec=5x):\nexit ${result.code}\n${result.output}`);
      expect(result.problems.join('\n')).toMatch(/Unknown key '?ProtectSytem'?/);
      expect(result.problems.join('\n')).toMatch(/5x/);
    } finally {
      rmSync(canary, { recursive: true, force: true });
    }
  });

  it('systemd-analyze security scores the controller (printed, not judged)', async () => {
    const result = await run(SYSTEMD_ANALYZE!, [
      'security', '--offline=yes', `--root=${root}`, '--no-pager', 'versiond.service',
    ]);
    const score = /Overall exposure level for versiond\.service: ([\d.]+ \S+)/.exec(result.output)?.[1];
    console.log(score !== undefined
      ? `systemd-analyze security --offline=yes versiond.service: exposure ${score}\n${result.output}`
      : `systemd-analyze security --offline=yes did not score the unit here (exit ${result.code}):\n${result.output}`);
  });
});

describe('deploy/systemd: what the units promise', () => {
  const controller = unitSettings(shipped('versiond.service'));
  const agent = unitSettings(shipped('versiond-agent.service'));

  it('the controller runs sandboxed as versiond, from /usr/bin/versiond, and has time to commit status', () => {
    const one = (key: string) => controller.get(`Service.${key}`)?.at(-1);
    expect(one('ExecStart')).toMatch(/^\/usr\/bin\/versiond run --state-dir \$\{STATE_DIRECTORY\} \$VERSIOND_ARGS$/);
    expect([one('User'), one('Group'), one('StateDirectory'), one('StateDirectoryMode')])
      .toEqual(['versiond', 'versiond', 'versiond', '0700']);
    expect([one('Type'), one('KillSignal'), one('TimeoutStopSec'), one('Restart'), one('LimitNOFILE')])
      .toEqual(['exec', 'SIGTERM', '60', 'on-failure', '65536']);
    expect([
      one('NoNewPrivileges'), one('ProtectSystem'), one('ProtectHome'), one('CapabilityBoundingSet'), one('UMask'),
    ]).toEqual(['yes', 'strict', 'yes', '', '0077']);
    expect(controller.get('Service.SystemCallFilter')).toEqual(['@system-service', '@pkey']);
    // V8's JIT needs writable and executable memory.
    expect(controller.has('Service.MemoryDenyWriteExecute')).toBe(false);
    expect(controller.get('Install.WantedBy')).toEqual(['multi-user.target']);
  });

  it('the agent runs as root, lets a running hook finish on SIGTERM, and always comes back', () => {
    const one = (key: string) => agent.get(`Service.${key}`)?.at(-1);
    expect(one('ExecStart')).toBe('/usr/bin/versiond-agent --config /etc/versiond-agent/agent.json');
    expect(agent.has('Service.User') || agent.has('Service.DynamicUser')).toBe(false);
    expect([one('KillMode'), one('KillSignal'), one('TimeoutStopSec'), one('Restart'), one('RestartSec')])
      .toEqual(['mixed', 'SIGTERM', '120', 'always', '5s']);
    expect([
      one('StateDirectory'), one('ConfigurationDirectory'), one('NoNewPrivileges'),
      one('ProtectHome'), one('PrivateTmp'),
    ]).toEqual(['versiond-agent', 'versiond-agent', 'yes', 'read-only', 'yes']);
  });
});

describe.skipIf(SYSTEMD_SYSUSERS === undefined)(
  `deploy/systemd/versiond.sysusers${
    SYSTEMD_SYSUSERS === undefined ? ' [skipped: systemd-sysusers is not installed here]' : ''
  }`,
  () => {
    it('systemd-sysusers creates the user the controller unit runs as, its home the state dir', async () => {
      const root = mkdtempSync(join(tmpdir(), 'versiond-sysusers-'));
      try {
        mkdirSync(join(root, 'etc'));
        const result = await run(SYSTEMD_SYSUSERS!, [`--root=${root}`, join(DEPLOY, 'systemd/versiond.sysusers')]);
        console.log(`$ systemd-sysusers --root=<tmp> deploy/systemd/versiond.sysusers\nexit ${result.code}\n` +
          `${result.output}`);
        expect(result.code, result.output).toBe(0);
        const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
        expect(passwd).toMatch(/^versiond:x:\d+:\d+:[^:]*:\/var\/lib\/versiond:\/usr\/sbin\/nologin$/m);
        expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^versiond:x:\d+:/m);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  },
);

/** Instructions of a Containerfile: continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): { readonly op: string; readonly args: string }[] {
  const out: { op: string; args: string }[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (pending !== '' && line.trim().startsWith('#')) continue; // a comment inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = `${pending}${line}`.trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/s.exec(whole);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

describe('deploy/Containerfile', () => {
  const all = instructions(readFileSync(join(DEPLOY, 'Containerfile'), 'utf8'));
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const runtime = all.slice(lastFrom);
  const arg = (op: string) => runtime.filter((i) => i.op === op).at(-1)?.args;

  it('is a multi-stage build from node:20-bookworm-slim that installs the packed tarball', () => {
    const froms = all.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:20-bookworm-slim\b/);
    const build = all.slice(0, lastFrom).filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm run pack/);
    expect(runtime.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')).toMatch(/npm install -g --omit=dev/);
  });

  it('runs as a non-root user, with a state volume, SIGTERM, a healthcheck and versiond as entrypoint', () => {
    const user = arg('USER');
    expect(user, 'the runtime stage must set USER').toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(arg('STOPSIGNAL')).toBe('SIGTERM');
    expect(arg('HEALTHCHECK')).toMatch(/\bCMD\b/);
    expect(arg('VOLUME')).toBe('/var/lib/versiond');
    expect(runtime.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '))
      .toMatch(/VERSIOND_STATE_DIR=\/var\/lib\/versiond\b/);
    expect(JSON.parse(arg('ENTRYPOINT')!)).toEqual(['versiond']);
    // The port the command listens on is the one exposed and the one the healthcheck asks.
    const cmd = JSON.parse(arg('CMD')!) as string[];
    expect(cmd[0]).toBe('run');
    const port = cmd[cmd.indexOf('--listen') + 1]!.split(':').at(-1);
    expect(arg('EXPOSE')).toBe(port);
    expect(arg('HEALTHCHECK')).toContain(`127.0.0.1:${port}/healthz`);
  });

  describe('its HEALTHCHECK command', () => {
    const json = /\bCMD\s+(\[.*\])\s*$/s.exec(arg('HEALTHCHECK') ?? '')?.[1];
    const argv = JSON.parse(json ?? '[]') as string[];
    let ca: TestCa;
    let servers: Server[] = [];

    beforeAll(() => {
      ca = TestCa.create();
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      ca.dispose();
    });

    function listen(server: Server): Promise<number> {
      servers.push(server);
      return new Promise((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    }

    /** Runs the healthcheck as the image would, with this Node in place of `node`. */
    async function runHealth(url: string): Promise<number> {
      try {
        await execFileP(process.execPath, argv.slice(1), {
          env: { ...process.env, VERSIOND_HEALTHCHECK_URL: url },
          timeout: 15_000,
        });
        return 0;
      } catch (err) {
        return typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      }
    }

    it('is exec-form `node -e …`', () => {
      expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    });

    it('passes on HTTPS 200 from a certificate for another name, fails on 503 and on a closed port', async () => {
      const cert = ca.issue('controller', 'versiond.example.com', { san: ['DNS:versiond.example.com'] });
      let status = 200;
      const tls = createHttpsServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
        res.writeHead(req.url === '/healthz' ? status : 404).end('ok\n');
      });
      const port = await listen(tls);
      expect(await runHealth(`https://127.0.0.1:${port}/healthz`)).toBe(0);
      status = 503;
      expect(await runHealth(`https://127.0.0.1:${port}/healthz`)).toBe(1);

      const plain = createHttpServer((_req, res) => res.writeHead(200).end('ok\n'));
      const plainPort = await listen(plain);
      expect(await runHealth(`http://127.0.0.1:${plainPort}/healthz`)).toBe(0);
      await new Promise((r) => plain.close(r));
      servers = servers.filter((s) => s !== plain);
      expect(await runHealth(`http://127.0.0.1:${plainPort}/healthz`)).toBe(1);
    });
  });
});

describe('deploy/windows', () => {
  const xml = readFileSync(join(DEPLOY, 'windows/versiond-agent.xml'), 'utf8');
  const ps1 = readFileSync(join(DEPLOY, 'windows/install-agent.ps1'), 'utf8');

  it('the WinSW configuration runs node.exe with --config, stops in 120 s, restarts on failure, rolls its logs', () => {
    expect(xml).toMatch(/<id>versiond-agent<\/id>/);
    expect(xml).toMatch(/<executable>[^<]*node\.exe<\/executable>/);
    expect(xml).toMatch(/<arguments>[^<]*--config "?C:\\ProgramData\\versiond-agent\\agent\.json"?<\/arguments>/);
    expect(xml).toMatch(/<stoptimeout>120 sec<\/stoptimeout>/);
    expect(xml).toMatch(/<onfailure action="restart" delay="10 sec"\/>/);
    expect(xml).toMatch(/<log mode="roll-by-size">/);
  });

  it('the install script is strict and stops on the first error', () => {
    expect(ps1).toMatch(/^\s*param\(/m);
    expect(ps1).toMatch(/^Set-StrictMode -Version Latest$/m);
    expect(ps1).toMatch(/^\$ErrorActionPreference = 'Stop'$/m);
    expect(ps1.indexOf('param(')).toBeLessThan(ps1.indexOf('Set-StrictMode'));
    expect(ps1).toMatch(/icacls/);
  });
});
