// serviceStatus(): what the PID file's lock says, with LSB's exit codes (init-functions: 0 running,
// 1 dead but the PID file exists, 3 not running, 4 unknown).
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PidFile } from '../start/pidfile';
import { readState } from '../supervisor/state-file';

/** What serviceStatus() and listServices() report about one service. */
export interface ServiceStatus {
  /** The service's name. */
  name: string;
  /** running; dead (the PID file is left, unlocked); failed (its supervisor gave up); stopped; unknown. */
  state: 'running' | 'dead' | 'failed' | 'stopped' | 'unknown';
  /** LSB's status code: 0 running, 1 dead or failed, 3 stopped, 4 unknown. */
  code: 0 | 1 | 3 | 4;
  /** The pid in the PID file (the supervisor's when supervised), null when there is none. */
  pid: number | null;
  /** The PID file. */
  pidFile: string;
  /** Where it logs, when it was started with a log file. */
  logFile: string | null;
  /** Seconds since the process started, while running (Linux). */
  uptimeSeconds: number | null;
  /** Its resident memory in bytes, while running (Linux). */
  rssBytes: number | null;
  /** Supervised: the program's pid, its restarts, how it last ended. */
  programPid?: number | null;
  /** Supervised: how many times the program was restarted. */
  restarts?: number;
  /** Supervised: how the program last ended, null before it ever did. */
  lastExit?: string | null;
  /** Why the state is failed or unknown. */
  reason?: string;
}

/** `name` defaults to the one the service was started with, else the PID file's name. */
export function serviceStatus(pidFile: string, name?: string): ServiceStatus {
  const state = readState(pidFile);
  name ??= state?.name ?? basename(pidFile).replace(/\.pid$/, '');
  const supervised = state?.restarts === undefined ? {} : { programPid: state.programPid ?? null, restarts: state.restarts, lastExit: state.lastExit ?? null };
  const base = { name, pidFile, logFile: state?.logFile ?? null, pid: null, uptimeSeconds: null, rssBytes: null, ...supervised };
  // A supervisor that gave up (a crash loop) says why; LSB's code for it is "dead" (1).
  const failed = state?.failed ? { state: 'failed' as const, code: 1 as const, reason: state.failed } : null;
  if (!existsSync(pidFile)) {
    if (state === null) return { ...base, state: 'unknown', code: 4, reason: `no service named '${name}' (no PID file at ${pidFile})` };
    return failed !== null ? { ...base, ...failed } : { ...base, state: 'stopped', code: 3 };
  }
  let r;
  try {
    r = PidFile.probe(pidFile);
  } catch (err) {
    return { ...base, state: 'unknown', code: 4, reason: `cannot read ${pidFile}: ${(err as Error).message}` };
  }
  const pid = r.pid;
  // Nobody holds it: the service died without cleaning up. Left as it is for the next start.
  if (!r.held) return { ...base, pid, ...(failed ?? { state: 'dead', code: 1 }) };
  return { ...base, pid, state: 'running', code: 0, uptimeSeconds: pid === null ? null : uptime(pid), rssBytes: pid === null ? null : rss(pid) };
}

function uptime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Math.max(0, Math.round(boot - startTicks / 100));
  } catch {
    return null;
  }
}

function rss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}
