/**
 * The agent ships alone (`versiond-agent`, on hundreds of servers: ≤ 5 MB and ≤ 10 npm
 * packages installed), so it may import only its own folder, the shared protocol, Node's
 * built-ins, ajv and semver; and `protocol/` only itself and those. Anything else — a helper
 * of the controller, a reconciler, pino — would pull the controller's dependencies into every
 * server. These tests read the import graph and name each import that crosses the line.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { boundaryViolations, codeFilesIn, describeViolations, importsOf, type Boundary } from './import-graph.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGES = ['ajv', 'semver'];
const AGENT: Boundary = { folders: ['agent/reference/', 'protocol/'], packages: PACKAGES };
const PROTOCOL: Boundary = { folders: ['protocol/'], packages: PACKAGES };

/** The module `agent/reference/bin.js` starts: bin.js itself only registers tsx for a clone. */
function binTarget(): string {
  const bin = join(ROOT, 'agent/reference/bin.js');
  const dynamic = importsOf(bin).map((i) => i.specifier).filter((s) => s.startsWith('.'));
  expect(dynamic, 'agent/reference/bin.js should import its entry point relatively').toHaveLength(1);
  return join(dirname(bin), dynamic[0]!);
}

describe('the import boundary of the agent package', () => {
  it('agent/reference/ imports only agent/reference/, protocol/, node:*, ajv and semver', () => {
    const entries = [binTarget(), ...codeFilesIn(join(ROOT, 'agent/reference')).filter((f) => !f.endsWith('bin.js'))];
    expect(entries[0]).toBe(join(ROOT, 'agent/reference/cli.ts'));
    expect(describeViolations(boundaryViolations(ROOT, entries, AGENT))).toBe('');
  });

  it('protocol/ imports only protocol/, node:*, ajv and semver', () => {
    expect(describeViolations(boundaryViolations(ROOT, codeFilesIn(join(ROOT, 'protocol')), PROTOCOL))).toBe('');
  });

  it('the npm packages the boundary allows are dependencies of versiond', () => {
    type Manifest = { dependencies: Record<string, string> };
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
    for (const name of PACKAGES) expect(Object.keys(manifest.dependencies)).toContain(name);
  });
});

describe('the boundary check itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'versiond-import-boundary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string): string => {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };

  it('names the file, the line and the import of every way out, and follows imports transitively', () => {
    write('controller/secret.ts', 'export const secret = 1;\n');
    write('protocol/shared.ts', [
      "import type { Secret } from '../controller/types.ts';",
      'export type { Secret };',
    ].join('\n'));
    const entry = write('agent/reference/main.ts', [
      '// import { pino } from "pino"; — a comment is not an import',
      "const text = \"import x from 'yaml'\"; // nor is a string",
      "import { readFile } from 'node:fs/promises';",
      "import { Ajv2020 } from 'ajv/dist/2020.js';",
      "import { pino } from 'pino';",
      "export { secret } from '../../controller/secret.ts';",
      "import type { Shared } from '../../protocol/shared.ts';",
      "const later = await import('../../reconcilers/x.ts');",
      "type T = import('node-fetch').Response;",
      "import { gone } from './missing.ts';",
      "import { fs } from 'fs';",
    ].join('\n'));
    const found = describeViolations(boundaryViolations(dir, [entry], AGENT));
    const outside = 'is outside agent/reference/, protocol/';
    expect(found.split('\n')).toEqual([
      "agent/reference/main.ts:5 imports 'pino': the package pino is not one of node:*, ajv, semver",
      `agent/reference/main.ts:6 imports '../../controller/secret.ts': controller/secret.ts ${outside}`,
      `agent/reference/main.ts:8 imports '../../reconcilers/x.ts': reconcilers/x.ts ${outside}`,
      "agent/reference/main.ts:9 imports 'node-fetch': the package node-fetch is not one of node:*, ajv, semver",
      "agent/reference/main.ts:10 imports './missing.ts': agent/reference/missing.ts does not exist",
      "agent/reference/main.ts:11 imports 'fs': the package fs is not one of node:*, ajv, semver",
      `protocol/shared.ts:1 imports '../controller/types.ts': controller/types.ts ${outside}`,
    ]);
  });

  it('holds protocol/ to itself: the agent folder is outside it', () => {
    const file = write('protocol/uses-agent.ts', "import { x } from '../agent/reference/x.ts';\n");
    expect(describeViolations(boundaryViolations(dir, [file], PROTOCOL)))
      .toBe("protocol/uses-agent.ts:1 imports '../agent/reference/x.ts': agent/reference/x.ts is outside protocol/");
  });
});
