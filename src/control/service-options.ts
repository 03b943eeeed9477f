// What the daemonkit command (and start() for programs) is asked to run, in the command's
// own words, resolved to the launcher's plan and command. Flags and config keys are the same
// names (--pid-file, pidFile); every rejection is one OptionError naming the input (exit 2).
import { accessSync, readFileSync, constants as fsConstants } from 'node:fs';
import { basename, join } from 'node:path';
import { OptionError } from '../errors';
import type { Command } from '../start/launcher';
import { resolveOptions, shown, type DaemonizeOptions, type ListenOptions, type Plan } from '../start/options';
import { defaultLogDir, defaultRunDir } from './paths';

export interface ServiceOptions {
  /** The program and its arguments. */
  command: string[];
  name?: string;
  pidFile?: string;
  logFile?: string;
  cwd?: string;
  umask?: string | number;
  user?: string | number;
  group?: string | number;
  /** NAME=SOFT[:HARD] strings, or { nofile: 4096 } as for daemonize(). */
  rlimits?: string[] | Record<string, number | { soft?: number; hard?: number }>;
  /** KEY=VALUE strings, or an object. */
  env?: string[] | Record<string, string>;
  envFile?: string;
  /** [HOST:]PORT or a Unix socket path. */
  listen?: string[];
  /** exec, notify, or tcp:[HOST:]PORT (default notify). */
  ready?: string;
  /** Milliseconds (default 30 000). */
  readyTimeout?: number;
  restart?: 'never';
}

export interface Resolved {
  plan: Plan;
  command: Command;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

export function resolveService(o: ServiceOptions, env: NodeJS.ProcessEnv = process.env): Resolved {
  if (!Array.isArray(o.command) || o.command.length === 0 || o.command.some((a) => typeof a !== 'string')) {
    throw new OptionError('no program to run: give it after --, e.g. daemonkit start -- node server.js');
  }
  const [file, ...args] = o.command;
  const name = o.name ?? basename(file);
  // The name becomes a file name in the run directory: no slashes, no dot files.
  if (!NAME.test(name)) throw new OptionError(`--name must be letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got ${shown(name)}`);
  if (o.restart !== undefined && o.restart !== 'never') throw new OptionError(`--restart ${shown(o.restart)} is not supported yet; use never`);

  const options: DaemonizeOptions = {
    name,
    pidFile: o.pidFile ?? join(defaultRunDir(env), `${name}.pid`),
    logFile: o.logFile ?? join(defaultLogDir(env), `${name}.log`),
    cwd: o.cwd,
    umask: o.umask,
    user: o.user,
    group: o.group,
    rlimits: rlimits(o.rlimits),
    listen: o.listen?.map(listen),
    env: { ...(o.envFile === undefined ? {} : envFile(o.envFile)), ...keyValues(o.env, '--env') },
    readyTimeout: o.readyTimeout,
  };
  const plan = resolveOptions(options, name);
  return { plan, command: { file: executable(file, env), args, env, ready: readiness(o.ready) } };
}

function executable(file: string, env: NodeJS.ProcessEnv): string {
  const candidates = file.includes('/') ? [file] : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean).map((d) => join(d, file));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // the next one
    }
  }
  throw new OptionError(file.includes('/') ? `${file} is not an executable file (the program); check the path and its mode` : `${file}: command not found in PATH (the program); give its path`);
}

function readiness(ready: string | undefined): Command['ready'] {
  if (ready === undefined || ready === 'notify') return 'notify';
  if (ready === 'exec') return 'exec';
  const tcp = /^tcp:(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(ready);
  if (tcp !== null && Number(tcp[2]) > 0 && Number(tcp[2]) < 65536) {
    return { host: tcp[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port: Number(tcp[2]) };
  }
  throw new OptionError(`--ready must be exec, notify or tcp:[HOST:]PORT, got ${shown(ready)}`);
}

function listen(spec: string): ListenOptions {
  if (typeof spec !== 'string') throw new OptionError(`--listen must be [HOST:]PORT or a socket path, got ${shown(spec)}`);
  if (spec.startsWith('/') || spec.startsWith('@') || spec.startsWith('.')) return { path: spec };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(spec);
  if (m === null || Number(m[2]) > 65535) throw new OptionError(`--listen must be [HOST:]PORT (a numeric address) or a socket path, got ${shown(spec)}`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '::', port: Number(m[2]) };
}

function keyValues(list: string[] | Record<string, string> | undefined, flag: string): Record<string, string> {
  if (list === undefined) return {};
  if (!Array.isArray(list)) return list;
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new OptionError(`${flag} must be KEY=VALUE, got ${shown(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function rlimits(list: ServiceOptions['rlimits']): DaemonizeOptions['rlimits'] {
  if (list === undefined || !Array.isArray(list)) return list;
  const out: NonNullable<DaemonizeOptions['rlimits']> = {};
  for (const item of list) {
    const m = /^([a-z]+)=(\d+|infinity|unlimited)(?::(\d+|infinity|unlimited))?$/.exec(item);
    if (m === null) throw new OptionError(`--rlimit must be NAME=SOFT[:HARD] (numbers or infinity), e.g. nofile=4096:8192, got ${shown(item)}`);
    const value = (v: string) => (v === 'infinity' || v === 'unlimited' ? Infinity : Number(v));
    out[m[1]] = { soft: value(m[2]), hard: value(m[3] ?? m[2]) };
  }
  return out;
}

/** KEY=VALUE lines, as systemd's EnvironmentFile=: # comments and blank lines skipped. */
function envFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError(`cannot read --env-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`);
  }
  const out: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new OptionError(`--env-file ${path}, line ${i + 1}: not KEY=VALUE`);
    out[t.slice(0, eq).replace(/^export\s+/, '')] = t.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
  });
  return out;
}
