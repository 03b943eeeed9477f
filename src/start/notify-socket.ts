// The launcher's end of systemd's readiness protocol (sd_notify(3)): a private datagram
// socket given to the service as NOTIFY_SOCKET, read on the event loop (uv_poll), never on a
// timer or the threadpool. On Linux it is an abstract socket (nothing to clean up, reachable
// after a chroot or a drop) and each datagram carries its sender's pid (SO_PASSCRED), so
// only the service's own processes are listened to, as systemd's NotifyAccess= does.
import { chmodSync, chownSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../native/binding';
import { bindDatagram, receiveDatagramFrom } from '../os/datagram';

/** What a service said, by sd_notify(3)'s names. */
export interface Notification {
  ready: boolean;
  stopping: boolean;
  status?: string;
  errno?: number;
  mainPid?: number;
  /** EXTEND_TIMEOUT_USEC: the service asks for this much more time, from now. */
  extendTimeoutUsec?: number;
}

export function parseNotification(text: string): Notification {
  const n: Notification = { ready: false, stopping: false };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const count = /^\d+$/.test(value) ? Number(value) : NaN;
    if (key === 'READY' && value === '1') n.ready = true;
    else if (key === 'STOPPING' && value === '1') n.stopping = true;
    else if (key === 'STATUS') n.status = value;
    else if (key === 'ERRNO' && Number.isSafeInteger(count)) n.errno = count;
    else if (key === 'MAINPID' && count > 0 && count < 2 ** 31) n.mainPid = count;
    else if (key === 'EXTEND_TIMEOUT_USEC' && Number.isSafeInteger(count)) n.extendTimeoutUsec = count;
  }
  return n;
}

export class NotifySocket {
  private watch: number | null = null;
  private accept: (pid: number | null) => boolean = () => false;
  private on: (n: Notification) => void = () => {};

  private constructor(
    /** The value of NOTIFY_SOCKET. */
    readonly address: string,
    /** The bound datagram socket. */
    readonly fd: number,
    /** The directory of a path socket (not Linux), removed by close(). */
    readonly dir: string | null,
    /** The kernel names each sender (Linux): a datagram without a pid is refused. */
    readonly knowsSenders: boolean,
  ) {}

  /**
   * A fresh socket. Elsewhere than Linux it is a path that only the launcher's user and
   * `owner` (the service user) may send to, made inside `under` (the service's chroot)
   * when given, so that the service still reaches it from its new root.
   */
  static open(owner?: { uid: number; gid: number }, under?: string): NotifySocket {
    if (native.hasAbstractSockets) {
      const address = `@daemonkit/notify/${process.pid}/${process.hrtime.bigint().toString(36)}`;
      return new NotifySocket(address, bindDatagram(address), null, true);
    }
    // 0711: the service reaches the name it was given; nobody lists the directory.
    const dir = mkdtempSync(join(under ?? tmpdir(), '.daemonkit-notify-'));
    try {
      chmodSync(dir, 0o711);
      const address = join(dir, 'notify');
      const fd = bindDatagram(address);
      // Sending takes write permission on the socket file (unix(7)): its owner's alone.
      if (owner !== undefined) chownSync(address, owner.uid, owner.gid);
      chmodSync(address, 0o600);
      return new NotifySocket(address, fd, dir, false);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A socket another process opened and handed over (a supervisor's first run: the launcher
   * binds it before the program starts, so that READY=1 cannot come too early).
   */
  static adopt(fd: number, address: string, dir: string | null): NotifySocket {
    // An abstract socket's senders are named by the kernel (Linux); a path socket's are not.
    return new NotifySocket(address, fd, dir, dir === null);
  }

  /** Closes our descriptor and leaves the socket (and its directory) to whom it was handed. */
  handOver(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  /**
   * Calls `on` for each datagram from a sender `accept` takes (the sender's pid, or null where
   * the kernel does not say), until close(). Where the kernel names senders, one it gives no
   * pid for (pid 0: a process in a PID namespace we cannot see) is refused outright.
   */
  listen(accept: (pid: number | null) => boolean, on: (n: Notification) => void): void {
    this.accept = accept;
    this.on = on;
    this.watch = native.pollReadable(this.fd, () => this.readPending());
  }

  /** Takes every datagram waiting now, without waiting for the event loop to say so. */
  readPending(): void {
    for (;;) {
      let got;
      try {
        got = receiveDatagramFrom(this.fd);
      } catch {
        return;
      }
      if (got === null) return;
      if (got.pid === null && this.knowsSenders) continue;
      if (this.accept(got.pid)) this.on(parseNotification(got.data.toString('utf8')));
    }
  }

  close(): void {
    if (this.watch !== null) native.pollStop(this.watch);
    this.watch = null;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }
}
