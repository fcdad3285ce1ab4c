import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENTS_FILE, AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { loadOrCreateControllerKey } from '../../controller/agents/controller-key.ts';
import { main } from '../../controller/cli/main.ts';
import { resolveStateDir } from '../../controller/cli/state-dir.ts';
import { ROOT } from '../helpers/git-repo.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function stateDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'versiond-cli-agents-'));
  dirs.push(parent);
  return join(parent, 'state');
}

/** `versiond …` in this process, its output captured. */
async function versiond(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

/** `versiond …` as a real process. */
function versiondProcess(...argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'controller/cli/bin.js'), ...argv], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const TOKEN_LINE = /^vda_[A-Za-z0-9_-]{43}$/gm;
const tokenIn = (stdout: string) => {
  const tokens = stdout.match(TOKEN_LINE) ?? [];
  expect(tokens).toHaveLength(1); // shown once
  return tokens[0]!;
};

describe('versiond agents add', () => {
  it('prints the token once, how to hand it over, and the controller key; the token then authenticates that agent', async () => {
    const dir = stateDir();
    const r = await versiond('agents', 'add', 'wd-lille', '--state-dir', dir);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const token = tokenIn(r.stdout);
    expect(r.stdout).toContain('--token-file');
    expect(r.stdout).toContain('0600');
    const key = await loadOrCreateControllerKey(dir);
    expect(r.stdout).toContain(`(\`--controller-key\`):\n  ${key.publicKeyBase64}\n`);

    const credentials = await AgentCredentials.open(dir);
    expect(credentials.authenticate('wd-lille', `Bearer ${token}`)).toBe('ok');
    expect(readFileSync(join(dir, AGENTS_FILE), 'utf8')).not.toContain(token);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, AGENTS_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses an agent that already has a token (exit 1) unless --rotate, which invalidates the old token', async () => {
    const dir = stateDir();
    const old = tokenIn((await versiond('agents', 'add', 'wd-lille', '--state-dir', dir)).stdout);

    const again = await versiond('agents', 'add', 'wd-lille', '--state-dir', dir);
    expect(again).toEqual({ code: 1, stdout: '', stderr: 'versiond agents add: agent wd-lille already has a token; `versiond agents add wd-lille --rotate` replaces it\n' });

    const rotated = await versiond('agents', 'add', '--rotate', 'wd-lille', '--state-dir', dir);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^New token for agent wd-lille; the old one no longer works/);
    const fresh = tokenIn(rotated.stdout);
    const credentials = await AgentCredentials.open(dir);
    expect(credentials.authenticate('wd-lille', `Bearer ${old}`)).toBe('unauthenticated');
    expect(credentials.authenticate('wd-lille', `Bearer ${fresh}`)).toBe('ok');
  });

  it('refuses to rotate an agent that has no token (a typo must not register a new agent)', async () => {
    const dir = stateDir();
    const r = await versiond('agents', 'add', 'wd-lile', '--rotate', '--state-dir', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^versiond agents add: agent wd-lile has no token to rotate/);
  });

  it('--format json gives the token and the key for scripts', async () => {
    const dir = stateDir();
    const r = await versiond('agents', 'add', 'wd-lille', '--format', 'json', '--state-dir', dir);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { agent: string; token: string; rotated: boolean; controllerKey: { algorithm: string; publicKey: string }; stateDir: string };
    expect(out).toEqual({
      agent: 'wd-lille',
      token: expect.stringMatching(/^vda_[A-Za-z0-9_-]{43}$/),
      rotated: false,
      controllerKey: { algorithm: 'ed25519', publicKey: (await loadOrCreateControllerKey(dir)).publicKeyBase64 },
      stateDir: dir,
      // The agent configuration (issue 17; test/agents/enrolment.test.ts): a placeholder URL without --controller-url.
      config: expect.objectContaining({ id: 'wd-lille', controller: 'https://CONTROLLER:8443' }),
    });
    expect((await AgentCredentials.open(dir)).authenticate('wd-lille', `Bearer ${out.token}`)).toBe('ok');
  });
});

describe('versiond agents list and remove', () => {
  it('lists agents by id; remove revokes one; removing an unknown agent exits 1', async () => {
    const dir = stateDir();
    expect(await versiond('agents', 'list', '--state-dir', dir)).toEqual({ code: 0, stdout: `no agents registered in ${join(dir, AGENTS_FILE)}\n`, stderr: '' });
    const token = tokenIn((await versiond('agents', 'add', 'wd-rennes', '--state-dir', dir)).stdout);
    await versiond('agents', 'add', 'acme-ws-001', '--state-dir', dir);

    const text = await versiond('agents', 'list', '--state-dir', dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^AGENT {8}TOKEN ISSUED\nacme-ws-001 {2}\d{4}-\d\d-\d\dT[\d:.]+Z\nwd-rennes {4}\d{4}-.*Z\n2 agents in .*agents\.json\n$/);
    const json = JSON.parse((await versiond('agents', 'list', '--format', 'json', '--state-dir', dir)).stdout) as { agents: { id: string }[] };
    expect(json.agents.map((a) => a.id)).toEqual(['acme-ws-001', 'wd-rennes']);

    expect(await versiond('agents', 'remove', 'wd-rennes', '--state-dir', dir)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^agent wd-rennes removed/) });
    expect((await AgentCredentials.open(dir)).authenticate('wd-rennes', `Bearer ${token}`)).toBe('unauthenticated');
    const again = await versiond('agents', 'remove', 'wd-rennes', '--state-dir', dir);
    expect(again).toEqual({ code: 1, stdout: '', stderr: `versiond agents remove: agent wd-rennes is not registered in ${join(dir, AGENTS_FILE)}\n` });
  });

  it('reports a malformed agents.json by name and exits 1', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, AGENTS_FILE), '{"version": 1, "agents": []}');
    for (const argv of [['list'], ['add', 'wd-lille'], ['remove', 'wd-lille']]) {
      const r = await versiond('agents', ...argv, '--state-dir', dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`versiond agents ${argv[0]}: ${join(dir, AGENTS_FILE)}: "agents" must be an object of agent id → record, not an array\n`);
    }
  });
});

