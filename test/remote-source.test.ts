import { createHmac } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readGitToken, redactText, redactUrl, splitUrlCredentials } from '../controller/source/git-credentials.ts';
import { RemoteSource, type RemoteSourceOptions } from '../controller/source/remote-source.ts';
import { verifyWebhook, webhookHandler } from '../controller/source/webhook.ts';
import { resolveRevision } from '../controller/git/resolve-revision.ts';
import { TempRepo } from './helpers/git-repo.ts';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.ts';

const TOKEN = 'tok-S3CRET-0123456789abcdef';
const WRONG_TOKEN = 'wrong-S3CRET-fedcba9876543210';
const SECRET = 'hook-secret';
const execFileAsync = promisify(execFile);

class FakeLogger {
  readonly lines: string[] = [];
  info(obj: object, msg: string) {
    this.lines.push(JSON.stringify({ level: 'info', ...obj, msg }));
  }
  warn(obj: object, msg: string) {
    this.lines.push(JSON.stringify({ level: 'warn', ...obj, msg }));
  }
  get text(): string {
    return this.lines.join('\n');
  }
  warnings(): string[] {
    return this.lines.filter((l) => l.includes('"level":"warn"'));
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let work: TempRepo;
let root: string;
let cacheRoot: string;
let bare: string;
let server: GitHttpServer | null;
const sources: RemoteSource[] = [];
let cacheCount = 0;

function newCacheDir(): string {
  return join(cacheRoot, `cache-${++cacheCount}`);
}

function pushCommit(message: string): string {
  work.write(`releases/note-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`, message);
  const oid = work.commitAll(message);
  work.git('push', '-q', bare, 'main');
  return oid;
}

function source(opts: Partial<RemoteSourceOptions> & { url: string }): { src: RemoteSource; revisions: string[]; log: FakeLogger } {
  const revisions: string[] = [];
  const log = new FakeLogger();
  const src = new RemoteSource({
    cacheDir: newCacheDir(),
    intervalMs: 60_000,
    logger: log,
    onRevision: (oid) => void revisions.push(oid),
    ...opts,
  });
  sources.push(src);
  return { src, revisions, log };
}

function infoRefsCount(): number {
  return server!.requests.filter((r) => r.path.includes('/info/refs')).length;
}

beforeEach(() => {
  work = TempRepo.create();
  root = mkdtempSync(join(tmpdir(), 'versiond-remote-'));
  cacheRoot = mkdtempSync(join(tmpdir(), 'versiond-cache-'));
  bare = join(root, 'desired.git');
  execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
  server = null;
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  await server?.close();
  work.dispose();
  rmSync(root, { recursive: true, force: true });
  rmSync(cacheRoot, { recursive: true, force: true });
});

describe('RemoteSource over smart HTTP', () => {
  it('clones, reports the first revision, and reuses the clone on restart', async () => {
    server = await startGitHttpServer({ root });
    const { src, revisions, log } = source({ url: server.url('desired.git') });
    await src.start();
    expect(revisions).toEqual([work.head()]);
    expect(src.revision).toBe(work.head());
    expect(src.lastError).toBeNull();
    expect(await resolveRevision(src.gitdir, 'origin/main')).toBe(work.head());
    // full history (the audit reads it): the new commit's parent is there too
    const initial = work.head();
    const second = pushCommit('second');
    await src.trigger();
    expect(await resolveRevision(src.gitdir, 'origin/main')).toBe(second);
    expect(await resolveRevision(src.gitdir, 'origin/main~1')).toBe(initial);
    await src.stop();

    const again = source({ url: server.url('desired.git'), cacheDir: src.cacheDir });
    await again.src.start();
    expect(again.revisions).toEqual([second]);
    expect(again.log.text).toContain('reusing the existing clone');
    expect(log.text).toContain('cloning remote repository');
  });

  it('refuses a cache directory that holds a clone of another repository', async () => {
    server = await startGitHttpServer({ root });
    execFileSync('git', ['clone', '-q', '--bare', work.dir, join(root, 'other.git')]);
    const first = source({ url: server.url('other.git') });
    await first.src.start();
    await first.src.stop();
    const { src, revisions } = source({ url: server.url('desired.git'), cacheDir: first.src.cacheDir });
    await src.start();
    expect(revisions).toEqual([]);
    expect(src.lastError).toMatch(/holds a clone of .*other\.git, not of .*desired\.git/);
  });

  it('notices a push by polling within the interval', async () => {
    server = await startGitHttpServer({ root });
    const { src, revisions } = source({ url: server.url('desired.git'), intervalMs: 200 });
    await src.start();
    const before = infoRefsCount();
    await sleep(500);
    expect(revisions).toHaveLength(1); // polls that find nothing new report nothing
    expect(infoRefsCount()).toBeGreaterThan(before);
    const next = pushCommit('bump');
    await waitFor(() => revisions.length === 2, 3000, 'the polled revision');
    expect(revisions[1]).toBe(next);
  });

  it('fetches at once on trigger() and coalesces triggers that arrive during a fetch', async () => {
    server = await startGitHttpServer({ root });
    const { src, revisions } = source({ url: server.url('desired.git'), intervalMs: 60_000 });
    await src.start();
    const next = pushCommit('bump');
    const t0 = Date.now();
    await src.trigger();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(revisions).toEqual([revisions[0], next]);

    const before = infoRefsCount();
    const all = [src.trigger(), src.trigger(), src.trigger(), src.trigger()];
    await Promise.all(all);
    expect(infoRefsCount() - before).toBe(2); // the running one + exactly one more
    expect(revisions).toHaveLength(2); // nothing changed, nothing reported
  });

  it('keeps the last revision while the server is down, backs off, and recovers', async () => {
    server = await startGitHttpServer({ root });
    const port = server.port;
    const { src, revisions, log } = source({ url: server.url('desired.git'), intervalMs: 100, maxBackoffMs: 300 });
    await src.start();
    const first = revisions[0];
    await server.close();
    server = null;
    const next = pushCommit('while down');
    await waitFor(() => log.warnings().length >= 2, 3000, 'failure logs');
    expect(src.revision).toBe(first);
    expect(revisions).toEqual([first]);
    expect(src.lastError).toMatch(/ECONNREFUSED/);
    const warn = JSON.parse(log.warnings()[1]!) as { failures: number; retryInMs: number; revision: string; url: string };
    expect(warn.failures).toBe(2);
    expect(warn.retryInMs).toBe(300); // 100 × 2² capped at 300
    expect(warn.revision).toBe(first);
    expect(warn.url).toBe(src.url);

    server = await startGitHttpServer({ root, port });
    await waitFor(() => revisions.length === 2, 3000, 'recovery');
    expect(revisions[1]).toBe(next);
    expect(src.lastError).toBeNull();
    expect(log.text).toContain('reachable again');
  });

  it('starts even when the first clone fails, and clones once the server is there', async () => {
    server = await startGitHttpServer({ root });
    const port = server.port;
    await server.close();
    server = null;
    const { src, revisions } = source({ url: `http://127.0.0.1:${port}/desired.git`, intervalMs: 100, maxBackoffMs: 200 });
    await src.start();
    expect(revisions).toEqual([]);
    expect(existsSync(src.gitdir)).toBe(false); // a failed clone leaves nothing half-made
    server = await startGitHttpServer({ root, port });
    await waitFor(() => revisions.length === 1, 3000, 'the first clone');
    expect(revisions[0]).toBe(work.head());
  });

  it('times out a server that never answers, and stop() aborts an in-flight fetch', async () => {
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/desired.git`;
    try {
      const timed = source({ url, httpTimeoutMs: 200 });
      await timed.src.start();
      expect(timed.src.lastError).toMatch(/timed out/i);

      const hanging = source({ url });
      const started = hanging.src.start();
      await sleep(100);
      const t0 = Date.now();
      await hanging.src.stop();
      await started;
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(hanging.log.warnings()).toEqual([]); // an abort on stop is not a failure
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('credentials', () => {
  it('clones with the token, keeps it out of the clone config and of every log line', async () => {
    server = await startGitHttpServer({ root, token: TOKEN });
    const { src, revisions, log } = source({ url: server.url('desired.git'), credentials: { token: TOKEN } });
    await src.start();
    expect(revisions).toEqual([work.head()]);
    const next = pushCommit('bump');
    await src.trigger();
    expect(revisions[1]).toBe(next);
    expect(readFileSync(join(src.gitdir, 'config'), 'utf8')).not.toContain(TOKEN);
    expect(log.lines.length).toBeGreaterThan(0);
    expect(log.text).not.toContain(TOKEN);
  });

  it('without a token, or with a wrong one, logs a redacted 401 and reports nothing', async () => {
    server = await startGitHttpServer({ root, token: TOKEN });
    const anonymous = source({ url: server.url('desired.git') });
    await anonymous.src.start();
    expect(anonymous.revisions).toEqual([]);
    expect(anonymous.src.lastError).toMatch(/401/);

    const wrong = source({ url: server.url('desired.git'), credentials: { token: WRONG_TOKEN } });
    await wrong.src.start();
    expect(wrong.revisions).toEqual([]);
    expect(wrong.src.lastError).toMatch(/401/);
    expect(wrong.log.warnings()).toHaveLength(1);
    expect(wrong.log.text).not.toContain(WRONG_TOKEN);
    expect(wrong.log.text).not.toContain(TOKEN);
  });

  it('accepts credentials in the URL but logs and stores it redacted', async () => {
    server = await startGitHttpServer({ root, token: TOKEN });
    const withUser = server.url('desired.git').replace('http://', `http://robot:${TOKEN}@`);
    const { src, revisions, log } = source({ url: withUser });
    await src.start();
    expect(revisions).toEqual([work.head()]);
    expect(src.url).toBe(server.url('desired.git').replace('http://', 'http://robot:***@'));
    expect(log.text).toContain('robot:***@');
    expect(log.text).not.toContain(TOKEN);
    expect(readFileSync(join(src.gitdir, 'config'), 'utf8')).not.toContain(TOKEN);

    const wrongUrl = server.url('desired.git').replace('http://', `http://${WRONG_TOKEN}@`);
    const wrong = source({ url: wrongUrl });
    await wrong.src.start();
    expect(wrong.src.lastError).toMatch(/401/);
    expect(wrong.log.text).toContain('http://***@127.0.0.1');
    expect(wrong.log.text).not.toContain(WRONG_TOKEN);
  });

  it('notices a push made over HTTP with the token, and a force-push that rewrites history', async () => {
    server = await startGitHttpServer({ root, token: TOKEN });
    const { src, revisions } = source({ url: server.url('desired.git'), credentials: { token: TOKEN } });
    await src.start();
    const base = revisions[0]!;
    const auth = `Authorization: Basic ${Buffer.from(`${TOKEN}:x-oauth-basic`).toString('base64')}`;
    // async: the server runs in this process, a synchronous git would block it
    const gitAsync = (...args: string[]) =>
      execFileAsync('git', args, { cwd: work.dir, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' } });
    work.write('releases/over-http.txt', 'x');
    const overHttp = work.commitAll('pushed over http');
    await expect(gitAsync('push', '-q', server.url('desired.git'), 'main')).rejects.toThrow(/Authentication failed|could not read Username|401/);
    await gitAsync('-c', `http.extraHeader=${auth}`, 'push', '-q', server.url('desired.git'), 'main');
    await src.trigger();
    expect(revisions).toEqual([base, overHttp]);

    work.git('reset', '-q', '--hard', base);
    work.write('releases/rewritten.txt', 'y');
    const rewritten = work.commitAll('rewritten');
    await gitAsync('-c', `http.extraHeader=${auth}`, 'push', '-q', '--force', server.url('desired.git'), 'main');
    await src.trigger();
    expect(revisions).toEqual([base, overHttp, rewritten]);
    expect(await resolveRevision(src.gitdir, 'origin/main~1')).toBe(base);
  });

  it('redacts userinfo in URLs and secrets in text', () => {
    expect(redactUrl('https://user:pass@git.example/org/repo.git')).toBe('https://user:***@git.example/org/repo.git');
    expect(redactUrl('https://ghp_abc@github.com/o/r')).toBe('https://***@github.com/o/r');
    expect(redactUrl('https://github.com/o/r')).toBe('https://github.com/o/r');
    expect(redactUrl('https://u:p@ss@host/x?y=a@b')).toBe('https://u:***@host/x?y=a@b');
    expect(redactText('cannot fetch https://a:b@h/x: token tok1 rejected (tok%2F1)', ['tok1', 'tok/1'])).toBe(
      'cannot fetch https://a:***@h/x: token *** rejected (***)',
    );
    expect(splitUrlCredentials('https://a%40b:p%3Aq@h/x')).toEqual({ url: 'https://h/x', username: 'a@b', password: 'p:q' });
    expect(splitUrlCredentials('https://h/x')).toEqual({ url: 'https://h/x' });
    expect(() => new RemoteSource({ url: 'file:///tmp/x', cacheDir: '/tmp/x', onRevision: () => {} })).toThrow(/http\(s\)/);
  });

  it('reads the token from a file (which wins) or from VERSIOND_GIT_TOKEN', () => {
    const file = join(cacheRoot, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(readGitToken({ VERSIOND_GIT_TOKEN: 'from-env' }, file)).toBe(TOKEN);
    expect(readGitToken({ VERSIOND_GIT_TOKEN: ' from-env\n' })).toBe('from-env');
    expect(readGitToken({})).toBeUndefined();
    expect(readGitToken({ VERSIOND_GIT_TOKEN: '' })).toBeUndefined();
    writeFileSync(file, '\n');
    expect(() => readGitToken({}, file)).toThrow(/is empty/);
    writeFileSync(file, `${TOKEN} extra`);
    expect(() => readGitToken({}, file)).toThrow(/more than one word/);
    try {
      readGitToken({}, file);
    } catch (err) {
      expect((err as Error).message).not.toContain(TOKEN);
    }
    expect(() => readGitToken({}, join(cacheRoot, 'missing'))).toThrow(/ENOENT/);
  });
});

function sign(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

describe('webhook', () => {
  let hook: Server | null = null;
  let hookUrl = '';
  let pushes: (string | undefined)[] = [];

  async function startHook(onPush: (ref: string | undefined) => void): Promise<void> {
    pushes = [];
    hook = createServer(
      webhookHandler(
        SECRET,
        (ref) => {
          pushes.push(ref);
          onPush(ref);
        },
        { branch: 'main' },
      ),
    );
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/v1/hooks/git`;
  }

  afterEach(async () => {
    if (hook) {
      hook.closeAllConnections();
      await new Promise((r) => hook!.close(r));
    }
    hook = null;
  });

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(hookUrl, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'application/json', ...headers } });

  it('a signed push triggers a fetch at once; bad, missing or foreign pushes do not', async () => {
    server = await startGitHttpServer({ root });
    const { src, revisions } = source({ url: server.url('desired.git'), intervalMs: 60_000 });
    await src.start();
    await startHook(() => void src.trigger());

    // GitHub style
    const next = pushCommit('bump');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'f'.repeat(40) });
    const ok = await post(body, { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}` });
    expect(ok.status).toBe(202);
    await waitFor(() => revisions.length === 2, 3000, 'the webhook fetch');
    expect(revisions[1]).toBe(next); // the commit fetched, not the payload's `after`

    // Gitea style
    const third = pushCommit('third');
    const gitea = JSON.stringify({ ref: 'refs/heads/main' });
    const okGitea = await post(gitea, { 'x-gitea-event': 'push', 'x-gitea-signature': sign(gitea) });
    expect(okGitea.status).toBe(202);
    await waitFor(() => revisions.length === 3, 3000, 'the Gitea webhook fetch');
    expect(revisions[2]).toBe(third);

    const fetchesBefore = infoRefsCount();
    pushCommit('unannounced');
    const bad = await post(body, { 'x-hub-signature-256': `sha256=${sign(body, 'wrong-secret')}` });
    expect(bad.status).toBe(401);
    const badGitea = await post(gitea, { 'x-gitea-signature': sign(`${gitea} `) });
    expect(badGitea.status).toBe(401);
    const missing = await post(body, {});
    expect(missing.status).toBe(401);
    const malformed = await post(body, { 'x-hub-signature-256': sign(body) }); // no sha256= prefix
    expect(malformed.status).toBe(401);
    const other = JSON.stringify({ ref: 'refs/heads/feature' });
    const foreign = await post(other, { 'x-hub-signature-256': `sha256=${sign(other)}` });
    expect(foreign.status).toBe(204);
    const tag = JSON.stringify({ ref: 'refs/tags/v1' });
    expect((await post(tag, { 'x-gitea-signature': sign(tag) })).status).toBe(204);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const tooBig = await post(big, { 'x-hub-signature-256': `sha256=${sign(big)}` });
    expect(tooBig.status).toBe(413);
    const notJson = 'not json';
    expect((await post(notJson, { 'x-hub-signature-256': `sha256=${sign(notJson)}` })).status).toBe(400);
    expect((await fetch(hookUrl)).status).toBe(405);

    await sleep(300);
    expect(infoRefsCount()).toBe(fetchesBefore);
    expect(revisions).toHaveLength(3);
    expect(pushes).toEqual(['refs/heads/main', 'refs/heads/main']);
  });

  it('a replayed delivery is answered 202 and triggers nothing; GitLab authenticates with X-Gitlab-Token', async () => {
    await startHook(() => {});
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const signed = { 'x-hub-signature-256': `sha256=${sign(body)}`, 'x-github-delivery': 'd-1' };
    expect((await post(body, signed)).status).toBe(202);
    const replay = await post(body, signed);
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ accepted: false, duplicate: true });
    expect((await post(body, { ...signed, 'x-github-delivery': 'd-2' })).status).toBe(202);
    // a replay with a forged signature is still a 401: the id is remembered only once authenticated
    expect((await post(body, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-delivery': 'd-3' })).status).toBe(401);
    const gitlab = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': 'g-1' };
    expect((await post(body, { ...gitlab, 'x-gitlab-token': SECRET })).status).toBe(202);
    expect((await post(body, { ...gitlab, 'x-gitlab-token': SECRET })).status).toBe(202); // replayed
    expect((await post(body, { ...gitlab, 'x-gitlab-event-uuid': 'g-2', 'x-gitlab-token': `${SECRET}x` })).status).toBe(401);
    expect((await post(body, { ...gitlab, 'x-gitlab-event-uuid': 'g-3', 'x-gitlab-token': '' })).status).toBe(401);
    expect(pushes).toEqual(['refs/heads/main', 'refs/heads/main', 'refs/heads/main']);
  });

  it('a chunked oversized body is cut at the limit with 413', async () => {
    await startHook(() => {});
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        else controller.close();
      },
    });
    const res = await fetch(hookUrl, {
      method: 'POST',
      body: stream,
      headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(pushes).toEqual([]);
  });

  it('verifyWebhook: signatures, form payloads, pings and bodies', () => {
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main' }));
    expect(verifyWebhook({ body, headers: { 'X-Hub-Signature-256': `sha256=${sign(body).toUpperCase()}` }, secret: SECRET })).toEqual({
      ok: true,
      ref: 'refs/heads/main',
    });
    expect(verifyWebhook({ body, headers: { 'x-gogs-signature': sign(body) }, secret: SECRET })).toMatchObject({ ok: true });
    expect(verifyWebhook({ body, headers: { 'x-hub-signature-256': [`sha256=${sign(body)}`] }, secret: SECRET })).toMatchObject({ ok: true });
    // the GitHub header decides when both are present
    expect(
      verifyWebhook({ body, headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-gitea-signature': sign(body) }, secret: SECRET }),
    ).toMatchObject({ ok: false, status: 401 });
    expect(verifyWebhook({ body, headers: { 'x-hub-signature-256': `sha256=${sign(body)}` }, secret: '' })).toMatchObject({ ok: false, status: 401 });
    const ping = Buffer.from(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }));
    expect(verifyWebhook({ body: ping, headers: { 'x-hub-signature-256': `sha256=${sign(ping)}` }, secret: SECRET })).toEqual({ ok: true });
    const form = Buffer.from(`payload=${encodeURIComponent(JSON.stringify({ ref: 'refs/heads/dev' }))}`);
    expect(
      verifyWebhook({
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': `sha256=${sign(form)}` },
        secret: SECRET,
      }),
    ).toEqual({ ok: true, ref: 'refs/heads/dev' });
    const arr = Buffer.from('[1]');
    expect(verifyWebhook({ body: arr, headers: { 'x-gitea-signature': sign(arr) }, secret: SECRET })).toMatchObject({ ok: false, status: 400 });
    expect(() => webhookHandler('', () => {})).toThrow(/secret/);
  });
});
