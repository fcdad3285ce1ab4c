/**
 * Viewer tokens (issue 15): read-only tokens for the web view and read API, kept like the
 * agents' (hashed, in the state dir, revoked from the next request on) but in their own file
 * and with their own prefix, so neither kind of token ever opens the other's door.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AGENTS_FILE,
  AgentCredentials,
  AgentExistsError,
  AgentIdError,
  AgentsFileError,
  AgentsLockError,
  bearerToken,
  UnknownAgentError,
} from '../../controller/agents/agent-credentials.ts';
import {
  openViewerCredentials,
  VIEWER_TOKEN_PREFIX,
  VIEWERS_FILE,
} from '../../controller/web/viewer-credentials.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A state dir that does not exist yet, inside a fresh temporary folder. */
function stateDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'versiond-viewers-'));
  dirs.push(parent);
  return join(parent, 'state');
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('a viewer token', () => {
  it('is vdv_ and 43 random base64url characters, different every time', async () => {
    expect(VIEWER_TOKEN_PREFIX).toBe('vdv_');
    const viewers = await openViewerCredentials(stateDir());
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add(await viewers.add(`viewer-${i}`));
    expect(tokens.size).toBe(20);
    for (const token of tokens) expect(token).toMatch(/^vdv_[A-Za-z0-9_-]{43}$/);
  });

  it('is stored only as its SHA-256, in viewers.json (0600, state dir 0700), and nothing else is written', async () => {
    const dir = stateDir();
    const viewers = await openViewerCredentials(dir, { now: () => Date.parse('2026-11-20T09:00:00Z') });
    expect(existsSync(dir)).toBe(false); // opening creates nothing
    const token = await viewers.add('alice');
    expect(viewers.file).toBe(join(dir, VIEWERS_FILE));
    const text = readFileSync(join(dir, VIEWERS_FILE), 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4));
    expect(JSON.parse(text)).toEqual({
      version: 1,
      viewers: { alice: { tokenSha256: sha256(token), createdAt: '2026-11-20T09:00:00.000Z' } },
    });
    expect(readdirSync(dir)).toEqual([VIEWERS_FILE]); // no agents.json, no lock, no temporary file left
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, VIEWERS_FILE)).mode & 0o777).toBe(0o600);
    expect(viewers.list()).toEqual([{ id: 'alice', createdAt: '2026-11-20T09:00:00.000Z' }]);
  });
});

