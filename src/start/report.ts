// How a start speaks to the person who ran it: one line on the terminal and an exit code
// (0 started, 1 failed to start, 2 invalid options, 3 already running).
import { writeSync } from 'node:fs';
import { DaemonizeError, describeError } from '../errors';

/** Names and paths with a control character are shown escaped, never printed as they are. */
export const printable = (text: string) => !/[\x00-\x1f\x7f]/.test(text);

/** Synchronous, so nothing is lost to process.exit() where stdio pipes are asynchronous. */
export function say(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // nobody is reading
  }
}

export function exitWith(name: string, err: unknown, fallbackCode: number): never {
  const code = err instanceof DaemonizeError ? err.exitCode : fallbackCode;
  const bare = err instanceof DaemonizeError && err.bare;
  say(2, `${bare ? '' : `${name}: `}${describeError(err)}\n`);
  process.exit(code);
}
