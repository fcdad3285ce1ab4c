import { printable } from '../observability/printable.ts';
import { agentsCommand } from './commands/agents.ts';
import { auditCommand } from './commands/audit.ts';
import { planCommand } from './commands/plan.ts';
import { runCommand } from './commands/run.ts';
import { validateCommand } from './commands/validate.ts';
import { viewersCommand } from './commands/viewers.ts';
import { EXIT, UsageError, type Command, type Io } from './usage.ts';
import { versiondVersion } from './version.ts';

const COMMANDS: readonly Command[] = [
  runCommand, validateCommand, planCommand, auditCommand, agentsCommand, viewersCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'versiond — GitOps for software versions across fleets of servers and devices',
    '',
    'Usage: versiond <command> [flags]',
    '       versiond --version | -V',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `versiond <command> --help` for a command\'s flags; `versiond --version` (-V) prints',
    'the version.',
    'Exit codes: 0 ok, 1 findings (invalid input, failed checks), 2 usage error.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`versiond ${versiondVersion()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`versiond: unknown command ${printable(JSON.stringify(name))}\n\n${overview()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      const message = printable(err.message);
      io.stderr.write(`versiond ${command.name}: ${message}\nRun \`versiond ${command.name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
