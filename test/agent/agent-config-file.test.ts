import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flagOf, readAgentConfig } from '../../agent/reference/agent-config-file.ts';
import { main } from '../../agent/reference/cli.ts';

// Issue 17: `versiond-agent --config FILE`, on hundreds of machines: a typo must stop the agent
// with the file and the key named, never be ignored.
const dir = mkdtempSync(join(tmpdir(), 'versiond-agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('the agent configuration file', () => {
  it('names each key after its flag', () => {
    expect(
      ['tokenFile', 'stateDir', 'controllerKey', 'artifactMirror', 'logLevel', 'id'].map((k) => flagOf(k as never)),
    ).toEqual(['token-file', 'state-dir', 'controller-key', 'artifact-mirror', 'log-level', 'id']);
  });

  it('reads what agents add writes, a byte-order mark included (Notepad)', () => {
    const path = file('ok.json',
      '\uFEFF{"controller": "https://c:8443", "id": "wd-1", "tokenFile": "/t", "caPem": "PEM"}');
    expect(readAgentConfig(path)).toEqual({ controller: 'https://c:8443', id: 'wd-1', tokenFile: '/t', caPem: 'PEM' });
  });

  it.each([
    ['an unknown key', '{"controler": "https://c"}', /unknown key "controler" \(known: controller, id,/],
    ['a key that is not a string', '{"id": 42}', /id must be a non-empty string/],
    ['JSON with a syntax error, at its line', '{\n  "id": "wd-1",\n  oops\n}', /bad\.json:3:\d+: not JSON/],
    ['an array', '[]', /must be a JSON object of the agent's flags/],
  ])('refuses %s, naming the file', (_what, text, says) => {
    const path = file('bad.json', text);
    expect(() => readAgentConfig(path)).toThrow(says);
  });

  it('a bad file stops versiond-agent with exit 2 and the reason', async () => {
    let stderr = '';
    const code = await main(['--config', file('typo.json', '{"stateDri": "/x"}')], {
      stdout: process.stdout,
      stderr: { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/typo\.json: unknown key "stateDri"/);
  });

  it('a flag on the command line wins over the file', async () => {
    let stderr = '';
    // --controller from the file is not a URL; the command line's is, so only --id is missing... from neither.
    const path = file('partial.json', '{"controller": "not a url", "tokenFile": "/t", "stateDir": "/s"}');
    const code = await main(['--config', path, '--controller', 'https://c:8443'], {
      stdout: process.stdout,
      stderr: { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--id is required/);
  });
});
