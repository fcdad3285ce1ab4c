/**
 * What `versiond agents` and `versiond viewers` share: both manage tokens kept hashed by
 * AgentCredentials, only of another kind (agents.json, viewers.json). The subcommand
 * dispatch, the id argument, `list`, `remove` and the refusal of an `add` without `--rotate`
 * live here once, so the two commands behave alike and say the same things; only `add`'s
 * output differs (an agent needs the controller's key, a viewer needs to know it only reads).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  AgentCredentials,
  AgentExistsError,
  AgentIdError,
  AgentsFileError,
  AgentsLockError,
  checkCredentialId,
  UnknownAgentError,
  type CredentialKind,
} from '../agents/agent-credentials.ts';
import { printable, printableLines, quotePath, safeJson } from '../observability/printable.ts';
import { resolveStateDir } from './state-dir.ts';
import { EXIT, oneOf, UsageError, type Io } from './usage.ts';

export const CREDENTIAL_FORMATS = ['text', 'json'] as const;

/** One of the token-managing commands. */
export interface CredentialsCommand {
  /** `agents`, `viewers`: the command's name, and the plural of `kind.noun`. */
  readonly name: string;
  readonly kind: CredentialKind;
  readonly open: (stateDir: string) => Promise<AgentCredentials>;
  readonly add: (argv: readonly string[], io: Io) => Promise<number>;
}

/**
 * Runs `add`, `list` or `remove`. A refusal (an id that has a token, an unknown id, an
 * unreadable file, a held lock) exits 1 with the message; an invalid id is a usage error.
 */
export async function runCredentialsCommand(
  command: CredentialsCommand,
  argv: readonly string[],
  io: Io,
): Promise<number> {
  const [subcommand, ...rest] = argv;
  try {
    switch (subcommand) {
      case 'add':
        return await command.add(rest, io);
      case 'list':
        return await listCredentials(command, rest, io);
      case 'remove':
        return await removeCredential(command, rest, io);
      default:
        if (subcommand === undefined || subcommand.startsWith('-')) {
          throw new UsageError('which one: add, list or remove?');
        }
        throw new UsageError(`unknown subcommand ${JSON.stringify(subcommand)}: add, list or remove`);
    }
  } catch (err) {
    if (err instanceof AgentIdError) throw new UsageError(err.message);
    if (
      err instanceof AgentExistsError ||
      err instanceof UnknownAgentError ||
      err instanceof AgentsFileError ||
      err instanceof AgentsLockError
    ) {
      io.stderr.write(`versiond ${command.name} ${subcommand ?? ''}: ${printable(err.message)}\n`);
      return EXIT.findings;
    }
    throw err;
  }
}

/**
 * `parseFlags` with positionals allowed: it refuses them, which is right for every other
 * command, but here the agent id (viewer name) is one.
 */
export function parseSubcommand<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

const ADD_OPTIONS = {
  rotate: { type: 'boolean' },
  format: { type: 'string' },
  'state-dir': { type: 'string' },
} as const;

/**
 * What every `add` reads first: its flags (the shared ones and its own string flags), the id,
 * the format, --rotate and the state dir.
 */
export function parseAdd(command: CredentialsCommand, argv: readonly string[], own: readonly string[] = []) {
  const options: NonNullable<ParseArgsConfig['options']> = { ...ADD_OPTIONS };
  for (const flag of own) options[flag] = { type: 'string' };
  const { values, positionals } = parseSubcommand(argv, options);
  const flag = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  return {
    /** The string value of one of `own`'s flags. */
    flag,
    id: theId(command, 'add', positionals),
    format: oneOf('format', flag('format'), CREDENTIAL_FORMATS, 'text'),
    rotate: values['rotate'] === true,
    stateDir: resolveStateDir(flag('state-dir')),
  };
}

/** The one positional of `add` and `remove`, checked against the name rule before anything is read or made. */
export function theId(command: CredentialsCommand, subcommand: string, positionals: readonly string[]): string {
  const { noun, idWord } = command.kind;
  const [id, extra] = positionals;
  if (id === undefined) {
    const usage = `versiond ${command.name} ${subcommand} <${idWord}>`;
    throw new UsageError(`${subcommand} needs the ${noun}'s ${idWord}: ${usage}`);
  }
  if (extra !== undefined) {
    throw new UsageError(`${subcommand} takes one ${noun} ${idWord}, not also ${JSON.stringify(extra)}`);
  }
  checkCredentialId(id, `${noun} ${idWord}`);
  return id;
}

/**
 * Issues (or with `rotate` replaces) the token of `id`; undefined, after saying why and how
 * to rotate, when it already has one.
 */
export async function issueToken(
  command: CredentialsCommand,
  credentials: AgentCredentials,
  id: string,
  rotate: boolean,
  io: Io,
): Promise<string | undefined> {
  try {
    return await credentials.add(id, { rotate });
  } catch (err) {
    if (err instanceof AgentExistsError) {
      const again = `versiond ${command.name} add ${id} --rotate`;
      const noun = command.kind.noun;
      io.stderr.write(`versiond ${command.name} add: ${noun} ${id} already has a token; \`${again}\` replaces it\n`);
      return undefined;
    }
    throw err;
  }
}

async function listCredentials(command: CredentialsCommand, argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseSubcommand(argv, {
    format: { type: 'string' },
    'state-dir': { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`list takes no argument, not ${JSON.stringify(positionals[0])}`);
  const format = oneOf('format', values.format, CREDENTIAL_FORMATS, 'text');
  const credentials = await command.open(resolveStateDir(values['state-dir']));
  const holders = credentials.list();
  const { noun } = command.kind;
  const plural = `${noun}s`;
  if (format === 'json') {
    io.stdout.write(`${safeJson({ file: credentials.file, [plural]: holders }, 2)}\n`);
    return EXIT.ok;
  }
  // The file may be edited by hand: what it holds prints one line per id, escaped.
  const file = quotePath(credentials.file);
  if (holders.length === 0) {
    io.stdout.write(printableLines([`no ${plural} registered in ${file}`]));
    return EXIT.ok;
  }
  const heading = noun.toUpperCase();
  const width = Math.max(heading.length, ...holders.map((a) => a.id.length));
  io.stdout.write(
    printableLines([
      `${heading.padEnd(width)}  TOKEN ISSUED`,
      ...holders.map((a) => `${a.id.padEnd(width)}  ${a.createdAt}`),
      `${holders.length} ${holders.length === 1 ? noun : plural} in ${file}`,
    ]),
  );
  return EXIT.ok;
}

async function removeCredential(command: CredentialsCommand, argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseSubcommand(argv, { 'state-dir': { type: 'string' } });
  const id = theId(command, 'remove', positionals);
  const credentials = await command.open(resolveStateDir(values['state-dir']));
  await credentials.remove(id);
  const { noun } = command.kind;
  io.stdout.write(`${noun} ${id} removed: its token no longer works (a running controller notices within a second)\n`);
  return EXIT.ok;
}
