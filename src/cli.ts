#!/usr/bin/env node
// The daemonkit command. start/stop/status/... arrive with the CLI issue; for now it answers
// --version and --help, and says so for anything else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `Usage: daemonkit [--version] [--help]

daemonkit gives Node.js programs real Unix daemon semantics.
The commands start, stop, restart, reload, status, list, logs, run and unit are not
implemented in this version; use the library API (see README.md).`;

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`daemonkit: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.version) {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return parsed.values.help ? 0 : 2;
  }
  process.stderr.write(`daemonkit: unknown command '${parsed.positionals[0]}' (not implemented yet); see daemonkit --help\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
