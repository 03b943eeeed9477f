// stop(): the stop signal, then wait until the PID file's lock is released (not until the
// pid is gone: init may take seconds to reap a zombie, docs/design.md Facts 3); after the
// timeout SIGKILL to the program's process group, which takes its children too.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { constants as osConstants } from 'node:os';
import { OptionError } from '../errors';
import { getpgid } from '../os/session';
import { PidFile } from '../start/pidfile';
import { readState } from '../supervisor/state-file';

export interface StopOptions {
  pidFile: string;
  /** For messages; default: the name it was started with, else the PID file's name. */
  name?: string;
  /** Milliseconds before SIGKILL (default 10 000). */
  timeout?: number;
  signal?: NodeJS.Signals;
}

export interface StopResult {
  code: 0 | 1 | 2;
  message: string;
}

export async function stop(options: StopOptions): Promise<StopResult> {
  const o = { ...options, name: options.name ?? readState(options.pidFile)?.name ?? basename(options.pidFile).replace(/\.pid$/, '') };
  const signal = o.signal ?? 'SIGTERM';
  if (!(signal in osConstants.signals)) throw new OptionError(`--signal must be a signal name such as SIGTERM, got '${signal}'`);
  if (!existsSync(o.pidFile)) {
    if (readState(o.pidFile) === null) {
      return { code: 2, message: `daemonkit: no service named '${o.name}' (no PID file at ${o.pidFile}); daemonkit list shows the services` };
    }
    return { code: 0, message: `${o.name} was not running` };
  }
  let first = PidFile.acquire(o.pidFile);
  if (first.acquired) {
    first.pidFile.remove();
    return { code: 0, message: `${o.name} was not running (removed its stale PID file)` };
  }
  const pid = first.pid;
  const state = readState(o.pidFile);
  // The daemon's group, and a supervised program's (a session of its own): after SIGKILL of
  // the supervisor, the program still holds the lock and is stopped all the same.
  const groups = new Set<number>();
  for (const target of [pid, state?.programPid ?? null]) {
    if (target === null || target === undefined) continue;
    try {
      groups.add(getpgid(target));
    } catch {
      // gone already
    }
  }
  // The stop signal to the first of them alive: a supervisor stops its program itself; a
  // program that is the daemon gets it with its whole process group, as systemd's default
  // KillMode=control-group does, since what it started holds the lock too.
  const supervised = state?.restarts !== undefined;
  for (const target of [pid, state?.programPid ?? null]) {
    if (target === null || target === undefined) continue;
    try {
      const group = getpgid(target);
      if (!supervised && group !== getpgid()) process.kill(-group, signal);
      else process.kill(target, signal);
      break;
    } catch {
      // gone already: the next one, or wait for whatever still holds the lock
    }
  }
  if (await released(o.pidFile, o.timeout ?? 10_000)) return { code: 0, message: `${o.name} stopped (pid ${pid})` };
  for (const group of groups) {
    try {
      if (group !== getpgid()) process.kill(-group, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (await released(o.pidFile, 5000)) return { code: 0, message: `${o.name} stopped (pid ${pid}): killed with SIGKILL after ${o.timeout ?? 10_000} ms` };
  first = PidFile.acquire(o.pidFile);
  return { code: 1, message: `${o.name}: could not stop it: its PID file ${o.pidFile} is still locked (pid ${pid ?? 'unknown'}) after SIGKILL` };
}

/** Polls the lock (there is no event for its release) until we hold it, then removes the file. */
async function released(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = PidFile.acquire(path);
    if (r.acquired) {
      r.pidFile.remove();
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
