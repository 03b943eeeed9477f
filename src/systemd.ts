// The parts of systemd's protocols daemonize() needs: knowing we were started by systemd,
// taking socket-activated listeners (sd_listen_fds(3)) and reporting readiness
// (sd_notify(3)). No libsystemd: the protocols are environment variables and a datagram.
import { sendDatagram } from './datagram';
import { setCloseOnExec } from './flock';

/** systemd started this process (as a service, or with a notify or activation socket). */
export function underSystemd(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.NOTIFY_SOCKET || env.LISTEN_PID || env.LISTEN_FDS || env.INVOCATION_ID);
}

/**
 * Sockets passed by socket activation: fds 3 .. 3 + LISTEN_FDS - 1, only when LISTEN_PID is
 * this process. They are made close-on-exec and the variables are removed, so children do
 * not take them for their own.
 */
export function systemdListeners(): { fd: number; name?: string }[] {
  const env = process.env;
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== process.pid) return [];
  const count = Number(env.LISTEN_FDS);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (!Number.isInteger(count) || count <= 0) return [];
  const out: { fd: number; name?: string }[] = [];
  for (let i = 0; i < count; i++) {
    setCloseOnExec(3 + i);
    out.push(names[i] ? { fd: 3 + i, name: names[i] } : { fd: 3 + i });
  }
  return out;
}

/** Sends `KEY=value` lines to NOTIFY_SOCKET. False (and nothing sent) when it is unset. */
export function notify(fields: Record<string, string>): boolean {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return false;
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  sendDatagram(socket, `${text}\n`);
  return true;
}
