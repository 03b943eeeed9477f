// flock(2) locks on files opened without following symlinks. A lock belongs to the open file
// description: it survives fork and execve and ends when the last descriptor closes, which is
// why a PID file held this way cannot outlive its daemon (docs/design.md, Facts 3).
import { native } from '../native/binding';
import { callNative, callNativeOr } from '../errors';
import { validateBoolean, validateFd, validateInteger, validateNonEmptyString, validateObject } from './validate';

/** How openLockFile() opens the file. */
export interface OpenLockFileOptions {
  /** Create the file when missing (default true). */
  create?: boolean;
  /** Mode for a created file, before the umask (default 0o644). */
  mode?: number;
  /** Create it, failing with EEXIST when it exists (O_EXCL; default false). */
  exclusive?: boolean;
}

/**
 * Opens `path` read-write with O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC. A symlink fails with
 * ELOOP; a FIFO or a device is opened without waiting (check what it is with fs.fstatSync).
 * Returns the descriptor; the caller closes it with fs.closeSync().
 */
export function openLockFile(path: string, options: OpenLockFileOptions = {}): number {
  validateNonEmptyString(path, 'path');
  validateObject(options, 'options');
  const create = options.create === undefined ? true : validateBoolean(options.create, 'options.create');
  const mode = options.mode === undefined ? 0o644 : validateInteger(options.mode, 'options.mode', 0, 0o7777);
  const exclusive = options.exclusive === undefined ? false : validateBoolean(options.exclusive, 'options.exclusive');
  return callNative(() => native.openLockFile(path, create, mode, exclusive), { path });
}

// flock(2), ERRORS: "EWOULDBLOCK The file is locked and the LOCK_NB flag was selected." The
// lock is held by another open file description: an answer, not a failure. EAGAIN is the
// same number on Linux and macOS; both names are listed for systems where they differ.
const LOCK_HELD = ['EWOULDBLOCK', 'EAGAIN'] as const;

/**
 * Tries to lock without waiting: true when granted, false when another open file description
 * holds a conflicting lock.
 */
export function tryLock(fd: number, options: { shared?: boolean } = {}): boolean {
  validateFd(fd, 'fd');
  const shared = options.shared === undefined ? false : validateBoolean(options.shared, 'options.shared');
  return callNativeOr(
    () => {
      native.flock(fd, shared ? 1 : 2);
      return true;
    },
    LOCK_HELD,
    false,
  );
}

/** Releases this description's lock. */
export function unlock(fd: number): void {
  validateFd(fd, 'fd');
  callNative(() => native.flock(fd, 0));
}
