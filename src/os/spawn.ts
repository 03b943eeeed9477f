// Starting programs: spawnDaemon() (fork → setsid → fork → execve) and spawnChild() (fork →
// execve, optionally as another user), spawnSupervisor() (a daemon that forks its program
// before its own execve), and reap() for the children that are ours.
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { native } from '../native/binding';
import type { NativeSpawnSpec } from '../native/types';
import { resolveRlimit, rlimitNames as allRlimitNames, type Rlimit } from './rlimit';
import { callNative, invalidType, invalidValue, SystemError } from '../errors';
import { validateBoolean, validateFd, validateId, validateInteger, validateNonEmptyString, validateObject, validateString, validateUmask } from './validate';

/** How spawnDaemon() and spawnChild() start a program: every step runs in the child before execve. */
export interface SpawnOptions {
  /** Arguments after argv[0]. */
  args?: readonly string[];
  /** argv[0]; defaults to `file` as given. */
  argv0?: string;
  /** The whole environment of the new program; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Working directory of the new program; defaults to the caller's. */
  cwd?: string;
  /** File mode creation mask (number or octal string); defaults to the caller's. */
  umask?: number | string;
  /** Descriptor for fd 1; /dev/null when omitted. fd 0 is always /dev/null. */
  stdout?: number;
  /** Descriptor for fd 2; /dev/null when omitted. */
  stderr?: number;
  /** Descriptors to hand over: fds[i] becomes fd 3 + i (LISTEN_FDS order). */
  fds?: readonly number[];
  /**
   * Resource limits of the new program, set in the child before execve (never in the caller):
   * `{ nofile: 4096, core: 0, as: { soft: 2 ** 30 } }`, as for setrlimit().
   */
  rlimits?: Readonly<Record<string, number | Partial<Rlimit>>>;
  /**
   * Run as this user: setgroups, setresgid, setresuid in the child after the limits, then
   * checked (every id is the one asked for, and root cannot be regained) before execve.
   */
  credentials?: {
    /** The user id to run as (real, effective and saved). */
    uid: number;
    /** The primary group id (real, effective and saved). */
    gid: number;
    /** The supplementary groups, all of them: none are kept from the caller. */
    groups: readonly number[];
  };
  /** PR_SET_NO_NEW_PRIVS in the child before execve (Linux). */
  noNewPrivileges?: boolean;
  /**
   * Socket activation as systemd does it: LISTEN_PID=<the new program's own pid> is added to
   * its environment by the child itself (any LISTEN_PID in `env` is replaced). Give
   * LISTEN_FDS (and LISTEN_FDNAMES) in `env` with the sockets in `fds`.
   */
  listenPid?: boolean;
}

/** The options of spawnChild(): those of spawnDaemon(), and a new session if asked. */
export interface ChildSpawnOptions extends SpawnOptions {
  /** Start a new session (the child becomes a session and process group leader). */
  setsid?: boolean;
}

/** How a process ended, as reap() reports it: one of `code` and `signal` is null. */
export interface ExitStatus {
  /** Exit code when the process exited, else null. */
  code: number | null;
  /** Signal name when a signal ended it, else null. */
  signal: NodeJS.Signals | null;
}

interface Prepared extends Omit<NativeSpawnSpec, 'daemon' | 'setsid'> {
  /** The names of `rlimits`, in the same order. */
  rlimitNames: string[];
}

/**
 * Starts `file` as a daemon: a grandchild in a new session with no controlling terminal,
 * reparented to init (or the nearest subreaper). Returns the daemon's pid once execve has
 * succeeded; a failure on the way throws with the step as `syscall`.
 */
export function spawnDaemon(file: string, options: SpawnOptions = {}): number {
  const p = prepare(file, options);
  return run(p, true, false);
}

/**
 * Starts `file` as a direct child (the caller reaps it with reap()), with the same pre-exec
 * steps as spawnDaemon(), optionally in a new session and as another user.
 */
