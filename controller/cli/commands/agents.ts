/**
 * `versiond agents`: issues, rotates, lists and revokes the agents' tokens (issue 4). What it
 * shares with `versiond viewers` is in cli/credentials-cli.ts; `add` is its own, since an
 * agent that accepts pushed commands also needs the controller's public key.
 */
import { AGENT_CREDENTIALS, AgentCredentials } from '../../agents/agent-credentials.ts';
import { loadOrCreateControllerKey, type ControllerKey } from '../../agents/controller-key.ts';
import { printable, safeJson } from '../../observability/printable.ts';
import { issueToken, parseAdd, runCredentialsCommand, type CredentialsCommand } from '../credentials-cli.ts';
import { agentConfig, readEnrolment, writeSecretFile } from '../agent-enrolment.ts';
import { EXIT, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond agents add <id> [--rotate] [--format text|json] [--state-dir DIR]
                           [--controller-url URL] [--ca FILE] [--agent-token-file PATH]
                           [--config-out FILE]
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
  --controller-url URL
                   add: the controller as agents reach it (https://versiond.example.com:8443);
                   it goes into the agent configuration printed with the token
                   (default: $VERSIOND_CONTROLLER_URL)
  --ca FILE        add: the PEM CA certificate agents trust for the controller, copied into
                   the agent configuration (when the controller serves TLS)
  --agent-token-file PATH
                   add: where the token file will be on the agent's machine
                   (default: /etc/versiond-agent/token)
  --config-out FILE
                   add: also write the agent configuration to FILE (mode 0600), ready for
                   \`versiond-agent --config FILE\`
  --format FORMAT  add, list: text (default) or json
  --state-dir DIR  where the controller keeps its own state (default: $VERSIOND_STATE_DIR,
                   else $XDG_STATE_HOME/versiond, else ~/.local/state/versiond)
  -h, --help       this help

Exit codes: 0 done, 1 refused (add of an agent that has a token, without --rotate; remove
of an unknown agent; an unreadable agents.json), 2 usage error.
`;

const AGENTS: CredentialsCommand = {
  name: 'agents',
  kind: AGENT_CREDENTIALS,
  open: (stateDir) => AgentCredentials.open(stateDir),
  add,
};

export const agentsCommand: Command = {
  name: 'agents',
  summary: 'issue, rotate, list and revoke the tokens of agents',
  help: HELP,
  run: (argv: readonly string[], io: Io): Promise<number> => runCredentialsCommand(AGENTS, argv, io),
};

async function add(argv: readonly string[], io: Io): Promise<number> {
  const { flag, id, format, rotate, stateDir } = parseAdd(AGENTS, argv,
    ['controller-url', 'ca', 'agent-token-file', 'config-out']);
  // Everything the agent configuration needs is read before a token is issued that nobody would see.
  const enrolment = await readEnrolment({
    controllerUrl: flag('controller-url') ?? process.env['VERSIOND_CONTROLLER_URL'],
    caFile: flag('ca'),
    tokenFile: flag('agent-token-file'),
  });
  // The key first: if it cannot be read, no token is issued that nobody will ever see.
  let key: ControllerKey;
  try {
    key = await loadOrCreateControllerKey(stateDir);
  } catch (err) {
    io.stderr.write(`versiond agents add: ${printable((err as Error).message)}\n`);
    return EXIT.findings;
  }
  const credentials = await AgentCredentials.open(stateDir);
  const token = await issueToken(AGENTS, credentials, id, rotate, io);
  if (token === undefined) return EXIT.findings;
  const config = agentConfig(id, key.publicKeyBase64, enrolment);
  const configText = `${JSON.stringify(config, null, 2)}\n`;
  const configOut = flag('config-out');
  if (configOut !== undefined) await writeSecretFile(configOut, configText);
  if (format === 'json') {
    const controllerKey = { algorithm: 'ed25519', publicKey: key.publicKeyBase64 };
    io.stdout.write(`${safeJson({ agent: id, token, rotated: rotate, controllerKey, stateDir, config }, 2)}\n`);
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
      configOut !== undefined
        ? `Agent configuration, also written to ${printable(configOut)} (\`versiond-agent --config FILE\`):`
        : 'Agent configuration, for `versiond-agent --config FILE` (the token goes in its own file, tokenFile):',
      configText,
      ...(enrolment.controller === undefined
        ? ['No --controller-url (or $VERSIOND_CONTROLLER_URL) was given: set "controller" before using it.', '']
        : []),
    ].join('\n'),
  );
  return EXIT.ok;
}
