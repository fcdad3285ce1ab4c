import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../agent/reference/cli.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(argv, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

const REQUIRED = ['--controller', 'http://127.0.0.1:8080', '--id', 'wd-lille', '--token-file', '/nonexistent/token', '--state-dir', '/tmp/x'];

describe('versiond-agent command line', () => {
  it('prints its usage with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: versiond-agent \[--config FILE\] --controller URL --id ID --token-file FILE --state-dir DIR/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['a missing required flag', REQUIRED.slice(2), /--controller is required/],
    ['an unknown flag', [...REQUIRED, '--colour'], /Unknown option '--colour'/],
    ['a controller that is not a URL', ['--controller', 'ctrl:8080', ...REQUIRED.slice(2)], /--controller: "ctrl:8080" is not an http\(s\) URL/],
    ['--listen without --controller-key (pushes would be unverifiable)', [...REQUIRED, '--listen', '0.0.0.0:8443'], /--listen needs --controller-key/],
    ['a --listen that is not HOST:PORT', [...REQUIRED, '--listen', '8443', '--controller-key', 'x'], /--listen: "8443" is not HOST:PORT/],
    ['an unknown driver', [...REQUIRED, '--driver', 'ansible'], /--driver: "ansible" is neither hooks:DIR nor simulated\[:FILE\]/],
    ['an unknown log level', [...REQUIRED, '--log-level', 'loud'], /--log-level: must be one of fatal, error, warn, info, debug, trace/],
  ];
  it.each(usage)('exits 2 on %s, saying what is wrong', async (_, argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: versiond-agent');
  });
});
