// A small JSON file beside the PID file (NAME.json for NAME.pid): what a service was
// started as, kept after it stops, so that stop and status can tell "stopped" from "never
// existed" and show its log file. Written by replacing (rename), never half-written.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface ServiceState {
  name: string;
  pidFile: string;
  logFile?: string;
  command: string[];
  /** The daemon: the program itself, or its supervisor. */
  pid: number;
  /** The daemon's process group, for stop when the daemon is gone but the program is not. */
  pgid?: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** Supervised: the program's pid now, how often it was restarted, how it last ended. */
  programPid?: number | null;
  restarts?: number;
  lastExit?: string | null;
  /** Set when the supervisor gave up: "crash loop: 6 crashes in 2 s". */
  failed?: string | null;
  /** The options it was started with (ServiceOptions), for restart. */
  options?: unknown;
}

export function stateFileOf(pidFile: string): string {
  return join(dirname(pidFile), `${basename(pidFile).replace(/\.pid$/, '')}.json`);
}

export function writeState(state: ServiceState): void {
  const path = stateFileOf(state.pidFile);
  const tmp = `${path}.${process.pid}.tmp`;
  // Only for its owner: the options it keeps include --env values, which may be secrets.
  writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function readState(pidFile: string): ServiceState | null {
  try {
    return JSON.parse(readFileSync(stateFileOf(pidFile), 'utf8')) as ServiceState;
  } catch {
    return null;
  }
}
