/**
 * `versiond viewers` (issue 15) run in this process through the CLI's entry point, as a
 * person issuing read-only tokens for the web view and read API: add, list, remove, rotate,
 * and the same refusals and exit codes as `versiond agents`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENTS_FILE } from '../controller/agents/agent-credentials.ts';
import { main } from '../controller/cli/main.ts';
import { openViewerCredentials, VIEWERS_FILE } from '../controller/web/viewer-credentials.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function stateDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'versiond-cli-viewers-'));
  dirs.push(parent);
  return join(parent, 'state');
}

/** `versiond …` in this process, its output captured. */
async function versiond(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const TOKEN_LINE = /^vdv_[A-Za-z0-9_-]{43}$/gm;
const tokenIn = (stdout: string) => {
  const tokens = stdout.match(TOKEN_LINE) ?? [];
  expect(tokens).toHaveLength(1); // shown once
  return tokens[0]!;
};

describe('versiond viewers add', () => {
  it('prints a vdv_ token once and says it is read-only; the token then names the viewer', async () => {
    const dir = stateDir();
    const r = await versiond('viewers', 'add', 'alice', '--state-dir', dir);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Token for viewer alice:\n\nvdv_/);
    const token = tokenIn(r.stdout);
    expect(r.stdout).toContain('read-only');
    expect(r.stdout).toContain('never sends\na command');
    expect(r.stdout).toContain('--token-file');
    expect(r.stdout).not.toContain('Controller public key'); // that is for agents

    expect((await openViewerCredentials(dir)).whoHolds(token)).toBe('alice');
    expect(readFileSync(join(dir, VIEWERS_FILE), 'utf8')).not.toContain(token);
    expect(readdirSync(dir)).toEqual([VIEWERS_FILE]); // no controller key, no agents.json
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, VIEWERS_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses a viewer that has a token (exit 1) unless --rotate, which invalidates the old token', async () => {
    const dir = stateDir();
    const running = await openViewerCredentials(dir); // a controller, started before
    const old = tokenIn((await versiond('viewers', 'add', 'alice', '--state-dir', dir)).stdout);
    expect(running.whoHolds(old)).toBe('alice');

    expect(await versiond('viewers', 'add', 'alice', '--state-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'versiond viewers add: viewer alice already has a token; `versiond viewers add alice --rotate` replaces it\n',
    });

    const rotated = await versiond('viewers', 'add', '--rotate', 'alice', '--state-dir', dir);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toMatch(/^New token for viewer alice; the old one no longer works/);
    const fresh = tokenIn(rotated.stdout);
    expect(running.whoHolds(old)).toBeUndefined();
    expect(running.whoHolds(fresh)).toBe('alice');
  });

  it('refuses to rotate a viewer that has no token', async () => {
    const dir = stateDir();
    const r = await versiond('viewers', 'add', 'alise', '--rotate', '--state-dir', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^versiond viewers add: viewer alise has no token to rotate \(it is not registered in .*viewers\.json\)\n$/,
    );
  });

  it('--format json gives the token for scripts', async () => {
    const dir = stateDir();
    const r = await versiond('viewers', 'add', 'ops-wall', '--format', 'json', '--state-dir', dir);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as { token: string };
    expect(out).toEqual({
      viewer: 'ops-wall',
      token: expect.stringMatching(/^vdv_[A-Za-z0-9_-]{43}$/),
      rotated: false,
      readOnly: true,
      stateDir: dir,
    });
    expect((await openViewerCredentials(dir)).whoHolds(out.token)).toBe('ops-wall');
  });

  it('takes the state dir from $VERSIOND_STATE_DIR as `versiond agents` does', async () => {
    const dir = stateDir();
    const saved = process.env.VERSIOND_STATE_DIR;
    process.env.VERSIOND_STATE_DIR = dir;
    try {
      const token = tokenIn((await versiond('viewers', 'add', 'alice')).stdout);
      expect((await openViewerCredentials(dir)).whoHolds(token)).toBe('alice');
    } finally {
      if (saved === undefined) delete process.env.VERSIOND_STATE_DIR;
      else process.env.VERSIOND_STATE_DIR = saved;
    }
  });
});

