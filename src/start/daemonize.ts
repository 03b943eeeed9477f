// daemonize(): this program as a real daemon. In the process a person started, it resolves
// the options once and runs the launcher with this very program (node, its flags and
// script) as the command, then exits: 0 once the service said READY=1, 1 if it failed to
// start (with its last output), 2 for invalid options, 3 if it is already running. In the
// service, it takes the plan the launcher handed over and returns the sockets
// (docs/design.md, "Launcher and service").
import { openSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { DaemonizeError, describeError } from '../errors';
import { resolveOptions, type DaemonizeOptions, type Plan } from './options';
import { setCloseOnExec } from '../os/fd';
import { PidFile } from './pidfile';
import { setrlimit } from '../os/rlimit';
import { underSystemd } from './activation';
import { insideRoot } from '../os/root';
import { enter } from './enter';
import { runInForeground } from './foreground';
import { takeServicePlan, type ServicePlan } from './handoff';
import { launch } from './launcher';
import { exitWith, printable, say } from './report';
import { failStart, handedOverListeners, serve, type Daemon, type Listener, type Service } from './service';

/**
 * Makes this program a daemon. Call it first: code before it runs twice (once in the
 * launching process, once in the daemon). In the launching process the returned promise
 * never settles: the process exits 0 once the daemon is ready, 1 if it failed to start,
 * 2 for invalid options and 3 if it is already running.
 */
export async function daemonize(options: DaemonizeOptions = {}): Promise<Daemon> {
  const handoff = takeServicePlan();
  if (handoff !== null) return becomeService(handoff);
  const name = defaultName(options);
  let plan: Plan;
  try {
    plan = resolveOptions(options, name);
  } catch (err) {
    // A name with a control character would forge the very line that rejects it.
    return exitWith(printable(name) ? name : 'daemonize', err, 2);
  }
  if (plan.foreground || underSystemd()) return runInForeground(plan);
  const result = await launch(plan, {
    file: process.execPath,
    args: [...process.execArgv, ...process.argv.slice(1)],
    argv0: process.argv0,
    env: process.env,
    ready: 'notify',
    service: true,
  });
  if (result.ok) {
    say(1, `${plan.name} started (pid ${result.pid})\n`);
    process.exit(0);
  }
  const err = result.error;
  const bare = err instanceof DaemonizeError && err.bare;
  say(2, `${bare ? '' : `${plan.name}: `}${describeError(err)}\n${result.tail}`);
  process.exit(err instanceof DaemonizeError ? err.exitCode : 1);
}

function defaultName(options: DaemonizeOptions): string {
  if (typeof options === 'object' && options !== null && typeof options.name === 'string' && options.name !== '') return options.name;
  const script = process.argv[1] ?? process.argv0;
  return basename(script, extname(script)) || 'daemon';
}

/** The re-executed program: what the launcher left to it, then the service. */
function becomeService(h: ServicePlan): Daemon {
  // Ours, not our children's: sockets (listenFds marks them) and the lock.
  if (h.lockFd !== null) setCloseOnExec(h.lockFd);
  const pidFile = h.lockFd !== null && h.pidFile !== null ? PidFile.adopt(h.pidFile, h.lockFd) : null;
  const service: Service = {
    name: h.name,
    pidFile,
    socketFiles: h.socketFiles,
    stdoutPath: h.stdoutPath,
    stderrPath: h.stderrPath,
    chroot: h.chroot,
    user: h.user,
    shutdownTimeout: h.shutdownTimeout,
    errorExitCode: h.errorExitCode,
    launched: true,
    quiet: h.capturedFds.length > 0 ? { fds: h.capturedFds, devNull: openSync('/dev/null', 'r+') } : null,
    foreground: false,
  };
  let listeners: Listener[];
  try {
    listeners = handedOverListeners();
    if (h.nofile !== undefined) setrlimit('nofile', h.nofile);
    enter({ chroot: h.chroot, cwd: h.cwd, drop: h.drop && { ...h.drop, user: h.user }, noNewPrivileges: h.drop?.noNewPrivileges ?? false }, pidFile);
    // A notify socket that is a path (not Linux) was made inside the new root: seen from it.
    const notifySocket = process.env.NOTIFY_SOCKET;
    if (h.chroot !== undefined && notifySocket !== undefined && !notifySocket.startsWith('@')) {
      process.env.NOTIFY_SOCKET = insideRoot(notifySocket, h.chroot) ?? notifySocket;
    }
  } catch (err) {
    return failStart(service, err);
  }
  return serve(service, listeners);
}
