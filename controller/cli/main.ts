import { agentsCommand } from './commands/agents.ts';
import { auditCommand } from './commands/audit.ts';
import { planCommand } from './commands/plan.ts';
import { runCommand } from './commands/run.ts';
import { validateCommand } from './commands/validate.ts';
import { EXIT, UsageError, type Command, type Io } from './usage.ts';

const COMMANDS: readonly Command[] = [runCommand, validateCommand, planCommand, auditCommand, agentsCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'versiond — GitOps for software versions across fleets of servers and devices',
    '',
    'Usage: versiond <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `versiond <command> --help` for a command\'s flags.',
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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`versiond: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
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
      io.stderr.write(`versiond ${command.name}: ${err.message}\nRun \`versiond ${command.name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
