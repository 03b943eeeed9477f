// daemonize(): the start of a real daemon, in the order of docs/design.md ("The order of a
// correct start").
//
// The launching process validates, locks the PID file, checks the directories, opens the logs
// (and gives them to the service user), binds the listening sockets, then re-executes this
// very program (process.execPath with the same execArgv and argv) as a daemon through the
// native double fork, with the resource limits set in the child and a marker in the
// environment. It writes the daemon's pid, waits on a pipe for the daemon to say "ready"
// (exit 0) or why it failed (exit 1), and never returns. The re-executed program finds the
// marker, chroots and drops privileges, and resolves with the handed-over sockets.
import { closeSync, existsSync, fchownSync, fstatSync, lstatSync, readFileSync, readSync, statSync, unlinkSync, writeSync, constants as fsConstants } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { basename, extname, join } from 'node:path';
import { DaemonizeError, describeError, StartError } from './daemonize-errors';
import { resolveOptions, type DaemonizeOptions, type Plan } from './daemonize-options';
import { SystemError } from './errors';
import { setCloseOnExec } from './flock';
import { dropPrivilegesWith, ioUringInUse, openProcSelf, processIdentity } from './privileges';
import type { Credentials } from './identity';
import { PidFile, waitForRelease, type PidFileAcquire } from './pidfile';
import { setNoNewPrivileges, setChildSubreaper } from './prctl';
import { getrlimit, resolveRlimit, setrlimit, type Rlimit } from './rlimit';
import { openSafeFile, UnsafeFileError } from './safe-open';
import { chroot as chrootTo, dup2, getpgid, insideRoot, pipe } from './session';
import { listenTcp, listenUnix, unixSocketState } from './socket';
import { reap, spawnDaemon, type ExitStatus } from './spawn';
import { logEvent, setEventLogName } from './event-log';
import { handleLogReopenSignal, setLogFiles } from './log-files';
import { handleReloadSignal } from './reload';
import { atFinalExit, configureShutdown, handleErrorsBeforeReady, handleFatalErrors, handleShutdownSignals } from './shutdown';
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

/** A socket file this start bound: removed on a clean exit if it is still that very file. */
interface SocketFile {
  path: string;
  dev: string;
  ino: string;
}

interface Marker {
  ready: number;
  lock: number | null;
  listeners: Listener[];
  socketFiles: SocketFile[];
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
    // A name with a control character would forge the very line that rejects it.
    return exitWith(printable(name) ? name : 'daemonize', err, 2);
  }
  const marker = process.env[DAEMON_MARKER];
  if (marker !== undefined) return becomeDaemon(plan, marker);
  if (plan.foreground || underSystemd()) return runInForeground(plan);
  return launch(plan);
}

function defaultName(options: DaemonizeOptions): string {
  if (typeof options === 'object' && options !== null && typeof options.name === 'string' && options.name !== '') return options.name;
  const script = process.argv[1] ?? process.argv0;
  return basename(script, extname(script)) || 'daemon';
}

const printable = (text: string) => !/[\x00-\x1f\x7f]/.test(text);

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
  socketFiles: SocketFile[] = [];
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
    removeSocketFiles(this.socketFiles);
    this.pidFile?.remove();
    this.pidFile = null;
  }
}