describe('usage errors exit 2 and change nothing', () => {
  it.each([
    [[], /which one: add, list or remove\?/],
    [['rename', 'x'], /unknown subcommand "rename": add, list or remove/],
    [['add'], /add needs the agent's id: versiond agents add <id>/],
    [['add', 'a', 'b'], /add takes one agent id, not also "b"/],
    [['remove'], /remove needs the agent's id/],
    [['list', 'x'], /list takes no argument, not "x"/],
    [['add', 'wd lille'], /agent id "wd lille" must be letters, digits/],
    [['add', 'wd-lille', '--force'], /Unknown option '--force'/],
    [['list', '--format', 'xml'], /--format must be one of text, json, not "xml"/],
    [['add', 'wd-lille', '--state-dir', ''], /--state-dir must name a directory/],
  ])('versiond agents %j', async (argv, message) => {
    const dir = stateDir();
    const r = await versiond('agents', ...(argv as string[]), ...(argv.includes('--state-dir') ? [] : ['--state-dir', dir]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Run `versiond agents --help` for usage.');
    expect(() => statSync(dir)).toThrow(); // not even the state dir was created
  });

  it('--help describes every subcommand', async () => {
    const r = await versiond('agents', '--help');
    expect(r.code).toBe(0);
    for (const s of ['versiond agents add <id>', 'versiond agents list', 'versiond agents remove <id>', '--rotate', '--state-dir']) expect(r.stdout).toContain(s);
    expect((await versiond('--help')).stdout).toMatch(/^ {2}agents +issue, rotate, list and revoke the tokens of agents$/m);
  });
});

describe('versiond agents as real processes, next to a running controller', () => {
  it('an agent added by `versiond agents add` is let in by a running controller without a restart', async () => {
    const dir = stateDir();
    const running = await AgentCredentials.open(dir);
    const r = await versiondProcess('agents', 'add', 'wd-lille', '--state-dir', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = tokenIn(r.stdout);
    expect(running.authenticate('wd-lille', `Bearer ${token}`)).toBe('ok'); // its first request, no refresh asked
  });

  it('concurrent `versiond agents add` processes all land', async () => {
    const dir = stateDir();
    const ids = ['wd-lille', 'wd-rennes', 'wd-nantes'];
    const runs = await Promise.all(ids.map((id) => versiondProcess('agents', 'add', id, '--state-dir', dir)));
    for (const r of runs) expect(r).toMatchObject({ code: 0, stderr: '' });
    const credentials = await AgentCredentials.open(dir);
    expect(credentials.list().map((a) => a.id)).toEqual([...ids].sort());
    ids.forEach((id, i) => expect(credentials.authenticate(id, `Bearer ${tokenIn(runs[i]!.stdout)}`)).toBe('ok'));
    // And they were all told the one controller key.
    const key = (await loadOrCreateControllerKey(dir)).publicKeyBase64;
    for (const r of runs) expect(r.stdout).toContain(`  ${key}\n`);
  });
});

describe('the state dir is outside the Git repository', () => {
  it('comes from --state-dir, else $VERSIOND_STATE_DIR, else $XDG_STATE_HOME/versiond, else ~/.local/state/versiond', () => {
    const env = { VERSIOND_STATE_DIR: '/srv/versiond', XDG_STATE_HOME: '/home/ada/.state', HOME: '/home/ada' };
    expect(resolveStateDir('/etc/versiond', env)).toBe('/etc/versiond');
    expect(resolveStateDir('rel', env)).toBe(join(process.cwd(), 'rel'));
    expect(resolveStateDir(undefined, env)).toBe('/srv/versiond');
    expect(resolveStateDir(undefined, { ...env, VERSIOND_STATE_DIR: '' })).toBe('/home/ada/.state/versiond');
    expect(resolveStateDir(undefined, { XDG_STATE_HOME: 'relative/ignored', HOME: '/home/ada' })).toBe('/home/ada/.local/state/versiond');
    expect(resolveStateDir(undefined, { HOME: '/home/ada' })).toBe('/home/ada/.local/state/versiond');
    expect(resolveStateDir(undefined, {})).toBe(join(homedir(), '.local/state/versiond'));
  });
});
