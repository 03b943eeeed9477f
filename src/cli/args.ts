// The command line of each command, read with util.parseArgs (strict: an unknown flag is an
// error naming it), and the start options turned into ServiceOptions. Durations are seconds,
// or a number with ms, s or min.
import type { ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { OptionError } from '../errors';
import { defaultRunDir, pidFileOf, readConfig, type ServiceOptions } from '../index';
import { parse } from './io';

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
  reload: { type: 'string' },
  config: { type: 'string' },
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

/** --restart-delay is in milliseconds (a plain number), or with a unit. */
function milliseconds(text: string, flag: string): number {
  return /^\d+$/.test(text) ? Number(text) : duration(text, flag);
}

function number(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new OptionError(`${flag} must be a number, got '${text}'`);
  return n;
}

export interface StartArgs {
  /** Only the options given as flags: a config file's values stand where a flag is absent. */
  flags: Partial<ServiceOptions>;
  config?: string;
  help: boolean;
}

/** `[options] -- <program> [args...]`, as start, run and unit take it. */
export function startArgs(args: string[], command: string): StartArgs {
  const dash = args.indexOf('--');
  const { values: v, positionals } = parse(dash < 0 ? args : args.slice(0, dash), START_OPTIONS, true);
  if (v.help) return { flags: {}, help: true };
  if (positionals.length > 0) throw new OptionError(`'${positionals[0]}' before --: give the program after --, e.g. daemonkit ${command} -- ${positionals.join(' ')}`);
  if (dash < 0 && v.config === undefined) throw new OptionError(`no program to run: give it after --, e.g. daemonkit ${command} -- node server.js, or give --config FILE`);
  const given = {
    command: dash < 0 || dash === args.length - 1 ? undefined : args.slice(dash + 1),
    name: v.name,
    pidFile: v['pid-file'],
    logFile: v['log-file'],
    cwd: v.cwd,
    umask: v.umask,
    user: v.user,
    group: v.group,
    rlimits: v.rlimit,
    env: v.env,
    envFile: v['env-file'],
    listen: v.listen,
    ready: v.ready,
    readyTimeout: v['ready-timeout'] === undefined ? undefined : duration(v['ready-timeout'], '--ready-timeout'),
    restart: v.restart as ServiceOptions['restart'],
    restartDelay: v['restart-delay'] === undefined ? undefined : milliseconds(v['restart-delay'], '--restart-delay'),
    backoff: v.backoff === undefined ? undefined : number(v.backoff, '--backoff'),
    maxRestarts: v['max-restarts'] === undefined ? undefined : number(v['max-restarts'], '--max-restarts'),
    restartWindow: v['restart-window'] === undefined ? undefined : duration(v['restart-window'], '--restart-window'),
    successExitCodes: v['success-exit-codes']?.split(/[ ,]+/).filter(Boolean).map((c) => number(c, '--success-exit-codes')),
    stopSignal: v['stop-signal'],
    stopTimeout: v['stop-timeout'] === undefined ? undefined : duration(v['stop-timeout'], '--stop-timeout'),
    reload: v.reload,
  };
  const flags: Partial<ServiceOptions> = {};
  for (const [k, value] of Object.entries(given)) if (value !== undefined) (flags as Record<string, unknown>)[k] = value;
  if (dash >= 0 && flags.command === undefined) throw new OptionError(`no program to run after --: give it, e.g. daemonkit ${command} -- node server.js`);
  return { flags, config: v.config, help: false };
}

export interface Selected {
  name?: string;
  pidFile: string;
}

export function selected(values: { name?: string; 'pid-file'?: string }): Selected {
  if (values.name === undefined && values['pid-file'] === undefined) throw new OptionError('give --name or --pid-file');
  return { name: values.name, pidFile: values['pid-file'] ?? pidFileOf(values.name!, defaultRunDir()) };
}

/**
 * The services to act on: the config's, with the flags over each ("flags win"). Flags that
 * name one service cannot apply to several.
 */
export function withFlags(services: ServiceOptions[], flags: Partial<ServiceOptions>): ServiceOptions[] {
  if (services.length > 1) {
    for (const [key, flag] of [['name', '--name'], ['pidFile', '--pid-file'], ['logFile', '--log-file'], ['command', 'a program after --']] as const) {
      if (flags[key] !== undefined) throw new OptionError(`${flag} names one service and --config has ${services.length}; set it in each service of the file`);
    }
  }
  return services.map((s) => ({ ...s, ...flags }) as ServiceOptions);
}

/**
 * The services a start, run or unit command is about: the flags' one, or the config's with
 * the flags over each. The program's directory is the one the command runs in unless --cwd
 * (or the config file, whose directory it is otherwise) says another, as pm2 does: relative
 * arguments such as `server.js` mean what they mean where it was typed.
 */
export function servicesOf(flags: Partial<ServiceOptions>, config: string | undefined): ServiceOptions[] {
  // Paths given as flags are the typist's, made absolute now: the state file keeps them for
  // restart, which may be typed elsewhere.
  const here = (path: string | undefined) => (path === undefined ? undefined : resolve(path));
  const absolute: Partial<ServiceOptions> = { ...flags };
  for (const key of ['pidFile', 'logFile', 'envFile', 'cwd'] as const) if (flags[key] !== undefined) absolute[key] = here(flags[key]);
  if (flags.listen !== undefined) absolute.listen = flags.listen.map((l) => (l.startsWith('.') ? resolve(l) : l));
  const services = config === undefined ? [absolute as ServiceOptions] : withFlags(readConfig(config), absolute);
  return services.map((s) => ({ ...s, cwd: s.cwd ?? process.cwd() }));
}
