// daemonize(): the start of a real daemon, in the order of DESIGN.md section 2.
//
// The launching process validates, locks the PID file, binds the listening sockets, opens the
// logs, then re-executes this very program (process.execPath with the same execArgv and argv)
// as a daemon through the native double fork, with a marker in the environment. It then waits
// on a pipe for the daemon to say "ready" (exit 0) or why it failed (exit 1), and never
// returns. The re-executed program finds the marker, applies rlimits, chowns, writes its pid,
// drops privileges and resolves with the handed-over sockets.
import { closeSync, existsSync, fchownSync, fstatSync, lstatSync, openSync, readSync, statSync, unlinkSync, writeSync, constants as fsConstants } from 'node:fs';
import { Socket } from 'node:net';
import { basename, extname, join } from 'node:path';
import { DaemonizeError, describeError, StartError } from './daemonize-errors';
import { resolveOptions, type DaemonizeOptions, type Plan } from './daemonize-options';
import { setCloseOnExec } from './flock';
import { dropPrivileges, processIdentity } from './privileges';
import type { Credentials } from './identity';
import { NotRegularFileError, PidFile, waitForRelease, type PidFileAcquire } from './pidfile';
import { setNoNewPrivileges, setChildSubreaper } from './prctl';
import { getrlimit, setrlimit } from './rlimit';
import { chroot as chrootTo, dup2, getpgid, pipe } from './session';
import { listenTcp, listenUnix } from './socket';
import { reap, spawnDaemon, type ExitStatus } from './spawn';
import { logEvent, setEventLogName } from './event-log';
import { handleLogReopenSignal, setLogFiles } from './log-files';
import { handleReloadSignal } from './reload';
import { atFinalExit, configureShutdown, handleFatalErrors, handleShutdownSignals } from './shutdown';
import { listenFds, tellSystemd, underSystemd } from './systemd';
import { startWatchdog } from './watchdog';

export type { DaemonizeOptions } from './daemonize-options';
export { DaemonizeError } from './daemonize-errors';

/** The environment variable that tells the re-executed program it is the daemon. */
export const DAEMON_MARKER = 'DAEMONKIT_DAEMON';

export interface Listener {
  /** Listening socket descriptor: `server.listen(listener)` accepts this object. */
  fd: number;
  host?: string;
  port?: number;
  path?: string;
  /** From socket activation: the name in LISTEN_FDNAMES. */
  name?: string;
}

export interface Daemon {
  pid: number;
  /** The sockets from `listen` (or from systemd socket activation), in order. */
  listeners: Listener[];
  /** True when running without a fork (foreground, or under systemd). */
  foreground: boolean;
  /** Tells the launcher (or systemd) that the service is up. Idempotent. */
  ready(): void;
  /** Reports a startup failure to the launcher, removes the PID file and exits 1. */
  fail(err: unknown): never;
}

interface Marker {
  ready: number;
  lock: number | null;
  listeners: Listener[];
  /** planDigest() of the launcher's resolved options. */
  plan: string;
}

/**
 * Makes this program a daemon. Call it first: code before it runs twice (once in the
 * launching process, once in the daemon). In the launching process the returned promise
 * never settles: the process exits 0 once the daemon is ready, 1 if it failed to start,
 * 2 for invalid options and 3 if it is already running.
 */
export async function daemonize(options: DaemonizeOptions = {}): Promise<Daemon> {
  const name = defaultName(options);
  let plan: Plan;
  try {
    plan = resolveOptions(options, name);
  } catch (err) {
    return exitWith(name, err, 2);
  }
  const marker = process.env[DAEMON_MARKER];
  if (marker !== undefined) return becomeDaemon(plan, marker);
  if (plan.foreground || underSystemd()) return runInForeground(plan);
  return launch(plan);
}

function defaultName(options: DaemonizeOptions): string {
  if (typeof options.name === 'string' && options.name !== '') return options.name;
  const script = process.argv[1] ?? process.argv0;
  return basename(script, extname(script)) || 'daemon';
}

// Synchronous, so nothing is lost to process.exit() where stdio pipes are asynchronous.
function say(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // nobody is reading
  }
}

