import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../helpers/controller-fixture.ts';
import { ROOT, TempRepo } from '../helpers/git-repo.ts';
import { allowedSigners, makeSshKey, signedCommit, type SshKey } from '../helpers/ssh-keys.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 13 end to end with a real `versiond run` process: HTTPS, verified revisions and signed
// status commits, checked from outside with curl and stock git.
let dir: string;
let ca: TestCa;
let alice: SshKey;
let work: TempRepo;
let bare: string;
let child: ChildProcess;
let stdout = '';
let stderr = '';

const bareGit = (...args: string[]) => work.git('--git-dir', bare, ...args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'versiond-trust-'));
  ca = TestCa.create();
  alice = makeSshKey(dir, 'alice');
  const signers = join(dir, 'signers');
  writeFileSync(signers, allowedSigners([['alice@example.com', alice]]));
  const server = ca.issue('server', 'localhost', { san: ['DNS:localhost', 'IP:127.0.0.1'] });
  work = TempRepo.create({ commit: false });
  signedCommit(work, alice, 'desired state, signed', 'alice@example.com');
  bare = join(dir, 'fleet.git');
  work.git('clone', '-q', '--bare', work.dir, bare);
  child = spawn(process.execPath, [join(ROOT, 'controller/cli/bin.js'), 'run', '--repo', bare, '--listen', '127.0.0.1:0',
    '--state-dir', join(dir, 'state'), '--tls-cert', server.cert, '--tls-key', server.key, '--tls-client-ca', ca.certPath,
    '--verify-commits', signers, '--approvers', signers, '--warm-up', '0.1', '--coalesce', '0.1', '--log-format', 'json'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually(() => /listening on https:\/\//.test(stdout), 20_000, `the controller to listen; stderr:\n${stderr}`);
});
afterAll(() => {
  child?.kill('SIGKILL');
  work?.dispose();
  ca?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it('serves HTTPS, says so first, and curl --cacert reaches /readyz', async () => {
  const first = JSON.parse(stderr.split('\n')[0]!) as { msg: string };
  expect(first.msg).toBe('serving HTTPS');
  const url = /listening on (https:\/\/\S+)/.exec(stdout)![1]!.replace('127.0.0.1', 'localhost');
  await eventually(() => spawnSync('curl', ['-sS', '--cacert', ca.certPath, `${url}/readyz`], { encoding: 'utf8' }).stdout === 'ready\n',
    20_000, 'ready over HTTPS');
});

it('refuses an unsigned revision pushed to the branch, and signs its own status commits', async () => {
  // The controller commits status to the same branch at any moment: like a person, fetch,
  // commit on top and push again when the push loses that race.
  let unsigned = '';
  for (let attempt = 1; ; attempt++) {
    work.git('fetch', '-q', bare, 'main');
    work.git('reset', '-q', '--hard', 'FETCH_HEAD');
    work.write('accounts/acme-w360.yaml', `${work.read('accounts/acme-w360.yaml')}# unsigned\n`);
    unsigned = work.commitAll('an unsigned change');
    try {
      work.git('push', '-q', bare, 'HEAD:main');
      break;
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
  const source = await eventually(() => {
    try {
      const text = bareGit('show', 'main:status/source/main.yaml');
      return text.includes(unsigned) && text.includes('RevisionUnverified') ? text : undefined;
    } catch {
      return undefined;
    }
  }, 20_000, 'the refusal in status/source/main.yaml');
  expect(source).toContain(`commit ${unsigned.slice(0, 7)} is not signed`);
  // the controller's status commit on top verifies with stock git, given the key its log names
  const line = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { statusSignedBy?: string })
    .find((l) => l.statusSignedBy !== undefined)!.statusSignedBy!;
  const mirror = join(dir, 'mirror_signers');
  writeFileSync(mirror, `versiond@localhost ${line}\n`);
  expect(bareGit('log', '-1', '--format=%an', 'main')).toBe('versiond');
  bareGit('-c', `gpg.ssh.allowedSignersFile=${mirror}`, 'verify-commit', 'main');
});

it('refuses plain HTTP beyond loopback without --insecure-listen, and a broken approvers file', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.js'), 'run', '--repo', bare,
    '--state-dir', join(dir, 'state2'), ...args], { encoding: 'utf8', timeout: 30_000 });
  const open = run('--listen', '0.0.0.0:0');
  expect(open.status).toBe(1);
  expect(open.stderr).toContain('refusing plain HTTP on 0.0.0.0: agent tokens would cross the network in clear');
  writeFileSync(join(dir, 'broken'), 'bob@example.com ssh-ed25519\n');
  const broken = run('--approvers', join(dir, 'broken'));
  expect(broken.status).toBe(2);
  expect(broken.stderr).toContain(`--approvers: ${join(dir, 'broken')}:1: key: missing key type or key`);
});
