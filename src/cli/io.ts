// What every command shares: reading its flags (util.parseArgs, strict) and saying one line.
import { writeSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OptionError } from '../errors';

type Parsed<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>>;

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: boolean): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (err) {
    // One line, as every other refusal: parseArgs adds a hint about positionals.
    throw new OptionError((err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
  }
}

/** Writes text and a newline, synchronously: a command's last words are not lost at exit. */
export function say(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text.endsWith('\n') ? text : `${text}\n`);
  } catch {
    // nobody is reading
  }
}
