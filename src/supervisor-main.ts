// The supervisor's entry (dist/supervisor.js), started by the daemonkit command as the
// daemon of a service with a restart policy. Bundled on its own with only what it uses.
import { fstatSync, statSync, unlinkSync } from 'node:fs';
import { logEvent } from './lifecycle/event-log';
import { notify } from './lifecycle/notify';
import { setCloseOnExec } from './os/fd';
import { listenFds } from './start/activation';
import { takeFirstRun } from './start/supervised-start';
import { SUPERVISE_ENV, type SupervisorPlan } from './supervisor/plan';
import { supervise } from './supervisor/supervise';

const text = process.env[SUPERVISE_ENV];
delete process.env[SUPERVISE_ENV];
if (text === undefined) {
  process.stderr.write('daemonkit supervisor: started without its plan; it is started by `daemonkit start --restart ...`\n');
  process.exitCode = 2;
} else {
  // Signal handlers and a child's SIGCHLD do not keep Node's event loop alive: this does,
  // for as long as the supervisor supervises.
  const alive = setInterval(() => {}, 2 ** 31 - 1);
  // From the launcher, as for any service: the sockets from fd 3, the lock right after them.
  const listeners = listenFds().map((s) => s.fd);
  const lockFd = 3 + listeners.length;
  // Ours only: the program gets its own copies, placed by spawn.
  for (const fd of [...listeners, lockFd]) setCloseOnExec(fd);
  // The first run of the program, started with us by the launcher: our child already.
  const firstProgram = takeFirstRun();
  const plan = JSON.parse(text) as SupervisorPlan;
  void supervise(plan, { listeners, lockFd, tell, firstProgram }).then((code) => {
    clearInterval(alive);
    removePidFile(plan.pidFile, lockFd);
    process.exit(code);
  });
}

/** The launcher waits for READY=1 (or STATUS= with the reason it never came), then is gone. */
function tell(fields: Record<string, string>): void {
  if (!process.env.NOTIFY_SOCKET) return;
  try {
    notify(fields);
  } catch {
    logEvent('launcher gone before ready; running anyway');
  }
  if (fields.READY === '1') delete process.env.NOTIFY_SOCKET;
}

/**
 * The program and what it started are gone (supervise() ended its group): the PID file goes
 * too, if the path still names the file we lock, so that status says "not running" (or
 * "failed", from the state file) rather than "dead".
 */
function removePidFile(path: string, lockFd: number): void {
  try {
    const ours = fstatSync(lockFd);
    const there = statSync(path);
    if (ours.dev === there.dev && ours.ino === there.ino) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}