function exitWith(name: string, err: unknown, fallbackCode: number): never {
  const code = err instanceof DaemonizeError ? err.exitCode : fallbackCode;
  const bare = err instanceof DaemonizeError && err.bare;
  say(2, `${bare ? '' : `${name}: `}${describeError(err)}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------------------------------
// The launching process

/** What the launcher opened, closed again on every path out. */
class Resources {
  pidFile: PidFile | null = null;
  fds: number[] = [];
  socketPaths: string[] = [];
  /** Log file sizes when opened: the tail shown on failure is what this start wrote. */
  logSizes = new Map<string, number>();

  closeFds(): void {
    for (const fd of this.fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** Undoes everything: nothing may be left behind by a failed start. */
  abandon(): void {
    this.closeFds();
    for (const path of this.socketPaths) {
      try {
        unlinkSync(path);
      } catch {
        // gone
      }
    }
    this.pidFile?.remove();
    this.pidFile = null;
  }
}

async function launch(plan: Plan): Promise<never> {
  // Before anything is created: a signal during the (synchronous) start is handled once it
  // is done, by stopping the daemon and cleaning up, instead of killing us half-way.
  const interrupted = new Promise<Outcome>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve({ kind: 'interrupted', signal }));
  });
  const res = new Resources();
  let pid: number;
  let readFd: number;
  try {
    checkReexecutable();
    // The lock first: when another instance runs, that is the answer, whatever else is wrong.
    acquirePidFile(plan, res);
    checkCwd(plan);
    checkCanDrop(plan);
    const [stdout, stderr] = openLogs(plan, res);
    const listeners = bindListeners(plan, res);
    applyRlimits(plan);

    const [r, w] = pipe();
    readFd = r;
    res.fds.push(w);
    const fds = listeners.map((l) => l.fd);
    const lockFd = res.pidFile?.fd ?? null;
    if (lockFd !== null) fds.push(lockFd);
    fds.push(w);
    const marker: Marker = {
      ready: 3 + fds.length - 1,
      lock: lockFd === null ? null : 3 + listeners.length,
      listeners: listeners.map((l, i) => ({ ...l, fd: 3 + i })),
      plan: planDigest(plan),
    };
    // The daemon becomes our child once the middle process exits, so we learn how it ended
    // if it dies before "ready" (Linux; elsewhere we only see the pipe close).
    try {
      setChildSubreaper(true);
    } catch {
      // not Linux
    }
    try {
      pid = spawnDaemon(process.execPath, {
        args: [...process.execArgv, ...process.argv.slice(1)],
        argv0: process.argv0,
        env: daemonEnv(plan, marker),
        umask: plan.umask,
        stdout,
        stderr,
        fds,
      });
    } catch (err) {
      throw new StartError(`cannot start the daemon: ${describeError(err)}`);
    }
  } catch (err) {
    res.abandon();
    return exitWith(plan.name, err, 1);
  }

  let outcome: Outcome;
  try {
    // Written now, so a concurrent launcher can name the pid in "already running". Not
    // fsynced: the daemon writes it again, durably, before it serves.
    res.pidFile?.write(pid, false);
    outcome = { kind: 'pending' };
  } catch (err) {
    outcome = { kind: 'error', message: `cannot write the PID file: ${describeError(err)}` };
  }
  // Our copies go: the daemon holds the lock, the sockets and the write end now.
  res.closeFds();
  res.pidFile?.close();
  if (outcome.kind === 'pending') outcome = await Promise.race([waitForReadiness(readFd, plan.readyTimeout), interrupted]);
  if (outcome.kind === 'ready') {
    say(1, `${plan.name} started (pid ${pid})\n`);
    process.exit(0);
  }

  let message: string;
  let status: ExitStatus | null = null;
  if (outcome.kind === 'error') {
    message = `failed to start: ${outcome.message}`;
  } else if (outcome.kind === 'interrupted') {
    message = `interrupted by ${outcome.signal} before it was ready; stopped it (pid ${pid})`;
  } else if (outcome.kind === 'timeout') {
    message = `did not report ready within ${plan.readyTimeout} ms (readyTimeout); stopped it (pid ${pid})`;
  } else {
    status = await exitStatus(pid, 2000);
    message =
      status === null
        ? `exited before it was ready (pid ${pid})`
        : status.signal !== null
          ? `was killed by ${status.signal} before it was ready (pid ${pid})`
          : `exited with code ${status.code} before it was ready (pid ${pid})`;
  }
  await stopDaemon(pid, status !== null, plan);
  say(2, `${plan.name}: ${message}\n${logTail(plan, res.logSizes)}`);
  process.exit(1);
}

/**
 * Ours plus the options' and the marker. Socket activation variables are dropped: they were
 * not for us (or we would not be forking), and never for the daemon's pid.
 */
function daemonEnv(plan: Plan, marker: Marker): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...plan.env, [DAEMON_MARKER]: JSON.stringify(marker) };
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return env;
}

// The daemon is `node` re-run with the same script: a program read from stdin cannot be.
function checkReexecutable(): void {
  const script = process.argv[1];
  const evaluated = process.execArgv.some((a) => /^(-e|--eval|-p|--print)(=|$)/.test(a));
  if (!evaluated && (script === undefined || script === '-' || !existsSync(script))) {
    throw new DaemonizeError('daemonize() needs the program in a script file: the daemon re-runs `node <script>`, and a program read from stdin cannot be re-run', 2);
  }
}

function checkCanDrop(plan: Plan): void {
  const creds = plan.credentials;
  if (creds === undefined || process.geteuid?.() === 0) return;
  if (creds.uid === process.geteuid?.() && creds.gid === process.getegid?.()) return;
  throw new StartError(`user: only root can become '${creds.user}' (uid ${creds.uid}); start as root or remove the user option`);
}

/** What the daemon must agree on with its launcher; a mismatch means options that vary. */
function planDigest(plan: Plan): string {
  const { name: _name, ...rest } = plan;
  // FNV-1a: a mismatch check, not a secret, and node:crypto would cost startup time twice.
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(rest)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16);
}

function checkCwd(plan: Plan): void {
  let ok = false;
  try {
    // With chroot, cwd is a directory inside the new root.
    ok = statSync(plan.chroot === undefined ? plan.cwd : join(plan.chroot, plan.cwd)).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new StartError(`cwd '${plan.cwd}' is not an existing directory (cwd); create it or choose another`);
}

function acquirePidFile(plan: Plan, res: Resources): void {
  if (plan.pidFile === undefined) return;
  const path = plan.pidFile;
  let lst;
  try {
    lst = lstatSync(path);
  } catch {
    lst = undefined;
  }
  const notRegular = () => new StartError(`PID file '${path}' is not a regular file (pidFile); remove it or choose another path`);
  if (lst?.isSymbolicLink()) {
    throw new StartError(`PID file '${path}' is a symbolic link (pidFile); give the real path, links are never followed`);
  }
  if (lst !== undefined && !lst.isFile()) {
    throw notRegular();
  }
  // The holder writes its daemon's pid right after it forks; until then the file is empty.
  // Wait for the pid while the lock stays held (a loaded machine may take seconds); if the
  // holder gives up meanwhile, the lock is free and we try again.
  const deadline = Date.now() + 10_000;
  let result: PidFileAcquire;
  for (;;) {
    try {
      result = PidFile.acquire(path);
    } catch (err) {
      if (err instanceof NotRegularFileError) {
        throw notRegular();
      }
      const code = (err as NodeJS.ErrnoException).code;
      const hint =
        code === 'ENOENT'
          ? 'its directory does not exist; create it or choose another path'
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? 'its directory is not writable by this user; run as root or choose another path'
            : 'choose another path';
      throw new StartError(`cannot open PID file (pidFile): ${describeError(err)}; ${hint}`);
    }
    if (result.acquired) break;
    if (result.pid !== null || Date.now() > deadline) {
      throw new DaemonizeError(`${plan.name} already running (pid ${result.pid ?? 'unknown'})`, 3, true);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  res.pidFile = result.pidFile;
  if (result.stalePid !== null) {
    say(2, `${plan.name}: replacing stale PID file '${path}' (pid ${result.stalePid} is not running: the file was not locked)\n`);
  }
}

function openLogs(plan: Plan, res: Resources): [number | undefined, number | undefined] {
  const open = (path: string | undefined, option: string) => {
    if (path === undefined) return undefined;
    try {
      const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o640);
      res.fds.push(fd);
      res.logSizes.set(path, fstatSync(fd).size);
      return fd;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'ENOENT' ? 'its directory does not exist; create it' : 'check the path and its permissions';
      throw new StartError(`cannot open log file (${option}): ${describeError(err)}; ${hint}`);
    }
  };
  const stdout = open(plan.stdoutPath, plan.stdoutOption);
  const stderr = plan.stderrPath === plan.stdoutPath ? stdout : open(plan.stderrPath, 'stderr');
  return [stdout, stderr];
}

function bindListeners(plan: Plan, res: Resources): Listener[] {
  return plan.listen.map((spec, i) => {
    try {
      if (spec.kind === 'tcp') {
        const l = listenTcp({ host: spec.host, port: spec.port, backlog: spec.backlog, ipv6Only: spec.ipv6Only });
        res.fds.push(l.fd);
        return { fd: l.fd, host: l.address, port: l.port };
      }
      // We hold the instance lock, so a socket file left at our path is our own, from a run
      // that died without cleaning up.
      if (plan.pidFile !== undefined && existsSync(spec.path) && lstatSync(spec.path).isSocket()) unlinkSync(spec.path);
      const l = listenUnix({ path: spec.path, mode: spec.mode, backlog: spec.backlog });
      res.fds.push(l.fd);
      if (!spec.path.startsWith('@')) res.socketPaths.push(spec.path);
      return { fd: l.fd, path: spec.path };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const where = spec.kind === 'tcp' ? `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}` : spec.path;
      let hint = 'check the address';
      if (e.code === 'EADDRINUSE') hint = 'another process is listening there; stop it or choose another port';
      else if (e.code === 'EACCES' && spec.kind === 'tcp') hint = 'ports below 1024 need root; start as root (with user: to drop) or choose a port >= 1024';
      else if (e.code === 'EACCES' || e.code === 'ENOENT') hint = 'check that the directory exists and is writable';
      else if (e.code === 'EADDRNOTAVAIL') hint = 'that address is not on this machine';
      throw new StartError(`cannot listen on ${where} (listen[${i}]): ${describeError(err)}; ${hint}`);
    }
  });
}

// Applied in the launcher, before the fork: the daemon inherits them (and applies them again,
// a no-op), and a limit the kernel refuses is reported here, in the terminal.
function applyRlimits(plan: Plan): void {
  for (const [name, limit] of plan.rlimits) {
    const current = getrlimit(name);
    try {
      setrlimit(name, limit);
    } catch (err) {
      const wanted = limit.hard ?? current.hard;
      const hint =
        (err as NodeJS.ErrnoException).code === 'EPERM' && wanted > current.hard
          ? `: raising the hard limit from ${current.hard} to ${wanted} needs CAP_SYS_RESOURCE${name === 'nofile' ? ' and at most fs.nr_open' : ''}; ask for at most ${current.hard}${process.geteuid?.() === 0 ? '' : ' or start as root'}`
          : '';
      throw new StartError(`rlimits.${name}: ${describeError(err)}${hint}`);
    }
  }
}

type Outcome =
  | { kind: 'ready' }
  | { kind: 'error'; message: string }
  | { kind: 'exited' }
  | { kind: 'timeout' }
  | { kind: 'interrupted'; signal: NodeJS.Signals }
  | { kind: 'pending' };

function waitForReadiness(fd: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const channel = new Socket({ fd, readable: true, writable: false });
    let buffer = '';
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      channel.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          const msg = JSON.parse(line);
          if (msg.ready !== undefined) finish({ kind: 'ready' });
          else if (typeof msg.error === 'string') finish({ kind: 'error', message: msg.error });
        } catch {
          // not ours
        }
      }
    });
    channel.on('end', () => finish({ kind: 'exited' }));
    channel.on('close', () => finish({ kind: 'exited' }));
    channel.on('error', () => finish({ kind: 'exited' }));
  });
}

async function exitStatus(pid: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const status = reap(pid);
      if (status !== null) return status;
    } catch {
      return null; // not our child (no subreaper here)
    }
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Makes sure a daemon that failed is gone, with whatever it started, its PID file and its
 * socket files. Never signals a pid already reaped (it may belong to someone else now).
 */
async function stopDaemon(pid: number, reaped: boolean, plan: Plan): Promise<void> {
  if (!reaped) {
    // Its process group: the session the middle process created, so children die too. As
    // its subreaper we have not reaped it, so the pid cannot have been reused.
    let group: number | null = null;
    try {
      group = getpgid(pid);
    } catch {
      group = null;
    }
    try {
      if (group !== null && group !== getpgid()) process.kill(-group, 'SIGKILL');
      else process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exitStatus(pid, 2000);
  }
  let lock: PidFile | null = null;
  if (plan.pidFile !== undefined) {
    // The lock is released when the daemon is really gone (init may take seconds to reap).
    await waitForRelease(plan.pidFile, 5000);
    const again = PidFile.acquire(plan.pidFile);
    if (!again.acquired) return; // a new instance started meanwhile: its files, not ours
    lock = again.pidFile;
  }
  for (const spec of plan.listen) {
    if (spec.kind === 'unix' && !spec.path.startsWith('@')) {
      try {
        if (lstatSync(spec.path).isSocket()) unlinkSync(spec.path);
      } catch {
        // gone
      }
    }
  }
  lock?.remove();
}

function logTail(plan: Plan, sizes: Map<string, number>, lines = 10): string {
  const path = plan.stderrPath ?? plan.stdoutPath;
  if (path === undefined) return '';
  try {
    // Only what this start appended (at most the last 64 KiB of it).
    const start = sizes.get(path) ?? 0;
    const fd = openSync(path, 'r');
    let text: string;
    try {
      const end = fstatSync(fd).size;
      const from = Math.max(start, end - 65536);
      const buf = Buffer.alloc(Math.max(0, end - from));
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8').trimEnd();
    } finally {
      closeSync(fd);
    }
    if (text === '') return '';
    const tail = text.split('\n').slice(-lines);
    return `last lines of ${path}:\n${tail.map((l) => `  | ${l}`).join('\n')}\n`;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------
// The daemon (re-executed with the marker), and the foreground mode

function becomeDaemon(plan: Plan, markerText: string): Daemon {
  delete process.env[DAEMON_MARKER];
  let marker: Marker;
  try {
    marker = JSON.parse(markerText);
  } catch {
    return exitWith(plan.name, new StartError(`${DAEMON_MARKER} is set but not valid: unset it`), 1);
  }
  for (const fd of [marker.ready, marker.lock, ...marker.listeners.map((l) => l.fd)]) {
    if (fd !== null) setCloseOnExec(fd);
  }
  const pidFile = marker.lock !== null && plan.pidFile !== undefined ? PidFile.adopt(plan.pidFile, marker.lock) : null;
  let readyFd: number | null = marker.ready;
  // If the launcher was killed outright, nobody will stop a daemon that never gets ready.
  const deadline = setTimeout(() => {
    say(2, `${plan.name}: not ready within ${plan.readyTimeout} ms (readyTimeout); exiting\n`);
    process.exit(1);
  }, plan.readyTimeout + 1000);
  deadline.unref();
  const report = (msg: object) => {
    if (readyFd === null) return;
    try {
      writeSync(readyFd, `${JSON.stringify(msg)}\n`);
    } catch {
      // the launcher is gone
    }
  };
  const fail = (err: unknown): never => {
    report({ error: describeError(err) });
    pidFile?.remove();
    process.exit(1);
  };
  try {
    if (marker.plan !== planDigest(plan)) {
      throw new StartError(
        "the daemon resolved daemonize()'s options differently from its launcher; options must not depend on the pid, the time, randomness or the marker",
      );
    }
    prepareProcess(plan, pidFile);
  } catch (err) {
    return fail(err);
  }
  startLifecycle(plan, pidFile);
  return {
    pid: process.pid,
    listeners: marker.listeners,
    foreground: false,
    ready() {
      if (readyFd === null) return;
      clearTimeout(deadline);
      report({ ready: process.pid });
      closeSync(readyFd);
      readyFd = null;
      becameReady();
    },
    fail,
  };
}

function runInForeground(plan: Plan): Daemon {
  const res = new Resources();
  let listeners: Listener[];
  try {
    acquirePidFile(plan, res);
    checkCwd(plan);
    checkCanDrop(plan);
    // Everything else as in a daemon: the same umask, logs and environment.
    process.umask(plan.umask);
    Object.assign(process.env, plan.env);
    const [stdout, stderr] = openLogs(plan, res);
    if (stdout !== undefined) dup2(stdout, 1);
    if (stderr !== undefined) dup2(stderr, 2);
    res.closeFds();
    const activated = listenFds();
    if (activated.length > 0 && plan.listen.length > 0 && activated.length !== plan.listen.length) {
      say(2, `${plan.name}: warning: systemd passed ${activated.length} socket(s) (LISTEN_FDS) and listen has ${plan.listen.length}; daemon.listeners are systemd's\n`);
    }
    listeners = activated.length > 0 ? activated : bindListeners(plan, res);
    prepareProcess(plan, res.pidFile);
  } catch (err) {
    res.abandon();
    return exitWith(plan.name, err, 1);
  }
  const pidFile = res.pidFile;
  startLifecycle(plan, pidFile);
  let isReady = false;
  return {
    pid: process.pid,
    listeners,
    foreground: true,
    ready() {
      if (isReady) return;
      isReady = true;
      if (!tellSystemd({ READY: '1', MAINPID: String(process.pid) })) say(1, `${plan.name} started (pid ${process.pid})\n`);
      becameReady();
    },
    fail(err: unknown): never {
      pidFile?.remove();
      return exitWith(plan.name, new StartError(`failed to start: ${describeError(err)}`), 1);
    },
  };
}

