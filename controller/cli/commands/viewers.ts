/**
 * `versiond viewers`: issues, rotates, lists and revokes the tokens of read-only viewers of
 * the web view and read API (issue 15). A viewer token (`vdv_…`) opens what the controller
 * shows, never the agents' endpoints, so a dashboard or a colleague can look without being
 * able to report or receive commands. Everything but `add`'s output is `versiond agents`'
 * (cli/credentials-cli.ts).
 */
import { safeJson } from '../../observability/printable.ts';
import { openViewerCredentials, VIEWER_CREDENTIALS } from '../../web/viewer-credentials.ts';
import { issueToken, parseAdd, runCredentialsCommand, type CredentialsCommand } from '../credentials-cli.ts';
import { EXIT, type Command, type Io } from '../usage.ts';

const HELP = `Usage: versiond viewers add <name> [--rotate] [--format text|json] [--state-dir DIR]
       versiond viewers list [--format text|json] [--state-dir DIR]
       versiond viewers remove <name> [--state-dir DIR]

A viewer token is read-only: it opens the controller's fleet view and read API, and
nothing else (it cannot report as an agent nor send a command). Each viewer (a person, a
dashboard) has its own, so one can be revoked without the others. The controller keeps
only each token's SHA-256, in <state dir>/viewers.json, outside the Git repository. \`add\`
shows a token once; it cannot be shown again (rotate it if it is lost). A running
controller sees added, rotated and removed viewers within a second, without a restart.

Subcommands:
  add <name>       issue a token for viewer <name> and print it
  list             the registered viewers and when their token was issued (never tokens)
  remove <name>    revoke viewer <name>'s token

A viewer name follows the rule of agent ids: letters, digits, '.', '_' and '-', starting
and ending with a letter or digit, at most 63 characters.

Flags:
  --rotate         add: replace the token of a viewer that has one; the old token stops
                   working
  --format FORMAT  add, list: text (default) or json
  --state-dir DIR  where the controller keeps its own state (default: $VERSIOND_STATE_DIR,
                   else $XDG_STATE_HOME/versiond, else ~/.local/state/versiond)
  -h, --help       this help

Exit codes: 0 done, 1 refused (add of a viewer that has a token, without --rotate; remove
of an unknown viewer; an unreadable viewers.json), 2 usage error.
`;

const VIEWERS: CredentialsCommand = {
  name: 'viewers',
  kind: VIEWER_CREDENTIALS,
  open: (stateDir) => openViewerCredentials(stateDir),
  add,
};

export const viewersCommand: Command = {
  name: 'viewers',
  summary: 'issue, rotate, list and revoke read-only tokens for the web view and read API',
  help: HELP,
  run: (argv: readonly string[], io: Io): Promise<number> => runCredentialsCommand(VIEWERS, argv, io),
};

async function add(argv: readonly string[], io: Io): Promise<number> {
  const { id: name, format, rotate, stateDir } = parseAdd(VIEWERS, argv);
  const credentials = await openViewerCredentials(stateDir);
  const token = await issueToken(VIEWERS, credentials, name, rotate, io);
  if (token === undefined) return EXIT.findings;
  if (format === 'json') {
    io.stdout.write(`${safeJson({ viewer: name, token, rotated: rotate, readOnly: true, stateDir }, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    [
      rotate
        ? `New token for viewer ${name}; the old one no longer works (a running controller notices within a second):`
        : `Token for viewer ${name}:`,
      '',
      token,
      '',
      'It is read-only: it reads the fleet view and the read API (GET /v1/…), and never sends',
      'a command nor reports as an agent.',
      'It is shown only this once: versiond keeps only its SHA-256. Keep it in a file only its',
      'user can read (mode 0600) and pass that, e.g. `versiond plan --observed URL --token-file',
      'FILE`, or set it in $VERSIOND_TOKEN — never the token itself on a command line, where',
      'other users see it.',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
