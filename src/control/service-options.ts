// What the daemonkit command (and start() for programs) is asked to run, in the command's
// own words, resolved to the launcher's plan and command. Flags and config keys are the same
// names (--pid-file, pidFile); every rejection is one OptionError naming the input (exit 2).
import { accessSync, existsSync, statSync, constants as fsConstants } from 'node:fs';
import { resolveExecutable } from '../os/spawn';
import { constants as osConstants } from 'node:os';
import { basename, join } from 'node:path';
import { OptionError } from '../errors';
import type { Command } from '../start/launcher';
import { resolveOptions, shown, type DaemonizeOptions, type Plan } from '../start/options';
import { envFile, keyValues, listen, listOf, readiness, rlimits } from './option-values';
import { resolveLimits } from '../start/limits';
import { SUPERVISE_ENV, type SupervisorPlan } from '../supervisor/plan';
import { defaultLogDir, defaultRunDir } from './paths';

/**
 * A service for start() and runService(), in the words of the daemonkit command: each option
 * is a flag (pidFile is --pid-file) and a key of its config file.
 */
export interface ServiceOptions {
  /** The program and its arguments. */
  command: string[];
  /** Names its files and messages (default: the program's base name). */
  name?: string;
  /** Default: NAME.pid in defaultRunDir(). */
  pidFile?: string;
  /** stdout and stderr appended here (default: NAME.log in defaultLogDir()). */
  logFile?: string;
  /** Working directory of the program (default '/'). */
  cwd?: string;
  /** File mode creation mask, such as '027' (default 022). */
  umask?: string | number;
  /** Run as this user (name or uid), with the user's groups. */
  user?: string | number;
  /** Primary group instead of the user's. */
  group?: string | number;
  /** NAME=SOFT[:HARD] strings, or { nofile: 4096 } as for daemonize(). */
  rlimits?: string[] | Record<string, number | {
    /** The soft limit (default: the current one, capped at `hard`). */
    soft?: number;
    /** The hard limit (default: the current one). */
    hard?: number;
  }>;
  /** KEY=VALUE strings, or an object. */
  env?: string[] | Record<string, string>;
  /** KEY=VALUE lines added to the environment, as systemd's EnvironmentFile= (`env` wins). */
  envFile?: string;
  /** [HOST:]PORT or a Unix socket path. */
  listen?: string[];
  /** exec, notify, or tcp:[HOST:]PORT (default notify). */
  ready?: string;
  /** Milliseconds (default 30 000). */
  readyTimeout?: number;
  /** never (default): the program is the daemon. Otherwise a supervisor is, and restarts it. */
  restart?: 'never' | 'on-failure' | 'always';
  /** Milliseconds before a restart (default 100), multiplied by backoff after each crash. */
  restartDelay?: number;
  /** Default 2; the delay is capped at 30 s and starts over after a run longer than the window. */
  backoff?: number;
  /** More than this many crashes within restartWindow: give up (default: never). */
  maxRestarts?: number;
  /** Milliseconds (default 60 000). */
  restartWindow?: number;
  /** Exit codes that are not failures for on-failure (default [0]). */
  successExitCodes?: number[];
  /** Default SIGTERM. */
  stopSignal?: string;
  /** Milliseconds before SIGKILL (default 10 000). */
  stopTimeout?: number;
  /** What reload does: 'signal' (SIGHUP, the default), another signal's name, or 'restart'. */
  reload?: string;
}