/** Steps 9 to 12 of the start order, in this process. */
function prepareProcess(plan: Plan, pidFile: PidFile | null): void {
  // Again in the daemon, though inherited from the launcher: Node raises the soft nofile
  // limit to the hard one at startup.
  applyRlimits(plan);
  // By descriptor, never by path: the path may have been swapped for a symlink since the
  // launcher opened it (O_NOFOLLOW), and chown(2) would follow it as root.
  const creds = plan.credentials;
  if (creds !== undefined) {
    if (plan.stdoutPath !== undefined) fchownSync(1, creds.uid, creds.gid);
    if (plan.stderrPath !== undefined) fchownSync(2, creds.uid, creds.gid);
  }
  if (pidFile !== null && plan.pidFileOwner !== undefined) {
    fchownSync(pidFile.fd, plan.pidFileOwner.uid, plan.pidFileOwner.gid);
  }
  pidFile?.write(process.pid);
  if (plan.chroot !== undefined) {
    try {
      chrootTo(plan.chroot);
    } catch (err) {
      throw new StartError(`cannot chroot (chroot): ${describeError(err)}`);
    }
    // The same PID file, seen from inside the new root (options checked it is inside).
    pidFile?.relocate(pidFile.path.slice(plan.chroot.length) || '/');
  }
  try {
    process.chdir(plan.cwd);
  } catch (err) {
    throw new StartError(`cannot enter cwd (cwd): ${describeError(err)}`);
  }
  if (creds !== undefined && alreadyIs(creds)) {
    // Started as that user already (systemd's User=): nothing to drop, and as a non-root
    // process setgroups(2) would fail with EPERM.
    if (plan.noNewPrivileges) setNoNewPrivileges();
  } else if (creds !== undefined) {
    try {
      dropPrivileges({ uid: creds.uid, gid: creds.gid, groups: creds.groups, noNewPrivileges: plan.noNewPrivileges });
    } catch (err) {
      throw new StartError(`cannot drop privileges to ${creds.user} (user): ${describeError(err)}`);
    }
  } else if (plan.noNewPrivileges) {
    setNoNewPrivileges();
  }
}

