import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainRepo, domainYaml, eventually, startFixture, type Fixture } from '../helpers/controller-fixture.ts';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.ts';

/**
 * `versiond run --repo https://…`: the controller works on its own clone, learns of new
 * commits from the webhook, and pushes its status commits to the remote.
 */
describe('versiond run on a remote repository', () => {
  let f: Fixture | undefined;
  let server: GitHttpServer | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await f?.close();
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pushes status to the remote, and a signed webhook makes it apply a person\'s new commit at once', async () => {
    const work = domainRepo();
    const root = mkdtempSync(join(tmpdir(), 'versiond-remote-'));
    dirs.push(root);
    const bare = join(root, 'desired.git');
    execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
    server = await startGitHttpServer({ root });
    const secret = 'webhook-secret';
    f = await startFixture({
      repo: work,
      agents: ['wd-master', 'wd-s1', 'wd-s2'],
      controller: { repo: server.url('desired.git'), webhookSecret: secret, pollMs: 3_600_000 },
    });
    const git = (...args: string[]) => execFileSync('git', ['--git-dir', bare, ...args], { encoding: 'utf8' }).trim();
    const show = (spec: string) => {
      try {
        return git('show', spec);
      } catch {
        return '';
      }
    };
    const master = f.agent('wd-master', [{ product: 'watchdoc', version: '6.1.4', state: 'running' }]);
    const slaves = [f.agent('wd-s1'), f.agent('wd-s2')];
    for (const a of [master, ...slaves]) a.follow(50);
    await eventually(() => /phase: Converged/.test(show('main:status/domain/print-test.yaml')), 20_000, 'Converged status on the remote');

    // A person moves the domain back to 6.1.3 and pushes; the host calls the webhook.
    const person = mkdtempSync(join(tmpdir(), 'versiond-person-'));
    dirs.push(person);
    const pgit = (...args: string[]) =>
      execFileSync('git', args, { cwd: person, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'a@x' } }).trim();
    pgit('clone', '-q', bare, '.');
    writeFileSync(join(person, 'domains/print-test.yaml'), domainYaml({ release: 'watchdoc-6.1.3' }));
    pgit('commit', '-qam', 'Roll print-test back to 6.1.3');
    pgit('push', '-q', 'origin', 'main');
    const head = pgit('rev-parse', 'HEAD');
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const hook = await fetch(`${f.controller.url}/v1/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
    expect(hook.status).toBe(202);
    await eventually(() => f!.controller.loop.revision === head, 10_000, 'the new revision to be applied');
    await eventually(() => /desired: 6\.1\.3/.test(show('main:status/domain/print-test.yaml')), 20_000, 'status for 6.1.3 pushed');
    // The person's commit is kept: it is an ancestor of what the controller pushed.
    expect(() => git('merge-base', '--is-ancestor', head, 'main')).not.toThrow();
  });
});
