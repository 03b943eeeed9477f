// systemd's protocols without libsystemd: they are environment variables and a datagram.
// Detection (docs/design.md, Facts 4), socket activation (sd_listen_fds(3)) and notification
// (sd_notify(3)). The watchdog timer is in watchdog.ts.
import { sendDatagram } from '../os/datagram';
import { invalidValue } from '../errors';
import { errorText, logEvent } from './event-log';
import { validateObject, validateString } from '../os/validate';

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

/** notify() for lifecycle events: a failure is logged as an event line, never thrown. */
export function tellSystemd(fields: Record<string, string>): boolean {
  try {
    return notify(fields);
  } catch (err) {
    logEvent(`cannot notify systemd (NOTIFY_SOCKET=${process.env.NOTIFY_SOCKET}): ${errorText(err)}`);
    return false;
  }
}
