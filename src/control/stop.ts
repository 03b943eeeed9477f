// stop(): the stop signal, then wait until the PID file's lock is released (not until the
// pid is gone: init may take seconds to reap a zombie, docs/design.md Facts 3); after the
// timeout SIGKILL to the program's process group, which takes its children too.
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { constants as osConstants } from 'node:os';
import { OptionError } from '../errors';
import { getpgid } from '../os/session';
import { holdsFile, PidFile } from '../start/pidfile';
import { signalNamed } from './service-options';
import { readState } from '../supervisor/state-file';

/** Which service stop() stops, and how. */
export interface StopOptions {
  /** The service's PID file: whoever holds its lock is the service. */
  pidFile: string;
  /** For messages; default: the name it was started with, else the PID file's name. */
  name?: string;
  /**
   * Milliseconds before SIGKILL; default: the stop timeout it was started with (10 000), and
   * for a supervisor 5 s more, so that its own SIGKILL of the program comes first.
   */
  timeout?: number;
  /** Default: the stop signal it was started with (SIGTERM); a supervisor always gets TERM. */
  signal?: NodeJS.Signals;
}

/** How stop() went. */
export interface StopResult {
  /** 0: stopped, or was not running; 1: still running after SIGKILL; 2: no such service. */
  code: 0 | 1 | 2;
  /** One line for a person, such as "web stopped (pid 1234)". */
  message: string;
}

/**
 * Stops a service as `daemonkit stop` does: the stop signal, then SIGKILL to its process group
 * after the timeout; resolves once the PID file's lock is released.
 */
export async function stop(options: StopOptions): Promise<StopResult> {
  const started = readState(options.pidFile);
  const supervised = started?.restarts !== undefined;
  const given = (started?.options ?? {}) as { stopSignal?: string; stopTimeout?: number };
  const o = {
    ...options,
    name: options.name ?? started?.name ?? basename(options.pidFile).replace(/\.pid$/, ''),
    timeout: options.timeout ?? (given.stopTimeout ?? 10_000) + (supervised ? 5000 : 0),
  };
  // The program gets the stop signal it was started with; a supervisor gets TERM and
  // translates it into that signal itself.
  const programSignal = (options.signal ?? signalNamed(given.stopSignal ?? 'SIGTERM')) as NodeJS.Signals;
  const signal = supervised ? (options.signal ?? 'SIGTERM') : programSignal;
  if (!(signal in osConstants.signals) || !(programSignal in osConstants.signals)) throw new OptionError(`--signal must be a signal name such as TERM, got '${options.signal ?? given.stopSignal}'`);
  if (!existsSync(o.pidFile)) {
    if (readState(o.pidFile) === null) {
      return { code: 2, message: `daemonkit: no service named '${o.name}' (no PID file at ${o.pidFile}); daemonkit list shows the services` };
    }
    return { code: 0, message: `${o.name} was not running` };
  }
  const first = PidFile.acquire(o.pidFile);
  if (first.acquired) {
    first.pidFile.remove();
    return { code: 0, message: `${o.name} was not running (removed its stale PID file)` };
  }
  const pid = first.pid;
  const state = started;
  // The daemon's group, and a supervised program's (a session of its own): after SIGKILL of
  // the supervisor, the program still holds the lock and is stopped all the same.
  // Only processes that have the PID file open are ours to signal: a pid written there may
  // have ended and been reused since (a supervisor SIGKILLed while its program runs on).
  let st;
  try {
    st = statSync(o.pidFile);
  } catch {
    return { code: 0, message: `${o.name} was not running` }; // gone since: it just stopped
  }
  const ours = (target: number | null | undefined): target is number => typeof target === 'number' && holdsFile(target, st.dev, st.ino);
  const groups = new Set<number>();
  for (const target of [pid, state?.programPid ?? null]) {
    if (!ours(target)) continue;
    try {
      groups.add(getpgid(target));
    } catch {
      // gone already
    }
  }
  // The stop signal to the first of them alive: a supervisor stops its program itself; a
  // program gets it with its whole process group, as systemd's default
  // KillMode=control-group does, since what it started holds the lock too (also when its
  // supervisor was SIGKILLed: then with the program's own stop signal).
  for (const target of [pid, state?.programPid ?? null]) {
    if (!ours(target)) continue;
    const program = !supervised || target !== pid;
    try {
      const group = getpgid(target);
      if (program && group !== getpgid()) process.kill(-group, programSignal);
      else process.kill(target, signal);
      break;
    } catch {
      // gone already: the next one, or wait for whatever still holds the lock
    }
  }
  if (await released(o.pidFile, o.timeout)) return { code: 0, message: `${o.name} stopped (pid ${pid})` };
  for (const group of groups) {
    try {
      if (group !== getpgid()) process.kill(-group, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (await released(o.pidFile, 5000)) return { code: 0, message: `${o.name} stopped (pid ${pid}): killed with SIGKILL after ${o.timeout} ms` };
  return { code: 1, message: `${o.name}: could not stop it: its PID file ${o.pidFile} is still locked (pid ${pid ?? 'unknown'}) after SIGKILL` };
}

/** Polls the lock (there is no event for its release) until we hold it, then removes the file. */
async function released(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let r;
    try {
      r = PidFile.acquire(path);
    } catch (err) {
      // The service removed its own file on the way out (a supervisor does): released.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    if (r.acquired) {
      r.pidFile.remove();
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
