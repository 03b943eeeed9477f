// The command line of each command, read with util.parseArgs (strict: an unknown flag is an
// error naming it). Durations are seconds, or a number with ms, s or min.
import type { ParseArgsConfig } from 'node:util';
import { OptionError } from '../errors';

export const START_OPTIONS = {
  name: { type: 'string' },
  'pid-file': { type: 'string' },
  'log-file': { type: 'string' },
  cwd: { type: 'string' },
  umask: { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string' },
  rlimit: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  'env-file': { type: 'string' },
  listen: { type: 'string', multiple: true },
  ready: { type: 'string' },
  'ready-timeout': { type: 'string' },
  restart: { type: 'string' },
  'restart-delay': { type: 'string' },
  backoff: { type: 'string' },
  'max-restarts': { type: 'string' },
  'restart-window': { type: 'string' },
  'success-exit-codes': { type: 'string' },
  'stop-signal': { type: 'string' },
  'stop-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const SELECT_OPTIONS = {
  name: { type: 'string' },
  'pid-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Seconds ("10", "1.5"), or with a unit ("500ms", "10s", "2min"), as milliseconds. */
export function duration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(text);
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'min' ? 60_000 : 1000);
  if (!(ms > 0) || ms > 2 ** 31 - 1) throw new OptionError(`${flag} must be a duration such as 10, 10s, 500ms or 2min, got '${text}'`);
  return Math.round(ms);
}
