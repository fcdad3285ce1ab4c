/**
 * `versiond-agent`: runs one reference agent until SIGTERM/SIGINT.
 *
 *   versiond-agent [--config FILE] --controller URL --id ID --token-file FILE --state-dir DIR
 *                  [--driver hooks:DIR|simulated[:FILE]] [--listen HOST:PORT] [--advertise URL]
 *                  [--controller-key BASE64] [--artifact-mirror URL] [--log-level LEVEL]
 *
 * Logs are JSON lines (pino's format, json-log.ts) on stdout, each carrying the agent id. Exit
 * codes: 0 stopped by a signal, 1 could not start (state directory in use, port taken,
 * unreadable token), 2 usage (a bad flag or configuration file).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readAgentTls, type AgentTlsFiles } from './agent-tls.ts';
import { jsonLog, type Level } from './json-log.ts';
import { AgentConfigError, flagOf, readAgentConfig } from './agent-config-file.ts';
import { Agent, AGENT_VERSION, type PushOptions } from './agent.ts';
import type { Driver } from './drivers/driver.ts';
import { HooksDriver } from './drivers/hooks-driver.ts';
import { SimulatedDriver, type SimulatedBehaviour, type SimulatedMachine } from './drivers/simulated-driver.ts';
import { REPORT_SCHEMA } from './protocol.ts';
import { schemaProblem } from './protocol-validation.ts';

export const USAGE = `usage: versiond-agent [--config FILE] --controller URL --id ID --token-file FILE --state-dir DIR
                      [--ca FILE] [--cert FILE --key FILE]
                      [--driver hooks:DIR|simulated[:FILE]] [--listen HOST:PORT] [--advertise URL]
                      [--controller-key BASE64] [--artifact-mirror URL] [--log-level LEVEL]

  --config FILE           a JSON file of these flags in camelCase ({"controller": …, "tokenFile": …}),
                          as \`versiond agents add --config-out\` writes it; flags given here win
  --controller URL        the versiond controller (http://127.0.0.1:8080)
  --id ID                 this agent's id (a member's agent, or its name)
  --token-file FILE       file holding this agent's token (versiond agents add ID); optional with --cert
  --ca FILE               PEM CA certificate to trust for the controller (https://), besides the system's
  --cert FILE, --key FILE PEM client certificate naming this agent id (CN or SAN) and its key; also the
                          certificate of the push endpoint, which then serves HTTPS
  --state-dir DIR         where the agent keeps its state and packages (one agent per directory)
  --driver hooks:DIR      run the executables of DIR (inventory, stage, apply, restart, backup,
                          sync, migrate, end-update-mode); default hooks:<state-dir>/hooks
  --driver simulated[:FILE]
                          a simulated machine; FILE is JSON {"components": [...], "facts": {...},
                          "behaviour": {"installMs", "stepMs", "failureRate", "seed", "clockSkewMs",
                          "stuckInUpdateMode", "lieAboutVersion"}}
  --listen HOST:PORT      serve the push endpoint (POST /v1/commands); needs --controller-key
  --advertise URL         the endpoint URL reported to the controller (default http(s)://HOST:PORT)
  --controller-key BASE64 the controller's Ed25519 public key (GET /v1/controller-key)
  --artifact-mirror URL   download packages from this mirror of the vendors' sites
  --log-level LEVEL       fatal, error, warn, info (default), debug, trace
  -V, --version           print the version and exit
`;

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

class UsageError extends Error {}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

interface Parsed {
  readonly controller: string;
  readonly id: string;
  readonly tokenFile?: string;
  readonly tls: AgentTlsFiles;
  readonly stateDir: string;
  readonly driver: string;
  readonly push?: PushOptions;
  readonly mirror?: string;
  readonly level: Level;
}

function parse(argv: readonly string[]): Parsed | 'help' | 'version' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        controller: { type: 'string' },
        id: { type: 'string' },
        'token-file': { type: 'string' },
        'state-dir': { type: 'string' },
        driver: { type: 'string' },
        listen: { type: 'string' },
        advertise: { type: 'string' },
        'controller-key': { type: 'string' },
        'artifact-mirror': { type: 'string' },
        'log-level': { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  // The configuration file stands for flags; a flag given on the command line wins.
  let caPem: string | undefined;
  if (values.config !== undefined) {
    const config = readAgentConfig(values.config);
    const flags = values as Record<string, string | boolean | undefined>;
    for (const [key, value] of Object.entries(config) as [keyof typeof config, string][]) {
      if (key === 'caPem') caPem = value;
      else flags[flagOf(key)] ??= value;
    }
    if (values.ca !== undefined) caPem = undefined;
  }
  const need = (name: 'controller' | 'id' | 'token-file' | 'state-dir'): string => {
    const v = values[name];
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  };
  const controller = need('controller');
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  const tls = {
    ...(values.ca !== undefined ? { caFile: values.ca } : {}),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(values.cert !== undefined && values.key !== undefined ? { certFile: values.cert, keyFile: values.key } : {}),
  };
  // A client certificate names the agent: the token is then optional.
  const tokenFile = tls.certFile !== undefined && (values['token-file'] ?? '') === '' ? undefined : need('token-file');
  if (!/^https?:\/\//.test(controller) || !URL.canParse(controller)) throw new UsageError(`--controller: ${JSON.stringify(controller)} is not an http(s) URL`);
  const level = (values['log-level'] ?? 'info') as Level;
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level: must be one of ${LEVELS.join(', ')}`);
  const stateDir = resolve(need('state-dir'));
  let push: PushOptions | undefined;
  if (values.listen !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(values.listen);
    if (m === null || Number(m[2]) > 65535) throw new UsageError(`--listen: ${JSON.stringify(values.listen)} is not HOST:PORT`);
    const key = values['controller-key'];
    if (key === undefined) throw new UsageError('--listen needs --controller-key: a push is accepted only if the controller signed it');
    const advertise = values.advertise;
    if (advertise !== undefined && !URL.canParse(advertise)) throw new UsageError(`--advertise: ${JSON.stringify(advertise)} is not a URL`);
    push = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), controllerKey: key, ...(advertise !== undefined ? { advertise } : {}) };
  } else if (values.advertise !== undefined) {
    throw new UsageError('--advertise needs --listen');
  }
  const driver = values.driver ?? `hooks:${join(stateDir, 'hooks')}`;
  if (!/^(hooks:.+|simulated(:.+)?)$/.test(driver)) throw new UsageError(`--driver: ${JSON.stringify(driver)} is neither hooks:DIR nor simulated[:FILE]`);
  return {
    controller,
    id: need('id'),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    tls,
    stateDir,
    driver,
    ...(push ? { push } : {}),
    ...(values['artifact-mirror'] !== undefined ? { mirror: values['artifact-mirror'] } : {}),
    level,
  };
}

async function makeDriver(spec: string): Promise<Driver> {
  if (spec.startsWith('hooks:')) return new HooksDriver(spec.slice('hooks:'.length));
  const file = spec.startsWith('simulated:') ? spec.slice('simulated:'.length) : undefined;
  if (file === undefined) return new SimulatedDriver({ machine: { components: [] } });
  let setup: { components?: unknown; facts?: unknown; behaviour?: SimulatedBehaviour };
  try {
    setup = JSON.parse(await readFile(file, 'utf8')) as typeof setup;
  } catch (err) {
    throw new Error(`--driver simulated:${file}: ${(err as Error).message}`);
  }
  const components = setup.components ?? [];
  const problem = schemaProblem(REPORT_SCHEMA, { sequence: 0, components, ...(setup.facts !== undefined ? { facts: setup.facts } : {}) });
  if (problem !== undefined) throw new Error(`--driver simulated:${file}: ${problem}`);
  return new SimulatedDriver({ machine: { components, ...(setup.facts !== undefined ? { facts: setup.facts } : {}) } as SimulatedMachine, behaviour: setup.behaviour ?? {} });
}

/** Runs the agent; resolves with the exit code once it stopped. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let args: Parsed | 'help' | 'version';
  try {
    args = parse(argv);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      io.stderr.write(`versiond-agent: ${err.message}\n`);
      return 2;
    }
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`versiond-agent: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (args === 'version') {
    // AGENT_VERSION is `versiond-agent/<version of package.json>`, read at run time.
    io.stdout.write(`${AGENT_VERSION.replace('/', ' ')}\n`);
    return 0;
  }
  const log = jsonLog({ level: args.level, base: { agent: args.id, pid: process.pid } });
  let agent: Agent;
  try {
    let token: string | undefined;
    if (args.tokenFile !== undefined) {
      const file = args.tokenFile;
      token = (await readFile(file, 'utf8').catch((err: Error) => Promise.reject(new Error(`--token-file ${file}: ${err.message}`)))).trim();
      if (token === '') throw new Error(`--token-file ${file}: the file is empty`);
    }
    const tls = await readAgentTls(args.tls);
    const driver = await makeDriver(args.driver);
    if (driver instanceof HooksDriver) log.info({ hooks: await driver.presentHooks() }, `hooks in ${driver.dir}`);
    // The agent binds `agent: <id>` to its own lines; the CLI's logger carries it in its base.
    agent = new Agent({
      id: args.id,
      controllerUrl: args.controller,
      ...(token !== undefined ? { token } : {}),
      tls,
      stateDir: args.stateDir,
      driver,
      logger: jsonLog({ level: args.level, base: { pid: process.pid } }),
      ...(args.push ? { push: args.push } : {}),
      ...(args.mirror !== undefined ? { artifactMirror: args.mirror } : {}),
    });
    await agent.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, `versiond-agent ${AGENT_VERSION} could not start: ${(err as Error).message}`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGTERM', () => resolveSignal('SIGTERM'));
    process.once('SIGINT', () => resolveSignal('SIGINT'));
  });
  log.info(`${signal} received: stopping`);
  await agent.stop();
  return 0;
}