describe('versiond viewers list and remove', () => {
  it('lists names and dates, never tokens; remove revokes one; removing an unknown viewer exits 1', async () => {
    const dir = stateDir();
    const file = join(dir, VIEWERS_FILE);
    expect(await versiond('viewers', 'list', '--state-dir', dir)).toEqual({
      code: 0,
      stdout: `no viewers registered in ${file}\n`,
      stderr: '',
    });
    const bob = tokenIn((await versiond('viewers', 'add', 'bob', '--state-dir', dir)).stdout);
    const wall = tokenIn((await versiond('viewers', 'add', 'ops-wall.display', '--state-dir', dir)).stdout);

    const text = await versiond('viewers', 'list', '--state-dir', dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        '^VIEWER {12}TOKEN ISSUED\nbob {15}\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\nops-wall\\.display {2}\\d{4}-.*Z\n' +
          '2 viewers in .*viewers\\.json\n$',
      ),
    );
    const json = await versiond('viewers', 'list', '--format', 'json', '--state-dir', dir);
    expect(JSON.parse(json.stdout)).toEqual({
      file,
      viewers: [
        { id: 'bob', createdAt: expect.any(String) },
        { id: 'ops-wall.display', createdAt: expect.any(String) },
      ],
    });
    for (const out of [text.stdout, json.stdout]) {
      expect(out).not.toContain(bob);
      expect(out).not.toContain(wall);
    }

    const removed = await versiond('viewers', 'remove', 'bob', '--state-dir', dir);
    expect(removed).toEqual({
      code: 0,
      stdout: 'viewer bob removed: its token no longer works (a running controller notices within a second)\n',
      stderr: '',
    });
    const viewers = await openViewerCredentials(dir);
    expect(viewers.whoHolds(bob)).toBeUndefined();
    expect(viewers.whoHolds(wall)).toBe('ops-wall.display');
    expect((await versiond('viewers', 'list', '--state-dir', dir)).stdout).toMatch(/\n1 viewer in /);

    expect(await versiond('viewers', 'remove', 'bob', '--state-dir', dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: `versiond viewers remove: viewer bob is not registered in ${file}\n`,
    });
  });

  it('viewers and agents are kept apart: neither list shows the other', async () => {
    const dir = stateDir();
    await versiond('agents', 'add', 'wd-lille', '--state-dir', dir);
    await versiond('viewers', 'add', 'alice', '--state-dir', dir);
    const listed = async (command: string) =>
      (await versiond(command, 'list', '--format', 'json', '--state-dir', dir)).stdout;
    expect(await listed('viewers')).not.toContain('wd-lille');
    expect(await listed('viewers')).toContain('alice');
    expect(await listed('agents')).not.toContain('alice');
    expect(readdirSync(dir)).toContain(AGENTS_FILE);
    expect((await versiond('viewers', 'remove', 'wd-lille', '--state-dir', dir)).code).toBe(1);
  });

  it('reports a malformed viewers.json by name and exits 1', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, VIEWERS_FILE), '{"version": 1, "viewers": []}');
    for (const argv of [['list'], ['add', 'alice'], ['remove', 'alice']]) {
      const r = await versiond('viewers', ...argv, '--state-dir', dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `versiond viewers ${argv[0]}: ${join(dir, VIEWERS_FILE)}: ` +
          '"viewers" must be an object of viewer name → record, not an array\n',
      );
    }
  });
});

describe('usage errors exit 2 and change nothing', () => {
  it.each([
    [[], /which one: add, list or remove\?/],
    [['rename', 'x'], /unknown subcommand "rename": add, list or remove/],
    [['add'], /add needs the viewer's name: versiond viewers add <name>/],
    [['add', 'a', 'b'], /add takes one viewer name, not also "b"/],
    [['remove'], /remove needs the viewer's name: versiond viewers remove <name>/],
    [['remove', 'bob smith'], /viewer name "bob smith" must be letters, digits/],
    [['list', 'x'], /list takes no argument, not "x"/],
    [['add', 'bob smith'], /viewer name "bob smith" must be letters, digits/],
    [['add', 'a'.repeat(64)], /viewer name "a+" must be at most 63 characters long/],
    [['add', 'alice', '--force'], /Unknown option '--force'/],
    [['list', '--format', 'xml'], /--format must be one of text, json, not "xml"/],
    [['add', 'alice', '--state-dir', ''], /--state-dir must name a directory/],
  ])('versiond viewers %j', async (argv, message) => {
    const dir = stateDir();
    const stateDirFlag = argv.includes('--state-dir') ? [] : ['--state-dir', dir];
    const r = await versiond('viewers', ...(argv as string[]), ...stateDirFlag);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Run `versiond viewers --help` for usage.');
    expect(() => statSync(dir)).toThrow(); // not even the state dir was created
  });

  it('--help describes every subcommand and that tokens are read-only; the overview lists the command', async () => {
    const r = await versiond('viewers', '--help');
    expect(r.code).toBe(0);
    const described = ['versiond viewers add <name>', 'versiond viewers list', 'versiond viewers remove <name>',
      '--rotate', '--state-dir', 'read-only', 'viewers.json'];
    for (const s of described) {
      expect(r.stdout).toContain(s);
    }
    expect((await versiond('--help')).stdout).toMatch(/^ {2}viewers +issue, rotate, list and revoke read-only tokens/m);
  });
});