async function launch(plan: Plan): Promise<never> {
  // Before anything is created: a signal during the (synchronous) start is handled once it
  // is done, by stopping the daemon and cleaning up, instead of killing us half-way.
  let signalled: NodeJS.Signals | null = null;
  const interrupted = new Promise<Outcome>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        signalled = signal;
        resolve({ kind: 'interrupted', signal });
      });
    }
  });
  const res = new Resources();
  let pid: number;
  let readFd: number;
  try {
    checkReexecutable();
    // The lock first: when another instance runs, that is the answer, whatever else is wrong.
    await acquirePidFile(plan, res, () => signalled);
    checkDirectories(plan);
    checkCanDrop(plan, false);
    const rlimits = resolveLimits(plan);
    const [stdout, stderr] = openLogs(plan, res);
    const listeners = bindListeners(plan, res);

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
      socketFiles: res.socketFiles,
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
        rlimits,
      });
    } catch (err) {
      const resource = (err as { resource?: unknown }).resource;
      if ((err as SystemError).syscall === 'setrlimit' && typeof resource === 'string') throw rlimitError(resource, err, rlimits[resource]);
      throw new StartError(`cannot start the daemon: ${describeError(err)}`);
    }
  } catch (err) {
    res.abandon();
    return exitWith(plan.name, err, 1);
  }

  let outcome: Outcome;
  try {
    // Written here, once and durably: a concurrent launcher names this pid in "already
    // running", and the daemon never writes it as root (nor under its own rlimits.fsize).
    res.pidFile?.write(pid);
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
    message = `did not report ready within ${plan.readyTimeout} ms (readyTimeout); stopped it (pid ${pid})${limitsHint(plan)}`;
  } else {
    status = await exitStatus(pid, 2000);
    message =
      (status === null
        ? `exited before it was ready (pid ${pid})`
        : status.signal !== null
          ? `was killed by ${status.signal} before it was ready (pid ${pid})`
          : `exited with code ${status.code} before it was ready (pid ${pid})`) + limitsHint(plan);
  }
  await stopDaemon(pid, status !== null, plan, res.socketFiles);
  say(2, `${plan.name}: ${message}\n${logTail(plan, res.logSizes)}`);
  process.exit(1);
}

