import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';
import { main } from '../../controller/cli/main.ts';
import { TestCa } from '../helpers/tls-certs.ts';

// Issue 17: enrolment an admin can script — `agents add` prints, next to the token, the
// configuration the agent starts with (`versiond-agent --config FILE`).
const dir = mkdtempSync(join(tmpdir(), 'versiond-enrol-'));
const ca = TestCa.create();
afterAll(() => {
  ca.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function versiond(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('versiond agents add prints a ready agent configuration', () => {
  it('with the controller URL, the id, the token file, the CA and the controller key; ' +
    '--config-out writes it 0600', async () => {
    const state = join(dir, 'state-1');
    const out = join(dir, 'wd-paris-s1.json');
    const r = await versiond('agents', 'add', 'wd-paris-s1', '--state-dir', state,
      '--controller-url', 'https://versiond.example.com:8443/', '--ca', ca.certPath,
      '--agent-token-file', 'C:\\ProgramData\\versiond-agent\\token', '--config-out', out);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(out, 'utf8'));
    expect(config).toEqual({
      controller: 'https://versiond.example.com:8443',
      id: 'wd-paris-s1',
      tokenFile: 'C:\\ProgramData\\versiond-agent\\token',
      caPem: readFileSync(ca.certPath, 'utf8'),
      controllerKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // The same configuration is printed, after the token.
    expect(r.stdout).toContain('"controller": "https://versiond.example.com:8443"');
    expect(r.stdout.indexOf('vda_')).toBeLessThan(r.stdout.indexOf('"controller"'));
  });

  it('in the JSON output too, for scripts', async () => {
    const r = await versiond('agents', 'add', 'wd-lille', '--state-dir', join(dir, 'state-2'), '--format', 'json',
      '--controller-url', 'http://127.0.0.1:8080');
    expect(r.code).toBe(0);
    const answer = JSON.parse(r.stdout);
    expect(answer.config).toMatchObject({
      controller: 'http://127.0.0.1:8080', id: 'wd-lille', tokenFile: '/etc/versiond-agent/token',
    });
    expect(answer.config.caPem).toBeUndefined();
  });

  it.each([
    ['a URL that is not http(s)', ['--controller-url', 'ftp://x'], /--controller-url must be an http\(s\) URL/],
    ['a URL with credentials', ['--controller-url', 'https://u:p@x'], /must not hold credentials/],
    ['a CA file that is not a certificate', ['--controller-url', 'https://x', '--ca', 'NOT-PEM'],
      /not a PEM certificate/],
    ['a CA for a plain-HTTP controller', ['--controller-url', 'http://x', '--ca', 'CA'],
      /--ca is for a controller served over https/],
  ])('refuses %s with exit 2, and issues no token', async (_what, flags, says) => {
    const state = join(dir, `state-bad-${Math.random().toString(36).slice(2)}`);
    const resolved = flags.map((f) => (f === 'NOT-PEM' ? join(dir, 'not.pem') : f === 'CA' ? ca.certPath : f));
    writeFileSync(join(dir, 'not.pem'), 'hello\n');
    const r = await versiond('agents', 'add', 'wd-nantes', '--state-dir', state, ...resolved);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(says);
    expect(r.stdout).not.toMatch(/vda_/);
    expect((await AgentCredentials.open(state)).size).toBe(0);
  });

  it('without a controller URL, still prints the configuration and says what to fill in', async () => {
    const r = await versiond('agents', 'add', 'wd-brest', '--state-dir', join(dir, 'state-3'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"controller": "https://CONTROLLER:8443"');
    expect(r.stdout).toMatch(/No --controller-url .* set "controller" before using it/);
    expect(r.stderr).toBe('');
  });
});
