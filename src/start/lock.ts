// Step "lock": the PID file is the instance lock (docs/design.md, Facts 3), taken
// before anything else is created, so that when another instance runs, that is the answer.
import { fchownSync, lstatSync } from 'node:fs';
import { DaemonizeError, StartError, describeError } from '../errors';
import { holdsFile, PidFile, type PidFileAcquireResult } from './pidfile';
import { UnsafeFileError } from '../os/safe-open';
import type { Plan } from './options';
import { fixFor } from './hints';
import { say } from './report';
import { unsafeFile } from './unsafe-file';

/**
 * Locks plan.pidFile (null without one). `interruptedBy` says whether a signal asked us to
 * stop while we wait for a starting holder to write its pid (the wait yields to the event
 * loop, so Ctrl-C works).
 */
export async function lockPidFile(plan: Plan, interruptedBy: () => NodeJS.Signals | null = () => null): Promise<PidFile | null> {
  if (plan.pidFile === undefined) return null;
  const path = plan.pidFile;
  let lst;
  try {
    lst = lstatSync(path);
  } catch {
    lst = undefined;
  }
  // Told apart before open(2): opening a device, even to refuse it, can have effects.
  if (lst !== undefined && !lst.isFile()) throw unsafeFile('PID file', 'pidFile', UnsafeFileError.of(path, lst));
  // The holder writes its service's pid right after it forks; until then the file is empty.
  // Wait for the pid while the lock stays held (a loaded machine may take seconds); if the
  // holder gives up meanwhile, the lock is free and we try again.
  const deadline = Date.now() + 10_000;
  let result: PidFileAcquireResult;
  let lastPid: number | null = null;
  let seen = 0;
  for (;;) {
    try {
      result = PidFile.acquire(path);
    } catch (err) {
      if (err instanceof UnsafeFileError) throw unsafeFile('PID file', 'pidFile', err);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw unsafeFile('PID file', 'pidFile', new UnsafeFileError(path, 'a symbolic link', 'symlink'));
      throw new StartError(`cannot open PID file (pidFile): ${describeError(err)}; ${fixFor(err, 'pidFile')}`);
    }
    if (result.acquired) break;
    // A winner that took the lock of a stale file empties it a moment later: until then the
    // dead holder's pid is still there. The pid counts at once when that process has the very
    // file open (the service inherits the locked descriptor), or when it stays for three looks
    // (a supervisor SIGKILLed while its program, holding the lock, runs on).
    seen = result.pid !== null && result.pid === lastPid ? seen + 1 : 0;
    lastPid = result.pid;
    const holder = result.pid !== null && (seen >= 2 || holdsFile(result.pid, result.dev, result.ino)) ? result.pid : null;
    if (holder !== null || Date.now() > deadline) {
      throw new DaemonizeError(`${plan.name} already running (pid ${holder ?? result.pid ?? 'unknown'})`, 3, true);
    }
    await new Promise((r) => setTimeout(r, 20));
    const signal = interruptedBy();
    if (signal !== null) throw new StartError(`interrupted by ${signal} while waiting for the instance that holds '${path}' to write its pid; nothing was started`);
  }
  if (result.stalePid !== null) {
    // Only what is known: a pid in a file nobody locked. Whether that pid runs now (as
    // something else, after reuse) says nothing.
    say(2, `${plan.name}: replacing stale PID file '${path}': it was not locked (it held pid ${result.stalePid})\n`);
  }
  // Only a file this start created is given away, by descriptor: one that was there may be
  // a root file renamed onto the path by whoever can write its directory.
  if (plan.pidFileOwner !== undefined && result.created) {
    try {
      fchownSync(result.pidFile.fd, plan.pidFileOwner.uid, plan.pidFileOwner.gid);
    } catch (err) {
      result.pidFile.remove();
      throw err;
    }
  }
  return result.pidFile;
}