describe('whoHolds', () => {
  it('names the viewer holding a token; an unknown, malformed or oversized token holds nothing', async () => {
    const viewers = await openViewerCredentials(stateDir());
    const alice = await viewers.add('alice');
    const wall = await viewers.add('ops-wall.display');
    expect(viewers.whoHolds(alice)).toBe('alice');
    expect(viewers.whoHolds(wall)).toBe('ops-wall.display');
    expect(viewers.whoHolds(`vdv_${'A'.repeat(43)}`)).toBeUndefined();
    expect(viewers.whoHolds(`${alice}x`)).toBeUndefined();
    expect(viewers.whoHolds('')).toBeUndefined();
    expect(viewers.whoHolds(`vdv_${'A'.repeat(10_000)}`)).toBeUndefined();
  });

  it('takes the bare token, which bearerToken gets out of an Authorization header', async () => {
    const viewers = await openViewerCredentials(stateDir());
    const token = await viewers.add('alice');
    expect(viewers.whoHolds(bearerToken(`Bearer ${token}`)!)).toBe('alice');
    expect(viewers.whoHolds(bearerToken(`bearer  ${token}`)!)).toBe('alice'); // the scheme is case-insensitive
    expect(bearerToken(`Basic ${token}`)).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('refuses a removed or rotated token at the very next call, without a restart or a refresh', async () => {
    const dir = stateDir();
    const running = await openViewerCredentials(dir); // the controller
    const cli = await openViewerCredentials(dir); // `versiond viewers` in another process
    const alice = await cli.add('alice');
    const bob = await cli.add('bob');
    expect(running.whoHolds(alice)).toBe('alice'); // added after the controller opened the file: in at once
    expect(running.whoHolds(bob)).toBe('bob');

    const rotated = await cli.add('alice', { rotate: true });
    await cli.remove('bob');
    expect(running.whoHolds(alice)).toBeUndefined();
    expect(running.whoHolds(rotated)).toBe('alice');
    expect(running.whoHolds(bob)).toBeUndefined();
    expect(running.list().map((v) => v.id)).toEqual(['alice']);
  });

  it('keeps the last good viewers when viewers.json is broken while running, reporting it once', async () => {
    const dir = stateDir();
    const errors: string[] = [];
    const running = await openViewerCredentials(dir, { onRefreshError: (e) => errors.push(e.message) });
    const token = await running.add('alice');
    const file = join(dir, VIEWERS_FILE);
    writeFileSync(file, '{"version": 1, "viewers": [], "padding": "changes the size"}');
    expect(running.whoHolds(token)).toBe('alice');
    expect(running.whoHolds(token)).toBe('alice');
    expect(errors).toEqual([`${file}: unknown field "padding"`]);
  });
});

describe('agent tokens and viewer tokens never open each other\'s door', () => {
  it('lives in separate files of one state dir, each refusing the other kind\'s token', async () => {
    const dir = stateDir();
    const agents = await AgentCredentials.open(dir);
    const viewers = await openViewerCredentials(dir);
    const agentToken = await agents.add('wd-lille');
    const viewerToken = await viewers.add('wd-lille'); // the same name, in the other file

    expect(agentToken).toMatch(/^vda_/);
    expect(viewerToken).toMatch(/^vdv_/);
    expect(readdirSync(dir).sort()).toEqual([AGENTS_FILE, VIEWERS_FILE]);
    expect(readFileSync(join(dir, AGENTS_FILE), 'utf8')).not.toContain(sha256(viewerToken));
    expect(readFileSync(join(dir, VIEWERS_FILE), 'utf8')).not.toContain(sha256(agentToken));

    expect(viewers.whoHolds(viewerToken)).toBe('wd-lille');
    expect(viewers.whoHolds(agentToken)).toBeUndefined();
    expect(agents.authenticate('wd-lille', `Bearer ${agentToken}`)).toBe('ok');
    expect(agents.authenticate('wd-lille', `Bearer ${viewerToken}`)).toBe('unauthenticated');
    expect(agents.whoHolds(agentToken)).toBe('wd-lille'); // whoHolds serves agents too
    expect(agents.whoHolds(viewerToken)).toBeUndefined();

    // Removing one kind leaves the other alone.
    await viewers.remove('wd-lille');
    expect(viewers.whoHolds(viewerToken)).toBeUndefined();
    expect(agents.authenticate('wd-lille', `Bearer ${agentToken}`)).toBe('ok');
  });

  it('an agent token is told by its prefix: a viewers.json holding its hash does not make it a viewer\'s', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    const agentToken = `vda_${'x'.repeat(43)}`;
    const record = { tokenSha256: sha256(agentToken), createdAt: '2026-11-20T09:00:00Z' };
    writeFileSync(join(dir, VIEWERS_FILE), JSON.stringify({ version: 1, viewers: { mallory: record } }));
    const viewers = await openViewerCredentials(dir);
    expect(viewers.list().map((v) => v.id)).toEqual(['mallory']);
    expect(viewers.whoHolds(agentToken)).toBeUndefined();
  });

  it('an agents.json is not a viewers.json', async () => {
    const dir = stateDir();
    const agents = await AgentCredentials.open(dir);
    await agents.add('wd-lille');
    const viewers = await openViewerCredentials(dir);
    expect(viewers.size).toBe(0);
  });
});

describe('messages say viewer, not agent', () => {
  it('add, rotate and remove refusals', async () => {
    const viewers = await openViewerCredentials(stateDir());
    await viewers.add('bob');
    const again = viewers.add('bob');
    await expect(again).rejects.toThrow(AgentExistsError);
    await expect(again).rejects.toThrow(/^viewer bob already has a token \(issued .*\); rotate it to issue a new one$/);
    await expect(viewers.add('bobby', { rotate: true })).rejects.toThrow(UnknownAgentError);
    await expect(viewers.add('bobby', { rotate: true })).rejects.toThrow(
      /^viewer bobby has no token to rotate \(it is not registered in .*viewers\.json\)$/,
    );
    await expect(viewers.remove('carol')).rejects.toThrow(/^viewer carol is not registered in .*viewers\.json$/);
    const badName = viewers.add('bob smith');
    await expect(badName).rejects.toThrow(AgentIdError);
    await expect(badName).rejects.toThrow(/^viewer name "bob smith" must be letters, digits/);
  });

  it.each([
    ['an array', '[]', /must be a JSON object \{"version": 1, "viewers": \{…\}\}, not an array/],
    ['the agents\' layout', '{"version": 1, "agents": {}}', /unknown field "agents"/],
    ['without viewers', '{"version": 1}', /"viewers" must be an object of viewer name → record, not a undefined/],
    [
      'a bad name',
      `{"version": 1, "viewers": {"bob smith": {"tokenSha256": "${'a'.repeat(64)}", ` +
        '"createdAt": "2026-11-20T09:00:00Z"}}}',
      /viewer name "bob smith" must be letters/,
    ],
    [
      'one token for two viewers',
      `{"version": 1, "viewers": {"a": {"tokenSha256": "${'a'.repeat(64)}", "createdAt": "2026-11-20T09:00:00Z"}, ` +
        `"b": {"tokenSha256": "${'a'.repeat(64)}", "createdAt": "2026-11-20T09:00:00Z"}}}`,
      /viewers\.b\.tokenSha256: same as viewer a's; each viewer needs its own token/,
    ],
  ])('a malformed viewers.json: %s', async (_case, content, message) => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, VIEWERS_FILE), content);
    const attempt = openViewerCredentials(dir);
    await expect(attempt).rejects.toThrow(AgentsFileError);
    await expect(attempt).rejects.toThrow(`${join(dir, VIEWERS_FILE)}: `);
    await expect(attempt).rejects.toThrow(message);
  });

  it('a lock left by a dead process names `versiond viewers`', async () => {
    const dir = stateDir();
    const viewers = await openViewerCredentials(dir, { lockWaitMs: 100 });
    await viewers.add('alice');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(dir, `${VIEWERS_FILE}.lock`), `${dead}\n`);
    const attempt = viewers.add('bob');
    await expect(attempt).rejects.toThrow(AgentsLockError);
    await expect(attempt).rejects.toThrow(
      `${join(dir, VIEWERS_FILE)}.lock is still held after 0.1 s by process ${dead}, which no longer runs: ` +
        'remove the file if no other `versiond viewers` command is running',
    );
  });
});
