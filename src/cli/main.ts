// The daemonkit command: start, stop, restart, reload, status, list, logs, run and unit of
// any program as a service, on the same launcher as daemonize() (docs/design.md). Each
// command is a file of its own; this one dispatches and turns a refusal into one line and
// its exit code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError, describeError } from '../errors';
import { say } from './io';
import { logsCommand } from './logs-command';
import { reloadCommand } from './reload-command';
import { runCommand } from './run-command';
import { startCommand } from './start-command';
import { listCommand, statusCommand } from './status-command';
import { restartCommand, stopCommand } from './stop-command';
import { unitCommand } from './unit-command';
import { USAGE } from './usage';

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  start: startCommand,
  stop: stopCommand,
  restart: restartCommand,
  reload: reloadCommand,
  status: statusCommand,
  list: listCommand,
  logs: logsCommand,
  run: runCommand,
  unit: unitCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-v') {
      say(1, JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
      return 0;
    }
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      say(command === undefined ? 2 : 1, USAGE);
      return command === undefined ? 2 : 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run === undefined) throw new OptionError(`unknown command '${command}'; see daemonkit --help`);
    return await run(rest);
  } catch (err) {
    const text = describeError(err);
    say(2, `daemonkit: ${text}${/^Unknown option /.test(text) ? `; see daemonkit ${command} --help` : ''}`);
    // By its code, not its class: the library (./index.js) has its own copy of the classes.
    const code = (err as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
}
