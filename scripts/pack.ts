/**
 * `npm run pack`: the two installable packages of issue 17, built from `npm run build`'s
 * JavaScript (build/dist/) — no tsx and no dev dependency at run time:
 *
 *   build/versiond-<version>.tgz        the controller, `versiond` as its bin
 *   build/versiond-agent-<version>.tgz  the reference agent, `versiond-agent` as its bin
 *
 * Each package keeps the repository's layout (`controller/`, `protocol/`, `schemas/` … next
 * to its package.json), so modules that locate files relative to themselves — schemas, the
 * web assets, package.json for `--version` — find them installed as in a clone. The agent's
 * package holds only `agent/reference/`, `protocol/` and the agent-message schemas: its
 * import boundary is checked by test/protocol/import-boundary.test.ts.
 *
 *   npm run pack [-- --no-build]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSchemaFiles } from '../protocol/schema-validation.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BUILD = join(ROOT, 'build');
const DIST = join(BUILD, 'dist');

interface RootManifest {
  readonly version: string;
  readonly license: string;
  readonly engines: Record<string, string>;
  readonly dependencies: Record<string, string>;
}

/** The npm packages the agent runs with: everything else it needs is Node's own. */
const AGENT_DEPENDENCIES = ['ajv', 'semver'];
/** Development-time runners that the compiled packages do not need. */
const NOT_AT_RUN_TIME = new Set(['tsx']);

function run(command: string, args: readonly string[], cwd = ROOT): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function copy(from: string, to: string, filter?: (path: string) => boolean): void {
  cpSync(from, to, { recursive: true, ...(filter ? { filter } : {}) });
}

/** A bin that loads the compiled entry point: what `bin.js` does in a clone, minus tsx. */
function writeBin(file: string, entry: string, name: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `#!/usr/bin/env node
// Entry point of the \`${name}\` command, from the compiled package (scripts/pack.ts).
const { main } = await import('${entry}');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
`, { mode: 0o755 });
}

function pick(deps: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => {
    const range = deps[n];
    if (range === undefined) throw new Error(`package.json has no dependency ${n}`);
    return [n, range];
  }));
}

function controllerPackage(root: RootManifest): string {
  const dir = join(BUILD, 'versiond');
  for (const folder of ['controller', 'reconcilers', 'protocol']) copy(join(DIST, folder), join(dir, folder));
  // The parse workers load the compiled module directly: in a clone, parse-worker.js registers tsx first.
  writeFileSync(join(dir, 'controller/desired/parse-worker.js'), `// A parse worker thread (compiled package).
await import('./parse-worker-main.js');
`);
  copy(join(ROOT, 'controller/web/assets'), join(dir, 'controller/web/assets'));
  copy(join(ROOT, 'schemas'), join(dir, 'schemas'));
  cpSync(join(ROOT, 'README.md'), join(dir, 'README.md'));
  writeBin(join(dir, 'bin/versiond.js'), '../controller/cli/main.js', 'versiond');
  const dependencies = Object.fromEntries(Object.entries(root.dependencies).filter(([n]) => !NOT_AT_RUN_TIME.has(n)));
  writeManifest(dir, {
    name: 'versiond',
    description: 'GitOps controller for software versions across fleets of servers and devices',
    bin: { versiond: 'bin/versiond.js' },
    dependencies,
  }, root);
  return dir;
}

function agentPackage(root: RootManifest): string {
  const dir = join(BUILD, 'versiond-agent');
  // The simulated driver is for tests and demos, but it is one of the agent's drivers (`--driver simulated`).
  copy(join(DIST, 'agent/reference'), join(dir, 'agent/reference'));
  copy(join(DIST, 'protocol'), join(dir, 'protocol'));
  mkdirSync(join(dir, 'schemas'), { recursive: true });
  for (const file of protocolSchemaFiles()) cpSync(join(ROOT, 'schemas', file), join(dir, 'schemas', file));
  cpSync(join(ROOT, 'agent/reference/README.md'), join(dir, 'README.md'));
  writeBin(join(dir, 'bin/versiond-agent.js'), '../agent/reference/cli.js', 'versiond-agent');
  writeManifest(dir, {
    name: 'versiond-agent',
    description: 'The versiond reference agent: reports what a machine runs and carries out the controller\'s commands',
    bin: { 'versiond-agent': 'bin/versiond-agent.js' },
    dependencies: pick(root.dependencies, AGENT_DEPENDENCIES),
  }, root);
  return dir;
}

/**
 * The package's dependencies go inside the tarball (`bundleDependencies`), copied from this
 * clone's node_modules — the exact versions `npm ci` installed from the lockfile, and tested
 * with. So `npm install ./versiond-agent-<v>.tgz` needs no registry: an agent server in an
 * isolated network installs from the one file.
 */
function bundle(dir: string, names: readonly string[]): void {
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    // Node's resolution: the closest node_modules up from the requiring package.
    let where = from;
    let found: string | undefined;
    for (;;) {
      const candidate = join(where, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        found = candidate;
        break;
      }
      if (where === ROOT) break;
      where = dirname(dirname(where)); // out of `<parent>/node_modules/<pkg>`
      if (where.endsWith('node_modules')) where = dirname(where);
    }
    if (found === undefined) throw new Error(`dependency ${name} (of ${from}) is not installed: run npm ci`);
    if (seen.has(found)) return;
    seen.add(found);
    const manifest = JSON.parse(readFileSync(join(found, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, found);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
      if (existsSync(join(ROOT, 'node_modules', dep))) visit(dep, found);
    }
  };
  for (const name of names) visit(name, ROOT);
  // Top-level packages are copied whole: the nested node_modules of one come with it.
  const top = join(ROOT, 'node_modules');
  for (const path of seen) {
    const rel = path.slice(top.length + 1);
    if (!path.startsWith(`${top}/`) || /\/node_modules\//.test(rel)) continue;
    copy(path, join(dir, 'node_modules', rel));
  }
}

function writeManifest(dir: string, own: { dependencies: Record<string, string> } & Record<string, unknown>,
  root: RootManifest): void {
  const manifest = {
    ...own,
    bundleDependencies: Object.keys(own.dependencies),
    version: root.version,
    license: root.license,
    type: 'module',
    engines: root.engines,
  };
  bundle(dir, Object.keys(own.dependencies));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function main(argv: readonly string[]): number {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootManifest;
  if (!argv.includes('--no-build') || !existsSync(DIST)) {
    rmSync(DIST, { recursive: true, force: true });
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  }
  for (const name of ['versiond', 'versiond-agent']) rmSync(join(BUILD, name), { recursive: true, force: true });
  const dirs = [controllerPackage(root), agentPackage(root)];
  for (const dir of dirs) {
    const out = run('npm', ['pack', '--json', '--pack-destination', BUILD], dir);
    const [packed] = JSON.parse(out) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    process.stdout.write(`${join('build', packed!.filename)}: ${packed!.entryCount} files, `
      + `${(packed!.size / 1024).toFixed(0)} KiB packed, ${(packed!.unpackedSize / 1024).toFixed(0)} KiB unpacked\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
