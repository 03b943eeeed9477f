// systemd's protocols without libsystemd: they are environment variables and a datagram.
// Detection (docs/design.md, Facts 4), socket activation (sd_listen_fds(3)) and notification
// (sd_notify(3)). The watchdog timer is in watchdog.ts.
import { sendDatagram } from './datagram';
import { setCloseOnExec } from './flock';
import { invalidValue } from './errors';
import { errorText, logEvent } from './event-log';
import { validateObject, validateString } from './validate';

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

export interface ActivatedSocket {
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

/**
 * Sends `KEY=value` lines to NOTIFY_SOCKET (a path, or `@name` for an abstract socket), as
 * sd_notify(3) does. Returns false, sending nothing, when NOTIFY_SOCKET is unset. Throws a
 * SystemError when the socket cannot be reached.
 */
export function notify(fields: Record<string, string | number>): boolean {
  validateObject(fields, 'fields');
  const lines: string[] = [];
  if (Object.keys(fields).length === 0) throw invalidValue('fields', fields, 'must have at least one field, such as READY: 1');
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw invalidValue('fields', key, 'has a name that is not upper-case letters, digits and _');
    if (typeof value === 'number' && !Number.isFinite(value)) throw invalidValue(`fields.${key}`, value, 'must be a finite number');
    // One assignment per line: a newline in a value would smuggle in another field.
    const text = validateString(typeof value === 'number' ? String(value) : value, `fields.${key}`);
    if (text.includes('\n')) throw invalidValue(`fields.${key}`, text, 'must be on one line');
    lines.push(`${key}=${text}`);
  }
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return false;
  // The same bytes as systemd-notify(1): one KEY=value per line, no trailing newline.
  sendDatagram(socket, lines.join('\n'));
  return true;
}

/** STATUS=: the one-line status `systemctl status` shows. False when NOTIFY_SOCKET is unset. */
export function status(text: string): boolean {
  return notify({ STATUS: validateString(text, 'text').replace(/\n/g, ' ') });
}

/** CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC= (libuv's hrtime). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** notify() for lifecycle events: a failure is logged as an event line, never thrown. */
export function tellSystemd(fields: Record<string, string>): boolean {
  try {
    return notify(fields);
  } catch (err) {
    logEvent(`cannot notify systemd (NOTIFY_SOCKET=${process.env.NOTIFY_SOCKET}): ${errorText(err)}`);
    return false;
  }
}

/** The same clock in milliseconds, for deadlines and durations that a clock step must not move. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
