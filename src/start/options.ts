// daemonize() options, checked and resolved to numbers before anything is opened or forked
// (docs/design.md, "The start", options). Every rejection is an
// OptionError: one line naming the option and what to give instead, exit code 2.
import { isAbsolute, resolve } from 'node:path';
import { OptionError, describeError } from '../errors';
import { resolveCredentials, lookupUser, type Credentials } from '../os/identity';
import { rlimitNames, type Rlimit } from '../os/rlimit';
import { ipFamily } from '../os/socket';

/** One socket for daemonize() to bind: `port` (and `host`) for TCP, or `path` for Unix. */
export interface ListenOptions {
  /** TCP port (0 for any free one). */
  port?: number;
  /** Numeric address for TCP (default '::'). */
  host?: string;
  /** Unix socket path, or '@name' for an abstract socket. */
  path?: string;
  /** File mode of a Unix socket (chmod after bind). */
  mode?: number;
  /** listen(2) backlog (default 511). */
  backlog?: number;
  /** For an IPv6 host: IPV6_V6ONLY (default false). */
  ipv6Only?: boolean;
}

/** What daemonize() sets up before the program runs on as the daemon; all optional. */
export interface DaemonizeOptions {
  /** Locked for the daemon's whole life; holds `pid\n`. */
  pidFile?: string;
  /** stdout and stderr appended to this file (default /dev/null). */
  logFile?: string;
  /** stdout alone (instead of logFile). */
  stdout?: string;
  /** stderr alone (instead of logFile). */
  stderr?: string;
  /** Working directory of the daemon (default '/'); inside the new root with chroot. */
  cwd?: string;
  /** File mode creation mask (default 0o022). */
  umask?: number | string;
  /** Drop to this user (name or uid) after binding; supplementary groups are the user's. */
  user?: string | number;
  /** Primary group instead of the user's. */
  group?: string | number;
  /** Resource limits by name: a number sets soft and hard, or { soft, hard }. */
  rlimits?: Record<string, number | Partial<Rlimit>>;
  /** Sockets bound before the drop, handed over as `listeners`: `{ port, host? }` or `{ path, mode? }`. */
  listen?: ListenOptions[];
  /** How long the launcher waits for ready() (default 30 000 ms). */
  readyTimeout?: number;
  /** How long the shutdown hooks may take together before a forced exit (default 10 000 ms). */
  shutdownTimeout?: number;
  /** Exit code after an uncaught exception or unhandled rejection once ready (default 1). */
  errorExitCode?: number;
  /** Do not fork: for debugging, containers and supervisors. */
  foreground?: boolean;
  /** PR_SET_NO_NEW_PRIVS (Linux). */
  noNewPrivileges?: boolean;
  /** chroot into this directory before dropping privileges. */
  chroot?: string;
  /** Added to the daemon's environment. */
  env?: Record<string, string>;
  /** chown the PID file to this user (name or uid) so the service can remove it. */
  pidFileOwner?: string | number;
  /** Used in messages (default: the script's base name). */
  name?: string;
}

export type ListenPlan =
  | { kind: 'tcp'; host: string; port: number; backlog?: number; ipv6Only?: boolean }
  | { kind: 'unix'; path: string; mode?: number; backlog?: number };

export interface Plan {
  name: string;
  pidFile?: string;
  stdoutPath?: string;
  stderrPath?: string;
  stdoutOption: string;
  cwd: string;
  umask: number;
  credentials?: Credentials;
  pidFileOwner?: { uid: number; gid: number };
  noNewPrivileges: boolean;
  chroot?: string;
  rlimits: [string, Partial<Rlimit>][];
  listen: ListenPlan[];
  readyTimeout: number;
  shutdownTimeout: number;
  errorExitCode: number;
  foreground: boolean;
  env: Record<string, string>;
}

const KNOWN = new Set([
  'pidFile', 'logFile', 'stdout', 'stderr', 'cwd', 'umask', 'user', 'group', 'rlimits', 'listen', 'readyTimeout',
  'shutdownTimeout', 'errorExitCode', 'foreground', 'noNewPrivileges', 'chroot', 'env', 'pidFileOwner', 'name',
]);

/**
 * A value as the user wrote it, for "got ..." in messages: JSON where JSON can say it, and
 * NaN, Infinity, undefined, bigints and functions as themselves (JSON would print null).
 */
export function shown(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return value.toString();
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value); // a cycle
  }
}

// Node.js itself needs about 20 descriptors to start and serve (measured: it aborts below
// ~14 and cannot listen below ~20); beyond that, the program's own files and connections.
export const MIN_NOFILE = 64;