/** This (non-root) process has exactly these ids and groups. */
function alreadyIs(creds: Credentials): boolean {
  if (process.geteuid?.() === 0) return false;
  const me = processIdentity();
  const sorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b).join(',');
  return (
    me.uid.every((id) => id === creds.uid) && me.gid.every((id) => id === creds.gid) && sorted(me.groups) === sorted(creds.groups)
  );
}

/**
 * From here on the process is the service: lifecycle events are logged, SIGTERM/SIGINT run
 * the shutdown hooks, SIGHUP the reload hooks, SIGUSR2 reopens the logs, and the PID file is
 * released last on the way out.
 */
function startLifecycle(plan: Plan, pidFile: PidFile | null): void {
  setEventLogName(plan.name);
  configureShutdown({ timeout: Math.ceil(plan.shutdownTimeout), errorExitCode: plan.errorExitCode });
  setLogFiles(plan.stdoutPath, plan.stderrPath, plan.chroot);
  if (pidFile !== null) {
    atFinalExit(() => pidFile.remove());
    // Also when the program calls process.exit() itself.
    process.on('exit', () => pidFile.remove());
  }
  handleShutdownSignals();
  handleReloadSignal();
  handleLogReopenSignal();
  logEvent(plan.credentials === undefined ? 'started' : `started as ${plan.credentials.user}`);
}

/** ready() in either mode: the watchdog starts, and uncaught errors now mean shutdown. */
function becameReady(): void {
  logEvent('ready');
  startWatchdog();
  handleFatalErrors();
}