export interface Resolved {
  plan: Plan;
  command: Command;
  /** For `run`: the supervisor's plan, run in this process; plan and command are the program's. */
  supervisor?: SupervisorPlan;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

/**
 * `start`: the launcher's plan and command (the program's, or with a restart policy the
 * supervisor's). `run`: the program's, and the supervisor's plan for this process; the
 * program restarts on failure unless told otherwise, and its output stays on ours unless a
 * log file is given.
 */
export function resolveService(o: ServiceOptions, env: NodeJS.ProcessEnv = process.env, mode: 'start' | 'run' = 'start'): Resolved {
  if (!Array.isArray(o.command) || o.command.length === 0 || o.command.some((a) => typeof a !== 'string')) {
    throw new OptionError('no program to run: give it after --, e.g. daemonkit start -- node server.js');
  }
  const [file, ...args] = o.command;
  const name = o.name ?? basename(file);
  // The name becomes a file name in the run directory: no slashes, no dot files.
  if (!NAME.test(name)) throw new OptionError(`--name must be letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got ${shown(name)}`);
  if (o.restart !== undefined && !['never', 'on-failure', 'always'].includes(o.restart)) {
    throw new OptionError(`--restart must be never, on-failure or always, got ${shown(o.restart)}`);
  }
  reloadAction(o.reload);
  if (o.maxRestarts !== undefined && o.restartWindow === undefined) {
    throw new OptionError('--max-restarts needs --restart-window: how many crashes within how many seconds mean a crash loop');
  }

  const options: DaemonizeOptions = {
    name,
    pidFile: o.pidFile ?? join(defaultRunDir(env), `${name}.pid`),
    logFile: o.logFile ?? (mode === 'run' ? undefined : join(defaultLogDir(env), `${name}.log`)),
    cwd: o.cwd,
    umask: o.umask,
    user: o.user,
    group: o.group,
    rlimits: rlimits(o.rlimits),
    listen: listOf(o.listen, '--listen', '[HOST:]PORT or a socket path').map(listen),
    env: { ...(o.envFile === undefined ? {} : envFile(o.envFile)), ...keyValues(o.env, '--env') },
    readyTimeout: o.readyTimeout,
  };
  const plan = resolveOptions(options, name);
  const command: Command = { file: executable(file, env, plan.cwd), args, env: programEnvironment(env), ready: readiness(o.ready) };
  const ready = command.ready;
  // The kernel accepts connections on a socket we bound before the program runs: such a
  // port says nothing about the program.
  if (typeof ready === 'object' && plan.listen.some((l) => l.kind === 'tcp' && l.port === ready.port)) {
    throw new OptionError(`--ready tcp:${ready.port} waits for a port that --listen binds before the program starts, so it would count as ready at once; use --ready notify, or --ready exec (connections wait in the socket until the program accepts them)`);
  }
  if (mode === 'run') return { plan, command, supervisor: supervisorPlan({ ...o, restart: o.restart ?? 'on-failure' }, plan, command) };
  if (o.restart === undefined || o.restart === 'never') {
    // Checked all the same: a bad --stop-signal is bad input whether or not it is used.
    supervisorPlan({ ...o, restart: 'on-failure' }, plan, command);
    return { plan, command };
  }
  return supervised(supervisorPlan(o, plan, command), plan, env);
}

/** The program's part of the plan, and the restart policy, for a supervisor. */
function supervisorPlan(o: ServiceOptions, plan: Plan, command: Command): SupervisorPlan {
  const count = (v: unknown, flag: string, min: number) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min)) throw new OptionError(`${flag} must be a number >= ${min}, got ${shown(v)}`);
    return v as number | undefined;
  };
  const stopSignal = signalNamed(o.stopSignal ?? 'SIGTERM');
  if (!(stopSignal in osConstants.signals)) throw new OptionError(`--stop-signal must be a signal name such as TERM, got ${shown(o.stopSignal)}`);
  const codes = o.successExitCodes ?? [0];
  if (!Array.isArray(codes) || codes.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) throw new OptionError(`--success-exit-codes must be exit codes from 0 to 255, got ${shown(o.successExitCodes)}`);
  const programEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...command.env, ...plan.env })) if (typeof v === 'string') programEnv[k] = v;
  const reload = reloadAction(o.reload);
  return {
    name: plan.name,
    pidFile: plan.pidFile!,
    logFile: plan.stdoutPath,
    file: command.file,
    args: [...command.args],
    env: programEnv,
    cwd: plan.cwd,
    umask: plan.umask,
    credentials: plan.credentials && { uid: plan.credentials.uid, gid: plan.credentials.gid, groups: plan.credentials.groups },
    rlimits: resolveLimits(plan),
    noNewPrivileges: plan.noNewPrivileges,
    ready: command.ready,
    readyTimeout: plan.readyTimeout,
    restart: o.restart as SupervisorPlan['restart'],
    restartDelay: count(o.restartDelay, '--restart-delay', 0) ?? 100,
    backoff: count(o.backoff, '--backoff', 1) ?? 2,
    maxRestarts: count(o.maxRestarts, '--max-restarts', 0) ?? null,
    restartWindow: count(o.restartWindow, '--restart-window', 1) ?? 60_000,
    successExitCodes: codes,
    stopSignal: stopSignal as NodeJS.Signals,
    stopTimeout: count(o.stopTimeout, '--stop-timeout', 1) ?? 10_000,
    reloadSignal: reload === 'restart' ? undefined : reload,
    options: o,
  };
}

