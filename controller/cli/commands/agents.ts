import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  AgentCredentials,
  AgentExistsError,
  AgentIdError,
  AgentsFileError,
  AgentsLockError,
  checkAgentId,
  UnknownAgentError,
} from '../../agents/agent-credentials.ts';
import { loadOrCreateControllerKey, type ControllerKey } from '../../agents/controller-key.ts';
import { printable, printableLines, quotePath, safeJson } from '../../observability/printable.ts';
import { resolveStateDir } from '../state-dir.ts';
import { EXIT, oneOf, UsageError, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond agents add <id> [--rotate] [--format text|json] [--state-dir DIR]
       versiond agents list [--format text|json] [--state-dir DIR]
       versiond agents remove <id> [--state-dir DIR]

Every agent has its own token: it proves which agent is reporting, and an agent only ever
receives its own commands. The controller keeps only each token's SHA-256, in
<state dir>/agents.json, outside the Git repository. \`add\` shows a token once; it cannot
be shown again (rotate it if it is lost). A running controller sees added, rotated and
removed agents within a second, without a restart.

Subcommands:
  add <id>         issue a token for agent <id> (a member's \`agent\`, or its name) and
                   print it, with the controller's public key for agents that accept
                   pushed commands
  list             the registered agents and when their token was issued
  remove <id>      revoke agent <id>'s token

Flags:
  --rotate         add: replace the token of an agent that has one; the old token stops
                   working
  --format FORMAT  add, list: text (default) or json
  --state-dir DIR  where the controller keeps its own state (default: $VERSIOND_STATE_DIR,
                   else $XDG_STATE_HOME/versiond, else ~/.local/state/versiond)
  -h, --help       this help

Exit codes: 0 done, 1 refused (add of an agent that has a token, without --rotate; remove
of an unknown agent; an unreadable agents.json), 2 usage error.
`;

const FORMATS = ['text', 'json'] as const;

export const agentsCommand: Command = {
  name: 'agents',
  summary: 'issue, rotate, list and revoke the tokens of agents',
  help: HELP,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const [subcommand, ...rest] = argv;
    try {
      switch (subcommand) {
        case 'add':
          return await add(rest, io);
        case 'list':
          return await list(rest, io);
        case 'remove':
          return await remove(rest, io);
        default:
          if (subcommand === undefined || subcommand.startsWith('-')) throw new UsageError('which one: add, list or remove?');
          throw new UsageError(`unknown subcommand ${JSON.stringify(subcommand)}: add, list or remove`);
      }
    } catch (err) {
      if (err instanceof AgentIdError) throw new UsageError(err.message);
      if (err instanceof AgentExistsError || err instanceof UnknownAgentError || err instanceof AgentsFileError || err instanceof AgentsLockError) {
        io.stderr.write(`versiond agents ${subcommand ?? ''}: ${printable(err.message)}\n`);
        return EXIT.findings;
      }
      throw err;
    }
  },
};

async function add(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseSubcommand(argv, {
    rotate: { type: 'boolean' },
    format: { type: 'string' },
    'state-dir': { type: 'string' },
  });
  const id = theAgentId('add', positionals);
  const format = oneOf('format', values.format, FORMATS, 'text');
  const rotate = values.rotate === true;
  const stateDir = resolveStateDir(values['state-dir']);
  checkAgentId(id);
  // The key first: if it cannot be read, no token is issued that nobody will ever see.
  let key: ControllerKey;
  try {
    key = await loadOrCreateControllerKey(stateDir);
  } catch (err) {
    io.stderr.write(`versiond agents add: ${printable((err as Error).message)}\n`);
    return EXIT.findings;
  }
  const credentials = await AgentCredentials.open(stateDir);
  let token: string;
  try {
    token = await credentials.add(id, { rotate });
  } catch (err) {
    if (err instanceof AgentExistsError) {
      io.stderr.write(`versiond agents add: agent ${id} already has a token; \`versiond agents add ${id} --rotate\` replaces it\n`);
      return EXIT.findings;
    }
    throw err;
  }
  if (format === 'json') {
    const controllerKey = { algorithm: 'ed25519', publicKey: key.publicKeyBase64 };
    io.stdout.write(`${safeJson({ agent: id, token, rotated: rotate, controllerKey, stateDir }, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    [
      rotate
        ? `New token for agent ${id}; the old one no longer works (a running controller notices within a second):`
        : `Token for agent ${id}:`,
      '',
      token,
      '',
      'It is shown only this once: versiond keeps only its SHA-256. Give it to the agent as a',
      'file that only the agent\'s account can read (mode 0600), and start the agent with',
      '`--token-file FILE` — never the token itself on a command line, where other users see it:',
      '  install -m 600 /dev/null /etc/versiond/agent.token   # then paste the token into it',
      '',
      'Controller public key, for agents that accept pushed commands (`--controller-key`):',
      `  ${key.publicKeyBase64}`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

async function list(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseSubcommand(argv, { format: { type: 'string' }, 'state-dir': { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`list takes no argument, not ${JSON.stringify(positionals[0])}`);
  const format = oneOf('format', values.format, FORMATS, 'text');
  const credentials = await AgentCredentials.open(resolveStateDir(values['state-dir']));
  const agents = credentials.list();
  if (format === 'json') {
    io.stdout.write(`${safeJson({ file: credentials.file, agents }, 2)}\n`);
    return EXIT.ok;
  }
  // agents.json may be edited by hand: what it holds prints one line per agent, escaped.
  const file = quotePath(credentials.file);
  if (agents.length === 0) {
    io.stdout.write(printableLines([`no agents registered in ${file}`]));
    return EXIT.ok;
  }
  const width = Math.max('AGENT'.length, ...agents.map((a) => a.id.length));
  io.stdout.write(
    printableLines([
      `${'AGENT'.padEnd(width)}  TOKEN ISSUED`,
      ...agents.map((a) => `${a.id.padEnd(width)}  ${a.createdAt}`),
      `${agents.length} agent${agents.length === 1 ? '' : 's'} in ${file}`,
    ]),
  );
  return EXIT.ok;
}

async function remove(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseSubcommand(argv, { 'state-dir': { type: 'string' } });
  const id = theAgentId('remove', positionals);
  const credentials = await AgentCredentials.open(resolveStateDir(values['state-dir']));
  await credentials.remove(id);
  io.stdout.write(`agent ${id} removed: its token no longer works (a running controller notices within a second)\n`);
  return EXIT.ok;
}

/**
 * \`parseFlags\` with positionals allowed: it refuses them, which is right for every other
 * command, but here the agent id is one.
 */
function parseSubcommand<T extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

function theAgentId(subcommand: string, positionals: readonly string[]): string {
  const [id, extra] = positionals;
  if (id === undefined) throw new UsageError(`${subcommand} needs the agent's id: versiond agents ${subcommand} <id>`);
  if (extra !== undefined) throw new UsageError(`${subcommand} takes one agent id, not also ${JSON.stringify(extra)}`);
  return id;
}