/** A daemon that never got ready ran under these limits: they may be why. */
function limitsHint(plan: Plan): string {
  if (plan.rlimits.length === 0) return '';
  const shown = plan.rlimits.map(([name, l]) => `${name}=${l.soft ?? '-'}${l.hard === l.soft ? '' : `:${l.hard ?? '-'}`}`);
  return `; it ran with rlimits ${shown.join(' ')}, and a limit too low keeps Node.js from starting`;
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
  // The daemon starts as root and drops: libuv would set up io_uring rings at start-up, with
  // root's credentials, and they would keep them after the drop (CVE-2024-22017).
  if (plan.credentials !== undefined) delete env.UV_USE_IO_URING;
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

/**
 * Whether the user option can be honoured, before anything is created. When this very
 * process drops (foreground), it must not hold io_uring rings set up as root; a daemon gets
 * no UV_USE_IO_URING instead (daemonEnv).
 */
function checkCanDrop(plan: Plan, inThisProcess: boolean): void {
  const creds = plan.credentials;
  if (creds === undefined) return;
  const root = process.geteuid?.() === 0;
  const already = creds.uid === process.geteuid?.() && creds.gid === process.getegid?.();
  if (!root && !already) {
    throw new StartError(`user: only root can become '${creds.user}' (uid ${creds.uid}); start as root or remove the user option`);
  }
  const uring = inThisProcess && !already ? ioUringInUse() : null;
  if (uring !== null) {
    throw new StartError(
      `cannot drop privileges to ${creds.user} (user) in this process: ${uring.why}, and rings set up as root keep root's credentials after the drop (CVE-2024-22017); ${uring.fix}`,
    );
  }
}

/**
 * Every limit with both values, a missing one from this process (the daemon inherits ours).
 * Raising a hard limit needs privilege: said here, before anything is started.
 */
function resolveLimits(plan: Plan): Record<string, Rlimit> {
  const out: Record<string, Rlimit> = {};
  for (const [name, limit] of plan.rlimits) {
    const current = getrlimit(name);
    const { soft, hard } = resolveRlimit(name, limit, `rlimits.${name}`);
    if (hard > current.hard && process.geteuid?.() !== 0) {
      throw rlimitError(name, new SystemError(-osConstants.errno.EPERM, 'setrlimit', { target: name }), { soft, hard }, current);
    }
    out[name] = { soft, hard };
  }
  return out;
}

/** One line for a limit the kernel refused, with the fix. */
function rlimitError(name: string, err: unknown, wanted: Rlimit, current: Rlimit = getrlimit(name)): StartError {
  let hint = '';
  if ((err as NodeJS.ErrnoException).code === 'EPERM' && wanted.hard > current.hard) {
    const root = process.geteuid?.() === 0;
    const nrOpen = name === 'nofile' ? readNrOpen() : null;
    hint =
      `: raising the hard limit from ${current.hard} to ${wanted.hard} needs CAP_SYS_RESOURCE` +
      `${nrOpen === null ? '' : ` and at most fs.nr_open (${nrOpen})`}; ask for at most ${root && nrOpen !== null ? nrOpen : current.hard}${root ? '' : ' or start as root'}`;
  }
  return new StartError(`rlimits.${name}: ${describeError(err)}${hint}`);
}

function readNrOpen(): number | null {
  try {
    return Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/** What the daemon must agree on with its launcher; a mismatch means options that vary. */
function planDigest(plan: Plan): string {
  const { name: _name, ...rest } = plan;
  // FNV-1a: a mismatch check, not a secret, and node:crypto would cost startup time twice.
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(rest)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function checkDirectories(plan: Plan): void {
  if (plan.chroot !== undefined && !isDirectory(plan.chroot)) {
    throw new StartError(`chroot '${plan.chroot}' is not an existing directory (chroot); create it or choose another`);
  }
  // With chroot, cwd is a directory inside the new root.
  if (!isDirectory(plan.chroot === undefined ? plan.cwd : join(plan.chroot, plan.cwd))) {
    const inside = plan.chroot === undefined ? '' : ` inside chroot '${plan.chroot}'`;
    throw new StartError(`cwd '${plan.cwd}' is not an existing directory${inside} (cwd); create it or choose another`);
  }
}

/**
 * Locks the PID file. `interruptedBy` says whether a signal asked us to stop while we wait
 * for a starting holder to write its pid (the wait yields to the event loop, so Ctrl-C works).
 */
async function acquirePidFile(plan: Plan, res: Resources, interruptedBy: () => NodeJS.Signals | null = () => null): Promise<void> {
  if (plan.pidFile === undefined) return;
  const path = plan.pidFile;
  let lst;
  try {
    lst = lstatSync(path);
  } catch {
    lst = undefined;
  }
  // Told apart before open(2): opening a device, even to refuse it, can have effects.
  if (lst !== undefined && !lst.isFile()) throw unsafeFile('PID file', 'pidFile', UnsafeFileError.of(path, lst));
  // The holder writes its daemon's pid right after it forks; until then the file is empty.
  // Wait for the pid while the lock stays held (a loaded machine may take seconds); if the
  // holder gives up meanwhile, the lock is free and we try again.
  const deadline = Date.now() + 10_000;
  let result: PidFileAcquire;
  for (;;) {
    try {
      result = PidFile.acquire(path);
    } catch (err) {
      if (err instanceof UnsafeFileError) throw unsafeFile('PID file', 'pidFile', err);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw unsafeFile('PID file', 'pidFile', new UnsafeFileError(path, 'a symbolic link', 'symlink'));
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
    await new Promise((r) => setTimeout(r, 20));
    const signal = interruptedBy();
    if (signal !== null) throw new StartError(`interrupted by ${signal} while waiting for the instance that holds '${path}' to write its pid; nothing was started`);
  }
  res.pidFile = result.pidFile;
  if (result.stalePid !== null) {
    // Only what is known: a pid in a file nobody locked. Whether that pid runs now (as
    // something else, after reuse) says nothing.
    say(2, `${plan.name}: replacing stale PID file '${path}': it was not locked (it held pid ${result.stalePid})\n`);
  }
  // Only a file this start created is given away, by descriptor: one that was there may be
  // a root file renamed onto the path by whoever can write its directory.
  if (plan.pidFileOwner !== undefined && result.created) {
    fchownSync(result.pidFile.fd, plan.pidFileOwner.uid, plan.pidFileOwner.gid);
  }
}

/** One line for a PID or log file that is refused, naming the option and the fix. */
function unsafeFile(what: 'PID file' | 'log file', option: string, err: UnsafeFileError): StartError {
  const fix = {
    symlink: 'links are never followed; give the real path',
    hardlink: 'hard links are never written through; remove the other links or choose another path',
    content: 'it is left as it is: remove it or choose another path',
    type: what === 'log file' ? 'give a regular file or a character device such as /dev/null' : 'remove it or choose another path',
  }[err.kind];
  return new StartError(`${what} '${err.path}' is ${err.found} (${option}); ${fix}`);
}

/**
 * Opens the log files (appending; created 0640), refusing links, FIFOs and anything but a
 * regular file with one link or a character device such as /dev/null. A file this start
 * created is given to the service user, so it can reopen its logs after a rotation; one that
 * was there is used as it is (it may be a root file renamed onto the path by whoever can
 * write its directory), and a device is never given away.
 */
function openLogs(plan: Plan, res: Resources): [number | undefined, number | undefined] {
  const open = (path: string | undefined, option: string) => {
    if (path === undefined) return undefined;
    let file;
    try {
      file = openSafeFile(path, fsConstants.O_WRONLY | fsConstants.O_APPEND, { mode: 0o640, devices: true, exclusive: true });
    } catch (err) {
      if (err instanceof UnsafeFileError) throw unsafeFile('log file', option, err);
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'ENOENT' ? 'its directory does not exist; create it' : 'check the path and its permissions';
      throw new StartError(`cannot open log file (${option}): ${describeError(err)}; ${hint}`);
    }
    res.fds.push(file.fd);
    res.logSizes.set(path, file.stat.size);
    const creds = plan.credentials;
    if (creds !== undefined && file.created) fchownSync(file.fd, creds.uid, creds.gid);
    return file.fd;
  };
  const stdout = open(plan.stdoutPath, plan.stdoutOption);
  const stderr = plan.stderrPath === plan.stdoutPath ? stdout : open(plan.stderrPath, 'stderr');
  return [stdout, stderr];
}

function bindListeners(plan: Plan, res: Resources): Listener[] {
  return plan.listen.map((spec, i) => {
    const where = spec.kind === 'tcp' ? `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}` : spec.path;
    const cannot = (err: unknown, hint: string) => new StartError(`cannot listen on ${where} (listen[${i}]): ${describeError(err)}; ${hint}`);
    try {
      if (spec.kind === 'tcp') {
        const l = listenTcp({ host: spec.host, port: spec.port, backlog: spec.backlog, ipv6Only: spec.ipv6Only });
        res.fds.push(l.fd);
        return { fd: l.fd, host: l.address, port: l.port };
      }
      if (!spec.path.startsWith('@')) {
        const inUse = () => new SystemError(-osConstants.errno.EADDRINUSE, 'bind', { path: spec.path });
        const state = unixSocketState(spec.path);
        // connect(2) was answered: another service owns it, whatever our lock says.
        if (state === 'live') throw cannot(inUse(), 'another process is listening on this socket; stop it or choose another path');
        if (state === 'other') throw cannot(inUse(), 'a file that is not a socket is there; remove it or choose another path');
        if (state === 'stale') {
          // Nobody listens there and we hold the instance lock: the socket file of our own
          // previous run, which died. Without the lock, another instance may be about to
          // listen on it.
          if (plan.pidFile === undefined) {
            throw cannot(inUse(), 'a socket file nobody listens on is there (left by a process that died); remove it, or give pidFile and daemonkit replaces such files itself');
          }
          unlinkSync(spec.path);
        }
      }
      const l = listenUnix({ path: spec.path, mode: spec.mode, backlog: spec.backlog });
      res.fds.push(l.fd);
      if (!spec.path.startsWith('@')) {
        const st = lstatSync(spec.path, { bigint: true });
        res.socketFiles.push({ path: spec.path, dev: String(st.dev), ino: String(st.ino) });
      }
      return { fd: l.fd, path: spec.path };
    } catch (err) {
      if (err instanceof StartError) throw err;
      const e = err as NodeJS.ErrnoException;
      let hint = 'check the address';
      if (e.code === 'EADDRINUSE') hint = 'another process is listening there; stop it or choose another port';
      else if (e.code === 'EACCES' && spec.kind === 'tcp') hint = 'ports below 1024 need root; start as root (with user: to drop) or choose a port >= 1024';
      else if (e.code === 'EACCES' || e.code === 'ENOENT') hint = 'check that the directory exists and is writable';
      else if (e.code === 'EADDRNOTAVAIL') hint = 'that address is not on this machine';
      throw cannot(err, hint);
    }
  });
}

/**
 * Removes the socket files this start bound, each only while it is still the file bound (not
 * one a later instance made) and where this process may (after a drop the directory may not
 * let it). From inside a chroot, only paths under it can be reached.
 */
function removeSocketFiles(files: SocketFile[], chrootDir?: string): void {
  for (const file of files) {
    const path = chrootDir === undefined ? file.path : insideRoot(file.path, chrootDir);
    if (path === null) continue;
    try {
      const st = lstatSync(path, { bigint: true });
      if (st.isSocket() && String(st.dev) === file.dev && String(st.ino) === file.ino) unlinkSync(path);
    } catch {
      // gone, or not ours to remove
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
async function stopDaemon(pid: number, reaped: boolean, plan: Plan, socketFiles: SocketFile[]): Promise<void> {
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
    let again: PidFileAcquire;
    try {
      again = PidFile.acquire(plan.pidFile);
    } catch {
      // The daemon put something else at the path (a link, a directory): not ours to remove.
      removeSocketFiles(socketFiles);
      return;
    }
    if (!again.acquired) return; // a new instance started meanwhile: its files, not ours
    lock = again.pidFile;
  }
  removeSocketFiles(socketFiles);
  lock?.remove();
}

function logTail(plan: Plan, sizes: Map<string, number>, lines = 20): string {
  const path = plan.stderrPath ?? plan.stdoutPath;
  if (path === undefined) return '';
  try {
    // Only what this start appended (at most the last 64 KiB of it).
    const start = sizes.get(path) ?? 0;
    // The daemon (maybe dropped) could have replaced the file by now: no link, no FIFO.
    const { fd } = openSafeFile(path, fsConstants.O_RDONLY);
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
    // Shown on an operator's terminal: escape sequences from the program stay inert.
    const tail = text.split('\n').slice(-lines).map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?'));
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
  // No timer of our own: the launcher stops a daemon that is not ready within readyTimeout.
  // If the launcher itself is gone (SIGKILL), nobody is waiting, and a daemon that becomes
  // ready later runs on, as it would have had the launcher lived.
  const report = (msg: object): boolean => {
    if (readyFd === null) return false;
    try {
      writeSync(readyFd, `${JSON.stringify(msg)}\n`);
      return true;
    } catch {
      return false; // EPIPE: the launcher is gone
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
    // Node raises the soft nofile limit to the hard one at start-up (src/node.cc,
    // PlatformInit); the launcher set the one asked for in the child, so set it again.
    const nofile = plan.rlimits.find(([name]) => name === 'nofile');
    if (nofile !== undefined) setrlimit('nofile', nofile[1]);
    enterRootAndDrop(plan, pidFile);
  } catch (err) {
    return fail(err);
  }
  startLifecycle(plan, pidFile, marker.socketFiles);
  return {
    pid: process.pid,
    listeners: marker.listeners,
    foreground: false,
    ready() {
      if (readyFd === null) return;
      if (!report({ ready: process.pid })) logEvent('launcher gone before ready; running anyway');
      closeSync(readyFd);
      readyFd = null;
      becameReady();
    },
    fail,
  };
}

async function runInForeground(plan: Plan): Promise<Daemon> {
  const res = new Resources();
  let listeners: Listener[];
  try {
    await acquirePidFile(plan, res);
    // Before the limits: an rlimits.fsize of 0 must not keep the pid from being written.
    res.pidFile?.write(process.pid);
    checkDirectories(plan);
    checkCanDrop(plan, true);
    // Everything else as in a daemon: the same umask, logs and environment.
    process.umask(plan.umask);
    Object.assign(process.env, plan.env);
    const [stdout, stderr] = openLogs(plan, res);
    const activated = listenFds();
    if (activated.length > 0 && plan.listen.length > 0 && activated.length !== plan.listen.length) {
      say(2, `${plan.name}: warning: systemd passed ${activated.length} socket(s) (LISTEN_FDS) and listen has ${plan.listen.length}; daemon.listeners are systemd's\n`);
    }
    listeners = activated.length > 0 ? activated : bindListeners(plan, res);
    // In this process, after everything that needs no limit: there is no fork to set them in.
    for (const [name, limit] of Object.entries(resolveLimits(plan))) {
      try {
        setrlimit(name, limit);
      } catch (err) {
        throw rlimitError(name, err, limit);
      }
    }
    enterRootAndDrop(plan, res.pidFile);
    // Last: until here a failure is told on the terminal, not in the log.
    if (stdout !== undefined) dup2(stdout, 1);
    if (stderr !== undefined) dup2(stderr, 2);
    for (const fd of new Set([stdout, stderr])) {
      if (fd === undefined) continue;
      res.fds.splice(res.fds.indexOf(fd), 1);
      closeSync(fd);
    }
  } catch (err) {
    res.abandon();
    return exitWith(plan.name, err, 1);
  }
  const pidFile = res.pidFile;
  startLifecycle(plan, pidFile, res.socketFiles);
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

/** What still needs root in this process: chroot, then the working directory, then the drop. */
function enterRootAndDrop(plan: Plan, pidFile: PidFile | null): void {
  const creds = plan.credentials;
  const drop = creds !== undefined && !alreadyIs(creds);
  // The drop is checked and verified through /proc, which a chroot hides: open it first, and
  // close it as soon as the drop is verified (it leads out of the new root).
  const procSelf = drop && plan.chroot !== undefined ? openProcSelf() : null;
  try {
    if (plan.chroot !== undefined) {
      try {
        chrootTo(plan.chroot);
      } catch (err) {
        throw new StartError(`cannot chroot (chroot): ${describeError(err)}`);
      }
      // The same PID file, seen from inside the new root (options checked it is inside).
      if (pidFile !== null) pidFile.relocate(insideRoot(pidFile.path, plan.chroot)!);
    }
    try {
      process.chdir(plan.cwd);
    } catch (err) {
      throw new StartError(`cannot enter cwd (cwd): ${describeError(err)}`);
    }
    if (drop) {
      try {
        dropPrivilegesWith({ uid: creds.uid, gid: creds.gid, groups: creds.groups, noNewPrivileges: plan.noNewPrivileges }, procSelf);
      } catch (err) {
        throw new StartError(`cannot drop privileges to ${creds.user} (user): ${describeError(err)}`);
      }
    } else if (plan.noNewPrivileges) {
      // Nothing to drop: started as that user already (systemd's User=), where as a non-root
      // process setgroups(2) would fail with EPERM, or no user at all.
      setNoNewPrivileges();
    }
  } finally {
    if (procSelf !== null) closeSync(procSelf);
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
 * released last on the way out, after the socket files this start bound are removed.
 */
function startLifecycle(plan: Plan, pidFile: PidFile | null, socketFiles: SocketFile[]): void {
  setEventLogName(plan.name);
  configureShutdown({ timeout: Math.ceil(plan.shutdownTimeout), errorExitCode: plan.errorExitCode });
  setLogFiles(plan.stdoutPath, plan.stderrPath, plan.chroot);
  const cleanUp = () => {
    removeSocketFiles(socketFiles.splice(0), plan.chroot);
    pidFile?.remove();
  };
  atFinalExit(cleanUp);
  // Also when the program calls process.exit() itself.
  process.on('exit', cleanUp);
  handleShutdownSignals();
  handleReloadSignal();
  handleLogReopenSignal();
  handleErrorsBeforeReady();
  logEvent(plan.credentials === undefined ? 'started' : `started as ${plan.credentials.user}`);
}

/** ready() in either mode: the watchdog starts, and uncaught errors now mean shutdown. */
function becameReady(): void {
  logEvent('ready');
  startWatchdog();
  handleFatalErrors();
}