/**
 * A supervisor as the daemon: it stays root (to start the program again as its user, with
 * its limits) and is ready once the program is. The program's first run starts with it, by
 * the same spawn (docs/design.md, "The supervised start").
 */
function supervised(supervisorPlan: SupervisorPlan, plan: Plan, env: NodeJS.ProcessEnv): Resolved {
  const supervisorPlanText = JSON.stringify(supervisorPlan);
  const { file, args, env: programEnv, cwd, umask, credentials, rlimits, noNewPrivileges, ready } = supervisorPlan;
  return {
    plan: { ...plan, credentials: undefined, rlimits: [], noNewPrivileges: false, cwd: '/', env: {}, readyTimeout: Math.min(2 ** 31 - 1, plan.readyTimeout + 5000) },
    command: {
      file: process.execPath,
      args: [...SUPERVISOR_FLAGS, supervisorEntry()],
      env: { ...env, [SUPERVISE_ENV]: supervisorPlanText },
      ready: 'notify',
      program: { file, args, env: programEnv, cwd, umask, credentials, rlimits, noNewPrivileges, ready },
    },
  };
}

/**
 * The program's environment: ours without what a service manager gave us (NOTIFY_SOCKET,
 * LISTEN_*, the watchdog's) and without daemonkit's own hand-over variables. The program is
 * told its own by whoever starts it; inherited ones would let it speak to systemd for us.
 */
function programEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^(NOTIFY_SOCKET|LISTEN_(PID|FDS|FDNAMES)|WATCHDOG_(PID|USEC)|DAEMONKIT_(SERVICE|SUPERVISE|PROGRAM_PID|FIRST_RUN))$/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** A signal as the system names it: TERM, term and SIGTERM are SIGTERM. */
export function signalNamed(text: string): string {
  return text.toUpperCase().replace(/^(?!SIG)/, 'SIG');
}

/** What `daemonkit reload` sends, or 'restart'. TERM, INT, KILL and STOP would end it. */
export function reloadAction(reload: string | undefined): NodeJS.Signals | 'restart' {
  if (reload === undefined || reload === 'signal') return 'SIGHUP';
  if (reload === 'restart') return 'restart';
  const signal = typeof reload === 'string' ? signalNamed(reload) : '';
  if (!(signal in osConstants.signals) || ['SIGTERM', 'SIGINT', 'SIGKILL', 'SIGSTOP'].includes(signal)) {
    throw new OptionError(`--reload must be signal, restart or a signal name such as USR2 (not one that stops the program), got ${shown(reload)}`);
  }
  return signal as NodeJS.Signals;
}

/**
 * V8 for a process that lives long and does little, but allocates on every restart: no
 * optimizing or baseline compilers (their code and feedback grew with each crash of a crash
 * loop; --jitless would do the same, but Node 20 and 26 print a warning about WebAssembly
 * with it and the flag that silences it is gone from Node 24), a 1 MiB young generation, and
 * gc() for a full collection every so many restarts. Measured by bench/restarts.mjs over
 * 10,000 restarts: RssAnon grew 19 MiB without them, 0.6 MiB with them.
 */
const SUPERVISOR_FLAGS = ['--no-opt', '--no-sparkplug', '--no-maglev', '--max-semi-space-size=1', '--expose-gc'];

function supervisorEntry(): string {
  // dist/supervisor.js beside dist/index.js; from the sources (tests), the built one.
  const beside = join(__dirname, 'supervisor.js');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'dist', 'supervisor.js');
}

/** The program as execve(2) will run it (spawn's own PATH search, done once, here). */
function executable(file: string, env: NodeJS.ProcessEnv, cwd: string): string {
  let path: string;
  try {
    path = resolveExecutable(file, typeof env.PATH === 'string' ? env.PATH : undefined, cwd);
  } catch {
    throw new OptionError(`${file}: command not found in PATH (the program); give its path`);
  }
  try {
    accessSync(path, fsConstants.X_OK);
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch {
    throw new OptionError(`${file} is not an executable file (the program); check the path and its mode`);
  }
  return path;
}
