// What the supervisor is handed by the command that started it (DAEMONKIT_SUPERVISE): the
// program, resolved once by the command, and the restart policy. The listening sockets
// arrive as LISTEN_FDS from fd 3 and the PID file's lock right after them, as for any
// service (docs/design.md, "Launcher and service").
import type { Rlimit } from '../os/rlimit';

export const SUPERVISE_ENV = 'DAEMONKIT_SUPERVISE';

export interface SupervisorPlan {
  name: string;
  pidFile: string;
  logFile?: string;
  file: string;
  args: string[];
  /** The program's whole environment, without the protocol's variables. */
  env: Record<string, string>;
  cwd: string;
  umask: number;
  credentials?: { uid: number; gid: number; groups: number[] };
  rlimits: Record<string, Rlimit>;
  noNewPrivileges: boolean;
  ready: 'notify' | 'exec' | { host: string; port: number };
  readyTimeout: number;
  /** never: `daemonkit run` runs it once and exits with its exit code. */
  restart: 'never' | 'on-failure' | 'always';
  /** Milliseconds before the first restart; multiplied by backoff after each crash. */
  restartDelay: number;
  backoff: number;
  /** More than maxRestarts crashes within restartWindow ms: give up. null: never. */
  maxRestarts: number | null;
  restartWindow: number;
  successExitCodes: number[];
  stopSignal: NodeJS.Signals;
  stopTimeout: number;
  /** A reload signal beyond HUP, USR1 and USR2, forwarded to the program too. */
  reloadSignal?: NodeJS.Signals;
  /** The command's options as given, kept in the state file for restart. */
  options?: unknown;
}
