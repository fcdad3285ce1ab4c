/**
 * Issue 14, item 8: `versiond --version` and `-V` print `versiond <version>` from package.json
 * and exit 0, as the other bins (`versiond-agent`, `versiond-fleet`) do. The `versiond` bin is
 * run as a real process (both flags at once, to keep the suite fast); the others in-process.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main as agentMain } from '../agent/reference/cli.ts';
import { main as fleetMain } from '../agent/fleet/cli.ts';
import { main } from '../controller/cli/main.ts';
import { ROOT } from './helpers/git-repo.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const run = promisify(execFile);

function capture() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string) => ((out.stdout += s), true) },
    stderr: { write: (s: string) => ((out.stderr += s), true) },
  };
  return { out, io: io as unknown as { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } };
}

describe('--version', () => {
  it('versiond --version and -V print the version from package.json and exit 0', async () => {
    const bin = join(ROOT, 'controller/cli/bin.js');
    const results = await Promise.all(
      ['--version', '-V'].map((flag) => run(process.execPath, [bin, flag], { cwd: ROOT, encoding: 'utf8' })),
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`versiond ${VERSION}\n`);
    }
  });

  it('--help says so', async () => {
    const { out, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(out.stdout).toContain('versiond --version');
  });

  it('versiond-agent and versiond-fleet answer --version and -V too', async () => {
    for (const [name, run] of [['versiond-agent', agentMain], ['versiond-fleet', fleetMain]] as const) {
      for (const flag of ['--version', '-V']) {
        const { out, io } = capture();
        expect(await run([flag], io)).toBe(0);
        expect(out.stdout).toBe(`${name} ${VERSION}\n`);
        expect(out.stderr).toBe('');
      }
    }
  });
});

describe('versiond run: intervals sent to agents', () => {
  it('a report interval or follow-up that is not a whole number of seconds is refused before anything starts', async () => {
    for (const args of [['--report-interval', '2.5'], ['--report-follow-up', '0.5'], ['--report-follow-up', '0']]) {
      const { out, io } = capture();
      expect(await main(['run', '--repo', '/nonexistent', ...args], io), args.join(' ')).toBe(2);
      expect(out.stderr, args.join(' ')).toMatch(new RegExp(`${args[0]} must be a (whole|positive) number of seconds`));
    }
  });
});
