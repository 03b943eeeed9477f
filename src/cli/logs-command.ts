// daemonkit logs: the last lines of a service's log file, and with -f what follows, across
// rotations (rename and copytruncate).
import { join } from 'node:path';
import { OptionError, describeError } from '../errors';
import { defaultLogDir, follow, lastLines, pidFileOf, serviceStatus } from '../index';
import { parse, say } from './io';
import { USAGE } from './usage';

export async function logsCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { name: { type: 'string' }, 'log-file': { type: 'string' }, lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) return say(1, USAGE), 0;
  // `daemonkit logs -f | head`: the reader left, which ends us as it ends tail(1).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(0) : undefined));
  if (values.name === undefined && values['log-file'] === undefined) throw new OptionError('give --name or --log-file');
  const path = values['log-file'] ?? serviceStatus(pidFileOf(values.name!), values.name).logFile ?? join(defaultLogDir(), `${values.name}.log`);
  const lines = values.lines === undefined ? 10 : Number(values.lines);
  if (!Number.isSafeInteger(lines) || lines < 0) throw new OptionError(`-n must be a number of lines, got '${values.lines}'`);
  let end: number;
  try {
    const last = lastLines(path, lines);
    process.stdout.write(last.text);
    end = last.size;
  } catch (err) {
    throw new OptionError(`cannot read the log file ${path}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}; check --name or --log-file`);
  }
  if (!values.follow) return 0;
  const stop = follow(path, (text) => process.stdout.write(text), end);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
  });
  stop();
  return 0;
}
