// Reopening the log files after rotation (logrotate's `create` mode, newsyslog, or a rename
// by hand): open the path again and point fds 1 and 2 at it with dup2(2). Everything that
// writes to stdout and stderr (console.log, process.stdout, children started afterwards)
// follows at once. Each write(2) lands whole in either the old file or the new one: no line
// is lost or written twice.
import { closeSync, fchmodSync, fchownSync, fstatSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { errorText, logEvent } from './event-log';
import { type LogTarget, processState } from './state';
import { openSafeFile, UnsafeFileError } from '../os/safe-open';
import { dup2 } from '../os/fd';
import { insideRoot } from '../os/root';

// Process-wide: it outlives a module reset (see state.ts).
const state = processState.logFiles;

/**
 * Set by daemonize(): which files fds 1 and 2 were opened on. With a chroot, paths outside the
 * new root cannot be reopened (reopenLogs() says so).
 */
export function setLogFiles(stdoutPath: string | undefined, stderrPath: string | undefined, chrootDir?: string): void {
  const reachable = (p: string): string | null => (chrootDir === undefined ? p : insideRoot(p, chrootDir));
  const targets: LogTarget[] = [];
  if (stdoutPath !== undefined) targets.push({ path: reachable(stdoutPath), shown: stdoutPath, fds: [1] });
  if (stderrPath !== undefined) {
    if (stderrPath === stdoutPath) targets[0].fds.push(2);
    else targets.push({ path: reachable(stderrPath), shown: stderrPath, fds: [2] });
  }
  state.targets = targets;
}

function openAgain(target: LogTarget): number {
  if (target.path === null) {
    const err = new Error(`cannot reopen '${target.shown}': it is outside the chroot`) as NodeJS.ErrnoException;
    err.code = 'ENOENT';
    throw err;
  }
  const path = target.path;
  // The same rules as at start (safe-open.ts): no link, no FIFO (O_NONBLOCK: opening one
  // would otherwise block the event loop until a reader came), a regular file with one link
  // or a character device. A file logrotate's `create` already made is used as it is.
  let file;
  try {
    file = openSafeFile(path, fsConstants.O_WRONLY | fsConstants.O_APPEND, { exclusive: true, mode: 0o600, devices: true });
  } catch (err) {
    if (err instanceof UnsafeFileError) {
      const e = new Error(`cannot reopen '${path}': it is ${err.found}`) as NodeJS.ErrnoException;
      e.code = err.code;
      throw e;
    }
    throw err;
  }
  const { fd, created } = file;
  try {
    // Created here: the owner and mode of the file it replaces, whatever our umask, as
    // logrotate's `create` would do.
    if (created) {
      const old = fstatSync(target.fds[0]);
      fchmodSync(fd, old.mode & 0o7777);
      const now = fstatSync(fd);
      if (old.isFile() && (now.uid !== old.uid || now.gid !== old.gid)) {
        try {
          fchownSync(fd, old.uid, old.gid);
        } catch (err) {
          // Not root (or an unmapped id): the file stays ours, which is who writes to it.
          // Better a log with another owner than a log that stops rotating.
          logEvent(`log reopen: cannot give '${path}' to uid ${old.uid} gid ${old.gid} (${errorText(err).split('\n')[0]}); it stays owned by uid ${now.uid}`);
        }
      }
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    if (created) {
      try {
        unlinkSync(path);
      } catch {
        // gone already: the original error is the one to report
      }
    }
    throw err;
  }
}

/**
 * Reopens the log files daemonize() opened and points stdout/stderr at the new files.
 * Returns the paths reopened ([] when daemonize() opened none). Throws the first error; the
 * files not reopened keep receiving output.
 */
export function reopenLogs(): string[] {
  const done: string[] = [];
  for (const target of state.targets) {
    const fd = openAgain(target);
    try {
      for (const to of target.fds) dup2(fd, to);
    } finally {
      closeSync(fd);
    }
    done.push(target.shown);
  }
  return done;
}

/** SIGUSR2 runs reopenLogs() (Node keeps SIGUSR1 for its inspector). */
export function handleLogReopenSignal(): void {
  if (state.signalHandled) return;
  state.signalHandled = true;
  process.on('SIGUSR2', () => {
    try {
      const paths = reopenLogs();
      logEvent(paths.length > 0 ? `reopened ${paths.join(' and ')}` : 'SIGUSR2: no log files to reopen');
    } catch (err) {
      logEvent(`cannot reopen logs, still writing to the previous files: ${errorText(err)}`);
    }
  });
}
