// What a service manager hands the process it starts (systemd, or daemonkit's launcher): its
// detection, and the sockets of socket activation (sd_listen_fds(3)).
import { setCloseOnExec } from '../os/fd';

/**
 * A service manager started this process itself: it gave a notify socket, or activated
 * sockets for this very pid (LISTEN_PID; a stale one inherited from elsewhere does not count,
 * as sd_listen_fds(3) says), or it is a unit's main process (INVOCATION_ID, with systemd, PID
 * 1, as the parent). INVOCATION_ID alone is inherited by every descendant of a unit (a CI
 * runner's jobs, a shell in a service): those are not the service.
 */
export function underSystemd(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.NOTIFY_SOCKET || (env.INVOCATION_ID && process.ppid === 1) || (env.LISTEN_PID && Number(env.LISTEN_PID) === process.pid));
}

/**
 * The variables that hand `count` sockets to a program from fd 3, as systemd's socket
 * activation does; LISTEN_PID is set by the child itself (spawn's listenPid).
 */
export function activationEnv(count: number): { LISTEN_FDS: string; LISTEN_FDNAMES: string } {
  return { LISTEN_FDS: String(count), LISTEN_FDNAMES: Array.from({ length: count }, (_, i) => `listen${i}`).join(':') };
}

/** A socket handed over by socket activation, as listenFds() returns it. */
export interface ActivatedSocket {
  /** The descriptor: 3 for the first socket, 4 for the next, and so on. */
  fd: number;
  /** From LISTEN_FDNAMES (FileDescriptorName= in the .socket unit), when given. */
  name?: string;
}

/**
 * Sockets passed by socket activation: fds 3 .. 3 + LISTEN_FDS - 1, only when LISTEN_PID is
 * this process (sd_listen_fds(3)). They are made close-on-exec and LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are removed (also when LISTEN_PID is another process's), so children do not
 * take them for their own. A second call returns [].
 */
export function listenFds(): ActivatedSocket[] {
  const env = process.env;
  const ours = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === process.pid;
  const count = Number(env.LISTEN_FDS);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  // Removed either way: they are not for our children, and not for us if LISTEN_PID is not us.
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (!ours || !Number.isInteger(count) || count <= 0) return [];
  const out: ActivatedSocket[] = [];
  for (let i = 0; i < count; i++) {
    setCloseOnExec(3 + i);
    out.push(names[i] ? { fd: 3 + i, name: names[i] } : { fd: 3 + i });
  }
  return out;
}
