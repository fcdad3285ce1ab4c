import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main as agentMain } from '../../agent/reference/cli.ts';
import { main as fleetMain } from '../../agent/fleet/cli.ts';
import { ROOT } from '../helpers/git-repo.ts';

// Issue 13, item 1: the TLS flags of versiond-agent and versiond-fleet, and their mistakes.
async function run(main: typeof agentMain, argv: string[]): Promise<{ code: number; stderr: string }> {
  const err = new PassThrough();
  let stderr = '';
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(argv, { stdout: new PassThrough(), stderr: err });
  return { code, stderr };
}

const AGENT = ['--controller', 'https://127.0.0.1:8443', '--id', 'wd-lille', '--state-dir', '/tmp/versiond-tls-state'];
const FLEET = ['--controller', 'https://127.0.0.1:8443', '--repo', '/tmp/r', '--state-dir', '/tmp/s'];

describe('TLS flags', () => {
  it.each([
    ['versiond-agent: --cert without --key', agentMain, [...AGENT, '--cert', 'a.crt'], /--cert and --key go together/],
    ['versiond-agent: --key without --cert', agentMain, [...AGENT, '--token-file', 't', '--key', 'a.key'],
      /--cert and --key go together/],
    ['versiond-agent: neither a token nor a certificate', agentMain, [...AGENT, '--ca', 'ca.crt'],
      /--token-file is required/],
    ['versiond-fleet: --key without --cert', fleetMain, [...FLEET, '--key', 'a.key'], /--cert and --key go together/],
  ])('%s: exit 2', async (_, main, argv, says) => {
    const r = await run(main, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(says);
  });

  it('versiond-agent --help tells the TLS flags', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    expect(await agentMain(['--help'], { stdout: out, stderr: new PassThrough() })).toBe(0);
    expect(text).toMatch(/\[--ca FILE\] \[--cert FILE --key FILE\]/);
    expect(text).toMatch(/--token-file FILE .*optional with --cert/);
  });

  it('versiond-agent stops at once (exit 1) on a TLS file it cannot read, naming the flag and the file', async () => {
    const missing = '/tmp/versiond-no-such-dir/agent.crt';
    const r = await promisify(execFile)(process.execPath, [join(ROOT, 'agent/reference/bin.js'), ...AGENT,
      '--cert', missing, '--key', missing.replace('.crt', '.key')]).then(() => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`could not start: --cert ${missing}: ENOENT: no such file or directory`);
  });
});