function path(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new OptionError(`${option} must be a file path (a non-empty string without NUL bytes), got ${shown(value)}`);
  }
  // Paths are quoted in messages and log lines: a newline in one would forge a line.
  if (/[\x00-\x1f\x7f]/.test(value)) throw new OptionError(`${option} must be a path without control characters, got ${shown(value)}`);
  return isAbsolute(value) ? value : resolve(value);
}

function bool(value: unknown, option: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new OptionError(`${option} must be true or false, got ${shown(value)}`);
  return value;
}

function milliseconds(value: unknown, option: string, fallback: number): number {
  const ms = value ?? fallback;
  // Timers take at most 2^31-1 ms (~24.8 days); beyond, Node would silently use 1 ms.
  if (typeof ms !== 'number' || !(ms > 0) || ms > 2 ** 31 - 1) {
    throw new OptionError(`${option} must be a number of milliseconds from 1 to ${2 ** 31 - 1}, got ${shown(value)}`);
  }
  return ms;
}

function identity<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new OptionError(describeError(err));
  }
}

export function resolveOptions(o: DaemonizeOptions, name: string): Plan {
  if (typeof o !== 'object' || o === null) throw new OptionError('options must be an object');
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new OptionError(`unknown option '${key}'; known options: ${[...KNOWN].join(', ')}`);
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new OptionError(`name must be a non-empty string, got ${shown(o.name)}`);
  }
  // The name starts every line daemonkit writes: a newline in it would forge log lines.
  if (/[\x00-\x1f\x7f]/.test(name)) {
    const from = o.name === undefined ? ' (the script\'s name, by default)' : '';
    throw new OptionError(`name${from} must not contain control characters, got ${shown(name)}; give a plain name`);
  }

  const logFile = path(o.logFile, 'logFile');
  if (logFile !== undefined && (o.stdout !== undefined || o.stderr !== undefined)) {
    throw new OptionError('give either logFile or stdout/stderr, not both');
  }
  const stdoutPath = logFile ?? path(o.stdout, 'stdout');
  const stderrPath = logFile ?? path(o.stderr, 'stderr');

  let umask = 0o022;
  if (o.umask !== undefined) {
    const u = typeof o.umask === 'string' && /^[0-7]{1,4}$/.test(o.umask) ? parseInt(o.umask, 8) : o.umask;
    if (typeof u !== 'number' || !Number.isInteger(u) || u < 0 || u > 0o777) {
      throw new OptionError(`umask must be an octal mode between 0 and 0o777 (e.g. 0o022 or '022'), got ${shown(o.umask)}`);
    }
    umask = u;
  }

  if (o.group !== undefined && o.user === undefined) throw new OptionError('group needs user: give the user to run as');
  const credentials = o.user === undefined ? undefined : identity(() => resolveCredentials(o.user!, o.group));
  const pidFileOwner =
    o.pidFileOwner === undefined
      ? undefined
      : identity(() => {
          const u = lookupUser(o.pidFileOwner!);
          return { uid: u.uid, gid: u.gid };
        });

  const rlimits: [string, Partial<Rlimit>][] = [];
  if (o.rlimits !== undefined) {
    if (typeof o.rlimits !== 'object' || o.rlimits === null) throw new OptionError('rlimits must be an object like { nofile: 65535 }');
    for (const [key, value] of Object.entries(o.rlimits)) {
      if (!rlimitNames.includes(key)) {
        throw new OptionError(`rlimits.${key} is not a resource limit on ${process.platform}; use one of ${rlimitNames.join(', ')}`);
      }
      const limit = typeof value === 'number' ? { soft: value, hard: value } : value;
      const ok = (v: unknown) => v === undefined || v === Infinity || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
      if (typeof limit !== 'object' || limit === null || !ok(limit.soft) || !ok(limit.hard)) {
        throw new OptionError(`rlimits.${key} must be a number, Infinity or { soft, hard }, got ${shown(value)}`);
      }
      if (limit.soft !== undefined && limit.hard !== undefined && limit.soft > limit.hard) {
        throw new OptionError(`rlimits.${key}: soft limit ${limit.soft} is above hard limit ${limit.hard}`);
      }
      const lowest = key === 'nofile' ? Math.min(limit.soft ?? Infinity, limit.hard ?? Infinity) : Infinity;
      if (lowest < MIN_NOFILE) {
        throw new OptionError(`rlimits.nofile: ${lowest} descriptors are too few for Node.js to start and serve; ask for at least ${MIN_NOFILE}`);
      }
      rlimits.push([key, limit]);
    }
  }

  const listen: ListenPlan[] = [];
  if (o.listen !== undefined) {
    if (!Array.isArray(o.listen)) throw new OptionError('listen must be an array like [{ port: 80 }, { path: "/run/app.sock" }]');
    o.listen.forEach((l, i) => {
      const at = `listen[${i}]`;
      if (typeof l !== 'object' || l === null) throw new OptionError(`${at} must be an object with port (and host) or path`);
      if (l.backlog !== undefined && (!Number.isInteger(l.backlog) || l.backlog < 0)) throw new OptionError(`${at}.backlog must be a non-negative integer`);
      if (l.path !== undefined) {
        if (l.port !== undefined || l.host !== undefined) throw new OptionError(`${at}: give either path or port/host, not both`);
        const p = typeof l.path === 'string' && l.path.startsWith('@') ? l.path : path(l.path, `${at}.path`)!;
        if (l.mode !== undefined && (!Number.isInteger(l.mode) || l.mode < 0 || l.mode > 0o777)) throw new OptionError(`${at}.mode must be a file mode like 0o660, got ${shown(l.mode)}`);
        if (l.mode !== undefined && p.startsWith('@')) throw new OptionError(`${at}.mode does not apply to an abstract socket ('${p}' has no file); remove it`);
        if (l.ipv6Only !== undefined) throw new OptionError(`${at}.ipv6Only applies to TCP only; remove it`);
        listen.push({ kind: 'unix', path: p, mode: l.mode, backlog: l.backlog });
        return;
      }
      if (typeof l.port !== 'number' || !Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
        throw new OptionError(`${at}.port must be an integer from 0 to 65535, got ${shown(l.port)}`);
      }
      const host = l.host ?? '::';
      if (typeof host !== 'string' || ipFamily(host) === 0) {
        throw new OptionError(`${at}.host must be a numeric IPv4 or IPv6 address such as 0.0.0.0 or ::1, got ${shown(l.host)}`);
      }
      if (l.ipv6Only !== undefined && typeof l.ipv6Only !== 'boolean') throw new OptionError(`${at}.ipv6Only must be true or false, got ${shown(l.ipv6Only)}`);
      if (l.mode !== undefined) throw new OptionError(`${at}.mode applies to a Unix socket path only; remove it`);
      listen.push({ kind: 'tcp', host, port: l.port, backlog: l.backlog, ipv6Only: l.ipv6Only });
    });
  }

  const readyTimeout = milliseconds(o.readyTimeout, 'readyTimeout', 30_000);
  const shutdownTimeout = milliseconds(o.shutdownTimeout, 'shutdownTimeout', 10_000);
  const errorExitCode = o.errorExitCode ?? 1;
  if (!Number.isInteger(errorExitCode) || errorExitCode < 1 || errorExitCode > 255) {
    throw new OptionError(`errorExitCode must be an integer from 1 to 255, got ${shown(o.errorExitCode)}`);
  }

  const env: Record<string, string> = {};
  if (o.env !== undefined) {
    if (typeof o.env !== 'object' || o.env === null) throw new OptionError('env must be an object of strings');
    for (const [k, v] of Object.entries(o.env)) {
      // execve(2) takes NUL-terminated "NAME=value" strings: neither part can hold a NUL.
      const key = shown(k).slice(1, -1);
      if (k === '' || k.includes('=') || k.includes('\0')) throw new OptionError(`env: the name ${shown(k)} must be non-empty, without "=" or NUL bytes`);
      if (typeof v !== 'string') throw new OptionError(`env.${key} must be a string, got ${shown(v)}`);
      if (v.includes('\0')) throw new OptionError(`env.${key} contains a NUL byte, which no environment variable can hold; remove it`);
      env[k] = v;
    }
  }

  const pidFile = path(o.pidFile, 'pidFile');
  const chroot = path(o.chroot, 'chroot');
  if (chroot !== undefined && pidFile !== undefined && !pidFile.startsWith(`${chroot.replace(/\/+$/, '')}/`)) {
    throw new OptionError(`pidFile must be inside chroot ('${chroot}') so the daemon can still remove it after the chroot`);
  }

  return {
    name,
    pidFile,
    stdoutPath,
    stderrPath,
    stdoutOption: logFile !== undefined ? 'logFile' : 'stdout',
    cwd: path(o.cwd, 'cwd') ?? '/',
    umask,
    credentials,
    pidFileOwner,
    noNewPrivileges: bool(o.noNewPrivileges, 'noNewPrivileges'),
    chroot: chroot?.replace(/\/+$/, '') || undefined,
    rlimits,
    listen,
    readyTimeout,
    shutdownTimeout,
    errorExitCode,
    foreground: bool(o.foreground, 'foreground'),
    env,
  };
}
