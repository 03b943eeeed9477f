// The service side of a start: what daemonize() returns in the program that serves. It runs
// the same way under daemonkit's launcher and under systemd (docs/design.md, "Launcher and
// service"): sockets from LISTEN_FDS, readiness as READY=1 on NOTIFY_SOCKET, then the
// lifecycle (signals, hooks, log reopening, the PID file released last).
import { closeSync } from 'node:fs';
import { describeError } from '../errors';
import { logEvent, setEventLogName } from '../lifecycle/event-log';
import { handleLogReopenSignal, setLogFiles } from '../lifecycle/log-reopen';
import type { PidFile } from './pidfile';
import { handleReloadSignal } from '../lifecycle/reload';
import { dup2 } from '../os/fd';
import { atFinalExit, configureShutdown, handleErrorsBeforeReady, handleFatalErrors, handleShutdownSignals } from '../lifecycle/shutdown';
import { socketAddress } from '../os/socket';
import { listenFds } from './activation';
import { notify } from '../lifecycle/notify';
import { startWatchdog } from '../lifecycle/watchdog';
import { removeSocketFiles, type SocketFile } from './listeners';
import { exitWith, say } from './report';
import { StartError } from '../errors';

/** A listening socket the daemon was handed, with the address the kernel says it has. */
export interface Listener {
  /** Listening socket descriptor: `server.listen(listener)` accepts this object. */
  fd: number;
  /** The bound address of a TCP socket. */
  host?: string;
  /** The bound port of a TCP socket. */
  port?: number;
  /** The path of a Unix socket ('@name' for an abstract one). */
  path?: string;
  /** Its name in LISTEN_FDNAMES (FileDescriptorName= under systemd). */
  name?: string;
}

/** The running service, as daemonize() resolves in the process that serves. */
export interface Daemon {
  /** This process's pid: the daemon's (the one in the PID file). */
  pid: number;
  /** The sockets handed over (LISTEN_FDS), in order. */
  listeners: Listener[];
  /** True when running without a fork (foreground, or under a service manager). */
  foreground: boolean;
  /** Tells the launcher (or systemd) that the service is up. Idempotent. */
  ready(): void;
  /** Reports a startup failure to the launcher, removes the PID file and exits 1. */
  fail(err: unknown): never;
}

export interface Service {
  name: string;
  pidFile: PidFile | null;
  socketFiles: SocketFile[];
  stdoutPath?: string;
  stderrPath?: string;
  chroot?: string;
  user?: string;
  shutdownTimeout: number;
  errorExitCode: number;
  /** Started by daemonkit's launcher (not systemd, not the terminal). */
  launched: boolean;
  /**
   * Fds 1 and 2, those that are the launcher's pipe until ready, and the /dev/null (opened
   * before any chroot) that replaces them then.
   */
  quiet: { fds: number[]; devNull: number } | null;
  foreground: boolean;
}

/** The handed-over sockets, with their addresses as the kernel has them. */
export function handedOverListeners(activated = listenFds()): Listener[] {
  return activated.map(({ fd, name }) => ({ ...addressOf(fd), fd, ...(name === undefined ? {} : { name }) }));
}

export function addressOf(fd: number): Omit<Listener, 'fd'> {
  try {
    const a = socketAddress(fd);
    if (a.family === 'unix') return { path: a.abstract ? `@${a.path}` : a.path };
    if (a.family === 'IPv4' || a.family === 'IPv6') return { host: a.address, port: a.port };
  } catch {
    // not a socket we can name
  }
  return {};
}

/** Tells whoever started us why the start failed, releases the PID file, and exits 1. */
export function failStart(service: Service, err: unknown): never {
  const errno = (err as { errno?: unknown }).errno;
  try {
    // systemd's own words for it: a status line and an errno. The launcher shows the status.
    notify({ STATUS: describeError(err).replace(/\n/g, ' '), ...(typeof errno === 'number' && errno < 0 ? { ERRNO: -errno } : {}) });
  } catch {
    // the launcher is gone; the exit code still tells
  }
  service.pidFile?.remove();
  if (service.launched) process.exit(1);
  return exitWith(service.name, new StartError(`failed to start: ${describeError(err)}`), 1);
}

/**
 * From here on the process is the service: lifecycle events are logged, SIGTERM/SIGINT run
 * the shutdown hooks, SIGHUP the reload hooks, SIGUSR2 reopens the logs, and the PID file is
 * released last on the way out, after the socket files this start bound are removed.
 */
export function serve(service: Service, listeners: Listener[]): Daemon {
  setEventLogName(service.name);
  configureShutdown({ timeout: Math.ceil(service.shutdownTimeout), errorExitCode: service.errorExitCode });
  setLogFiles(service.stdoutPath, service.stderrPath, service.chroot);
  const cleanUp = () => {
    removeSocketFiles(service.socketFiles.splice(0), service.chroot);
    service.pidFile?.remove();
  };
  atFinalExit(cleanUp);
  // Also when the program calls process.exit() itself.
  process.on('exit', cleanUp);
  handleShutdownSignals();
  handleReloadSignal();
  handleLogReopenSignal();
  handleErrorsBeforeReady();
  logEvent(service.user === undefined ? 'started' : `started as ${service.user}`);
  let isReady = false;
  return {
    pid: process.pid,
    listeners,
    foreground: service.foreground,
    ready() {
      if (isReady) return;
      isReady = true;
      // The launcher stops reading once told: nothing may write into its pipe after that.
      if (service.quiet !== null) quietOutput(service.quiet.fds, service.quiet.devNull);
      let told: boolean;
      try {
        told = notify({ READY: '1', MAINPID: String(process.pid) });
      } catch (err) {
        told = false;
        logEvent(service.launched ? 'launcher gone before ready; running anyway' : `cannot notify systemd (NOTIFY_SOCKET=${process.env.NOTIFY_SOCKET}): ${describeError(err)}`);
      }
      // The launcher's socket dies with it: later notifications have nobody to go to.
      if (service.launched) delete process.env.NOTIFY_SOCKET;
      else if (!told) say(1, `${service.name} started (pid ${process.pid})\n`);
      logEvent('ready');
      startWatchdog();
      handleFatalErrors();
    },
    fail: (err: unknown) => failStart(service, err),
  };
}

function quietOutput(fds: number[], devNull: number): void {
  try {
    for (const fd of fds) dup2(devNull, fd);
  } finally {
    closeSync(devNull);
  }
}
