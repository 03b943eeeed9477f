// What travels from the launcher to a service of daemonize() besides systemd's protocol: the
// plan as the launcher resolved it, so the service resolves nothing again (docs/design.md,
// "Launcher and service"). It is honoured only together with LISTEN_PID naming this very
// process, as sd_listen_fds(3) honours LISTEN_FDS, and removed from the environment at once.
import type { Rlimit } from '../os/rlimit';
import type { SocketFile } from './listeners';

export const SERVICE_ENV = 'DAEMONKIT_SERVICE';

export interface ServicePlan {
  name: string;
  pidFile: string | null;
  /** The inherited descriptor of the locked PID file (after the LISTEN_FDS sockets). */
  lockFd: number | null;
  socketFiles: SocketFile[];
  stdoutPath?: string;
  stderrPath?: string;
  /** Which of fds 1 and 2 are the launcher's pipe: point them at /dev/null before READY=1. */
  capturedFds: number[];
  chroot?: string;
  cwd: string;
  /** The user the service runs as (already, or after it drops). */
  user?: string;
  /** Left to the service, after its chroot: the launcher could not drop before exec. */
  drop?: { uid: number; gid: number; groups: number[]; noNewPrivileges: boolean };
  /** Node raises the soft nofile limit to the hard one at boot: set again by the service. */
  nofile?: Rlimit;
  shutdownTimeout: number;
  errorExitCode: number;
}

/** The plan handed to this process, or null; either way the variable is gone afterwards. */
export function takeServicePlan(env: NodeJS.ProcessEnv = process.env): ServicePlan | null {
  const text = env[SERVICE_ENV];
  if (text === undefined) return null;
  delete env[SERVICE_ENV];
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== process.pid) return null;
  try {
    return JSON.parse(text) as ServicePlan;
  } catch {
    return null;
  }
}