export function spawnChild(file: string, options: ChildSpawnOptions = {}): number {
  const p = prepare(file, options);
  const setsid = options.setsid === undefined ? false : validateBoolean(options.setsid, 'options.setsid');
  return run(p, false, setsid);
}

/**
 * spawnDaemon() of a supervisor and its first program at once: the daemon forks the program
 * (a session of its own, with the program's own pre-exec steps) before its own steps, so the
 * program is the daemon's child from its start, and writes its pid into the daemon's
 * environment as `programPidVariable`. Returns both pids once both execve calls succeeded; a
 * failure of the program's steps throws with `program: true`, and nothing is left running.
 */
export function spawnSupervisor(file: string, options: SpawnOptions, program: { file: string; options: SpawnOptions }, programPidVariable: string): { pid: number; programPid: number } {
  const p = prepare(file, options);
  const q = prepare(program.file, program.options);
  validateNonEmptyString(programPidVariable, 'programPidVariable');
  const { rlimitNames: _names, ...programSpec } = q;
  let programFailed = false;
  return callNative(
    () => {
      try {
        const { rlimitNames: _ignored, ...spec } = p;
        return native.spawn({ ...spec, daemon: true, setsid: false, program: { ...programSpec, daemon: false, setsid: true }, programPidVariable });
      } catch (e) {
        const record = e as { syscall?: unknown };
        if (typeof record?.syscall === 'string' && record.syscall.startsWith('program:')) {
          record.syscall = record.syscall.slice('program:'.length);
          programFailed = true;
        }
        throw e;
      }
    },
    (record) => {
      const subject = describeFailure(programFailed ? q : p, record);
      return programFailed ? { ...subject, props: { ...subject.props, program: true } } : subject;
    },
  );
}

/**
 * Non-blocking waitpid(2) for one pid of ours: null while it runs, else how it ended (and it
 * is reaped). Poll it; nothing here blocks the event loop or the threadpool.
 */
export function reap(pid: number): ExitStatus | null {
  // One pid of ours, never a group: waitpid(0) or (-n) would take another part of the
  // program's children (a child_process child whose 'exit' then never fires), and pid_t is
  // 32-bit signed, so larger values would wrap to a process group.
  validateInteger(pid, 'pid', 1, 2 ** 31 - 1);
  const status = callNative(() => native.waitpid(pid));
  if (status === null) return null;
  return { code: status.code, signal: status.signal === null ? null : signalName(status.signal) };
}

function signalName(signal: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(osConstants.signals)) {
    if (value === signal) return name as NodeJS.Signals;
  }
  return `SIG${signal}` as NodeJS.Signals;
}

function run(p: Prepared, daemon: boolean, setsid: boolean): number {
  const { rlimitNames: _names, ...spec } = p;
  return callNative(
    () => native.spawn({ ...spec, daemon, setsid }),
    (record) => describeFailure(p, record),
  );
}

/** What a failed step was about: the option, the limit, the path. */
function describeFailure(p: Prepared, { syscall, fd, index }: { syscall: string; fd?: number; index?: number }): { target?: string; path?: string; props?: Record<string, unknown> } {
  const names = p.rlimitNames;
  if (fd !== undefined) return { target: `${optionOf(p, fd)} (fd ${fd})`, props: { fd } };
  if (syscall === 'setrlimit' && index !== undefined) return { target: names[index], props: { resource: names[index] } };
  if (syscall === 'execve') return { path: p.file };
  if (syscall === 'chdir' && p.cwd !== null) return { path: p.cwd };
  if (syscall === 'open') return { path: '/dev/null' };
  if (syscall === 'verify') return { target: `uid ${p.credentials?.uid} gid ${p.credentials?.gid}` };
  return {};
}

function optionOf(p: Prepared, fd: number): string {
  if (p.stdio[1] === fd) return 'options.stdout';
  if (p.stdio[2] === fd) return 'options.stderr';
  return `options.fds[${p.fds.indexOf(fd)}]`;
}

function prepare(file: string, options: SpawnOptions): Prepared {
  validateNonEmptyString(file, 'file');
  validateObject(options, 'options');

  const args = options.args ?? [];
  if (!Array.isArray(args)) throw invalidType('options.args', 'an array of strings', args);
  args.forEach((a, i) => validateString(a, `options.args[${i}]`));
  const argv0 = options.argv0 === undefined ? file : validateString(options.argv0, 'options.argv0');

  const env = options.env === undefined ? process.env : validateObject(options.env, 'options.env');
  const setListenPid = options.listenPid === undefined ? false : validateBoolean(options.listenPid, 'options.listenPid');
  const envp: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || (setListenPid && key === 'LISTEN_PID')) continue;
    if (key === '' || key.includes('=') || key.includes('\0')) {
      throw invalidValue('options.env', key, 'has a variable name that is empty or contains "=" or a null byte');
    }
    envp.push(`${key}=${validateString(value, `options.env.${key}`)}`);
  }

  let cwd: string | null = null;
  if (options.cwd !== undefined) cwd = resolve(validateNonEmptyString(options.cwd, 'options.cwd'));

  const umask = options.umask === undefined ? -1 : validateUmask(options.umask, 'options.umask');
  const stdout = options.stdout === undefined ? -1 : validateFd(options.stdout, 'options.stdout');
  const stderr = options.stderr === undefined ? -1 : validateFd(options.stderr, 'options.stderr');

  const fdList = options.fds ?? [];
  if (!Array.isArray(fdList)) throw invalidType('options.fds', 'an array of file descriptors', fdList);
  const fds = fdList.map((fd, i) => validateFd(fd, `options.fds[${i}]`));

  const rlimits: [number, number, number][] = [];
  const rlimitNames: string[] = [];
  if (options.rlimits !== undefined) {
    for (const [name, limit] of Object.entries(validateObject(options.rlimits, 'options.rlimits'))) {
      if (!allRlimitNames.includes(name)) {
        throw invalidValue('options.rlimits', name, `names no resource limit on ${process.platform}; use one of ${allRlimitNames.join(', ')}`);
      }
      const { id, soft, hard } = resolveRlimit(name, limit, `options.rlimits.${name}`);
      rlimits.push([id, soft, hard]);
      rlimitNames.push(name);
    }
  }

  let credentials: NativeSpawnSpec['credentials'] = null;
  if (options.credentials !== undefined) {
    const c = validateObject(options.credentials, 'options.credentials');
    if (!Array.isArray(c.groups)) throw invalidType('options.credentials.groups', 'an array of group ids', c.groups);
    credentials = {
      uid: validateId(c.uid, 'options.credentials.uid'),
      gid: validateId(c.gid, 'options.credentials.gid'),
      groups: c.groups.map((g, i) => validateId(g, `options.credentials.groups[${i}]`)),
    };
  }
  const noNewPrivileges = options.noNewPrivileges === undefined ? false : validateBoolean(options.noNewPrivileges, 'options.noNewPrivileges');

  return {
    credentials,
    noNewPrivileges,
    setListenPid,
    file: resolveExecutable(file, typeof env.PATH === 'string' ? env.PATH : undefined, cwd),
    argv: [argv0, ...args],
    envp,
    cwd,
    umask,
    stdio: [-1, stdout, stderr],
    fds,
    rlimits,
    rlimitNames,
  };
}

// execve(2) does no PATH search, and execvp(3) may allocate: resolve here, before fork, with
// the new program's own PATH, as execvpe would. Relative names are relative to the new
// program's cwd, where execve runs (as with child_process.spawn). Throws ENOENT (syscall
// execve) when nothing executable is found.
export function resolveExecutable(file: string, pathVar: string | undefined, cwd: string | null): string {
  if (file.includes('/')) return resolve(cwd ?? '.', file);
  for (const dir of (pathVar ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(isAbsolute(dir) ? dir : resolve(cwd ?? '.', dir), file);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next directory
    }
  }
  throw new SystemError(-(osConstants.errno.ENOENT), 'execve', { path: file });
}
